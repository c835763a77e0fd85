"""Compose's `extends`: a service that starts from another service's settings, in the same file
or in another one (`extends: {service: base, file: common.yml}`, or `extends: base`), and
overlays its own by the merge rules (`profiles.merge_documents`).

Resolved in each file once its variables are substituted and before the files merge, as Compose
does. A base may extend another in turn; a loop is refused. A base from another file keeps its
relative paths (build context, env files, bind mounts), and those of its own bases, relative
to the file that writes them: they are written out as absolute paths. A service's own `!reset`
and `!override` go on with it, to apply against earlier files as the files merge. Values a
base gives are located where its file writes them, marked `extended from <base>`. Pure but for
reading the other files, through the loader it is given.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackr.errors import Issue, SpecError
from stackr.spec.document import Document, Position
from stackr.spec.profiles import merge_documents
from stackr.spec.relpaths import service_paths_from

__all__ = ["Loader", "extended_files", "extends_from_profiles", "resolve_extends"]

Path_ = tuple[str | int, ...]
# Reads another stack file for its services: parsed, its variables substituted.
Loader = Callable[[str], Document]


@dataclass(frozen=True, slots=True)
class _Reference:
    """What one service's `extends` names, and where it is written."""

    service: str
    file: str | None
    at: Path_  # the `extends` key
    keyed: bool = False  # written as a mapping, `{service: ...}`


def resolve_extends(
    doc: Document, load: Loader, included: Document | None = None
) -> tuple[Document, list[Issue]]:
    """`doc` with every service's `extends` resolved, and the problems found doing it (a base
    that is not there, a file that does not load, a loop). A service whose `extends` is
    malformed keeps it, for the schema to report, and so does one whose base is not found.
    `extends: NAME` may also name a service of `included` (what the file's `include` brings,
    resolved already), as Compose reads a file's includes before its extends.
    """
    services = doc.data.get("services") if isinstance(doc.data, dict) else None
    if not isinstance(services, dict) or not any(
        isinstance(body, dict) and "extends" in body for body in services.values()
    ):
        return doc, []
    resolver = _Resolver(load, included)
    # A name that is not text is the schema's to report: that service is left as it is.
    resolved = {
        name: resolver.service(doc, name, ()) if isinstance(name, str) else _only(doc, name)
        for name in services
    }
    outside = [path for path in doc.positions if path[:1] != ("services",) or len(path) < 2]
    positions = {path: doc.positions[path] for path in outside}
    data = dict(doc.data)
    data["services"] = {}
    for name, sub in resolved.items():
        data["services"][name] = sub.data["services"][name]
        positions.update(sub.positions)
    # A service's own tags go on with it: they apply again as the files merge (`!reset` in
    # a later file's service resets what an earlier file gave it too).
    tags = {p: t for p, t in doc.tags.items() if p[:1] != ("services",) or len(p) < 2}
    for sub in resolved.values():
        tags.update(sub.tags)
    return Document(file=doc.file, data=data, positions=positions, tags=tags), resolver.issues


def extended_files(doc: Document) -> list[str]:
    """The other files the services of `doc` extend, as paths from where `doc` is read."""
    found = []
    for name, body in _services(doc).items():
        reference = _reference(body, ("services", name, "extends"))
        if reference is not None and reference.file is not None:
            found.append(str(Path(doc.file).parent / reference.file))
    return found


def extends_from_profiles(merged: Document, rendered: Document) -> list[Issue]:
    """An `extends` the profile's overlay gave (`rendered` against `merged`, the files before
    it): refused, since the overlay applies to the service already resolved."""
    before, after = (_services(d) for d in (merged, rendered))
    return [
        rendered.issue(
            ("services", name, "extends"),
            "a profile cannot make a service extend another: extends is resolved before "
            "profiles apply",
            "write extends in the service itself, and give the profile only what changes",
        )
        for name, body in after.items()
        if isinstance(body, dict)
        and "extends" in body
        and body["extends"] != _extends_of(before.get(name))
    ]


def _extends_of(body: Any) -> Any:
    return body.get("extends") if isinstance(body, dict) else None


def _services(doc: Document) -> dict[Any, Any]:
    services = doc.data.get("services") if isinstance(doc.data, dict) else None
    return services if isinstance(services, dict) else {}


class _Resolver:
    def __init__(self, load: Loader, included: Document | None = None) -> None:
        self.load = load
        self.included = included
        self.issues: list[Issue] = []
        self.done: dict[tuple[str, str], Document] = {}
        # A service both included and defined in the file, as a base: the two merged, as the
        # stack will have it (the file's own definition over the included one).
        self.combined: dict[str, Document] = {}
        self.failed: set[str] = set()  # files that did not load: reported once

    def service(self, doc: Document, name: str, chain: tuple[tuple[str, str], ...]) -> Document:
        """Service `name` of `doc` with its `extends` resolved, as a document holding only it
        (at `services.<name>`)."""
        key = (os.path.realpath(doc.file), name)
        # The combined base is resolved apart from the file's own service of that name, which
        # stays as written (the included one lies under it as the files merge).
        done = (key[0] + "\0combined", name) if self.combined.get(name) is doc else key
        if done not in self.done:
            self.done[done] = self._resolve(doc, name, (*chain, key))
        return self.done[done]

    def _resolve(self, doc: Document, name: str, chain: tuple[tuple[str, str], ...]) -> Document:
        own = _only(doc, name)
        body = own.data["services"][name]
        reference = _reference(body, ("services", name, "extends"))
        if reference is None:
            return own  # none, or malformed: the schema says how
        # Not found, its `extends` stays (reported here, and standing in for `image`).
        found = self._base(doc, reference)
        if found is None:
            return own
        base_doc, base = found
        if (os.path.realpath(base_doc.file), base) in chain:
            loop = " → ".join([*(n for _, n in chain), base])
            self.issues.append(
                doc.issue(
                    reference.at,
                    f"extends loops back on itself: {loop}",
                    "make one of them stop extending the other",
                )
            )
            return own
        own = Document(
            file=own.file,
            data={"services": {name: {k: v for k, v in body.items() if k != "extends"}}},
            positions=_without(own.positions, reference.at),
            tags={p: t for p, t in own.tags.items() if p[: len(reference.at)] != reference.at},
        )
        resolved = self.service(base_doc, base, chain)
        under = _renamed(resolved, base, name, f"extended from {base}")
        if os.path.realpath(base_doc.file) != os.path.realpath(doc.file):
            # Another file's relative paths are that file's: every one, its own bases' too
            # (made absolute as they were resolved), as Compose reads them.
            folder = os.path.dirname(os.path.realpath(base_doc.file))
            under = _paths_from(under, name, folder)
        empty = Document(file=doc.file, data={}, positions={(): Position(doc.file, 1, 1)})
        merged = merge_documents(merge_documents(empty, under), own, compose_lists=True)
        positions = {p: pos for p, pos in merged.positions.items() if p[:2] == ("services", name)}
        # (A base whose own `extends` failed keeps it: that failure is told instead.)
        if not {"image", "build", "extends"} & set(merged.data["services"][name]):
            return self._imageless(doc, name, reference)
        return Document(
            file=doc.file,
            data=_reset_kept(merged.data, own, positions),
            positions=positions,
            tags=own.tags,
        )

    def _in_included(self, doc: Document, services: Any, reference: _Reference) -> Document | None:
        """The document to take an included base from: the included one, or, where the file
        defines the service too, the two merged; None when `include` has no such service."""
        if reference.file is not None or self.included is None:
            return None
        if not isinstance(_services(self.included).get(reference.service), dict):
            return None
        if not (isinstance(services, dict) and reference.service in services):
            return self.included
        if isinstance(services.get(reference.service), dict):
            return self._combined(doc, reference.service)
        return None

    def _combined(self, doc: Document, name: str) -> Document:
        """Service `name` of `doc` merged over the included one of that name."""
        if name not in self.combined:
            assert self.included is not None
            own = _only(doc, name)
            empty = Document(file=doc.file, data={}, positions={(): Position(doc.file, 1, 1)})
            merged = merge_documents(
                merge_documents(empty, _only(self.included, name)), own, compose_lists=True
            )
            self.combined[name] = Document(
                file=doc.file, data=merged.data, positions=merged.positions
            )
        return self.combined[name]

    def _imageless(self, doc: Document, name: str, reference: _Reference) -> Document:
        """Told at `extends` when neither the base nor the service gives an image or a build
        (the schema's own wording would ask for `extends`, which is there); the service keeps
        its `extends`, so that is not said twice."""
        where = f" in {reference.file}" if reference.file else ""
        self.issues.append(
            doc.issue(
                reference.at,
                f"extends {reference.service}{where}, and the result has neither an image "
                "nor a build",
                "give it image: or build: (a !reset of them removes the base's too; each "
                "file's extends is resolved within that file, so what another -f file gives "
                "the base does not count)",
            )
        )
        return _only(doc, name)

    def _base(self, doc: Document, reference: _Reference) -> tuple[Document, str] | None:
        """The document the base is in, and its name; None (and an issue) when not found."""
        base_doc = doc
        if reference.file is not None:
            path = os.path.normpath(Path(doc.file).parent / reference.file)
            if not os.path.isfile(path):
                self.issues.append(_not_a_file(doc, reference, path))
                return None
            try:
                base_doc = self.load(path)
            except SpecError as error:
                if os.path.realpath(path) not in self.failed:  # its problems, told once
                    self.failed.add(os.path.realpath(path))
                    self.issues += error.issues
                return None
        services = base_doc.data.get("services") if isinstance(base_doc.data, dict) else None
        found = self._in_included(doc, services, reference)
        if found is not None:
            return found, reference.service
        if isinstance(services, dict) and isinstance(services.get(reference.service), dict):
            return base_doc, reference.service
        if isinstance(services, dict) and reference.service in services:
            if reference.file is not None:  # the schema reads the stack's services only
                self.issues.append(
                    doc.issue(
                        (*reference.at, "service"),
                        f"extends {reference.service} in {reference.file}, which is not a "
                        "mapping of settings",
                        f"give {reference.service} its keys there, or extend another service",
                    )
                )
            return None  # in this file, the schema says so where it is written
        where = "" if reference.file is None else f" in {reference.file}"
        known = sorted(map(str, services)) if isinstance(services, dict) else []
        if reference.file is None and self.included is not None:
            known = sorted({*known, *map(str, _services(self.included))})
        at = (*reference.at, "service") if reference.keyed else reference.at
        import difflib  # only to word this problem

        close = difflib.get_close_matches(reference.service, known, n=1)
        hint = (
            f"did you mean '{close[0]}'?"
            if close
            else f"services there: {', '.join(known)}"
            if known
            else "declare it under services:"
        )
        self.issues.append(
            doc.issue(at, f"extends undeclared service '{reference.service}'{where}", hint)
        )
        return None


def _reference(body: Any, at: Path_) -> _Reference | None:
    value = body.get("extends") if isinstance(body, dict) else None
    if isinstance(value, str) and value:
        return _Reference(value, None, at)
    if not isinstance(value, dict) or not set(value) <= {"service", "file"}:
        return None
    service, file = value.get("service"), value.get("file")
    if isinstance(service, str) and service and (file is None or (isinstance(file, str) and file)):
        return _Reference(service, file, at, keyed=True)
    return None


def _not_a_file(doc: Document, reference: _Reference, path: str) -> Issue:
    # Told where `extends` names it, for every service that does.
    what = "a folder, not a file" if os.path.isdir(path) else "not there"
    return doc.issue(
        (*reference.at, "file"),
        f"extends a service in {reference.file}, which is {what}",
        "fix the path: it is relative to the file that says extends",
    )


def _reset_kept(data: Any, own: Document, positions: dict[Path_, Position]) -> Any:
    """`data` (the merged service) with each key the service itself resets (`!reset`) put
    back as it writes it: the merge onto the base removed it, and the tag, which goes on with
    the service, removes it again from what earlier files give as the files merge."""
    for path, tag in own.tags.items():
        if tag != "reset":
            continue
        parent, value = data, own.data
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(parent, dict) and isinstance(value, dict) and path[-1] in value:
            parent[path[-1]] = value[path[-1]]
            positions.update((p, pos) for p, pos in own.positions.items() if p[: len(path)] == path)
    return data


def _only(doc: Document, name: Any) -> Document:
    """A document holding only service `name` of `doc`, with its positions and tags."""
    prefix: Path_ = ("services", name)
    return Document(
        file=doc.file,
        data={"services": {name: doc.data["services"][name]}},
        positions={p: pos for p, pos in doc.positions.items() if p[:2] == prefix},
        tags={p: t for p, t in doc.tags.items() if p[:2] == prefix},
    )


def _without(positions: Mapping[Path_, Position], at: Path_) -> dict[Path_, Position]:
    return {p: pos for p, pos in positions.items() if p[: len(at)] != at}


def _renamed(sub: Document, old: str, new: str, layer: str) -> Document:
    """`sub` (service `old` alone) as service `new`, every value marked with `layer` unless
    already marked (a value from a base's base says so)."""
    positions = {
        ("services", new, *path[2:]): pos if pos.layer else pos._replace(layer=layer)
        for path, pos in sub.positions.items()
        if len(path) >= 2
    }
    tags = {("services", new, *path[2:]): tag for path, tag in sub.tags.items() if len(path) >= 2}
    return Document(
        file=sub.file,
        data={"services": {new: sub.data["services"][old]}},
        positions=positions,
        tags=tags,
    )


def _paths_from(sub: Document, name: str, folder: str) -> Document:
    """`sub` with the relative paths of service `name` made absolute from `folder` (the base's
    file's)."""
    body = service_paths_from(sub.data["services"][name], folder)
    return Document(
        file=sub.file, data={"services": {name: body}}, positions=sub.positions, tags=sub.tags
    )
