"""A dependency-aware thread pool: runs each task once everything it needs has succeeded.

Independent tasks run in parallel, up to `jobs` at once; `jobs=1` runs the same code serially.
A task whose dependency failed is skipped, and so are its own dependents; unrelated branches go
on. Outcomes are returned, never printed.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from stackr.errors import StackrError


class Status(enum.Enum):
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one task ended, with the reason when it did not succeed."""

    status: Status
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Task:
    """Work to run once every task it needs has succeeded."""

    run: Callable[[], None]
    needs: frozenset[str] = frozenset()


def run_tasks(
    tasks: Mapping[str, Task],
    *,
    jobs: int,
    on_skip: Callable[[str, str], None] | None = None,
    stop: threading.Event | None = None,
) -> dict[str, Outcome]:
    """Run `tasks` along their `needs`; the outcome of every task, keyed like `tasks`.

    A `StackrError` in a task fails that task with its message; any other exception is a bug
    and is re-raised once the tasks already running have finished. On Ctrl-C nothing new
    starts, `stop` is set (so long waits inside tasks can give up), the tasks already running
    finish, and KeyboardInterrupt is re-raised.
    """
    return _Run(tasks, on_skip).run(jobs, stop or threading.Event())


class _Run:
    def __init__(
        self, tasks: Mapping[str, Task], on_skip: Callable[[str, str], None] | None
    ) -> None:
        self.tasks = tasks
        self.on_skip = on_skip
        self.waiting = {key: set(task.needs) & tasks.keys() for key, task in tasks.items()}
        self.dependents: dict[str, set[str]] = {key: set() for key in tasks}
        for key, needs in self.waiting.items():
            for need in needs:
                self.dependents[need].add(key)
        self.outcomes: dict[str, Outcome] = {}
        self.started: set[str] = set()
        self.bug: BaseException | None = None

    def run(self, jobs: int, stop: threading.Event) -> dict[str, Outcome]:
        with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="stackr") as pool:
            running: dict[Future[None], str] = {}
            try:
                self._submit_ready(pool, running)
                while running:
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        self._settle(running.pop(future), future.exception())
                    if self.bug is None:
                        self._submit_ready(pool, running)
            except KeyboardInterrupt:
                stop.set()
                wait(running)  # leaving the pool waits for them too; a second Ctrl-C cuts it
                raise
        if self.bug is not None:
            raise self.bug
        return self.outcomes

    def _submit_ready(self, pool: ThreadPoolExecutor, running: dict[Future[None], str]) -> None:
        for key, needs in self.waiting.items():
            if not needs and key not in self.started and key not in self.outcomes:
                self.started.add(key)
                running[pool.submit(self.tasks[key].run)] = key

    def _settle(self, key: str, error: BaseException | None) -> None:
        if error is None:
            self.outcomes[key] = Outcome(Status.DONE)
            for dependent in self.dependents[key]:
                self.waiting[dependent].discard(key)
            return
        self.outcomes[key] = Outcome(Status.FAILED, _describe(error))
        if not isinstance(error, StackrError):
            self.bug = self.bug or error
        self._skip_dependents(key, key)

    def _skip_dependents(self, key: str, cause: str) -> None:
        for dependent in sorted(self.dependents[key]):
            if dependent not in self.outcomes:
                detail = f"{cause} failed"
                self.outcomes[dependent] = Outcome(Status.SKIPPED, detail)
                if self.on_skip:
                    self.on_skip(dependent, detail)
                self._skip_dependents(dependent, cause)


def _describe(error: BaseException) -> str:
    hint = getattr(error, "hint", "")
    return f"{error}" + (f" ({hint})" if hint else "")
