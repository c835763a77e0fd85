"""Compose's `include`: a stack file that brings in the services, networks, volumes, secrets
and configs of other files, each read as a stack of its own, as Compose (2.20 and later) does.

    include:
      - db/stack.yml                          # a path, from the including file's folder
      - path: [mon/stack.yml, mon/local.yml]  # several files, merged in order as -f merges
        project_directory: mon                # what their relative paths are relative to
        env_file: mon/.env                    # fills in variables the stack lacks

An included file is interpolated with the including stack's variables, the entry's env files
(by default `.env` and `.env.<profile>` in its project directory) filling in those the stack
lacks; its own `extends` and `include` are resolved within it, and its relative paths made
absolute from its project directory (by default its folder). What it defines becomes a layer
under the including file: the including file's own definition of a service (network, ...) of
the same name merges over the included one, as a later `-f` file's does, so a stack can adjust
what it includes. Two included files defining one name differently are refused (neither can
be said to be meant); the same definition met twice (a file two others include) is one.
"""

from __future__ import annotations

import os
from collections import ChainMap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackr.errors import Issue, SpecError
from stackr.spec.document import Document, Position
from stackr.spec.envfile import read_env_file
from stackr.spec.includeentries import (
    RESOURCES,
    Entry,
    env_paths,
    outside_resources,
    project_folder,
    written_entries,
)
from stackr.spec.relpaths import resource_paths_from, service_paths_from
from stackr.spec.variables import Variables, is_file

__all__ = ["Included", "resolve_includes", "without_include"]

Path_ = tuple[str | int, ...]
# Reads and parses a stack file (positions, tags); raises SpecError.
Reader = Callable[[str], Document]


@dataclass(frozen=True, slots=True)
class Included:
    """What a file's `include` brings in."""

    layer: Document | None  # the resources alone; None when it includes nothing
    issues: list[Issue]
    # The variables the includes' env files set and the stack does not, for hiding secrets.
    filled: dict[str, str]


def resolve_includes(
    doc: Document,
    variables: Variables,
    *,
    profile: str,
    read: Reader,
    warnings: list[Issue],
) -> Included:
    """What `doc`'s `include` brings in, and the problems found doing it. `doc` is
    interpolated; its own `include` is left for `without_include` to take away."""
    includer = _Includer(read, profile, warnings)
    # Paths stay as the user would write them from here (`db/stack.yml`), for the messages.
    folder = os.path.dirname(doc.file)
    layer = includer.layer(doc, variables, folder, (os.path.realpath(doc.file),))
    return Included(layer=layer, issues=includer.issues, filled=includer.filled)


def without_include(doc: Document) -> Document:
    """`doc` without its `include` (resolved into a layer of its own by then)."""
    if not isinstance(doc.data, dict) or "include" not in doc.data:
        return doc
    return Document(
        file=doc.file,
        data={k: v for k, v in doc.data.items() if k != "include"},
        positions={p: pos for p, pos in doc.positions.items() if p[:1] != ("include",)},
        tags={p: t for p, t in doc.tags.items() if p[:1] != ("include",)},
        texts={p: t for p, t in doc.texts.items() if p[:1] != ("include",)},
    )


class _Includer:
    def __init__(self, read: Reader, profile: str, warnings: list[Issue]) -> None:
        self.read = read
        self.profile = profile
        self.warnings = warnings
        self.issues: list[Issue] = []
        # What the includes' env files set that the stack does not: as secret as the stack's
        # own variables wherever a value is made from them.
        self.filled: dict[str, str] = {}
        # A file reached again by another route, with the same variables and project: its
        # layers once (a file many others include is read once, not once per route).
        self.done: dict[tuple[str, str, frozenset[tuple[str, str]]], list[Document]] = {}

    def layer(
        self, doc: Document, variables: Variables, folder: str, chain: tuple[str, ...]
    ) -> Document | None:
        """What `doc` includes, its relative include paths read from `folder`; `chain` holds
        the files including it, for loops."""
        entries = written_entries(doc, self.issues)
        if entries is None:
            return None
        layer: Document | None = None
        for entry in entries:
            brought = self._entry(doc, entry, variables, folder, chain)
            if brought is not None:
                layer = brought if layer is None else self._joined(layer, brought)
        return layer

    def _entry(
        self,
        doc: Document,
        entry: Entry,
        variables: Variables,
        folder: str,
        chain: tuple[str, ...],
    ) -> Document | None:
        first = os.path.normpath(os.path.join(folder, entry.paths[0][0]))
        project = project_folder(folder, first, entry.project_directory)
        if entry.project_directory is not None and not os.path.isdir(project):
            hint = "fix the path: it is relative to the file that says include"
            self.issues.append(
                doc.issue(
                    (*entry.at, "project_directory"),
                    f"project_directory {entry.project_directory} is not a folder",
                    hint,
                )
            )
            return None
        own = self._variables(doc, entry, variables, folder, project)
        if own is None:
            return None  # an env file it names is missing: its variables cannot be told
        result: Document | None = None
        for written, at in entry.paths:
            path = os.path.normpath(os.path.join(folder, written))
            loaded = self._file(doc, written, at, path, own, project, chain)
            for part in loaded:
                result = part if result is None else _merged(result, part)
        return result

    def _file(
        self,
        doc: Document,
        written: str,
        at: Path_,
        path: str,
        variables: Variables,
        project: str,
        chain: tuple[str, ...],
    ) -> list[Document]:
        """The layers one included file gives: what it includes, then what it defines."""
        if "://" in written or written.startswith("git@"):
            hint = "fetch it into the repository (a submodule, a copy) and include the file"
            self.issues.append(doc.issue(at, f"include {written}: remote files are not read", hint))
            return []
        if not is_file(Path(path)):
            what = "a folder, not a file" if os.path.isdir(path) else "not there"
            hint = "fix the path: it is relative to the file that says include"
            self.issues.append(doc.issue(at, f"include {written}: {what}", hint))
            return []
        real = os.path.realpath(path)
        if real in chain:
            loop = " → ".join(os.path.relpath(p) for p in (*chain, real))
            hint = "make one of them stop including the other"
            self.issues.append(doc.issue(at, f"include loops back on itself: {loop}", hint))
            return []
        # A loop through it is found the first time its includes are followed, whatever the
        # route: what it gave then holds.
        key = (real, project, frozenset(variables.values.items()))
        if key not in self.done:
            self.done[key] = self._read(path, real, variables, project, chain)
        return self.done[key]

    def _read(
        self, path: str, real: str, variables: Variables, project: str, chain: tuple[str, ...]
    ) -> list[Document]:
        from stackr.spec.extends import resolve_extends
        from stackr.spec.interpolate import interpolate_document
        from stackr.spec.profiles import normalise_pairs

        try:
            raw = self.read(path)
            sub = normalise_pairs(
                interpolate_document(raw, variables, profile=self.profile, warnings=self.warnings)
            )
        except SpecError as error:
            self.issues += error.issues
            return []
        if not isinstance(sub.data, dict):  # the loader refuses an empty file
            hint = "an included file is a mapping of services, networks, volumes, ..."
            self.issues.append(sub.issue((), "an included file must be a mapping", hint))
            return []
        self.issues += outside_resources(sub)
        # Its own include paths are relative to it, as every path an include or extends
        # names is (Compose reads them from project_directory when one is given).
        nested = self.layer(sub, variables, os.path.dirname(path), (*chain, real))
        loader = _Loader(self.read, variables, self.profile, self.warnings)
        resolved, found = resolve_extends(without_include(sub), loader, nested)
        self.issues += found
        return [*([nested] if nested else []), _resources(resolved, project)]

    def _variables(
        self, doc: Document, entry: Entry, variables: Variables, folder: str, project: str
    ) -> Variables | None:
        """The stack's variables, with those the entry's env files set filling in the rest;
        None when an env file it names is missing or broken (told)."""
        values: dict[str, str] = {}
        origins: dict[str, str] = {}
        for path, at in env_paths(folder, project, entry, profile=self.profile):
            if not is_file(path):
                if at is None:
                    continue  # the project directory's own: read when there
                hint = "fix the path: it is relative to the file that says include"
                what = "a folder, not an env file" if path.is_dir() else "not found"
                self.issues.append(doc.issue(at, f"env file {path}: {what}", hint))
                return None
            lookup = ChainMap(dict(variables.values), values)
            try:
                read = read_env_file(path, display=str(path), lookup=lookup, warnings=self.warnings)
            except SpecError as error:
                self.issues += error.issues
                return None
            for name, (value, line) in read.items():
                values[name] = value
                origins[name] = f"{path}:{line}"
        if not values:
            return variables
        self.filled |= {n: v for n, v in values.items() if n not in variables.values}
        return Variables(
            values={**values, **variables.values},
            origins={
                **{n: o for n, o in origins.items() if n not in variables.values},
                **variables.origins,
            },
            warnings=variables.warnings,
        )

    def _joined(self, layer: Document, brought: Document) -> Document:
        """`brought` added to `layer`: a name both define differently is refused, located in
        `brought`; one both define alike is kept once."""
        data = brought.data
        dropped: list[Path_] = []
        for section in RESOURCES:
            theirs, ours = _section(data, section), _section(layer.data, section)
            for name, body in theirs.items():
                if name not in ours:
                    continue
                dropped.append((section, name))
                if not _alike(body, ours[name]):
                    self.issues.append(_conflict(layer, brought, section, name))
        return _merged(layer, _without(brought, dropped))


class _Loader:
    """What `extends: {file: ...}` in an included file reads: the file interpolated with that
    included file's variables, each file once."""

    def __init__(
        self, read: Reader, variables: Variables, profile: str, warnings: list[Issue]
    ) -> None:
        self.read = read
        self.variables = variables
        self.profile = profile
        self.warnings = warnings
        self.cache: dict[str, Document] = {}

    def __call__(self, path: str) -> Document:
        from stackr.spec.interpolate import interpolate_document
        from stackr.spec.profiles import normalise_pairs

        key = os.path.realpath(path)
        if key not in self.cache:
            doc = interpolate_document(
                self.read(path), self.variables, profile=self.profile, warnings=self.warnings
            )
            self.cache[key] = normalise_pairs(doc)
        return self.cache[key]


def _resources(doc: Document, project: str) -> Document:
    """`doc`'s resources alone, their relative paths made absolute from `project` (resolved,
    as the stack's own folder is)."""
    project = os.path.realpath(project)
    data: dict[str, Any] = {}
    for section in RESOURCES:
        value = doc.data.get(section)
        if not isinstance(value, dict):
            continue  # malformed: told by `_outside_resources`
        if section in ("networks", "volumes"):
            data[section] = value  # no paths
            continue
        absolute = service_paths_from if section == "services" else resource_paths_from
        data[section] = {name: absolute(body, project) for name, body in value.items()}
    keep = set(data)
    return Document(
        file=doc.file,
        data=data,
        positions={p: pos for p, pos in doc.positions.items() if not p or p[0] in keep},
        tags={p: t for p, t in doc.tags.items() if p[:1] and p[0] in keep},
        texts={p: t for p, t in doc.texts.items() if p[:1] and p[0] in keep},
    )


def _merged(base: Document, overlay: Document) -> Document:
    from stackr.spec.profiles import merge_documents

    return merge_documents(base, overlay, compose_lists=True)


def _section(data: Any, section: str) -> dict[Any, Any]:
    value = data.get(section) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _alike(one: Any, other: Any) -> bool:
    # `back:` and `back: {}` declare one network (volume, ...).
    return ({} if one is None else one) == ({} if other is None else other)


def _without(doc: Document, dropped: list[Path_]) -> Document:
    if not dropped:
        return doc
    names = set(dropped)
    data = {
        section: (
            {k: v for k, v in value.items() if (section, k) not in names}
            if isinstance(value, dict)
            else value
        )
        for section, value in doc.data.items()
    }
    return Document(
        file=doc.file,
        data=data,
        positions={p: pos for p, pos in doc.positions.items() if p[:2] not in names},
        tags={p: t for p, t in doc.tags.items() if p[:2] not in names},
        texts={p: t for p, t in doc.texts.items() if p[:2] not in names},
    )


def _conflict(layer: Document, brought: Document, section: str, name: Any) -> Issue:
    first = layer.locate((section, name))
    kind = {"services": "service", "networks": "network", "volumes": "volume"}.get(
        section, section[:-1]
    )
    if first.file == brought.locate((section, name)).file:
        return brought.issue(
            (section, name),
            f"{kind} {name} reads differently where its file is included twice: the "
            "includes give it different variables",
            "give both includes the same env_file, or set the variable in the stack's "
            "environment or .env",
        )
    return brought.issue(
        (section, name),
        f"{kind} {name} is included twice, differently: also from {_place(first)}",
        f"include {kind} {name} from one file only; the including file can then change it "
        "by defining it too",
    )


def _place(position: Position) -> str:
    return f"{position.file}:{position.line}"
