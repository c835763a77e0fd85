"""The command line: the only package that imports typer and rich.

A command is a short-lived process whose heap is mostly the modules it imports, so the cyclic
garbage collector's default thresholds only make it trace those modules again and again while
they load (mypy's CLI raises them for the same reason). Importing this package raises them.
"""

import gc

gc.set_threshold(100_000, 50, 100)
