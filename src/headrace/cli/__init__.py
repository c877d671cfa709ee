"""The `headrace` command line."""
