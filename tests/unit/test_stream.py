"""The program's stdout: what it cannot write is dropped, the work goes on, and a loss other
than a reader going away is told at the end."""

from __future__ import annotations

import errno
import io

from stackr.cli.stream import GuardedStream


class _Failing(io.StringIO):
    def __init__(self, code: int) -> None:
        super().__init__()
        self.code = code

    def write(self, text: str) -> int:
        raise OSError(self.code, errno.errorcode[self.code])


def test_a_reader_that_went_away_is_no_failure() -> None:
    guarded = GuardedStream(_Failing(errno.EPIPE))
    assert guarded.write("progress\n") == len("progress\n")
    guarded.write("more\n")  # dropped, without raising again
    assert guarded.lost() == ""


def test_a_full_disk_is_told() -> None:
    guarded = GuardedStream(_Failing(errno.ENOSPC))
    guarded.write("plan\n")
    guarded.flush()
    assert guarded.lost() == "ENOSPC"


def test_written_output_passes_through() -> None:
    target = io.StringIO()
    guarded = GuardedStream(target)
    guarded.write("done\n")
    assert (target.getvalue(), guarded.lost()) == ("done\n", "")
    assert guarded.isatty() is False  # asked of the stream itself


def test_no_stdout_at_all_writes_nowhere() -> None:
    guarded = GuardedStream(None)  # `stackr up >&-`: Python has no sys.stdout
    assert guarded.write("x") == 1
    assert guarded.lost() == ""
