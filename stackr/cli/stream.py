"""Standard output as the `stackr` program writes it: output that cannot be written never
stops the work.

A reader that goes away (`stackr up | head -3`, a log collector that dies) or a full disk
raised from whatever line was being written, in the middle of an `up` or a `down`, leaving
services half replaced. Guarded, stdout drops what it cannot write and remembers why; the
program finishes its work and then tells (a closed pipe is the reader's choice, not a failure).
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any, TextIO


class GuardedStream:
    """A text stream that swallows the first write error and every write after it."""

    def __init__(self, stream: TextIO | None) -> None:
        # A closed stdout (`stackr up >&-`) leaves Python none at all.
        self._stream: TextIO = stream if stream is not None else open(os.devnull, "w")  # noqa: SIM115
        self.error: OSError | None = None

    def write(self, text: str) -> int:
        if self.error is None:
            try:
                return self._stream.write(text)
            except OSError as error:
                self.error = error
        return len(text)

    def flush(self) -> None:
        if self.error is None:
            try:
                self._stream.flush()
            except OSError as error:
                self.error = error

    def lost(self) -> str:
        """Why output was lost, worth telling; "" when none was, or the reader closed the pipe."""
        if self.error is None or self.error.errno in (errno.EPIPE, errno.EBADF):
            return ""
        return self.error.strerror or str(self.error)

    def __getattr__(self, name: str) -> Any:
        # isatty, fileno, encoding...: as the stream has them (rich asks).
        return getattr(self._stream, name)


def guard_stdout() -> GuardedStream:
    """Put a GuardedStream in place of sys.stdout, and return it."""
    guarded = GuardedStream(sys.stdout)
    sys.stdout = guarded
    return guarded
