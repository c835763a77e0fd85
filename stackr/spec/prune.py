"""Best effort after schema problems: the document without what the schema refused.

First only the keys the problems are in are left out of their entry (a service with a bad
`ports` is still built, so a wrong `depends_on` beside it is reported in the same run). An entry
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
        return key in self.trimmed.get(service, ())


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
    broken = _drop(pruned, issues, trimmed)
    usable = Document(file=doc.file, data=pruned, positions=doc.positions, tags=doc.tags)
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
                kept = (
                    _neutral_port(entry, issue.path, f"{head}.{name}")
                    if head == "services"
                    else None
                )
                if kept is not None:
                    pruned[head][name] = kept  # the other ports are still checked
                    continue
                pruned[head][name] = {k: v for k, v in entry.items() if k != key}
                if head == "services":
                    trimmed.setdefault(name, set()).add(key)
            else:
                del pruned[head][name]
                broken.add(name)
    return broken


_PORT_ITEM = re.compile(r"\.ports\[(\d+)\]")
# What stands in for a refused port: a container port alone publishes nothing, so no check
# of host ports (ranges, clashes) reads it, and the other entries keep their places.
NEUTRAL_PORT = 1


def _neutral_port(entry: dict[str, Any], path: str, at: str) -> dict[str, Any] | None:
    """`entry` with `NEUTRAL_PORT` in place of the one `ports` item `path` points at, if it
    points at one (a copy: the document itself is left as it was)."""
    found = _PORT_ITEM.match(path[len(at) :])
    ports = entry.get("ports")
    if not found or not isinstance(ports, list) or int(found.group(1)) >= len(ports):
        return None
    index = int(found.group(1))
    return {**entry, "ports": [*ports[:index], NEUTRAL_PORT, *ports[index + 1 :]]}


def _key_of(path: str, entry: str) -> str | None:
    # "services.web.ports[0]" in "services.web" is in "ports"; the entry itself has no key.
    if not path.startswith(entry + "."):
        return None
    rest = path[len(entry) + 1 :]
    return rest.split(".")[0].split("[")[0] or None


def _inside(path: str, entry: str) -> bool:
    # Compared as text, so names holding "." or "[" (invalid, and reported) still match.
    return path == entry or path.startswith((entry + ".", entry + "["))
