"""The `include` section as written: its entries, each a path or a mapping of `path`,
`project_directory` and `env_file`, read into `Entry` values, with a located problem for each
malformed one (the section leaves the document before the schema sees it: these are its only
checks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stackr.errors import Issue
from stackr.spec.document import Document

__all__ = ["Entry", "written_entries"]

Path_ = tuple[str | int, ...]
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
