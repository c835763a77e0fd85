"""Everything stackr shows a person: errors, plans, tables (progress: `cli/progress.py`).
Only `cli/` imports rich.

On a terminal output is styled; otherwise it is plain lines, one per event, so logs and CI read
well. rich is imported the first time something is styled: a line without styles (`stackr
validate` saying a file is valid, `stackr version`) is written directly, since importing rich
takes about 25 ms of a 200 ms start-up budget.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import traceback
from collections.abc import Iterable, Sequence
from functools import cache
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from stackr.api import ContainerRow, DownResult, UpResult, VariableRow
    from stackr.errors import Issue, StackrError
    from stackr.plan import Plan
    from stackr.spec.diff import Difference

_lock = threading.Lock()

_KIND_STYLE = {
    "create": "green",
    "recreate": "yellow",
    "start": "cyan",
    "restart": "cyan",
    "remove": "red",
    "keep": "dim",
}


PIPE_WIDTH = 1000


@cache
def _console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        # A pipe or file has no width: tables are never cut to the 80 columns rich assumes.
        console.width = PIPE_WIDTH
    return console


def _out() -> Console:
    return _console()


def _err() -> Console:
    return _console(stderr=True)


def _is_terminal(*, stderr: bool) -> bool:
    # rich counts a stream as a terminal only when it is a tty or TTY_COMPATIBLE or FORCE_COLOR
    # says so: ruling that out first spares importing rich when output goes to a pipe or file.
    stream = sys.stderr if stderr else sys.stdout
    if "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ or stream.isatty():
        return _console(stderr=stderr).is_terminal
    return False


def _styled(markup: str, plain: str, *, stderr: bool = False) -> None:
    """`markup` through rich on a terminal, else `plain` written directly: a summary line at
    the end of `up` or `down` then costs no import of rich (about 17 ms)."""
    if _is_terminal(stderr=stderr):
        (_err() if stderr else _out()).print(markup)
    else:
        (err if stderr else out)(plain)


def _escape(text: str) -> str:
    # Text printed through a console must not be read as markup.
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def _new_table(**options: Any) -> Table:
    from rich.table import Table

    return Table(box=None, pad_edge=False, expand=False, **options)


def _print_table(table: Table) -> None:
    console = _out()
    if _is_terminal(stderr=False):
        console.print(table)
        return
    # Piped: each line as it ends, without the padding of its last column.
    with console.capture() as captured:
        console.print(table)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def out(text: str) -> None:
    """One unstyled line on stdout."""
    sys.stdout.write(text + "\n")


def err(text: str) -> None:
    """One unstyled line on stderr."""
    sys.stderr.write(text + "\n")


def warning(text: str) -> None:
    """A `warning:` line on stderr."""
    _styled(f"[yellow]warning:[/] {_escape(text)}", f"warning: {text}", stderr=True)


def error(exc: StackrError) -> None:
    _err().print(f"[bold red]error:[/] {_escape(str(exc))}")
    if exc.hint:
        _err().print(f"[cyan]hint:[/] {_escape(exc.hint)}")


def bug(
    info: tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None],
) -> None:
    _err().print("[bold red]internal error:[/] this is a bug in stackr, not in your stack file.")
    _err().print("Please report it with the text below.\n")
    _err().print(_escape("".join(traceback.format_exception(*info))))


def raw(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def issues_json(issues: Iterable[Issue]) -> None:
    """Problems as a JSON list of objects, for editors and CI."""
    data = [_issue_data(i) for i in issues]
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _issue_data(issue: Issue) -> dict[str, Any]:
    return {
        "file": issue.file,
        "line": issue.line,
        "column": issue.column,
        "path": issue.path,
        "message": issue.message,
        "hint": issue.hint,
    }


def variables(rows: list[VariableRow], *, fmt: str) -> None:
    if fmt == "json":
        data = [
            {
                "name": r.name,
                "default": r.default,
                "required": r.required,
                "value": r.value,
                "source": r.source,
                "used_at": list(r.used_at),
            }
            for r in rows
        ]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    if not rows:
        out("the files use no variables")
        return
    table = _new_table(header_style="bold")
    for column in ("VARIABLE", "VALUE", "FROM", "DEFAULT", "USED AT"):
        table.add_column(column, no_wrap=True)
    for r in rows:
        default = "(required)" if r.required else ("-" if r.default is None else repr(r.default))
        value = "-" if r.value is None else repr(r.value)
        table.add_row(r.name, value, r.source, default, ", ".join(r.used_at))
    _print_table(table)


def differences(found: list[Difference], *, left: str, right: str, fmt: str) -> None:
    from stackr.spec.diff import MISSING

    if fmt == "json":
        # Fixed keys (a profile may be called `path`); `left` and `right` name the profiles. A
        # side where the key is absent is left out: `null` is a value (`networks: {a: null}`).
        data = [
            {
                "path": d.path,
                **{k: v for k, v in (("left", d.left), ("right", d.right)) if v is not MISSING},
            }
            for d in found
        ]
        sys.stdout.write(json.dumps({"left": left, "right": right, "differences": data}, indent=2))
        sys.stdout.write("\n")
        return
    if not found:
        out(f"profiles {left} and {right} render the same stack")
        return
    heading = f"[bold]{_escape(left)}[/] → [bold]{_escape(right)}[/]"
    _out().print(f"{heading}: {len(found)} difference(s)")
    for d in found:
        old = "(unset)" if d.left is MISSING else json.dumps(d.left)
        new = "(unset)" if d.right is MISSING else json.dumps(d.right)
        _out().print(f"  {_escape(d.path)}: [red]{_escape(old)}[/] → [green]{_escape(new)}[/]")


def config(data: dict[str, Any], *, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    from stackr.cli import yamlout

    sys.stdout.write(yamlout.dump(data))


def plan(the_plan: Plan, *, fmt: str, services: Sequence[str] = ()) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(plan_data(the_plan), indent=2) + "\n")
        return
    _out().print(f"plan for [bold]{the_plan.stack}[/] (profile [bold]{the_plan.profile}[/]):")
    width = max((len(a.name) for a in the_plan.actions), default=0)
    for action in the_plan.actions:
        style = _KIND_STYLE[action.kind.value]
        _out().print(
            f"  [{style}]{action.kind.value:<8}[/] {action.object.value:<9} "
            f"{_escape(action.name):<{width}}  [dim]— {_escape(action.reason)}[/]"
        )
        for line in action.change_lines():
            _out().print(f"      [yellow]~[/] {_escape(line)}")
    _out().print(_counts_line(the_plan, services))


def plan_data(the_plan: Plan) -> dict[str, Any]:
    return {
        "stack": the_plan.stack,
        "profile": the_plan.profile,
        "actions": [
            {
                "action": a.kind.value,
                "object": a.object.value,
                "name": a.name,
                "reason": a.reason,
                **({"service": a.service, "replica": a.replica} if a.service else {}),
                **({"changes": [c.data() for c in a.changes]} if a.changes else {}),
            }
            for a in the_plan.actions
        ],
    }


def _counts_line(the_plan: Plan, services: Sequence[str]) -> str:
    counts = {k.value: n for k, n in the_plan.counts().items() if n}
    if not the_plan.pending():
        return _nothing_to_do(services)
    return "changes: " + ", ".join(f"{n} to {k}" for k, n in counts.items() if k != "keep")


def _nothing_to_do(services: Sequence[str]) -> str:
    # With services named, only they (and what they need) were compared: say so.
    if services:
        return f"nothing to do for {', '.join(services)}: the engine matches the file for them"
    return "nothing to do: the engine matches the file"


def interrupted_record(text: str, *, fmt: str) -> None:
    """With JSON output, what an interrupted run prints last: `{"error": {...,
    "interrupted": true}}` on stdout (the message still goes to stderr as text)."""
    if fmt == "json":
        record = {"message": text, "interrupted": True}
        sys.stdout.write(json.dumps({"error": record}, ensure_ascii=False) + "\n")


def failure_record(exc: StackrError, *, fmt: str) -> None:
    """With JSON output (`up --progress json`, `plan --format json`), what a failed run prints
    last: `{"error": {...}}` on stdout, with the problems of the file or the objects that
    failed as data (the message and hint still go to stderr as text)."""
    if fmt != "json":
        return
    record: dict[str, Any] = {"message": str(exc), "hint": exc.hint}
    failures = getattr(exc, "failures", None)
    if isinstance(failures, dict):
        record["failures"] = failures
    issues = getattr(exc, "issues", None)
    if isinstance(issues, tuple | list) and issues:
        record["issues"] = [_issue_data(i) for i in issues]
    sys.stdout.write(json.dumps({"error": record}, ensure_ascii=False) + "\n")


def up_summary(result: UpResult, *, fmt: str = "auto", services: Sequence[str] = ()) -> None:
    from stackr.plan import ActionKind

    counts = result.plan.counts()
    if fmt == "json":
        summary = {k.value: n for k, n in counts.items()} | {"seconds": round(result.seconds, 3)}
        sys.stdout.write(json.dumps({"summary": summary}) + "\n")
        return
    if not result.plan.pending():
        out(f"{_nothing_to_do(services)} ({result.seconds:.1f}s)")
        return
    words = {
        ActionKind.CREATE: "created",
        ActionKind.RECREATE: "recreated",
        ActionKind.START: "started",
        ActionKind.RESTART: "restarted",
        ActionKind.REMOVE: "removed",
        ActionKind.KEEP: "unchanged",
    }
    parts = [f"{counts[kind]} {word}" for kind, word in words.items() if counts[kind]]
    line = f"in {result.seconds:.1f}s: " + ", ".join(parts)
    _styled(f"[green]done[/] {line}", f"done {line}")


def down_summary(result: DownResult, *, fmt: str = "auto") -> None:
    for text in result.warnings:
        warning(text)
    removed = sum(1 for a in result.plan.actions if a.kind.value == "remove")
    kept = [a.name for a in result.plan.actions if a.kind.value == "keep"]
    if fmt == "json":
        summary = {"remove": removed, "keep": len(kept), "kept": kept}
        summary["seconds"] = round(result.seconds, 3)
        sys.stdout.write(json.dumps({"summary": summary}) + "\n")
        return
    line = f"removed {removed} object(s) in {result.seconds:.1f}s"
    if kept:
        line += f"; kept volume(s) {', '.join(kept)} (--volumes removes them)"
    out(line)


def ps(rows: list[ContainerRow]) -> None:
    if not rows:
        out("no containers")
        return
    table = _new_table(header_style="bold")
    for column in ("NAME", "SERVICE", "REPLICA", "STATE", "HEALTH", "PORTS"):
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(
            row.name,
            row.service,
            str(row.replica),
            row.state,
            row.health or "-",
            ", ".join(row.ports) or "-",
        )
    # Piped output is never cut to the terminal's width.
    _print_table(table)


def log_lines(lines: Iterable[tuple[str, str]]) -> None:
    for name, line in lines:
        sys.stdout.write(f"{name} | {line}\n")
        sys.stdout.flush()
