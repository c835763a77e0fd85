"""stackr: declarative, compose-like container stacks for the Docker engine."""

__version__ = "0.1.0"
