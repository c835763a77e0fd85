"""The `stackr` command line: parse options, call one `api` function, render, return an exit code.

This is the composition root: the only place that picks the Docker engine. Heavy modules (the
SDK, networkx, jsonschema) are imported inside the commands that need them, so `stackr --help`
starts fast. Exit codes: 0 success, 1 a problem the user can fix, 2 bad usage, 3 a bug in stackr,
130 interrupted.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from stackr import __version__
from stackr.cli import render

if TYPE_CHECKING:
    from stackr.api import Loaded
    from stackr.engine import Engine
    from stackr.spec.model import Stack

app = typer.Typer(
    name="stackr",
    help="Declarative container stacks for the Docker engine: one file, many profiles.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

DEFAULT_FILES = ("stack.yml", "stack.yaml")


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


class ConfigFormat(StrEnum):
    YAML = "yaml"
    JSON = "json"


Files = Annotated[
    Optional[list[Path]],  # noqa: UP045 - typer reads the annotation at run time
    typer.Option(
        "--file",
        "-f",
        help="Stack file (repeat to merge several, in order).",
        show_default="stack.yml",
    ),
]
LogFiles = Annotated[
    Optional[list[Path]],  # noqa: UP045
    typer.Option(
        "--file", help="Stack file (repeat to merge several, in order).", show_default="stack.yml"
    ),
]
Profile = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--profile",
        help="Profile to render: dev, staging, prod... [default: $STACKR_PROFILE, else dev]",
    ),
]
Jobs = Annotated[int, typer.Option("--jobs", "-j", min=1, help="Engine calls in parallel.")]


def _files(files: list[Path] | None) -> list[str]:
    if files:
        return [str(f) for f in files]
    for name in DEFAULT_FILES:
        if Path(name).exists():
            return [name]
    return [DEFAULT_FILES[0]]


def _load(files: list[Path] | None, profile: str | None) -> Loaded:
    from stackr import api
    from stackr.spec.profiles import choose_profile

    return api.load(_files(files), profile=choose_profile(profile))


def _validate(files: list[Path] | None, profile: str | None) -> Stack:
    # Spec only: no graph, no networkx, no Docker SDK on this path.
    from stackr import api
    from stackr.spec.profiles import choose_profile

    return api.validate(_files(files), profile=choose_profile(profile))


def _engine() -> Engine:
    from stackr.docker_engine import DockerEngine

    return DockerEngine()


@app.command()
def validate(files: Files = None, profile: Profile = None) -> int:
    """Check a stack file set for a profile; exit 0 when valid, 1 when not."""
    stack = _validate(files, profile)
    render.out(
        f"{', '.join(stack.files)} is valid (profile {stack.profile}, "
        f"{len(stack.services)} services)"
    )
    return 0


@app.command()
def config(
    files: Files = None,
    profile: Profile = None,
    fmt: Annotated[
        ConfigFormat, typer.Option("--format", help="Output format.")
    ] = ConfigFormat.YAML,
) -> int:
    """Print the effective stack for a profile, normalised."""
    from stackr import api
    from stackr.spec.profiles import choose_profile

    stack = api.validate(_files(files), profile=choose_profile(profile))
    render.config(api.config(stack), fmt=fmt.value)
    return 0


@app.command()
def plan(
    files: Files = None,
    profile: Profile = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.TEXT,
) -> int:
    """Show what `up` would do, and why, without changing anything."""
    from stackr import api

    loaded = _load(files, profile)
    render.plan(api.plan(loaded, _engine()), fmt=fmt.value)
    return 0


@app.command()
def up(
    files: Files = None,
    profile: Profile = None,
    jobs: Jobs = 8,
    build: Annotated[bool, typer.Option("--build", help="Build images before starting.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and stop.")] = False,
    wait_timeout: Annotated[
        float, typer.Option("--wait-timeout", help="Seconds to wait for a depends_on condition.")
    ] = 300.0,
) -> int:
    """Make the engine match the stack file for a profile."""
    from stackr import api

    loaded = _load(files, profile)
    engine = _engine()
    if dry_run:
        render.plan(api.plan(loaded, engine), fmt="text")
        return 0
    options = api.UpOptions(jobs=jobs, build=build, wait_timeout=wait_timeout)
    with render.progress() as on_event:
        result = api.up(loaded, engine, options=options, on_event=on_event)
    render.up_summary(result)
    return 0


@app.command()
def down(
    files: Files = None,
    profile: Profile = None,
    volumes: Annotated[
        bool, typer.Option("--volumes", "-v", help="Also remove named volumes.")
    ] = False,
    jobs: Jobs = 8,
) -> int:
    """Remove the profile's containers and networks (and volumes with --volumes)."""
    from stackr import api

    loaded = _load(files, profile)
    with render.progress() as on_event:
        result = api.down(
            loaded.stack.name,
            loaded.stack.profile,
            _engine(),
            volumes=volumes,
            loaded=loaded,
            jobs=jobs,
            on_event=on_event,
        )
    render.down_summary(result)
    return 0


@app.command()
def ps(files: Files = None, profile: Profile = None) -> int:
    """List the stack's containers: service, replica, state, health and ports."""
    from stackr import api

    loaded = _load(files, profile)
    render.ps(api.ps(loaded.stack.name, loaded.stack.profile, _engine()))
    return 0


@app.command()
def logs(
    services: Annotated[Optional[list[str]], typer.Argument(help="Only these services.")] = None,  # noqa: UP045
    files: LogFiles = None,
    profile: Profile = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep following new output.")
    ] = False,
    tail: Annotated[
        int | None, typer.Option("--tail", help="Only the last N lines of each.")
    ] = None,
) -> int:
    """Show the containers' output, each line prefixed by its container's name."""
    from stackr import api

    loaded = _load(files, profile)
    lines = api.logs(
        loaded.stack.name,
        loaded.stack.profile,
        _engine(),
        services=services or (),
        follow=follow,
        tail=tail,
    )
    render.log_lines(lines)
    return 0


@app.command()
def version() -> int:
    """Print stackr's version."""
    render.out(f"stackr {__version__}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; the one place errors turn into exit codes."""
    import click

    from stackr.errors import StackrError

    try:
        result = app(args=argv, standalone_mode=False, prog_name="stackr")
    except click.exceptions.Exit as exit_:
        return exit_.exit_code
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        render.err("interrupted")
        return 130
    except StackrError as error:
        render.error(error)
        return 1
    except Exception:  # a bug in stackr: show it, and where to report it
        render.bug(sys.exc_info())
        return 3
    return int(result or 0)
