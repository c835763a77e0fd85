"""Profiles: choosing the active one and overlaying it on the base stack. Pure.

The merge rules, in one table (documented in docs/stack-file.md):

| value in the base | value in the overlay | result                         |
|-------------------|----------------------|--------------------------------|
| mapping           | mapping              | merged key by key (recursively) |
| anything          | scalar or list       | the overlay's value replaces   |

Positions follow the values: a merged value is located where the layer that set it wrote it,
with that layer's name, so an error can say `(set by profile prod)`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from stackr.errors import Issue, SpecError
from stackr.spec.source import Document, Position

DEFAULT_PROFILE = "dev"
PROFILE_ENV = "STACKR_PROFILE"

Path_ = tuple[str | int, ...]


def choose_profile(requested: str | None, env: Mapping[str, str] | None = None) -> str:
    """The active profile: `--profile`, else `$STACKR_PROFILE`, else `dev`."""
    if requested:
        return requested
    source = os.environ if env is None else env
    return source.get(PROFILE_ENV) or DEFAULT_PROFILE


def apply_profile(doc: Document, profile: str) -> Document:
    """The document with profile `profile` overlaid and the `profiles` key removed.

    Raises:
        SpecError: the file defines profiles and `profile` is not one of them.
    """
    data = doc.data if isinstance(doc.data, dict) else {}
    profiles = data.get("profiles")
    base = {key: value for key, value in data.items() if key != "profiles"}
    positions = {path: pos for path, pos in doc.positions.items() if path[:1] != ("profiles",)}
    if not profiles:
        return Document(file=doc.file, data=base, positions=positions)
    if profile not in profiles:
        raise SpecError([_unknown_profile(doc, profile, sorted(profiles))])
    overlay = profiles[profile] or {}
    prefix: Path_ = ("profiles", profile)
    layer = f"profile {profile}"
    overlay_positions = {
        path[len(prefix) :]: pos._replace(layer=layer)
        for path, pos in doc.positions.items()
        if path[: len(prefix)] == prefix and len(path) > len(prefix)
    }
    merged = merge_values(base, overlay, (), positions, overlay_positions)
    return Document(file=doc.file, data=merged, positions=positions)


def merge_values(
    base: Any,
    overlay: Any,
    path: Path_,
    positions: dict[Path_, Position],
    overlay_positions: Mapping[Path_, Position],
) -> Any:
    """Overlay `overlay` on `base` by the table above, updating `positions` in place."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        result = dict(base)
        for key, value in overlay.items():
            child = (*path, key)
            result[key] = merge_values(base.get(key), value, child, positions, overlay_positions)
            if child in overlay_positions:
                positions[child] = overlay_positions[child]
        return result
    _replace_positions(path, positions, overlay_positions)
    return overlay


def _replace_positions(
    path: Path_, positions: dict[Path_, Position], overlay_positions: Mapping[Path_, Position]
) -> None:
    # The overlay's value replaces the base's whole subtree, so must its positions.
    depth = len(path)
    for old in [p for p in positions if p[:depth] == path and len(p) > depth]:
        del positions[old]
    for new, pos in overlay_positions.items():
        if new[:depth] == path and len(new) >= depth:
            positions[new] = pos


def _unknown_profile(doc: Document, profile: str, known: list[str]) -> Issue:
    pos = doc.locate(("profiles",))
    return Issue(
        file=pos.file,
        line=pos.line,
        column=pos.column,
        path="profiles",
        message=f"no profile '{profile}' in this file",
        hint=f"profiles defined here: {', '.join(known)}",
    )
