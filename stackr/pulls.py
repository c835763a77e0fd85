"""When stackr last pulled each image, for `pull_policy: daily`, `weekly` and `every_…`: the
engine does not keep it (dockerd 20.10 leaves a pulled image's LastTagTime unset), so stackr
records it in a small JSON file under the user's cache directory, beside its locks.

Each image reference is recorded with the id its pull brought and when. A reference now on
another image (pulled, built or tagged outside stackr, or on another engine) has no known pull
time: it is due. A record that cannot be read is no record; one that cannot be written only
means the next `up` pulls again.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path

from stackr.lock import lock_dir


def default_path() -> Path:
    """$XDG_CACHE_HOME (else ~/.cache)/stackr/pulls.json."""
    return lock_dir().parent / "pulls.json"


class PullRecord:
    """The pull times stackr recorded, read from `path` once; `record` writes them back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pulls = _read(path)

    def pulled_at(self, image: str, image_id: str | None, *, now: float) -> float | None:
        """When stackr pulled `image`, if the engine still holds what it pulled (`image_id`,
        None when it lacks the image); a time after `now` (a clock set back) is no time."""
        found = self._pulls.get(image)
        if found is None or not image_id or found[0] != image_id or not found[1] <= now:
            return None
        return found[1]

    def record(self, image: str, image_id: str, at: float) -> None:
        # Read again first: another `up` (of another stack) may have recorded a pull since.
        self._pulls = {**_read(self.path), image: (image_id, at)}
        data = {ref: [i, t] for ref, (i, t) in sorted(self._pulls.items())}
        # Written whole and renamed into place: a reader never sees half a file.
        temporary = ""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".pulls-")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=1)
            os.replace(temporary, self.path)
        except OSError:
            if temporary:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)


def _read(path: Path) -> dict[str, tuple[str, float]]:
    """The record in `path`; nothing where it is missing, unreadable or not a record."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    found: dict[str, tuple[str, float]] = {}
    for ref, entry in raw.items():
        well_formed = isinstance(entry, list) and len(entry) == 2
        if well_formed and isinstance(entry[1], int | float) and math.isfinite(entry[1]):
            found[str(ref)] = (str(entry[0]), float(entry[1]))
    return found
