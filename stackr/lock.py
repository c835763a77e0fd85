"""One `up` or `down` at a time per engine, stack and profile, on this machine.

The lock is an `flock` on a file under the user's cache directory: the kernel releases it when
the holder exits, however it exits, so a killed run never leaves it stuck. The file also holds
who took it (pid, command, time), so a refused run can name the holder. Runs on different
machines against one remote engine are not serialised by it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stackr.errors import LockError

POLL_SECONDS = 0.1
READABLE = 100  # characters of the stack and profile in a lock file's name
DEFAULT_SOCKET = "unix:///var/run/docker.sock"  # the Docker SDK's, when DOCKER_HOST is unset


def lock_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stackr" / "locks"


@contextmanager
def stack_lock(engine: str, stack: str, profile: str, *, timeout: float) -> Iterator[None]:
    """Hold the lock of `stack`/`profile` on `engine` for the duration of the block.

    Raises:
        LockError: another run holds it and did not let go within `timeout` seconds.
    """
    folder = lock_dir()
    key = hashlib.sha256(f"{engine_key(engine)}\0{stack}\0{profile}".encode()).hexdigest()[:24]
    # Readable, but short enough for any file system (a name's limit is 255 bytes).
    readable = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{stack}-{profile}")[:READABLE]
    path = folder / f"{readable}-{key}.lock"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as error:
        raise LockError(
            f"cannot take the lock of {stack}/{profile} in {folder}: {error.strerror or error}",
            hint="stackr keeps its locks under $XDG_CACHE_HOME (else ~/.cache)/stackr/locks: "
            "make that folder writable, or point XDG_CACHE_HOME at one that is",
        ) from None
    with handle:
        _acquire(handle.fileno(), path, stack, profile, timeout)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(_holder())
            handle.flush()
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def engine_key(engine: str) -> str:
    """One spelling per engine: the default socket however it is named, a socket by its real
    path (`/var/run` is a link to `/run`), anything else as given."""
    if engine in ("", "local"):
        engine = DEFAULT_SOCKET
    # `unix:///run/x.sock`, and `unix:/run/x.sock` as DOCKER_HOST may write it (the SDK takes it)
    if engine.startswith("unix:"):
        return "unix://" + os.path.realpath("/" + engine.removeprefix("unix:").lstrip("/"))
    if engine.startswith("/"):  # a bare socket path
        return "unix://" + os.path.realpath(engine)
    return engine.rstrip("/")


def _acquire(fd: int, path: Path, stack: str, profile: str, timeout: float) -> None:
    deadline = time.monotonic() + max(0.0, timeout)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = path.read_text(encoding="utf-8").strip() or "another stackr run"
                hint = (
                    f"waited {timeout:g}s: wait for it to finish, or give a longer --lock-timeout"
                    if timeout > 0
                    else "wait for it to finish, or give --lock-timeout SECONDS to wait for it"
                )
                raise LockError(f"{stack} ({profile}) is busy: {holder}", hint=hint) from None
            time.sleep(POLL_SECONDS)


def _holder() -> str:
    command = " ".join(["stackr", *sys.argv[1:2]])
    since = time.strftime("%H:%M:%S")
    return f"held by pid {os.getpid()} ({command}, since {since})"
