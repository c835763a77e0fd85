"""What changed in a container's spec, field by field: the `changes` of a recreate in a plan.

Pure. Compares two canonical specs (the one a container was made from, kept in its
`io.stackr.spec` label, and the one the file asks for now) and says, for each field that
differs, its value before and after as data, secret values masked, or a note where the values
say nothing (a file's content, a rebuilt image).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from stackr.sensitive import MASK, is_digest, secret_name


class _Unset(enum.Enum):
    """The side of a change where the field is absent (an enum member: it stays itself when
    a plan is copied or pickled)."""

    UNSET = "(unset)"

    def __repr__(self) -> str:
        return self.value


UNSET = _Unset.UNSET


@dataclass(frozen=True, slots=True)
class Change:
    """One difference behind a recreate: a field of the container spec (`environment.LOG_LEVEL`)
    with its value before and after, as data, secret values masked, UNSET where the field is
    absent on that side. Where the values themselves say nothing (a file's content, a rebuilt
    image, a changed network) `note` says what changed instead."""

    field: str
    before: Any = UNSET
    after: Any = UNSET
    note: str = ""
    unit: str = ""  # "bytes" or "seconds": shown as the file writes them (`256m`, `30s`)

    def __hash__(self) -> int:  # the values may be lists and mappings
        return hash(self.line())

    def line(self) -> str:
        """`environment.LOG_LEVEL: info → debug`, or `field: note`."""
        if self.note:
            return f"{self.field}: {self.note}"
        show = {"bytes": _show_size, "seconds": _show_seconds}.get(self.unit, _show)
        return f"{self.field}: {show(self.before)} → {show(self.after)}"

    def data(self) -> dict[str, Any]:
        """The change as JSON-ready data; a side where the field is absent is left out."""
        if self.note:
            return {"field": self.field, "note": self.note}
        sides = {"before": self.before, "after": self.after}
        return {"field": self.field, **{k: v for k, v in sides.items() if v is not UNSET}}


def spec_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every field of a container spec that differs; mappings are compared key by key, and
    values of environment variables whose names look secret are masked. Secrets and configs
    show by target, their content only as changed or not."""
    sections: tuple[str, ...] = ("secrets", "configs")
    if not _kept_network_changed(old, new):
        # Joining or leaving a network changes `network_specs` too: `networks` says it all.
        sections += ("network_specs",)
    changes = [
        _change(path, before, after)
        for path, before, after in _walk(
            {k: v for k, v in old.items() if k not in sections},
            {k: v for k, v in new.items() if k not in sections},
            (),
        )
    ]
    for section in ("secrets", "configs"):
        changes += _file_changes(section, old.get(section) or {}, new.get(section) or {})
    return changes


def _kept_network_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether a network the container joins before and after was changed (recreated with
    another spec): `network_specs` holds each joined network's spec hash, in `networks` order."""
    before = dict(zip(old.get("networks") or [], old.get("network_specs") or [], strict=False))
    after = dict(zip(new.get("networks") or [], new.get("network_specs") or [], strict=False))
    return any(before[name] != after[name] for name in before.keys() & after.keys())


def _file_changes(section: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes: list[Change] = []
    for target in sorted({*old, *new}):
        before, after = old.get(target), new.get(target)
        if before is None or after is None:
            source = (after or before or {}).get("source", "")
            verb = "added" if before is None else "removed"
            changes.append(Change(f"{section}.{target}", note=f"{verb} ({section[:-1]} {source})"))
            continue
        renamed = before.get("source") != after.get("source")
        for key in sorted({*before, *after}):
            if before.get(key) == after.get(key):
                continue
            if key == "content" and renamed:
                continue  # the digest is salted with the name: the new source says it all
            if key == "content":
                changes.append(Change(f"{section}.{target}", note="content changed"))
            else:
                changes.append(
                    Change(
                        f"{section}.{target}.{key}",
                        before.get(key, UNSET),
                        after.get(key, UNSET),
                    )
                )
    return changes


def _walk(old: Any, new: Any, path: tuple[str, ...]) -> Iterator[tuple[str, Any, Any]]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted({*old, *new}):
            yield from _walk(old.get(key, UNSET), new.get(key, UNSET), (*path, key))
    elif old != new:
        yield ".".join(path), old, new


def _change(path: str, before: Any, after: Any) -> Change:
    if path == "network_specs":
        return Change("networks", note="a network it joins was changed")
    if path == "build":
        return Change(
            "build", note="its context, Dockerfile, args or target changed (the image is rebuilt)"
        )
    if path.startswith("network_aliases"):  # by engine network: `networks.aliases.shop-dev-front`
        path = "networks.aliases" + path.removeprefix("network_aliases")
    key = path.partition(".")[2]
    secret = path.startswith(("environment.", "labels.")) and secret_name(key)
    if secret or is_digest(before) or is_digest(after):
        before, after = (MASK if v is not UNSET else v for v in (before, after))
    if path in ("healthcheck", "healthcheck.test"):
        before, after = (_check_said(v) for v in (before, after))
    if path in _UNITS_OF or path == "cpus":
        # No limit is written as null in the spec: it reads as the field left out.
        before, after = (UNSET if v is None else v for v in (before, after))
    return Change(path, _masked(before), _masked(after), unit=_UNITS_OF.get(path, ""))


def _check_said(value: Any) -> Any:
    # The engine's word for a disabled healthcheck (`disable: true`) means nothing to a reader;
    # none written (the image's, if any) is null in the spec, as a field left out.
    if value is None:
        return UNSET
    return "disabled" if value in (["NONE"], {"test": ["NONE"]}) else value


def _masked(value: Any) -> Any:
    # A list (command, entrypoint) or mapping (a whole `labels`) keeps its other items
    # readable; a secret value's digest never shows.
    if isinstance(value, list):
        return [_masked(item) for item in value]
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    return MASK if is_digest(value) else value


# Fields held in bytes or seconds, written with a unit in the file.
_UNITS_OF = {
    "memory": "bytes",
    "shm_size": "bytes",
    "mem_reservation": "bytes",
    "stop_grace_period": "seconds",
    **{f"healthcheck.{k}": "seconds" for k in ("interval", "timeout", "start_period")},
}
_UNITS = (("g", 1024**3), ("m", 1024**2), ("k", 1024))


def _show_seconds(value: Any) -> str:
    """Seconds as a stack file writes them: `2h`, `1m`, `30s`, `500ms`."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return _show(value)
    for suffix, unit in (("h", 3600), ("m", 60)):
        if value >= unit and value % unit == 0:
            return f"{value / unit:g}{suffix}"
    if 0 < value < 1:
        return f"{value * 1000:g}ms"
    return f"{value:g}s"


def _show_size(value: Any) -> str:
    """Bytes as a stack file writes them: the largest unit that divides them exactly."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return _show(value)
    suffix, unit = next(((s, u) for s, u in _UNITS if value % u == 0), ("b", 1))
    return f"{value // unit}{suffix}"


def _show(value: Any) -> str:
    if value is UNSET:
        return repr(UNSET)
    if isinstance(value, str):
        return value or '""'  # an empty text is still a value, unlike one left out
    return json.dumps(value)
