"""The vendor example is a separate package with its own tests, run in a subprocess."""

collect_ignore = ["vendor_example"]
