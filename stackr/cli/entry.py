"""The `stackr` program's entry point: `cli.app.run`, imported here so that Ctrl-C while the
program is still starting (its imports take a tenth of a second) ends it quietly, as Ctrl-C
anywhere else does, instead of with a traceback."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

INTERRUPTED = 130  # as cli.exits says it, which this module must not import yet


def run() -> NoReturn:
    try:
        from stackr.cli.app import run as run_app
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        os._exit(INTERRUPTED)
    run_app()
