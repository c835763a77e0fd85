"""Best effort after schema problems: the document without the entries the schema refused.

A service, volume, network, secret or config with any problem is left out whole; an unknown
top-level key or a bad `name` is dropped. The names left out are returned too, so cross-checks
still treat them as declared (a reference to a broken service is not also "undeclared"). A
document whose very shape is wrong (e.g. `services` is not a mapping) cannot be built at
all: that raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stackr.errors import Issue, SpecError
from stackr.spec.source import Document

COLLECTIONS = ("services", "volumes", "networks", "secrets", "configs")


def prune_invalid(doc: Document, issues: Sequence[Issue]) -> tuple[Document, set[str]]:
    """`doc` without what `issues` point into, and the names of the entries left out.

    Raises:
        SpecError: with `issues`, when what is left cannot be built into a model.
    """
    if not issues:
        return doc, set()
    data = doc.data
    if not isinstance(data, dict) or any(
        not isinstance(data.get(key, {}), dict | None) for key in COLLECTIONS
    ):
        raise SpecError(list(issues))
    pruned: dict[str, Any] = {key: dict(data.get(key) or {}) for key in COLLECTIONS}
    broken: set[str] = set()
    for issue in issues:
        head = issue.path.split(".")[0].split("[")[0]
        if head in COLLECTIONS and issue.path == head:
            raise SpecError(list(issues))
        if head not in COLLECTIONS:
            continue
        for name in [n for n in pruned[head] if _inside(issue.path, f"{head}.{n}")]:
            del pruned[head][name]
            broken.add(name)
    for head in COLLECTIONS:
        # Whatever is left must be a mapping to be built; a bad entry was reported above.
        for name in [n for n, v in pruned[head].items() if not isinstance(v, dict | None)]:
            del pruned[head][name]
            broken.add(name)
    if "name" in data and not any(i.path == "name" for i in issues):
        pruned["name"] = data["name"]
    return Document(file=doc.file, data=pruned, positions=doc.positions, tags=doc.tags), broken


def _inside(path: str, entry: str) -> bool:
    # Compared as text, so names holding "." or "[" (invalid, and reported) still match.
    return path == entry or path.startswith((entry + ".", entry + "["))
