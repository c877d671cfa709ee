"""`python -m headrace` runs the command line."""

from headrace.cli.main import main

main()
