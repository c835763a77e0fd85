"""`python -m stackr` runs the command line."""

from stackr.cli.app import run

run()
