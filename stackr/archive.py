"""The tar archive that carries a container's secret and config files into it.

An engine writes the archive into the container after creating it and before starting it
(`docker cp`'s API), so the files never appear in the container's configuration, and work with
a remote engine, where a bind mount of a local file would not.
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Sequence

from stackr.desired import FileSpec


def files_archive(files: Sequence[FileSpec]) -> bytes:
    """A tar archive, to extract at `/`, holding `files`.

    It has no entries for directories: the engine creates missing ones (0755, root), and an
    entry for one that exists would reset its mode (think of /tmp).
    """
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for spec in files:
            entry = tarfile.TarInfo(spec.target.lstrip("/"))
            entry.size = len(spec.data)
            entry.mode = spec.mode
            entry.mtime = int(time.time())
            entry.uid, entry.gid = int(spec.uid), int(spec.gid)
            archive.addfile(entry, io.BytesIO(spec.data))
    return buffer.getvalue()
