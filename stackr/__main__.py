"""`python -m stackr` runs the command line."""

from stackr.cli.entry import run

run()
