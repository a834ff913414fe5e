"""Simulated instruments, exposed as genesis-lab station plugins."""
