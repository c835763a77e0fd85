"""The digest of a build: what `docker build` would be given (the context's files, after
`.dockerignore`), the Dockerfile and the build args. A service's containers carry it in their
spec, so a changed context recreates them and rebuilds their image; an unchanged one never does.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from stackr.spec.model import Build

CHUNK = 1 << 20


def build_digest(build: Build, files: Iterable[str]) -> str:
    """`build`'s digest, from the context-relative `files` the engine would be sent.

    A file's content, its executable bit and a symlink's target count; times and owners do not,
    so a fresh checkout of the same commit has the same digest.
    """
    root = Path(build.context)
    digest = hashlib.sha256()
    digest.update(f"dockerfile {build.dockerfile}\0".encode())
    for key, value in sorted(build.args.items()):
        digest.update(f"arg {key}={value}\0".encode())
    if build.target:  # only then: the digest of a build without one is as it was
        digest.update(f"target {build.target}\0".encode())
    dockerfile = root / build.dockerfile
    digest.update(b"dockerfile-content\0" + _content(dockerfile) + b"\0")
    for name in sorted(files):
        digest.update(f"file {name}\0".encode())
        digest.update(_entry(root / name))
    return "sha256:" + digest.hexdigest()


def _entry(path: Path) -> bytes:
    try:
        info = path.lstat()
    except OSError:
        return b"missing\0"
    if stat.S_ISLNK(info.st_mode):
        return b"link " + os.readlink(path).encode() + b"\0"
    if not stat.S_ISREG(info.st_mode):
        return b"other\0"
    executable = b"x" if info.st_mode & 0o111 else b"-"
    return executable + _content(path) + b"\0"


def _content(path: Path) -> bytes:
    # The content's own digest: the overall digest stays one pass over the context's bytes.
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
    except OSError:
        return b"unreadable"
    return digest.hexdigest().encode()
