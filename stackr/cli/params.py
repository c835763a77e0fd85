"""The options stackr's commands share, as annotated types: their flags, metavars and help."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Optional

import typer


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


class ConfigFormat(StrEnum):
    YAML = "yaml"
    JSON = "json"


_FILE_HELP = "Stack file (repeat to merge several, in order)."
Files = Annotated[
    Optional[list[Path]],  # noqa: UP045 - typer reads the annotation at run time
    typer.Option("--file", "-f", metavar="FILE", help=_FILE_HELP, show_default="stack.yml"),
]
LogFiles = Annotated[
    Optional[list[Path]],  # noqa: UP045
    typer.Option("--file", metavar="FILE", help=_FILE_HELP, show_default="stack.yml"),
]


def profile_names(value: str | list[str] | None) -> str | list[str] | None:
    """`--profile`'s check: a bad name is bad usage (exit 2), refused before anything runs."""
    from stackr.spec.profiles import PROFILE_NAME

    for name in [value] if isinstance(value, str) else value or []:
        if not PROFILE_NAME.fullmatch(name):
            raise typer.BadParameter(
                f"{name!r} is not a profile name: use lowercase letters, digits, '-' and '_', "
                "starting with a letter or digit"
            )
    return value


Profile = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--profile",
        metavar="NAME",
        help="Profile to render: dev, staging, prod... [default: $STACKR_PROFILE, else dev]",
        callback=profile_names,
    ),
]
EnvFiles = Annotated[
    Optional[list[Path]],  # noqa: UP045
    typer.Option(
        "--env-file", metavar="FILE", help="Read variables from this file too (repeatable)."
    ),
]
Services = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Argument(
        metavar="SERVICE",
        help="Only these services and the ones they depend on (default: all of them).",
        show_default=False,
    ),
]
# Each worker holds a connection; beyond a few dozen they only queue in the engine.
MAX_JOBS = 256
Jobs = Annotated[
    int,
    typer.Option(
        "--jobs", "-j", min=1, max=MAX_JOBS, metavar="N", help="Engine calls in parallel."
    ),
]


class ProgressMode(StrEnum):
    AUTO = "auto"
    PLAIN = "plain"
    JSON = "json"


Progress = Annotated[
    ProgressMode,
    typer.Option(
        "--progress",
        help="auto: a live view on a terminal, plain lines otherwise; json: one event per line.",
    ),
]
LockTimeout = Annotated[
    float,
    typer.Option(
        "--lock-timeout",
        min=0,
        metavar="SECONDS",
        help="Seconds to wait while another up/down of this stack and profile runs.",
    ),
]
RemoveOrphans = Annotated[
    bool,
    typer.Option(
        "--remove-orphans",
        help="Accepted for Compose's habit: containers of services the file no longer has are "
        "always removed.",
    ),
]
