"""How several `-f` files and a service's `extends` merge a service's lists: as Compose merges
them (its merge rules), where a profile's overlay replaces a list whole. Pure.

- `ports`: appended; one with an earlier one's host IP (none is `0.0.0.0`), host port(s),
  container port and protocol replaces it;
- `volumes`, `devices`, `tmpfs`: appended; one with an earlier one's target path replaces it;
- `secrets`, `configs`: appended; one that writes an earlier one's file replaces it;
- `cap_add`, `cap_drop`: appended; a capability already there is not added again;
- `dns`, `dns_search`, `dns_opt`, `security_opt`, `group_add`, `device_cgroup_rules`,
  `extra_hosts` and a network's `aliases`: appended; an entry already there is not added
  again (`extra_hosts` as mappings in both layers merge host by host);
- `env_file`, `label_file`: appended; a file already there is not added again;
- `expose`: appended; a port already there (`80` or `"80"`) is not added again;
- `networks`, `depends_on`: merged by name (a list and a mapping mix; a dependency listed
  again is started-and-required again, as Compose reads a list);
- `command`, `entrypoint`, `healthcheck.test` and anything else: replaced (the default rule).

A value written as one string where the key takes one (`dns: 8.8.8.8`) is a list of it here;
any other value not of the rule's shape is replaced, for the schema to judge. An entry whose
key cannot be read (it does not parse: the model reports it) is appended as it is; two entries
of one layer with one key are kept, for the checks to report.

`profiles.merge_documents` asks `rule` which rule a path takes and hands such a value to
`merge_list`, which merges it with the positions of its entries kept true.
"""

from __future__ import annotations

import enum
import posixpath
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from stackr.spec.document import Position, paths_below
from stackr.spec.files import DEFAULT_DIRECTORY
from stackr.spec.model import FileKind
from stackr.spec.mounts import parse_mount
from stackr.spec.runtime import capability
from stackr.spec.values import ValueProblem, parse_port

Path_ = tuple[str | int, ...]


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


@dataclass(frozen=True, slots=True)
class Found:
    """The rule a list merges by, the key of its entries, and whether one string may stand
    for a list of it (`dns: 10.0.0.1`); `listed` is what a name listed (not mapped) means."""

    rule: Rule
    key: Callable[[Any], Hashable]
    one_string: bool = False
    listed: Mapping[str, Any] | None = None


def _exact(entry: Any) -> Hashable:
    return ("exact", repr(entry))


def _port(entry: Any) -> Hashable:
    try:
        rule = parse_port(entry)
    except (ValueProblem, ValueError, TypeError):
        return _exact(entry)
    # No host IP is every IPv4 address, as Compose reads it.
    return replace(rule, host_ip="") if rule.host_ip == "0.0.0.0" else rule


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
    return capability(entry) if isinstance(entry, str) else _exact(entry)


def _expose(entry: Any) -> Hashable:
    return str(entry) if isinstance(entry, int | str) else _exact(entry)  # 80 is "80"


def _env_file(entry: Any) -> Hashable:
    path = entry.get("path") if isinstance(entry, dict) else entry
    return posixpath.normpath(path) if isinstance(path, str) and path else _exact(entry)


_KEYS: dict[str, Callable[[Any], Hashable]] = {
    "ports": _port,
    "volumes": _mount_target,
    "devices": _device_target,
    "tmpfs": _tmpfs_target,
    "secrets": _file_target(DEFAULT_DIRECTORY[FileKind.SECRET]),
    "configs": _file_target(DEFAULT_DIRECTORY[FileKind.CONFIG]),
    "cap_add": _capability,
    "cap_drop": _capability,
    "dns": _exact,
    "dns_search": _exact,
    "dns_opt": _exact,
    "device_cgroup_rules": _exact,
    "security_opt": _exact,
    "group_add": _exact,
    "env_file": _env_file,
    "label_file": _env_file,
    "expose": _expose,
}
_ONE_STRING = ("dns", "dns_search", "tmpfs", "env_file", "label_file")  # a string is a list of it
# A name listed, not mapped: a network keeps the settings given earlier; a dependency is
# started-and-required again, as Compose reads the list.
_LISTED: dict[str, Mapping[str, Any] | None] = {
    "networks": None,
    "depends_on": {"condition": "started", "required": True},
}


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
    below = _service_key(path)
    if below is None:
        return None
    if len(below) == 1 and isinstance(below[0], str):
        name = below[0]
        if name in _KEYS:
            return Found(Rule.KEYED, _KEYS[name], one_string=name in _ONE_STRING)
        if name in _LISTED:
            return Found(Rule.BY_NAME, _exact, listed=_LISTED[name])
        if name == "extra_hosts":
            return Found(Rule.HOSTS, _exact)
    if len(below) == 3 and below[0] == "networks" and below[2] == "aliases":
        return Found(Rule.KEYED, _exact)
    return None


def as_list(value: Any, *, one_string: bool) -> list[Any] | None:
    """A list rule's value as a list (one string is a list of it where the key takes one);
    None: not of a list's shape, which the later layer then replaces and the schema judges."""
    if isinstance(value, list):
        return value
    if one_string and isinstance(value, str):
        return [value]
    return None


def hosts_as_list(value: Any) -> list[Any] | None:
    """`extra_hosts` as `HOST=IP` entries, from either form (a mapping with a value that is
    not text is left to the schema)."""
    if isinstance(value, dict):
        if not all(isinstance(ip, str) for ip in value.values()):
            return None
        return [f"{host}={ip}" for host, ip in value.items()]
    return value if isinstance(value, list) else None


def names_as_mapping(value: Any) -> dict[Any, Any] | None:
    """`networks` or `depends_on` as a mapping of name → settings (None for a name listed);
    None for a list that names one twice or holds other than names, left to the schema."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list) and all(isinstance(e, str) for e in value):
        mapping = dict.fromkeys(value)
        return mapping if len(mapping) == len(value) else None
    return None


def merge_list(layers: Layers, found: Found, base: Any, overlay: Any, path: Path_) -> Any:
    """`overlay` merged onto `base` at `path` by `found`, the positions of the entries kept
    true; None where the two are not lists (or mappings) of that rule's shape: the later
    value then replaces the earlier one, by the default rule."""
    if found.rule is Rule.BY_NAME:
        return _by_name(layers, found, base, overlay, path)
    if found.rule is Rule.HOSTS:
        if isinstance(base, dict) and isinstance(overlay, dict):
            return None  # merged host by host: a later address for a host replaces the earlier
        earlier, later = hosts_as_list(base), hosts_as_list(overlay)
    else:
        earlier = as_list(base, one_string=found.one_string)
        later = as_list(overlay, one_string=found.one_string)
    if earlier is None or later is None:
        return None
    _renumber(layers.positions, base, path)
    result = list(earlier)
    index: dict[Hashable, int] = {}
    for i, entry in enumerate(result):
        index.setdefault(found.key(entry), i)
    sources = _sources(overlay, path, len(later))
    for j, entry in enumerate(later):
        # An earlier entry is replaced once: two entries of one layer with one key are left for
        # the checks to report, as in a single file.
        at = index.pop(found.key(entry), None)
        if at is None:
            at = len(result)
            result.append(entry)
        else:
            _forget(layers, result[at], (*path, at))
            result[at] = entry
        _adopt(layers, entry, sources[j], (*path, at))
    return result


def _by_name(layers: Layers, found: Found, base: Any, overlay: Any, path: Path_) -> Any:
    if isinstance(base, list) and isinstance(overlay, list):
        return _union(layers, base, overlay, path)
    earlier, later = names_as_mapping(base), names_as_mapping(overlay)
    if earlier is None or later is None:
        return None
    if isinstance(base, list):
        for i, name in enumerate(base):
            if (position := layers.positions.pop((*path, i), None)) is not None:
                layers.positions[(*path, name)] = position
    merged = dict(earlier)
    listed = isinstance(overlay, list)
    for j, (name, settings) in enumerate(later.items()):
        source = (*path, j) if listed else (*path, name)
        if listed and found.listed is not None and name in merged:
            _relisted(layers, merged, name, found.listed, source, (*path, name))
        else:
            _one_name(layers, merged, name, settings, path, source)
    return merged


def _union(layers: Layers, base: list[Any], overlay: list[Any], path: Path_) -> Any:
    """Two lists of names: the earlier one's, then the names only the later one has."""
    names_of_base = names_as_mapping(base)
    if names_of_base is None or names_as_mapping(overlay) is None:
        return None
    result = list(base)
    for j, name in enumerate(overlay):
        if name not in names_of_base:
            _adopt(layers, name, (*path, j), (*path, len(result)))
            result.append(name)
    return result


def _relisted(
    layers: Layers,
    merged: dict[Any, Any],
    name: Any,
    defaults: Mapping[str, Any],
    source: Path_,
    at: Path_,
) -> None:
    """A dependency an earlier layer mapped, listed again: read with the list's defaults (its
    other settings stay), as Compose reads it."""
    before = merged[name] if isinstance(merged[name], dict) else {}
    merged[name] = {**before, **defaults}
    position = layers.overlay_positions.get(source)
    if position is not None:
        for sub in (at, *((*at, key) for key in defaults)):
            layers.positions[sub] = position


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


def _sources(overlay: Any, path: Path_, count: int) -> list[Path_]:
    """Where the overlay wrote each of its `count` entries: one string is at `path` itself, a
    mapping's entry (`extra_hosts`) at its key."""
    if isinstance(overlay, dict):
        return [(*path, host) for host in overlay]
    if isinstance(overlay, list):
        return [(*path, j) for j in range(count)]
    return [path]


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
