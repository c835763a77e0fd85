"""The dependency-aware pool: order, parallelism, failures, bugs and Ctrl-C."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from stackr.errors import StackrError
from stackr.executor import Outcome, Status, Task, completing, run_tasks


def _recorder(log: list[str], name: str, delay: float = 0.0) -> Task:
    def run() -> None:
        time.sleep(delay)
        log.append(name)

    return Task(run)


def test_needs_run_first() -> None:
    log: list[str] = []
    tasks = {
        "db": _recorder(log, "db", 0.05),
        "web": Task(lambda: log.append("web"), frozenset({"db"})),
    }
    run_tasks(tasks, jobs=4)
    assert log == ["db", "web"]


def test_independent_tasks_run_in_parallel() -> None:
    barrier = threading.Barrier(3, timeout=2)
    tasks = {name: Task(lambda: barrier.wait() and None) for name in ("a", "b", "c")}
    outcomes = run_tasks(tasks, jobs=3)  # would time out if they ran one by one
    assert {o.status for o in outcomes.values()} == {Status.DONE}


def test_failure_skips_dependents_not_other_branches() -> None:
    def fail() -> None:
        raise StackrError("db broke")

    log: list[str] = []
    tasks = {
        "db": Task(fail),
        "web": Task(lambda: log.append("web"), frozenset({"db"})),
        "proxy": Task(lambda: log.append("proxy"), frozenset({"web"})),
        "cache": Task(lambda: log.append("cache")),
    }
    outcomes = run_tasks(tasks, jobs=2)
    assert outcomes["db"] == Outcome(Status.FAILED, "db broke")
    assert outcomes["web"] == Outcome(Status.SKIPPED, "db failed")
    assert outcomes["proxy"] == Outcome(Status.SKIPPED, "db failed")
    assert log == ["cache"]


def test_a_bug_is_reraised() -> None:
    def bug() -> None:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        run_tasks({"a": Task(bug)}, jobs=1)


def test_ctrl_c_finishes_running_work_and_starts_nothing_new() -> None:
    log: list[str] = []
    stop = threading.Event()

    def interrupting() -> None:
        time.sleep(0.1)  # let the main thread settle into waiting
        os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C
        time.sleep(0.2)  # still running when the main thread sees it
        log.append("finished")

    tasks = {
        "first": Task(interrupting),
        "second": Task(lambda: log.append("second"), frozenset({"first"})),
    }
    with pytest.raises(KeyboardInterrupt):
        run_tasks(tasks, jobs=2, stop=stop)
    assert log == ["finished"]
    assert stop.is_set()


def test_ctrl_c_leaves_ready_tasks_beyond_jobs_unstarted() -> None:
    # Only `jobs` tasks are ever handed to the pool: none waits in its queue to run after.
    log: list[str] = []

    def interrupting() -> None:
        time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        log.append("interrupting")

    tasks = {"a": Task(interrupting), **{f"b{i}": _recorder(log, f"b{i}", 0.3) for i in range(6)}}
    with pytest.raises(KeyboardInterrupt):
        run_tasks(tasks, jobs=2)
    assert sorted(log) == ["b0", "interrupting"]  # what was in flight; nothing queued ran


def test_ctrl_c_still_completes_work_already_begun() -> None:
    log: list[str] = []

    def park_old() -> None:
        time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        log.append("old parked")

    tasks = {
        "remove:web-1": Task(park_old),
        "container:web-1": Task(
            lambda: log.append("new started"), frozenset({"remove:web-1"}), completes=True
        ),
        "container:api-1": Task(lambda: log.append("api"), frozenset({"remove:web-1"})),
    }
    with pytest.raises(KeyboardInterrupt):
        run_tasks(tasks, jobs=2)
    assert log == ["old parked", "new started"]


def test_ctrl_c_still_runs_what_a_completing_task_needs() -> None:
    # "wait:db" had not begun at Ctrl-C, but the replacement cannot run without it.
    log: list[str] = []

    def park_old() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        log.append("old parked")

    tasks = {
        "remove:web-1": Task(park_old),
        "wait:db": Task(lambda: log.append("db healthy")),
        "container:web-1": Task(
            lambda: log.append("new started"),
            frozenset({"remove:web-1", "wait:db"}),
            completes=True,
        ),
        "container:api-1": Task(lambda: log.append("api")),
    }
    with pytest.raises(KeyboardInterrupt):
        run_tasks(tasks, jobs=1)
    assert log == ["old parked", "db healthy", "new started"]


def test_completing_is_the_completing_tasks_and_all_they_need() -> None:
    tasks = {
        "a": Task(lambda: None),
        "b": Task(lambda: None, frozenset({"a", "gone"})),
        "c": Task(lambda: None, frozenset({"b"}), completes=True),
        "d": Task(lambda: None, frozenset({"c"})),
    }
    assert completing(tasks) == {"a", "b", "c"}


def test_once_interrupted_a_failure_skips_its_dependents_silently() -> None:
    skipped: list[str] = []

    def fails_after_ctrl_c() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        raise StackrError("interrupted while waiting")

    tasks = {"wait": Task(fails_after_ctrl_c), "web": Task(lambda: None, frozenset({"wait"}))}
    with pytest.raises(KeyboardInterrupt):
        run_tasks(tasks, jobs=2, on_skip=lambda key, cause: skipped.append(key))
    assert skipped == []


def test_a_second_ctrl_c_abandons_the_work_in_flight() -> None:
    from stackr.errors import Abandoned

    def interrupted_twice() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.5)

    with pytest.raises(Abandoned):
        run_tasks({"slow": Task(interrupted_twice)}, jobs=1)


def test_work_cut_short_by_ctrl_c_is_reported_as_interrupted_not_failed() -> None:
    from stackr.errors import Interrupted

    failed: list[str] = []
    cut: list[str] = []

    def cut_short() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        raise Interrupted("update of web interrupted")

    with pytest.raises(KeyboardInterrupt):
        run_tasks(
            {"update:web": Task(cut_short)},
            jobs=1,
            on_fail=lambda key, detail: failed.append(key),
            on_interrupt=lambda key, detail: cut.append(f"{key}: {detail}"),
        )
    assert (failed, cut) == ([], ["update:web: update of web interrupted"])


def test_tasks_that_wait_on_each_other_are_a_bug_not_a_success() -> None:
    tasks = {
        "a": Task(lambda: None, frozenset({"b"})),
        "b": Task(lambda: None, frozenset({"a"})),
        "c": Task(lambda: None),
    }
    with pytest.raises(RuntimeError, match=r"never ran, waiting on each other: \['a', 'b'\]"):
        run_tasks(tasks, jobs=2)


def test_ctrl_c_while_a_worker_thread_starts_still_waits_for_the_task_it_runs() -> None:
    # Ctrl-C lands while `pool.submit` starts a worker thread: that task's future is lost
    # to the interrupt, but the task runs, and must be waited for like any other.
    log: list[str] = []

    def interrupting() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        log.append("first finished")

    tasks = {"first": Task(interrupting), "second": Task(lambda: log.append("second"))}
    with pytest.raises(KeyboardInterrupt):
        run_tasks(tasks, jobs=2)
    assert "first finished" in log
