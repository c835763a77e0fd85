"""The `stackr` command line: parse options, call one `api` function, render, return an exit code.

This and `cli/wiring.py` (which picks the Docker engine and the lock) are the composition
root: the only place that picks the engine. Heavy modules (the
SDK, networkx, jsonschema) are imported inside the commands that need them, so `stackr --help`
starts fast and `validate`/`config` never import the Docker SDK; options convert without
pydantic (`cli/options.py`) and rich is imported only to style output (`cli/render.py`).
Exit codes: 0 success, 1 a problem the user can fix, 2 bad usage, 3 a bug in stackr, 130
interrupted.
"""

from __future__ import annotations

import os
import sys
from contextlib import suppress
from typing import Annotated, NoReturn, Optional

import typer

from stackr import __version__
from stackr.cli import exits, render, wiring
from stackr.cli.options import PlainCommand, PlainGroup
from stackr.cli.params import (
    ConfigFormat,
    EnvFiles,
    Files,
    Format,
    Jobs,
    LockTimeout,
    LogFiles,
    Profile,
    Progress,
    ProgressMode,
    RemoveOrphans,
    Services,
    profile_names,
)
from stackr.cli.progress import view as show_progress
from stackr.cli.specargs import SpecArgs
from stackr.errors import SpecError, StackrError

app = typer.Typer(
    name="stackr",
    cls=PlainGroup,  # with PlainCommand below: option values converted without pydantic
    help="Declarative container stacks for the Docker engine: one file, many profiles.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # click's plain help: rich's costs 40-55 ms to import and read `[default: ...]` as markup.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.command(cls=PlainCommand)
def validate(
    files: Files = None,
    profile: Profile = None,
    env_file: EnvFiles = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.TEXT,
) -> int:
    """Check a stack file set for a profile. Exits 0 when valid, 1 when not."""
    args = SpecArgs(files, profile, env_file)
    try:
        stack = args.validate()
    except SpecError as error:
        if fmt is not Format.JSON:
            raise
        render.issues_json(error.issues)
        return 1
    if fmt is Format.JSON:
        render.issues_json(())
    else:
        count = len(stack.services)
        render.out(
            f"{', '.join(stack.files)} {'is' if len(stack.files) == 1 else 'are'} valid "
            f"(profile {stack.profile}, "
            f"{count} service{'' if count == 1 else 's'})"
        )
    return 0


@app.command(cls=PlainCommand)
def config(
    files: Files = None,
    profile: Profile = None,
    env_file: EnvFiles = None,
    fmt: Annotated[ConfigFormat, typer.Option("--format", help="Output format.")] = (
        ConfigFormat.YAML
    ),
    variables: Annotated[
        bool, typer.Option("--variables", help="List the variables the files use instead.")
    ] = False,
) -> int:
    """Print the effective stack for a profile, normalised. With --variables, list the
    variables the files use instead."""
    from stackr import api

    args = SpecArgs(files, profile, env_file)
    if variables:
        env_files = [str(f) for f in env_file or []]
        report = api.variables(args.paths(), profile=args.chosen_profile(), env_files=env_files)
        render.variables(report, fmt=fmt.value)
        return 0
    render.config(api.config(args.validate()), fmt=fmt.value)
    return 0


@app.command(cls=PlainCommand)
def diff(
    profiles: Annotated[
        list[str],
        typer.Option(
            "--profile",
            metavar="NAME",
            help="The two profiles to compare (give it twice).",
            callback=profile_names,
        ),
    ],
    files: Files = None,
    env_file: EnvFiles = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.TEXT,
) -> int:
    """Show what differs between two profiles of the stack, key by key."""
    from stackr import api

    if len(profiles) != 2:
        raise typer.BadParameter(
            "give exactly two: --profile A --profile B", param_hint="--profile"
        )
    args = SpecArgs(files, None, env_file)
    env_files = [str(f) for f in env_file or []]
    left, right = profiles
    found = api.diff(args.paths(), left=left, right=right, env_files=env_files)
    render.differences(found, left=left, right=right, fmt=fmt.value)
    return 0


@app.command(cls=PlainCommand)
def schema() -> int:
    """Print the JSON Schema of the stack file (for editors and CI)."""
    from stackr.spec.schema import schema_text

    render.raw(schema_text())
    return 0


@app.command(cls=PlainCommand)
def plan(
    services: Services = None,
    files: Files = None,
    profile: Profile = None,
    env_file: EnvFiles = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.TEXT,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode", help="Exit 0 when nothing is to do, 2 when changes are pending."
        ),
    ] = False,
) -> int:
    """Show what `up` would do, and why, without changing anything."""
    from stackr import api

    with exits.failure_recorded(fmt.value):  # a CI gate reading JSON gets JSON
        loaded = SpecArgs(files, profile, env_file).load().only(services or ())
        the_plan = api.plan(loaded, wiring.engine_for(loaded.stack))
    render.plan(the_plan, fmt=fmt.value, services=services or ())
    return 2 if detailed_exitcode and the_plan.pending() else 0


@app.command(cls=PlainCommand)
def up(
    services: Services = None,
    files: Files = None,
    profile: Profile = None,
    env_file: EnvFiles = None,
    jobs: Jobs = 8,
    build: Annotated[bool, typer.Option("--build", help="Build images before starting.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and stop.")] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait", help="Then wait until services are healthy or running and jobs exited 0."
        ),
    ] = False,
    wait_timeout: Annotated[
        float,
        typer.Option(
            "--wait-timeout",
            min=0,
            metavar="SECONDS",
            help="Seconds the waits of this up (depends_on, --wait) may take in all.",
        ),
    ] = 300.0,
    lock_timeout: LockTimeout = 0.0,
    progress: Progress = ProgressMode.AUTO,
    detach: Annotated[
        bool,
        typer.Option(
            "--detach", "-d", help="Accepted for Compose's up -d: up always returns once done."
        ),
    ] = False,
    remove_orphans: RemoveOrphans = False,
) -> int:
    """Make the engine match the stack file for a profile."""
    from stackr import api

    del detach, remove_orphans  # what stackr always does

    with exits.failure_recorded(progress.value):
        loaded = SpecArgs(files, profile, env_file).load().only(services or ())
        engine = wiring.engine_for(loaded.stack, jobs=jobs)
        if dry_run:
            fmt = "json" if progress is ProgressMode.JSON else "text"  # as plan --format json
            render.plan(api.plan(loaded, engine), fmt=fmt, services=services or ())
            return 0
        from stackr.pulls import default_path

        options = api.UpOptions(
            jobs=jobs,
            build=build,
            wait=wait,
            wait_timeout=wait_timeout,
            pull_record=default_path(),
        )
        with wiring.locked(loaded.stack, lock_timeout), show_progress(progress.value) as on_event:
            try:
                result = api.up(loaded, engine, options=options, on_event=on_event)
            except KeyboardInterrupt as interrupt:
                return exits.interrupted(interrupt, fmt=progress.value)
    render.up_summary(result, fmt=progress.value, services=services or ())
    return 0


@app.command(cls=PlainCommand)
def down(
    files: Files = None,
    profile: Profile = None,
    env_file: EnvFiles = None,
    volumes: Annotated[
        bool,
        typer.Option(
            "--volumes", "-v", help="Also remove named volumes and the containers' anonymous ones."
        ),
    ] = False,
    jobs: Jobs = 8,
    lock_timeout: LockTimeout = 0.0,
    progress: Progress = ProgressMode.AUTO,
    remove_orphans: RemoveOrphans = False,
) -> int:
    """Remove the profile's containers and networks. With --volumes, its volumes too."""
    from stackr import api

    del remove_orphans  # what stackr always does

    with exits.failure_recorded(progress.value):
        loaded, name, chosen, target = SpecArgs(files, profile, env_file).found()
        with (
            wiring.locked_at(target, name, chosen, lock_timeout),
            show_progress(progress.value) as on_event,
        ):
            try:
                result = api.down(
                    name,
                    chosen,
                    wiring.engine_at(target, jobs=jobs),
                    volumes=volumes,
                    loaded=loaded,
                    jobs=jobs,
                    on_event=on_event,
                )
            except KeyboardInterrupt as interrupt:
                return exits.interrupted(interrupt, fmt=progress.value)
        if loaded is None and not result.plan.actions:
            # A mistyped --profile, most likely: it must not pass for a finished `down`.
            raise _nothing_of(name, chosen)
    render.down_summary(result, fmt=progress.value)
    return 0


def _nothing_of(name: str, profile: str) -> StackrError:
    """The file does not load for this profile and the engine holds nothing of it."""
    return StackrError(
        f"nothing of stack {name} with profile {profile} is on the engine, and the stack file "
        "does not load for that profile",
        hint=f"check the profile's name; `stackr validate --profile {profile}` says why the "
        "file does not load for it",
    )


@app.command(cls=PlainCommand)
def ps(files: Files = None, profile: Profile = None, env_file: EnvFiles = None) -> int:
    """List the stack's containers. Shows service, replica, state, health and ports."""
    from stackr import api

    loaded, name, chosen, target = SpecArgs(files, profile, env_file).found()
    rows = api.ps(name, chosen, wiring.engine_at(target))
    if loaded is None and not rows:
        raise _nothing_of(name, chosen)  # a mistyped --profile must not look like a stopped stack
    render.ps(rows)
    return 0


@app.command(cls=PlainCommand)
def logs(
    services: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Argument(metavar="SERVICE", help="Only these services."),
    ] = None,
    files: LogFiles = None,
    profile: Profile = None,
    env_file: EnvFiles = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep following new output.")
    ] = False,
    tail: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--tail", metavar="N", min=0, help="Only the last N lines of each."),
    ] = None,
) -> int:
    """Show the containers' output. Each line starts with its container's name."""
    from stackr import api

    # Like `ps`, a file that no longer loads still finds its stack's containers by name.
    loaded, name, chosen, target = SpecArgs(files, profile, env_file).found()
    engine = wiring.engine_at(target)
    if loaded is None and not api.ps(name, chosen, engine):
        raise _nothing_of(name, chosen)
    lines = api.logs(
        name,
        chosen,
        engine,
        stack=loaded.stack if loaded else None,
        services=services or (),
        follow=follow,
        tail=tail,
    )
    # Ctrl-C ends following: the way out of `logs -f`, not an interruption of work.
    with suppress(KeyboardInterrupt):
        render.log_lines(lines)
    return 0


@app.command(cls=PlainCommand)
def version() -> int:
    """Print stackr's version."""
    render.out(f"stackr {__version__}")
    return 0


def run() -> NoReturn:
    """The `stackr` program: `main`, then exit without tearing the interpreter down.

    Freeing every module and object at exit takes an `up` about 45 ms and changes nothing
    outside the process: the commands release their lock and end their progress view before
    they return, so flushing stdout and stderr is all that is left to do.
    """
    import signal

    from stackr.cli.stream import guard_stdout

    # A CI job cancelled, a `docker stop` of a runner: SIGTERM stops stackr as Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    stdout = guard_stdout()
    code = main()
    stdout.flush()
    lost = stdout.lost()
    if lost:  # the work is done, but what it said is not all there
        render.err(f"error: stackr's output could not be written: {lost}")
        code = code or 1
    with suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; the one place errors turn into exit codes."""
    exits.begin()
    try:
        result = app(args=argv, standalone_mode=False, prog_name="stackr")
    except StackrError as error:
        render.error(error)
        return 1
    except KeyboardInterrupt:
        result = exits.INTERRUPTED
    except Exception as error:
        code = exits.usage_exit(error)
        if code == 2 and "--detailed-exitcode" in (sys.argv[1:] if argv is None else argv):
            return 1  # there 2 means "changes pending": a CI gate must not read a typo as that
        if code is not None:
            return code
        render.bug(sys.exc_info())
        return 3
    return exits.said(int(result or 0))
