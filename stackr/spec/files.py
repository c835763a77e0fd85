"""The files a stack points at: services' `env_file`s and `label_file`s, and the sources of
secrets and configs.

They are read while the model is built, so their content is part of the model: a changed env
file changes the service's environment, a changed secret or config changes the spec-hash of the
containers that use it, and a missing file is a located problem like any other. Paths are
relative to the stack file's directory.
"""

from __future__ import annotations

import posixpath
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from stackr.errors import Issue, SpecError
from stackr.spec.envfile import read_env_file
from stackr.spec.model import FileGrant, FileKind, FileSource
from stackr.spec.values import octal_mode, scalar_text

Path_ = tuple[str | int, ...]
MAX_FILE_BYTES = 1024 * 1024  # a secret or config is a small file, never a payload
DEFAULT_DIRECTORY = {FileKind.SECRET: "/run/secrets", FileKind.CONFIG: "/"}
DEFAULT_MODE = 0o444


class Reporter(Protocol):
    """Where problems met while reading go: one Issue each."""

    def report(self, path: Path_, message: str, hint: str = "") -> None:
        """A problem at `path` of the stack file."""

    def add(self, issue: Issue) -> None:
        """A problem located elsewhere (a line of an env file)."""

    def warn(self, issue: Issue) -> None:
        """Something to tell that does not stop the file (a variable an env file uses is
        not set)."""


def env_file_values(
    report: Reporter,
    at: Path_,
    raw: Any,
    project_dir: str,
    env: Mapping[str, str],
    shown_from: Path = Path(),
) -> dict[str, str]:
    """The variables of a service's `env_file` entries, later files winning; their values may
    use the stack's variables `env`, then what earlier entries set. A problem in one names it
    from `shown_from` (the first stack file's folder as given), as the stack's `.env` is named."""
    entries = [raw] if isinstance(raw, str) else list(raw or [])
    values: dict[str, str] = {}
    for i, entry in enumerate(entries):
        where: Path_ = at if isinstance(raw, str) else (*at, i)
        name = entry if isinstance(entry, str) else str(entry.get("path", ""))
        required = isinstance(entry, str) or bool(entry.get("required", True))
        path = _absolute(name, project_dir)
        if path.is_dir():
            report.report(
                where, f"env file {name} is a directory", "name a file of KEY=value lines"
            )
            continue
        if not path.is_file():
            if required:
                report.report(
                    where,
                    f"env file {name} not found",
                    "create it, fix the path (relative to the stack file), "
                    "or mark it `required: false`",
                )
            continue
        read = _pairs(report, path, str(shown_from / name), ChainMap(dict(env), values))
        values.update(read or {})
    return values


def label_file_values(
    report: Reporter, at: Path_, raw: Any, project_dir: str, shown_from: Path = Path()
) -> dict[str, str]:
    """The labels of a service's `label_file` entries (`KEY=value` lines, as an env file's),
    later files winning. As in Compose, a value may use only what earlier lines and files set,
    and every file must be there."""
    entries = [raw] if isinstance(raw, str) else list(raw or [])
    labels: dict[str, str] = {}
    for i, name in enumerate(entries):
        where: Path_ = at if isinstance(raw, str) else (*at, i)
        path = _absolute(str(name), project_dir)
        if not path.is_file():
            what = "is a directory" if path.is_dir() else "not found"
            hint = "name a file of KEY=value lines, relative to the stack file"
            report.report(where, f"label file {name} {what}", hint)
            continue
        read = _pairs(report, path, str(shown_from / name), dict(labels), labels_read=True)
        labels.update(read or {})
    return labels


def _label_unset_hint(issue: Issue) -> str:
    name = issue.message.split(" ", 1)[0]  # "NAME is not set: ..."
    return (
        "a label file reads only the lines above and earlier label files, not the environment: "
        f"set {name} there, or write a default, ${{{name}:-value}}"
    )


def _pairs(
    report: Reporter,
    path: Path,
    display: str,
    lookup: Mapping[str, str],
    *,
    labels_read: bool = False,
) -> dict[str, str] | None:
    """The `KEY=value` lines of an env file (a label file's, with `labels_read`: its own lines
    before what `lookup` has); None when it does not read (its problems reported)."""
    told: list[Issue] = []
    try:
        read = read_env_file(
            path, display=display, lookup=lookup, warnings=told, lines_first=labels_read
        )
    except SpecError as error:
        for issue in error.issues:
            report.add(issue)
        return None
    for issue in told:
        report.warn(replace(issue, hint=_label_unset_hint(issue)) if labels_read else issue)
    return {key: value for key, (value, _line) in read.items()}


def file_sources(
    report: Reporter,
    kind: FileKind,
    raw: Mapping[str, Any],
    *,
    project_dir: str,
    env: Mapping[str, str],
) -> dict[str, FileSource]:
    """The top-level `secrets` or `configs`, each with its content read."""
    section = f"{kind.value}s"
    return {
        name: _source(report, (section, name), kind, name, spec or {}, project_dir, env)
        for name, spec in raw.items()
    }


def _source(
    report: Reporter,
    at: Path_,
    kind: FileKind,
    name: str,
    spec: Mapping[str, Any],
    project_dir: str,
    env: Mapping[str, str],
) -> FileSource:
    if "environment" in spec:
        variable = str(spec["environment"])
        if variable not in env:
            report.report(
                (*at, "environment"),
                f"variable {variable} is not set",
                "set it in the environment, an --env-file, the profile's env_file, "
                ".env.<profile> or .env",
            )
        data = env.get(variable, "").encode()
        return FileSource(name=name, kind=kind, environment=variable, data=data)
    if "content" in spec:
        content = str(spec["content"])
        return FileSource(name=name, kind=kind, content=content, data=content.encode())
    written = str(spec.get("file", ""))
    path = _absolute(written, project_dir)
    return FileSource(
        name=name, kind=kind, file=str(path), data=_read(report, (*at, "file"), path, written)
    )


def _read(report: Reporter, at: Path_, path: Path, written: str) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            report.report(at, f"{written} is larger than 1 MiB", "mount big files as a volume")
            return b""
        return path.read_bytes()
    except FileNotFoundError:
        report.report(
            at,
            f"file {written} not found",
            "create it, or fix the path (relative to the stack file)",
        )
    except IsADirectoryError:
        report.report(at, f"{written} is a directory, not a file", "name a file in it")
    except OSError as error:
        report.report(at, f"cannot read {written}: {error.strerror}", "check its permissions")
    return b""


def file_grants(report: Reporter, at: Path_, kind: FileKind, raw: Any) -> tuple[FileGrant, ...]:
    """A service's `secrets` or `configs` entries, with targets made absolute."""
    grants: list[FileGrant] = []
    for i, entry in enumerate(raw or []):
        spec: Mapping[str, Any] = {"source": entry} if isinstance(entry, str) else entry
        source = str(spec["source"])
        grants.append(
            FileGrant(
                source=source,
                target=_target(report, (*at, i, "target"), kind, str(spec.get("target", source))),
                mode=_mode(report, (*at, i, "mode"), spec.get("mode")),
                uid=scalar_text(spec.get("uid", 0)),
                gid=scalar_text(spec.get("gid", 0)),
            )
        )
    return tuple(grants)


def _target(report: Reporter, at: Path_, kind: FileKind, written: str) -> str:
    """The absolute path of a grant's file: a relative `written` is under the kind's directory
    and must stay there; a target naming a directory is refused (nothing could be written)."""
    directory = DEFAULT_DIRECTORY[kind]
    target = posixpath.normpath(posixpath.join(directory, written))
    if written.endswith("/") or target == "/" or target == directory.rstrip("/"):
        report.report(at, f"{written!r} names a directory, not a file", "end it with a file name")
    elif not posixpath.isabs(written) and not target.startswith(directory.rstrip("/") + "/"):
        report.report(
            at,
            f"{written!r} leaves {directory}",
            f"a relative target is a file in {directory}; to put it elsewhere, write an "
            "absolute path",
        )
    return target


def _mode(report: Reporter, at: Path_, raw: Any) -> int:
    if raw is None:
        return DEFAULT_MODE
    mode = octal_mode(raw, most=0o777)
    if mode is not None:
        return mode
    text = scalar_text(raw)
    report.report(at, f"{text!r} is not a file mode", 'write the mode in octal, e.g. "0440"')
    return DEFAULT_MODE


def _absolute(name: str, project_dir: str) -> Path:
    path = Path(name).expanduser()
    return path if path.is_absolute() else Path(project_dir) / path
