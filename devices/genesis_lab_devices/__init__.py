"""Instrument drivers (Ophyd devices) shipped with genesis-lab as station plugins."""
