"""Layers: choosing the active profile and merging documents (several `-f` files, then the
profile) by one table of rules. Pure.

| in the base | in the overlay        | result                                      |
|-------------|-----------------------|---------------------------------------------|
| mapping     | mapping               | merged key by key (recursively)             |
| anything    | scalar or list        | the overlay's value replaces it (*)         |
| anything    | `!override` value     | the overlay's value replaces it, a mapping too |
| anything    | `!reset` (any value)  | the key is removed                          |
| `logging`   | another `driver`      | the overlay's replaces it (as in Compose)   |
| `build`     | the other form        | `./web` is `{context: ./web}`: merged        |

(*) Where a later `-f` file or `extends` gives a service's list, it merges as Compose merges it
(`listmerge`); a profile's overlay replaces it.

`environment`, `labels`, `sysctls` and build `args` in their list form (`["KEY=value"]`) are
turned into mappings before merging, so the two forms mix and merge key by key.

Positions follow the values: a merged value is located where the layer that set it wrote it,
with that layer's name, so an error can say `(set by profile prod)`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

from stackr.errors import Issue, SpecError, StackrError
from stackr.spec import listmerge
from stackr.spec.document import paths_below
from stackr.spec.source import Document, Position

DEFAULT_PROFILE = "dev"
# As the schema's `profileName`: the profile is part of every engine object's name.
PROFILE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
PROFILE_ENV = "STACKR_PROFILE"
PAIR_KEYS = ("environment", "labels", "sysctls", "args")
SETTINGS = ("env_file", "engine")  # a profile's own settings, not part of the overlay

Path_ = tuple[str | int, ...]


def choose_profile(requested: str | None, env: Mapping[str, str] | None = None) -> str:
    """The active profile: `--profile`, else `$STACKR_PROFILE`, else `dev`.

    Raises:
        StackrError: the name is not one a profile can have (it is part of every object's name).
    """
    source = os.environ if env is None else env
    chosen = requested or source.get(PROFILE_ENV) or DEFAULT_PROFILE
    if not PROFILE_NAME.fullmatch(chosen):
        given = "--profile" if requested else f"${PROFILE_ENV}"
        raise StackrError(
            f"{given}: '{chosen}' is not a profile name",
            hint="use lowercase letters, digits, '-' and '_', starting with a letter or digit",
        )
    return chosen


def profile_settings(doc: Document, profile: str) -> dict[str, Any]:
    """The profile's own settings (`env_file`, `engine`) as written, before any validation."""
    data = doc.data if isinstance(doc.data, dict) else {}
    profiles = data.get("profiles")
    chosen = profiles.get(profile) if isinstance(profiles, dict) else None
    return {k: v for k, v in chosen.items() if k in SETTINGS} if isinstance(chosen, dict) else {}


def apply_profile(doc: Document, profile: str) -> Document:
    """The document with profile `profile` overlaid and the `profiles` key removed.

    A `profiles` of the wrong shape is left to the schema's report: nothing is overlaid.

    Raises:
        SpecError: the file defines profiles and `profile` is not one of them.
    """
    data = doc.data if isinstance(doc.data, dict) else {}
    profiles = data.get("profiles")
    base = {key: value for key, value in data.items() if key != "profiles"}
    positions, overlay_positions = _split_positions(doc, profile)
    base_doc = Document(file=doc.file, data=base, positions=positions)
    if not isinstance(profiles, dict) or not profiles:
        return base_doc
    if profile not in profiles:
        raise SpecError([_unknown_profile(doc, profile, sorted(map(str, profiles)))])
    chosen = profiles[profile]
    overlay = Document(
        file=doc.file,
        data={k: v for k, v in chosen.items() if k not in SETTINGS}
        if isinstance(chosen, dict)
        else {},
        positions=overlay_positions,
        tags=_strip(doc.tags, ("profiles", profile)),
    )
    return merge_documents(base_doc, overlay)


def refuse_unknown_profile(docs: Sequence[Document], profile: str) -> None:
    """Refuse a profile the files do not define, before anything else is read: under a mistyped
    `--profile` every other message (an unset variable, say) would mislead.

    Raises:
        SpecError: the files define profiles, `profile` is not one of them, and no merge
            directive (`!reset`, `!override`) on `profiles` could change that.
    """
    known: set[str] = set()
    for doc in docs:
        profiles = doc.data.get("profiles") if isinstance(doc.data, dict) else None
        if not isinstance(profiles, dict) or any(
            path[:1] == ("profiles",) and len(path) <= 2 for path in doc.tags
        ):
            if profiles is not None:
                return  # an odd shape (the schema's to report) or a directive: decided later
            continue
        known |= set(map(str, profiles))
    if known and profile not in known:
        first = next(d for d in docs if isinstance(d.data, dict) and d.data.get("profiles"))
        raise SpecError([_unknown_profile(first, profile, sorted(known))])


def _split_positions(
    doc: Document, profile: str
) -> tuple[dict[Path_, Position], dict[Path_, Position]]:
    """The base's positions, and the profile's re-rooted and marked with its layer, in one
    pass over the table (it holds every path of the stack)."""
    base: dict[Path_, Position] = {}
    overlay: dict[Path_, Position] = {}
    layer = f"set by profile {profile}"
    for path, pos in doc.positions.items():
        if not path or path[0] != "profiles":
            base[path] = pos
        elif len(path) > 2 and path[1] == profile:
            overlay[path[2:]] = Position(pos.file, pos.line, pos.column, layer)
    return base, overlay


def _strip(table: Mapping[Path_, Any], prefix: Path_) -> dict[Path_, Any]:
    found = {}
    for path, value in table.items():
        if path[: len(prefix)] == prefix and len(path) > len(prefix):
            found[path[len(prefix) :]] = value
    return found


def merge_documents(base: Document, overlay: Document, *, compose_lists: bool = False) -> Document:
    """`overlay` merged onto `base` by the table above; with `compose_lists` (a later `-f`
    file, or a service onto the base it `extends`), a service's lists merge as Compose merges
    them (`listmerge`) instead of being replaced.

    Tags inside `profiles` are not applied here but carried, with their values, to the profile
    overlay still to come (a second file's `!reset` in a profile resets the stack's key).
    """
    positions = dict(base.positions)
    now = {path: tag for path, tag in overlay.tags.items() if path[:1] != ("profiles",)}
    # An `!override` in a later file's profile also replaces the earlier files' value there.
    held = frozenset(path for path, tag in overlay.tags.items() if tag == "override")
    merger = _Merger(positions, overlay.positions, now, compose_lists=compose_lists, held=held)
    data = merger.merge(_without_resets(base.data, (), base.tags), overlay.data, ())
    tags = {
        path: tag
        for path, tag in {**base.tags, **overlay.tags}.items()
        if path[:1] == ("profiles",)
    }
    return Document(file=base.file, data=data, positions=positions, tags=tags)


def _without_resets(value: Any, path: Path_, tags: Mapping[Path_, str]) -> Any:
    # `!reset` in the first layer has nothing to reset: the key is simply dropped.
    if not tags or not isinstance(value, dict):
        return value
    return {
        key: _without_resets(item, (*path, key), tags)
        for key, item in value.items()
        if tags.get((*path, key)) != "reset" or path[:1] == ("profiles",) or key == "profiles"
    }


class _Merger:
    """Merges values and keeps `positions` true, touching only the subtrees it replaces (the
    position table holds every path of the stack: scanning it per value would be quadratic)."""

    def __init__(
        self,
        positions: dict[Path_, Position],
        overlay_positions: Mapping[Path_, Position],
        tags: Mapping[Path_, str],
        *,
        compose_lists: bool,
        held: frozenset[Path_] = frozenset(),
    ) -> None:
        self.positions = positions
        self.overlay_positions = overlay_positions
        self.tags = tags
        self.compose_lists = compose_lists
        self.held = held  # carried `!override`s: they replace here too, and apply again later

    def merge(self, base: Any, overlay: Any, path: Path_) -> Any:
        merged = self._merged_list(base, overlay, path)
        if merged is not None:
            return merged
        if not isinstance(overlay, dict):
            self._forget(base, path)
            self._adopt(overlay, path)
            return overlay
        if not isinstance(base, dict):
            self._forget(base, path)  # a mapping replaces a non-mapping wholesale
            base = {}
        result = dict(base)
        for key, value in overlay.items():
            child = (*path, key)
            tag = self.tags.get(child)
            if tag is not None:
                self._forget(base.get(key), child)
                self.positions.pop(child, None)
            if tag == "reset":
                result.pop(key, None)
                continue
            replaced = (
                tag is not None or child in self.held or _other_driver(child, base.get(key), value)
            )
            if replaced and tag is None:
                self._forget(base.get(key), child)
            under = None if replaced else self._build_as_mapping(child, base.get(key), value)
            if not replaced and isinstance(under, dict) and _is_build(child):
                value = self._context_as_mapping(child, value)
            result[key] = self.merge(under, value, child)
            if child in self.overlay_positions:
                self.positions[child] = self.overlay_positions[child]
        return result

    def _merged_list(self, base: Any, overlay: Any, path: Path_) -> Any:
        """A service's list merged as Compose merges it, where that is asked for; else None."""
        found = listmerge.rule(path) if self.compose_lists and base is not None else None
        return None if found is None else listmerge.merge_list(self, found, base, overlay, path)

    def _build_as_mapping(self, path: Path_, base: Any, overlay: Any) -> Any:
        """A service's `build` written as a context (`build: ./web`) under one written as a
        mapping (`build: {args: ...}`) is its `{context: ./web}`, as in Compose: the overlay's
        keys merge onto it, and the context stays."""
        if _is_build(path) and isinstance(base, str) and isinstance(overlay, dict):
            if path in self.positions:
                self.positions[(*path, "context")] = self.positions[path]
            return {"context": base}
        return base

    def _context_as_mapping(self, path: Path_, overlay: Any) -> Any:
        # `build: ./other` onto a mapping changes its context only.
        if not isinstance(overlay, str):
            return overlay
        if path in self.overlay_positions:
            self.positions[path] = self.overlay_positions[path]
            self.positions[(*path, "context")] = self.overlay_positions[path]
        return {"context": overlay}

    def _forget(self, value: Any, path: Path_) -> None:
        for sub in paths_below(value, path):
            self.positions.pop(sub, None)

    def _adopt(self, value: Any, path: Path_) -> None:
        for sub in paths_below(value, path):
            if sub in self.overlay_positions:
                self.positions[sub] = self.overlay_positions[sub]


def _is_build(path: Path_) -> bool:
    return len(path) == 3 and path[0] == "services" and path[2] == "build"


def _other_driver(path: Path_, base: Any, overlay: Any) -> bool:
    """Whether `overlay` is a service's `logging` with another driver than `base`'s: it then
    replaces it whole, as in Compose (one driver's options mean nothing to another)."""
    return (
        len(path) == 3
        and path[0] == "services"
        and path[2] == "logging"
        and isinstance(base, dict)
        and isinstance(overlay, dict)
        and "driver" in overlay
        and overlay.get("driver") != base.get("driver")
    )


def normalise_pairs(doc: Document) -> Document:
    """`environment`, `labels`, `sysctls` and build `args` lists of `KEY=value` strings become
    mappings, everywhere, with their positions and tags re-keyed; lists holding anything else
    are left for the schema to report."""
    positions = dict(doc.positions)
    tags = dict(doc.tags)
    data = _pairs(doc.data, (), positions, tags, doc.texts)
    return Document(file=doc.file, data=data, positions=positions, tags=tags)


def _pairs(
    value: Any,
    path: Path_,
    positions: dict[Path_, Position],
    tags: dict[Path_, str],
    texts: Mapping[Path_, str],
) -> Any:
    # A container in which nothing changes is kept as it is, not copied.
    if not isinstance(value, dict | list):
        return value
    changed: Any = None
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if not isinstance(item, dict | list):
            continue  # a scalar is kept as it is, whatever its key
        new = _pair_value(key, item, (*path, key), positions, tags, texts)
        if new is not item:
            if changed is None:
                changed = value.copy()
            changed[key] = new
    return value if changed is None else changed


def _pair_value(
    key: str | int,
    item: dict[Any, Any] | list[Any],
    path: Path_,
    positions: dict[Path_, Position],
    tags: dict[Path_, str],
    texts: Mapping[Path_, str],
) -> Any:
    if key in PAIR_KEYS and _pair_list(str(key), item):
        # _pair_list found a list of strings.
        return _list_to_mapping(cast(list[str], item), path, positions, tags)
    if key in PAIR_KEYS and isinstance(item, dict):
        # A value is text for the container: keep `0x1F` and `1.10` as written.
        return {k: texts.get((*path, k), v) for k, v in item.items()}
    return _pairs(item, path, positions, tags, texts)


def _pair_list(key: str, value: Any) -> bool:
    # Only well-formed lists become mappings; any other is left for the schema to report, at
    # the entry that is wrong (a label needs `=`; no entry may start with it).
    if not isinstance(value, list) or not all(isinstance(e, str) for e in value):
        return False
    needs_value = key in ("labels", "sysctls", "args")
    return all(e and not e.startswith("=") and ("=" in e or not needs_value) for e in value)


def _list_to_mapping(
    items: list[str], path: Path_, positions: dict[Path_, Position], tags: dict[Path_, str]
) -> dict[str, str | None]:
    mapping: dict[str, str | None] = {}
    for index, entry in enumerate(items):
        key, sep, rest = entry.partition("=")
        mapping[key] = rest if sep else None
        for table in (positions, tags):
            if (*path, index) in table:
                table[(*path, key)] = table.pop((*path, index))  # type: ignore[assignment]
    return mapping


def _unknown_profile(doc: Document, profile: str, known: list[str]) -> Issue:
    pos = doc.locate(("profiles",))
    return Issue(
        file=pos.file,
        line=pos.line,
        column=pos.column,
        path="profiles",
        message=f"no profile '{profile}' in this file",
        hint=(
            _did_you_mean(profile, known) + f"profiles defined here: {', '.join(known)}; "
            f"choose one with --profile or ${PROFILE_ENV}"
        ),
    )


def _did_you_mean(profile: str, known: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(profile, known, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""
