"""Relative paths a stack file writes, made absolute from the folder they are relative to: what
a service another file defines (a base it `extends`, a file it `include`s) brings with it, so
that its paths go on naming what that file meant once its settings join another file's.

The paths are a service's build context, env and label files and bind mount sources, and a
top-level secret's or config's `file`. Pure: nothing is read from the disk.
"""

from __future__ import annotations

import posixpath
from typing import Any

__all__ = ["absolute", "resource_paths_from", "service_paths_from"]


def service_paths_from(body: Any, folder: str) -> Any:
    """A service's settings `body` with its relative paths made absolute from `folder`."""
    if not isinstance(body, dict):
        return body  # the schema's to report
    body = dict(body)
    if "build" in body:
        body["build"] = _build(body["build"], folder)
    for key in ("env_file", "label_file"):
        if key in body:
            body[key] = _env_files(body[key], folder)
    if isinstance(body.get("volumes"), list):
        body["volumes"] = [_volume(v, folder) for v in body["volumes"]]
    return body


def resource_paths_from(body: Any, folder: str) -> Any:
    """A top-level secret's or config's settings with its `file` made absolute from `folder`."""
    if isinstance(body, dict) and isinstance(body.get("file"), str):
        return {**body, "file": absolute(body["file"], folder)}
    return body


def absolute(path: str, folder: str) -> str:
    """`path` from `folder`, unless it is absolute already, from the home folder, or still
    holds a `$` (an escaped one, for the engine's side to read)."""
    if path.startswith(("/", "~")) or "$" in path:
        return path
    return posixpath.normpath(posixpath.join(folder, path))


def _build(value: Any, folder: str) -> Any:
    if isinstance(value, str):
        return absolute(value, folder)
    if isinstance(value, dict):
        context = value.get("context", ".")
        return {
            **value,
            "context": absolute(context, folder) if isinstance(context, str) else context,
        }
    return value


def _env_files(value: Any, folder: str) -> Any:
    if isinstance(value, str):
        return absolute(value, folder)
    if isinstance(value, list):
        return [_env_files(item, folder) for item in value]
    if isinstance(value, dict) and isinstance(value.get("path"), str):
        return {**value, "path": absolute(value["path"], folder)}
    return value


def _volume(value: Any, folder: str) -> Any:
    # A bind mount's source is a path: `./data:/data`, `../x:/y`, `.:/app` (a named volume's
    # is a plain name, kept as it is).
    if isinstance(value, str) and value.startswith("."):
        source, sep, rest = value.partition(":")
        return absolute(source, folder) + sep + rest
    if (
        isinstance(value, dict)
        and value.get("type") == "bind"
        and isinstance(value.get("source"), str)
    ):
        return {**value, "source": absolute(value["source"], folder)}
    return value
