"""Key-by-key differences between two rendered stacks (`stackr diff`). Pure.

Mappings are compared key by key, recursively; lists and scalars as whole values, since that is
how profiles replace them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stackr.spec.source import dotted

MISSING = object()


@dataclass(frozen=True, slots=True, kw_only=True)
class Difference:
    """A path where two configurations differ, with the value on each side."""

    path: str
    left: Any = MISSING  # MISSING: the left side does not have the key
    right: Any = MISSING


def diff_configs(left: Any, right: Any) -> list[Difference]:
    """Every path where `left` and `right` differ, in a stable order."""
    return list(_walk(left, right, ()))


def _walk(left: Any, right: Any, path: tuple[str | int, ...]) -> Any:
    if isinstance(left, dict) and isinstance(right, dict):
        for key in [*left, *(k for k in right if k not in left)]:
            yield from _walk(left.get(key, MISSING), right.get(key, MISSING), (*path, key))
    elif left != right:
        yield Difference(path=dotted(path), left=left, right=right)
