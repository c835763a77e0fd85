"""Best effort after schema problems: the document without what the schema refused.

First only the keys the problems are in are left out of their entry (a service with a bad
`ports` is still built, so a wrong `depends_on` beside it is reported in the same run); in the
lists and mappings of items that stand alone (`ports`, `volumes`, `depends_on`, `tmpfs`,
`ulimits`... see ITEMIZED) only the refused item is, and the document keeps each remaining
list item's place in the file, so what is reported of it is located there. An entry
that is still invalid without them (a required key was the bad one) is left out whole, so what
is built is always valid. An unknown top-level key or a bad `name` is dropped. The names of the
entries left out are returned too, so cross-checks still treat them as declared (a reference to
a broken service is not also "undeclared"). A document whose very shape is wrong (e.g.
`services` is not a mapping) cannot be built at all: that raises.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stackr.errors import Issue, SpecError
from stackr.spec import deploy
from stackr.spec.source import Document

COLLECTIONS = ("services", "volumes", "networks", "secrets", "configs")


@dataclass(frozen=True, slots=True)
class Pruned:
    """What is left to build, and what was left out of it."""

    doc: Document
    broken: set[str]  # the names of the entries left out whole
    trimmed: dict[str, set[str]]  # service name -> the keys left out of it

    def without(self, service: str, key: str) -> bool:
        """Whether `key` of `service` was left out: checks that read it have nothing to go by."""
        left_out = self.trimmed.get(service, set())
        # A refused `deploy` section, or `scale`, `mem_limit` or `cpus`, takes what it would
        # have given with it.
        return (
            key in left_out
            or ("deploy" in left_out and key in deploy.FED)
            or any(k in left_out and key == fed for k, fed in deploy.SPELLED.items())
        )


def prune_invalid(doc: Document, issues: Sequence[Issue]) -> Pruned:
    """`doc` without what `issues` point into.

    Raises:
        SpecError: with `issues`, when what is left cannot be built into a model.
    """
    if not issues:
        return Pruned(doc, set(), {})
    from stackr.spec.schema import validate_document

    data = doc.data
    if not isinstance(data, dict) or any(
        not isinstance(data.get(key, {}), dict | None) for key in COLLECTIONS
    ):
        raise SpecError(list(issues))
    if any(issue.path in COLLECTIONS for issue in issues):
        raise SpecError(list(issues))
    pruned: dict[str, Any] = {key: dict(data.get(key) or {}) for key in COLLECTIONS}
    if "name" in data and not any(i.path == "name" for i in issues):
        pruned["name"] = data["name"]
    trimmed: dict[str, set[str]] = {}
    whole = [i for i in issues if not _item_of(i.path, pruned)]
    renumbered = _drop_items(pruned, issues)
    broken = _drop(pruned, whole, trimmed)
    usable = Document(
        file=doc.file,
        data=pruned,
        positions=doc.positions,
        tags=doc.tags,
        renumbered=renumbered,
    )
    broken |= _drop(pruned, validate_document(usable), None)
    for head in COLLECTIONS:
        # Whatever is left must be a mapping to be built; a bad entry was reported above.
        for name in [n for n, v in pruned[head].items() if not isinstance(v, dict | None)]:
            del pruned[head][name]
            broken.add(name)
    return Pruned(usable, broken, trimmed)


def _drop(
    pruned: dict[str, Any], issues: Sequence[Issue], trimmed: dict[str, set[str]] | None
) -> set[str]:
    """Leave out of `pruned` what each issue points into: with `trimmed`, only the key of its
    entry it is in (noted in `trimmed` for services), else, or when the issue is about the
    entry itself, the whole entry. The names of the entries left out whole."""
    broken: set[str] = set()
    for issue in issues:
        head = issue.path.split(".")[0].split("[")[0]
        if head not in COLLECTIONS:
            continue
        for name in [n for n in pruned[head] if _inside(issue.path, f"{head}.{n}")]:
            key = _key_of(issue.path, f"{head}.{name}")
            entry = pruned[head][name]
            if trimmed is not None and key is not None and isinstance(entry, dict):
                pruned[head][name] = {k: v for k, v in entry.items() if k != key}
                if head == "services":
                    trimmed.setdefault(name, set()).add(key)
            else:
                del pruned[head][name]
                broken.add(name)
    return broken


# A service's lists and mappings of items that stand alone: a refused item leaves the others
# checked.
ITEMIZED = frozenset(
    {"ports", "volumes", "networks", "secrets", "configs", "env_file", "depends_on"}
    | {"cap_add", "cap_drop", "security_opt", "dns", "dns_search", "extra_hosts", "tmpfs"}
    | {"sysctls", "ulimits", "expose"}
)
_ITEM = re.compile(r"services\.([^.\[]+)\.([a-z_]+)(?:\[(\d+)\]|\.([^.\[]+))")


def _item_of(path: str, pruned: dict[str, Any]) -> tuple[str, str, int | str] | None:
    """(service, key, index or entry name) when `path` is inside one item of an ITEMIZED list
    or mapping of a service in `pruned`."""
    found = _ITEM.match(path)
    if not found or found.group(2) not in ITEMIZED:
        return None
    service, key, index, entry = found.groups()
    value = (pruned["services"].get(service) or {}).get(key)
    if index is not None and isinstance(value, list) and int(index) < len(value):
        return service, key, int(index)
    if entry is not None and isinstance(value, dict) and entry in value:
        return service, key, entry
    return None


def _drop_items(
    pruned: dict[str, Any], issues: Sequence[Issue]
) -> dict[tuple[str | int, ...], tuple[int, ...]]:
    """Leave the refused items out of their lists and mappings in `pruned` (copies: the
    document itself is left as it was); for each list shortened, each remaining item's index
    in the file."""
    refused: dict[tuple[str, str], set[int | str]] = {}
    for issue in issues:
        item = _item_of(issue.path, pruned)
        if item is not None:
            refused.setdefault(item[:2], set()).add(item[2])
    renumbered: dict[tuple[str | int, ...], tuple[int, ...]] = {}
    for (service, key), items in refused.items():
        entry = dict(pruned["services"][service])
        value = entry[key]
        if isinstance(value, list):
            kept = tuple(i for i in range(len(value)) if i not in items)
            entry[key] = [value[i] for i in kept]
            renumbered[("services", service, key)] = kept
        else:
            entry[key] = {k: v for k, v in value.items() if k not in items}
        if not entry[key]:
            del entry[key]  # nothing left: as if not written (the schema may refuse it empty)
        pruned["services"][service] = entry
    return renumbered


def _key_of(path: str, entry: str) -> str | None:
    # "services.web.ports[0]" in "services.web" is in "ports"; the entry itself has no key.
    if not path.startswith(entry + "."):
        return None
    rest = path[len(entry) + 1 :]
    return rest.split(".")[0].split("[")[0] or None


def _inside(path: str, entry: str) -> bool:
    # Compared as text, so names holding "." or "[" (invalid, and reported) still match.
    return path == entry or path.startswith((entry + ".", entry + "["))
