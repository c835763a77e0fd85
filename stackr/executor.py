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

from stackr.errors import Abandoned, Interrupted, StackrError

LOST_TASK_START = 1.0  # seconds a task whose future Ctrl-C lost is given to show it began


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
    """Work to run once every task it needs has succeeded. A task that `completes` finishes
    what the task `begun_by` began (a replica's replacement, once the old one is stopped): if
    that task had started, it still runs after Ctrl-C, and so does every task it needs (it
    cannot run without them), so an interrupted run never leaves that work half done. Without
    `begun_by` it completes whatever it needs."""

    run: Callable[[], None]
    needs: frozenset[str] = frozenset()
    completes: bool = False
    begun_by: str = ""


Report = Callable[[str, str], None]


def run_tasks(
    tasks: Mapping[str, Task],
    *,
    jobs: int,
    on_skip: Report | None = None,
    stop: threading.Event | None = None,
    on_fail: Report | None = None,
    on_interrupt: Report | None = None,
) -> dict[str, Outcome]:
    """Run `tasks` along their `needs`; the outcome of every task, keyed like `tasks`.

    `on_fail(key, detail)` is called as a task fails, `on_skip(key, cause)` as a task is skipped
    because the task `cause` failed. At most `jobs` tasks are handed to the pool at once, so
    none waits in its queue. A `StackrError` in a task fails that task with its message; any
    other exception is a bug and is re-raised once the tasks already running have finished. On
    Ctrl-C nothing new starts but the tasks that complete work already begun, `stop` is set (so
    long waits inside tasks can give up), the tasks already running finish, and
    KeyboardInterrupt is re-raised; a second Ctrl-C stops waiting for them (`Abandoned`).
    A task that Ctrl-C cut short (`Interrupted`) is reported with `on_interrupt`, not as a
    failure; once interrupted, a task that fails skips its dependents without `on_skip`:
    nothing new would start anyway.
    """
    run = _Run(tasks, on_skip=on_skip, on_fail=on_fail, on_interrupt=on_interrupt)
    return run.run(max(1, jobs), stop or threading.Event())


class _Run:
    def __init__(
        self,
        tasks: Mapping[str, Task],
        *,
        on_skip: Report | None,
        on_fail: Report | None,
        on_interrupt: Report | None,
    ) -> None:
        self.tasks = tasks
        self.on_skip, self.on_fail, self.on_interrupt = on_skip, on_fail, on_interrupt
        self.waiting = {key: set(task.needs) & tasks.keys() for key, task in tasks.items()}
        self.dependents: dict[str, set[str]] = {key: set() for key in tasks}
        for key, needs in self.waiting.items():
            for need in needs:
                self.dependents[need].add(key)
        self.outcomes: dict[str, Outcome] = {}
        self.completing: frozenset[str] = frozenset()  # known once interrupted
        self.interrupted = False
        self.started: set[str] = set()
        self.bug: BaseException | None = None
        # Each started task's end and error, kept apart from its future: a Ctrl-C inside
        # `pool.submit` (while it starts a worker thread) loses the future, not the task.
        self.began: dict[str, threading.Event] = {}
        self.ended: dict[str, threading.Event] = {}
        self.errors: dict[str, BaseException] = {}

    def run(self, jobs: int, stop: threading.Event) -> dict[str, Outcome]:
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="stackr")
        running: dict[Future[None], str] = {}
        abandon = False
        try:
            self._submit_ready(pool, running, jobs)
            self._drain(pool, running, jobs)
        except KeyboardInterrupt:
            stop.set()
            self.interrupted = True
            try:
                # What was begun is known now: complete that, and only that.
                self.completing = completing(self.tasks, begun=self.started)
                self._recover_lost(running)
                self._submit_ready(pool, running, jobs, only_completing=True)
                self._drain(pool, running, jobs, interrupted=True)
            except KeyboardInterrupt:
                abandon = True  # a second Ctrl-C: what is in flight ends with the process
            if abandon:
                raise Abandoned from None
            raise
        finally:
            pool.shutdown(wait=not abandon, cancel_futures=True)
        stuck = sorted(key for key in self.tasks if key not in self.outcomes)
        if stuck and self.bug is None:
            # Nothing failed, yet these never became ready: they wait on each other.
            self.bug = RuntimeError(f"tasks that never ran, waiting on each other: {stuck}")
        if self.bug is not None:
            raise self.bug
        return self.outcomes

    def _drain(
        self,
        pool: ThreadPoolExecutor,
        running: dict[Future[None], str],
        jobs: int,
        *,
        interrupted: bool = False,
    ) -> None:
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                self._settle(running.pop(future), future.exception())
            if self.bug is None:
                self._submit_ready(pool, running, jobs, only_completing=interrupted)

    def _submit_ready(
        self,
        pool: ThreadPoolExecutor,
        running: dict[Future[None], str],
        jobs: int,
        *,
        only_completing: bool = False,
    ) -> None:
        for key, needs in self.waiting.items():
            if len(running) >= jobs:
                return
            if only_completing and key not in self.completing:
                continue
            if not needs and key not in self.started and key not in self.outcomes:
                self.began[key], self.ended[key] = threading.Event(), threading.Event()
                self.started.add(key)
                running[pool.submit(self._tracked, key)] = key

    def _tracked(self, key: str) -> None:
        self.began[key].set()
        try:
            self.tasks[key].run()
        except BaseException as error:
            self.errors[key] = error
            raise
        finally:
            self.ended[key].set()

    def _recover_lost(self, running: dict[Future[None], str]) -> None:
        """Settle the tasks that started but whose future was lost to the Ctrl-C, once they end."""
        tracked = set(running.values())
        for key in sorted(self.started - tracked - self.outcomes.keys()):
            # A task that was queued begins at once (the pool has a free thread for each); one
            # the interrupt caught before it was queued never runs, and has nothing to settle.
            if self.began[key].wait(LOST_TASK_START):
                self.ended[key].wait()
                self._settle(key, self.errors.get(key))

    def _settle(self, key: str, error: BaseException | None) -> None:
        if error is None:
            self.outcomes[key] = Outcome(Status.DONE)
            for dependent in self.dependents[key]:
                self.waiting[dependent].discard(key)
            return
        self.outcomes[key] = Outcome(Status.FAILED, _describe(error))
        if isinstance(error, Interrupted):
            if self.on_interrupt:
                self.on_interrupt(key, str(error))
        elif self.on_fail:
            self.on_fail(key, self.outcomes[key].detail)
        if not isinstance(error, StackrError):
            self.bug = self.bug or error
        self._skip_dependents(key, key)

    def _skip_dependents(self, key: str, cause: str) -> None:
        for dependent in sorted(self.dependents[key]):
            if dependent not in self.outcomes:
                detail = f"{cause} failed"
                self.outcomes[dependent] = Outcome(Status.SKIPPED, detail)
                if self.on_skip and not self.interrupted:
                    self.on_skip(dependent, cause)
                self._skip_dependents(dependent, cause)


def completing(tasks: Mapping[str, Task], begun: set[str] | None = None) -> frozenset[str]:
    """The tasks that still run after Ctrl-C: those that complete work already begun (by a
    task in `begun`; all that could, without it), and everything they need."""
    found: set[str] = set()
    pending = [
        key
        for key, task in tasks.items()
        if task.completes and (begun is None or not task.begun_by or task.begun_by in begun)
    ]
    while pending:
        key = pending.pop()
        if key in found:
            continue
        found.add(key)
        pending.extend(need for need in tasks[key].needs if need in tasks)
    return frozenset(found)


def _describe(error: BaseException) -> str:
    hint = getattr(error, "hint", "")
    # On a line of its own: after a container's last output it would read as more of it.
    return f"{error}" + (f"\n    hint: {hint}" if hint else "")
