"""How `up` and `down` show their progress: a live view of every object on a terminal, one
plain line per event elsewhere, or one JSON object per event (`--progress json`).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from stackr.cli.render import _escape, _is_terminal, _lock, _new_table, _out

if TYPE_CHECKING:
    from rich.table import Table

    from stackr.events import Event, OnEvent

_PHASE_STYLE = {
    "failed": "red",
    "skipped": "dim",
    "done": "green",
    "waiting": "cyan",
    "interrupted": "yellow",
}


@contextmanager
def view(mode: str = "auto") -> Iterator[OnEvent]:
    """An `on_event` callback showing progress: a live view of every object on a terminal
    (`auto`), one plain line per event (`plain`, or `auto` when not a terminal), or one JSON
    object per line (`json`). Thread-safe."""
    terminal = mode != "json" and _is_terminal(stderr=False)
    if mode == "json":
        yield _json_event
    elif not terminal:
        yield _text_event
    elif mode == "plain":
        yield _plain_event
    else:
        with _LiveView() as view:
            yield view.on_event


def _plain_event(event: Event) -> None:
    detail = f" {event.detail}" if event.detail else ""
    style = _PHASE_STYLE.get(event.phase.value, "")
    line = f"  {event.phase.value:<9} {_escape(event.subject)}{_escape(detail)}"
    with _lock:
        _out().print(f"[{style}]{line}[/]" if style and style != "green" else line)


def _text_event(event: Event) -> None:
    # Not a terminal: nothing to style, so no console either (rich's print costs about 1.5 ms
    # a line, and an `up` of 50 services prints 150 of them).
    detail = f" {event.detail}" if event.detail else ""
    line = f"  {event.phase.value:<9} {event.subject}{detail}\n"
    with _lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def _json_event(event: Event) -> None:
    record = {
        "time": round(time.time(), 3),
        "object": event.subject,
        "phase": event.phase.value,
        "detail": event.detail,
    }
    with _lock:
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()


class _LiveView:
    """One line per object, updated in place; failures stay printed after it closes.

    Redrawn ten times a second from the rows as they are, so a long wait's time keeps
    counting; a long failure wraps in its own column rather than squeezing the others out."""

    def __init__(self) -> None:
        from rich.live import Live

        self.rows: dict[str, Event] = {}
        self.started: dict[str, float] = {}
        self.rows_lock = threading.Lock()  # events come from the executor's threads
        self.live = Live(
            console=_out(), refresh_per_second=10, transient=False, get_renderable=self._table
        )

    def __enter__(self) -> _LiveView:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.refresh()
        self.live.__exit__(None, None, None)

    def on_event(self, event: Event) -> None:
        with self.rows_lock:
            self.started.setdefault(event.subject, time.monotonic())
            self.rows[event.subject] = event

    def _table(self) -> Table:
        table = _new_table(show_header=False)
        table.add_column(no_wrap=True, min_width=8)  # the phase
        table.add_column(no_wrap=True, min_width=12)  # the object
        table.add_column(overflow="fold", ratio=1)  # the detail
        table.add_column(no_wrap=True, justify="right", min_width=6)  # seconds
        now = time.monotonic()
        with self.rows_lock:
            rows = [(subject, event, self.started[subject]) for subject, event in self.rows.items()]
        for subject, event, started in rows:
            style = _PHASE_STYLE.get(event.phase.value, "yellow")
            seconds = f"{now - started:.1f}s" if event.phase.value not in _SETTLED else ""
            table.add_row(
                f"[{style}]{event.phase.value}[/]", _escape(subject), _escape(event.detail), seconds
            )
        return table


_SETTLED = ("done", "failed", "skipped", "interrupted")
