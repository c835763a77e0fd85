"""How the command line ends: the exit codes of interruptions and usage errors, and what they
print. Exit codes: 0 success, 1 a problem the user can fix, 2 bad usage, 3 a bug in stackr,
130 interrupted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from stackr.cli import render
from stackr.errors import Abandoned, StackrError

INTERRUPTED = 130
INTERRUPTED_TEXT = (
    "interrupted: no new work was started; the work in flight, and the replacements of "
    "containers already stopped, were finished or put back; run the command again to converge"
)
# What `up` and `down` say after a second Ctrl-C.
ABANDONED_TEXT = (
    "interrupted twice: stackr stopped waiting for the work in flight, which may be left half "
    "done (a replica stopped and not yet replaced); run the command again to converge"
)


def interrupted(interrupt: KeyboardInterrupt, *, fmt: str) -> int:
    """What `up` and `down` return on Ctrl-C, once they said what it left (and, when the
    output is JSON, ended it with a record)."""
    twice = isinstance(interrupt, Abandoned)
    text = ABANDONED_TEXT if twice else INTERRUPTED_TEXT
    render.interrupted_record(text, fmt=fmt)
    render.err(text)
    _told["interrupted"] = True
    return INTERRUPTED


# Whether the command that ran said what its interruption left: only `up` and `down` change
# anything worth telling.
_told: dict[str, bool] = {}


def begin() -> None:
    """Forget what an earlier command run in this process said (tests run many)."""
    _told.clear()


def said(result: int) -> int:
    """The exit code of a command's `result`, once an interruption is said."""
    told = _told.pop("interrupted", False)
    if result == INTERRUPTED and not told:
        # Ctrl-C in a command that changes nothing (typer 0.29 turns it into this result).
        render.err("interrupted")
    return result


def usage_exit(error: Exception) -> int | None:
    # Typer raises click's exceptions, from click itself or from its own vendored copy depending
    # on its version; both keep click's interface, so match on that, not on a class.
    kind = type(error).__name__
    if kind == "Abort":
        render.err("interrupted")
        return INTERRUPTED
    code = getattr(error, "exit_code", None)
    if not isinstance(code, int):
        return None
    show = getattr(error, "show", None)
    if callable(show):
        show()
    return code


@contextmanager
def failure_recorded(fmt: str) -> Iterator[None]:
    """With JSON output, a StackrError raised inside ends the output with its `{"error": ...}`
    record (then goes on to `main`, which writes it to stderr as text), wherever it came from:
    the file, the lock, the engine or the run."""
    try:
        yield
    except StackrError as error:
        render.failure_record(error, fmt=fmt)
        raise
