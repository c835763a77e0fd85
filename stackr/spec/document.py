"""The parsed form of one stack file: its plain tree, and where each value in it was written.

`Document` is what the YAML loader produces and every later stage (interpolation, merging,
validation, the model) reads and locates its problems through.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from stackr.errors import Issue

Path_ = tuple[str | int, ...]


class Position(NamedTuple):
    """Where a value was written; `layer` names the profile layer that set it, if any."""

    file: str
    line: int  # 1-based
    column: int  # 1-based
    layer: str = ""  # where the value came from, e.g. "set by profile prod", "from .env:3"


@dataclass(frozen=True, slots=True)
class Document:
    """One parsed file: its plain tree and where each path in it was written."""

    file: str
    data: Any
    positions: Mapping[Path_, Position]
    # Merge directives written as tags (`!reset`, `!override`), kept beside the plain tree so
    # the schema sees ordinary values; the profile/file merge consumes them.
    tags: Mapping[Path_, str] = field(default_factory=dict)
    # The text of plain scalars read as numbers (`0x1F`, `1.10`), where a string is wanted
    # after all (environment and label values keep what the user wrote).
    texts: Mapping[Path_, str] = field(default_factory=dict)
    # Lists some items were left out of (refused by the schema: `prune`), each with the index
    # in the file of every item left: what is reported of an item names its place in the file.
    renumbered: Mapping[Path_, tuple[int, ...]] = field(default_factory=dict)

    def issue(self, path: Path_, message: str, hint: str = "") -> Issue:
        """A problem with the value at `path`, located where it was written; a value a layer
        set says so (`... (set by profile prod)`, `... (from .env.prod:3)`)."""
        path = self._in_file(path)
        pos = self._recorded(path)
        layer = f" ({pos.layer})" if pos.layer else ""
        return Issue(
            file=pos.file,
            line=pos.line,
            column=pos.column,
            path=dotted(path),
            message=message + layer,
            hint=hint,
        )

    def set_apart(self, cause: Path_, at: Path_, what: str = "") -> str:
        """` (set by profile prod)` when the value at `cause`, behind a problem reported at
        `at`, comes from another layer than what is written at `at` (which the report already
        names)."""
        found = self.positions.get(cause)
        if found is None or found.layer in ("", self.locate(at).layer):
            return ""
        return f" ({what}{found.layer})"

    def _in_file(self, path: Path_) -> Path_:
        for size in range(len(path) - 1, 0, -1):
            places = self.renumbered.get(path[:size])
            index = path[size]
            if places is not None and isinstance(index, int) and index < len(places):
                return (*path[:size], places[index], *path[size + 1 :])
        return path

    def locate(self, path: Path_) -> Position:
        """The position of `path`, else of its nearest recorded ancestor, else the root."""
        return self._recorded(self._in_file(path))

    def _recorded(self, path: Path_) -> Position:
        for end in range(len(path), -1, -1):
            found = self.positions.get(path[:end])
            if found is not None:
                return found
        return Position(self.file, 1, 1)


def dotted(path: Path_) -> str:
    """`("services", "web", "ports", 0)` → `services.web.ports[0]`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def paths_below(value: Any, path: Path_) -> Iterator[Path_]:
    """Every path strictly inside `value`, which sits at `path`."""
    items: Iterable[tuple[str | int, Any]]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        child = (*path, key)
        yield child
        yield from paths_below(item, child)
