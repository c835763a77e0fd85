"""How several `-f` files and a service's `extends` merge a service's lists: as Compose merges
them (its merge rules), where a profile's overlay replaces a list whole. Pure.

- `ports`: appended; one with an earlier one's host IP, host port(s), container port and
  protocol replaces it;
- `volumes`, `devices`, `tmpfs`: appended; one with an earlier one's target path replaces it;
- `secrets`, `configs`: appended; one with an earlier one's target file replaces it;
- `cap_add`, `cap_drop`: appended; a capability already there is not added again;
- `dns`, `dns_search`, `security_opt`, `group_add`, `extra_hosts` and a network's `aliases`:
  appended; an entry already there is not added again;
- `env_file`: appended; a file already there is not added again;
- `networks`, `depends_on`: merged by name (a list and a mapping mix);
- `command`, `entrypoint`, `healthcheck.test` and anything else: replaced (the default rule).

A value written as one string where a list may be (`dns: 8.8.8.8`) is a list of it here.
`extra_hosts` written as a mapping in one layer and a list in another is merged as the list
(`HOST=IP`). An entry whose key cannot be read (it does not parse: the schema or the model
reports it) is appended as it is.

The merge itself, with the positions of the entries, is `profiles.merge_documents`'s: this
module says which rule a path takes and what keys an entry.
"""

from __future__ import annotations

import enum
import posixpath
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Protocol

from stackr.spec.document import Position, paths_below
from stackr.spec.values import ValueProblem, parse_mount, parse_port

Path_ = tuple[str | int, ...]
Found = tuple["Rule", Callable[[Any], Hashable]]


class Layers(Protocol):
    """The merge in progress: the merged document's positions (the base's, updated as values
    are taken from the overlay), the overlay's, its merge tags, and the merge of one value."""

    positions: dict[Path_, Position]
    overlay_positions: Mapping[Path_, Position]
    tags: Mapping[Path_, str]

    def merge(self, base: Any, overlay: Any, path: Path_) -> Any:
        """`overlay` merged onto `base`, both at `path`."""
        ...


class Rule(enum.Enum):
    KEYED = "keyed"  # appended; an entry with an earlier one's key replaces it in place
    BY_NAME = "by name"  # a list of names or a mapping of name → settings, merged by name
    HOSTS = "hosts"  # extra_hosts: a list of HOST:IP, or a mapping


def _exact(entry: Any) -> Hashable:
    return ("exact", repr(entry))


def _port(entry: Any) -> Hashable:
    try:
        return parse_port(entry)
    except (ValueProblem, ValueError, TypeError):
        return _exact(entry)


def _mount_target(entry: Any) -> Hashable:
    try:
        return posixpath.normpath(parse_mount(entry, base_dir="/").target)
    except (ValueProblem, ValueError, TypeError, AttributeError):
        return _exact(entry)


def _device_target(entry: Any) -> Hashable:
    # HOST[:CONTAINER[:PERMISSIONS]]: the container's path is the host's unless given.
    if not isinstance(entry, str):
        return _exact(entry)
    parts = entry.split(":")
    return posixpath.normpath(parts[1] if len(parts) > 1 and parts[1].startswith("/") else parts[0])


def _tmpfs_target(entry: Any) -> Hashable:
    return posixpath.normpath(entry.split(":", 1)[0]) if isinstance(entry, str) else _exact(entry)


def _file_target(directory: str) -> Callable[[Any], Hashable]:
    """The file a secret or config grant writes: a relative target (or the source's name) is
    in `directory`, as the model reads it."""

    def key(entry: Any) -> Hashable:
        if isinstance(entry, str):
            written = entry
        elif isinstance(entry, dict) and isinstance(
            entry.get("target") or entry.get("source"), str
        ):
            written = entry.get("target") or entry["source"]
        else:
            return _exact(entry)
        return posixpath.normpath(posixpath.join(directory, written))

    return key


def _capability(entry: Any) -> Hashable:
    # The model reads `net_admin`, `NET_ADMIN` and `CAP_NET_ADMIN` as one capability.
    return entry.upper().removeprefix("CAP_") if isinstance(entry, str) else _exact(entry)


def _env_file(entry: Any) -> Hashable:
    path = entry.get("path") if isinstance(entry, dict) else entry
    return posixpath.normpath(path) if isinstance(path, str) and path else _exact(entry)


_KEYS: dict[str, Callable[[Any], Hashable]] = {
    "ports": _port,
    "volumes": _mount_target,
    "devices": _device_target,
    "tmpfs": _tmpfs_target,
    "secrets": _file_target("/run/secrets"),
    "configs": _file_target("/"),
    "cap_add": _capability,
    "cap_drop": _capability,
    "dns": _exact,
    "dns_search": _exact,
    "security_opt": _exact,
    "group_add": _exact,
    "env_file": _env_file,
}
_BY_NAME = ("networks", "depends_on")


def _service_key(path: Path_) -> Path_ | None:
    """The part of `path` below `services.<name>` (in the stack or in a profile's overlay)."""
    if len(path) >= 3 and path[0] == "services":
        return path[2:]
    if len(path) >= 5 and path[0] == "profiles" and path[2] == "services":
        return path[4:]
    return None


def rule(path: Path_) -> Found | None:
    """The rule the list (or the value that may be one) at `path` merges by, and the key of
    its entries; None: the later layer's value replaces it (the default)."""
    if len(path) == 3 and path[0] == "profiles" and path[2] == "env_file":
        return Rule.KEYED, _env_file  # a profile's own env files
    below = _service_key(path)
    if below is None:
        return None
    if len(below) == 1 and isinstance(below[0], str):
        name = below[0]
        if name in _KEYS:
            return Rule.KEYED, _KEYS[name]
        if name in _BY_NAME:
            return Rule.BY_NAME, _exact
        if name == "extra_hosts":
            return Rule.HOSTS, _exact
    if len(below) == 3 and below[0] == "networks" and below[2] == "aliases":
        return Rule.KEYED, _exact
    return None


def as_list(value: Any) -> list[Any] | None:
    """A list rule's value as a list: one string is a list of it; None: not a list's shape
    (a mapping, say), which the later layer then replaces and the schema judges."""
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [value]
    return None


def hosts_as_list(value: Any) -> list[Any] | None:
    """`extra_hosts` as `HOST=IP` entries, from either form."""
    if isinstance(value, dict):
        return [f"{host}={ip}" for host, ip in value.items()]
    return value if isinstance(value, list) else None


def names_as_mapping(value: Any) -> dict[Any, Any] | None:
    """`networks` or `depends_on` as a mapping: a name listed is one with no settings."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list) and all(isinstance(e, str) for e in value):
        return dict.fromkeys(value)
    return None


def merge_list(layers: Layers, found: Found, base: Any, overlay: Any, path: Path_) -> Any:
    """`overlay` merged onto `base` at `path` by `found`, the positions of the entries kept
    true; None where the two are not lists (or mappings) of that rule's shape: the later
    value then replaces the earlier one, by the default rule."""
    kind, key = found
    if kind is Rule.BY_NAME:
        return _by_name(layers, base, overlay, path)
    if kind is Rule.HOSTS and isinstance(base, dict) and isinstance(overlay, dict):
        return None  # merged host by host: a later address for a host replaces the earlier one
    entries = hosts_as_list if kind is Rule.HOSTS else as_list
    earlier, later = entries(base), entries(overlay)
    if earlier is None or later is None:
        return None
    _renumber(layers.positions, base, path)
    result = list(earlier)
    index: dict[Hashable, int] = {}
    for i, entry in enumerate(result):
        index.setdefault(key(entry), i)
    # Only an earlier layer's entries are matched: two entries of one layer with one key are
    # left for the checks to report, as in a single file.
    for j, entry in enumerate(later):
        at = index.get(key(entry))
        if at is None:
            at = len(result)
            result.append(entry)
        else:
            _forget(layers, result[at], (*path, at))
            result[at] = entry
        _adopt(layers, entry, _source(overlay, path, j), (*path, at))
    return result


def _by_name(layers: Layers, base: Any, overlay: Any, path: Path_) -> Any:
    if isinstance(base, list) and isinstance(overlay, list):
        names_of_base = names_as_mapping(base)
        if names_of_base is None or names_as_mapping(overlay) is None:
            return None
        result = list(base)
        for j, name in enumerate(overlay):
            if name not in names_of_base:
                _adopt(layers, name, (*path, j), (*path, len(result)))
                result.append(name)
        return result
    earlier, later = names_as_mapping(base), names_as_mapping(overlay)
    if earlier is None or later is None:
        return None
    if isinstance(base, list):
        for i, name in enumerate(base):
            if (found := layers.positions.pop((*path, i), None)) is not None:
                layers.positions[(*path, name)] = found
    merged = dict(earlier)
    for j, (name, settings) in enumerate(later.items()):
        _one_name(
            layers,
            merged,
            name,
            settings,
            path,
            (*path, j) if isinstance(overlay, list) else (*path, name),
        )
    return merged


def _one_name(
    layers: Layers, merged: dict[Any, Any], name: Any, settings: Any, path: Path_, source: Path_
) -> None:
    at = (*path, name)
    tag = layers.tags.get(at)
    if tag == "reset":
        _forget(layers, merged.pop(name, None), at)
        return
    if tag is None and name in merged and settings is None:
        return  # named again with no settings: those given earlier stay, as in Compose
    if tag is None and isinstance(merged.get(name), dict) and isinstance(settings, dict):
        merged[name] = layers.merge(merged[name], settings, at)
        if at in layers.overlay_positions:
            layers.positions[at] = layers.overlay_positions[at]
        return
    _forget(layers, merged.get(name), at)
    merged[name] = settings
    _adopt(layers, settings, source, at)


def _source(overlay: Any, path: Path_, j: int) -> Path_:
    """Where the overlay wrote its `j`th entry: one string is at `path` itself, a mapping's
    entry (`extra_hosts`) at its key."""
    if isinstance(overlay, dict):
        return (*path, list(overlay)[j])
    return (*path, j) if isinstance(overlay, list) else path


def _renumber(positions: dict[Path_, Position], base: Any, path: Path_) -> None:
    """The base's positions re-keyed as the list `as_list`/`hosts_as_list` made of it."""
    if isinstance(base, str) and path in positions:
        positions[(*path, 0)] = positions[path]
    elif isinstance(base, dict):
        for i, host in enumerate(base):
            if (found := positions.pop((*path, host), None)) is not None:
                positions[(*path, i)] = found


def _forget(layers: Layers, value: Any, at: Path_) -> None:
    layers.positions.pop(at, None)
    for sub in paths_below(value, at):
        layers.positions.pop(sub, None)


def _adopt(layers: Layers, value: Any, source: Path_, at: Path_) -> None:
    """The overlay's positions of `value`, written at `source`, now at `at`."""
    written = layers.overlay_positions
    if source in written:
        layers.positions[at] = written[source]
    for sub in paths_below(value, source):
        if sub in written:
            layers.positions[(*at, *sub[len(source) :])] = written[sub]
