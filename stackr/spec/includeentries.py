"""The `include` section as written, and what an included file may hold: the entries, each a
path or a mapping of `path`, `project_directory` and `env_file`, read into `Entry` values
with a located problem for each malformed one (the section leaves the document before the
schema sees it: these are its only checks); where an entry's project directory and env files
are; and the top-level keys an included file may have."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackr.errors import Issue
from stackr.spec.document import Document

__all__ = [
    "RESOURCES",
    "Entry",
    "env_paths",
    "included_files",
    "outside_resources",
    "project_folder",
    "written_entries",
]

Path_ = tuple[str | int, ...]
# What an included file may define: it joins the including stack.
RESOURCES = ("services", "networks", "volumes", "secrets", "configs")
# Read past in an included file: the stack it joins has its own name; includes are resolved.
_PASSED = frozenset({"name", "version", "include"})
_KEYS = frozenset({"path", "project_directory", "env_file"})
_SHAPE_HINT = (
    "write a path (db/stack.yml), or {path: FILE or [FILES], project_directory: DIR, "
    "env_file: FILE or [FILES]}"
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of `include`, as written (its paths relative to the including file's folder)."""

    at: Path_
    paths: tuple[tuple[str, Path_], ...]  # each path, and where it is written
    project_directory: str | None
    env_files: tuple[tuple[str, Path_], ...] | None  # None: the project directory's .env


def written_entries(doc: Document, issues: list[Issue]) -> list[Entry] | None:
    """The well-formed entries of `doc`'s `include` (None when it has none), their paths as
    written; each malformed one is added to `issues`."""
    value = doc.data.get("include") if isinstance(doc.data, dict) else None
    if value is None:
        return None
    if not isinstance(value, list):
        issues.append(doc.issue(("include",), "include must be a list of files", _SHAPE_HINT))
        return []
    found = []
    for i, item in enumerate(value):
        entry = _entry(doc, ("include", i), item, issues)
        if entry is not None:
            found.append(entry)
    return found


def _entry(doc: Document, at: Path_, item: Any, issues: list[Issue]) -> Entry | None:
    if isinstance(item, str) and item:
        return Entry(at=at, paths=((item, at),), project_directory=None, env_files=None)
    if not isinstance(item, dict):
        issues.append(doc.issue(at, "an include entry is a path or a mapping", _SHAPE_HINT))
        return None
    unknown = sorted(str(k) for k in item if k not in _KEYS)
    for key in unknown:
        issues.append(
            doc.issue((*at, key), f"unknown key '{key}' in an include entry", _SHAPE_HINT)
        )
    paths = _texts(doc, (*at, "path"), item.get("path"), issues, required=True)
    env_files = _texts(doc, (*at, "env_file"), item.get("env_file"), issues, required=False)
    project = item.get("project_directory")
    if project is not None and not (isinstance(project, str) and project):
        hint = "give the folder the included files' relative paths are relative to"
        issues.append(
            doc.issue((*at, "project_directory"), "project_directory must be a path", hint)
        )
        return None
    if unknown or paths is None or env_files is None:
        return None
    return Entry(
        at=at,
        paths=paths,
        project_directory=project,
        # An empty list is none given, as in Compose: the project directory's .env then.
        env_files=env_files or None,
    )


def _texts(
    doc: Document, at: Path_, value: Any, issues: list[Issue], *, required: bool
) -> tuple[tuple[str, Path_], ...] | None:
    """A path or a list of paths, each with where it is written; None (and an issue) when
    malformed."""
    if (value is None or value == []) and not required:
        return ()
    if isinstance(value, str) and value:
        return ((value, at),)
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return tuple((v, (*at, i)) for i, v in enumerate(value))
    what = "missing" if value is None else "not a path or a list of paths"
    issues.append(doc.issue(at, f"{at[-1]} is {what}", _SHAPE_HINT))
    return None


def included_files(
    doc: Document, *, profile: str, values: Mapping[str, str]
) -> list[tuple[str, list[str]]]:
    """The files `doc` (not interpolated) includes, their paths' variables read from `values`
    (an entry whose paths do not read is left out), each with the env files that fill in its
    variables, the one that wins first: the files whose variables `config --variables` lists
    besides the stack's own."""
    from stackr.spec.template import Missing, substitute

    folder = os.path.dirname(doc.file)
    found = []
    for entry in written_entries(doc, []) or ():
        try:
            written = [substitute(p, values) for p, _ in entry.paths]
            project_dir = entry.project_directory
            project_dir = None if project_dir is None else substitute(project_dir, values)
        except (Missing, ValueError):
            continue
        first = os.path.normpath(os.path.join(folder, written[0]))
        project = project_folder(folder, first, project_dir)
        envs = [str(path) for path, _ in env_paths(folder, project, entry, profile=profile)]
        found += [(os.path.normpath(os.path.join(folder, p)), envs[::-1]) for p in written]
    return found


def project_folder(folder: str, first: str, written: str | None) -> str:
    # Compose: the first file's folder, or project_directory from the including file's.
    return (
        os.path.dirname(first)
        if written is None
        else os.path.normpath(os.path.join(folder, written))
    )


def env_paths(
    folder: str, project: str, entry: Entry, *, profile: str
) -> list[tuple[Path, Path_ | None]]:
    """The env files that fill in an entry's variables, a later one winning, each with where
    it is written (None for the project directory's own, read when they are there)."""
    if entry.env_files is not None:
        return [(Path(folder) / text, at) for text, at in entry.env_files]
    return [(Path(project) / ".env", None), (Path(project) / f".env.{profile}", None)]


def outside_resources(doc: Document) -> list[Issue]:
    """The top-level keys of an included file that are not resources it can bring."""
    issues = []
    for key, value in doc.data.items():
        if key in RESOURCES and value is not None and not isinstance(value, dict):
            issues.append(
                doc.issue(
                    (key,),
                    f"{key} must be a mapping of names to settings",
                    f"write {key}: {{NAME: {{...}}}}",
                )
            )
            continue
        if key in RESOURCES or key in _PASSED or (isinstance(key, str) and key.startswith("x-")):
            continue
        if key == "profiles":
            message = "an included file cannot have profiles"
            hint = (
                "give the profile's changes in the including file: its profiles can change "
                "the services an include brings"
            )
        else:
            message = f"unknown key '{key}' in an included file"
            hint = "an included file has services, networks, volumes, secrets, configs, include"
        issues.append(doc.issue((key,), message, hint))
    return issues
