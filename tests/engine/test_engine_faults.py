"""Crash safety on the real engine: whichever mutating engine call of an `up` fails, the next
plain `up` leaves the engine holding exactly the stack (nothing missing, nothing left over, the
job's work done once), and data in volumes survives a service being recreated."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from conftest import IMAGE, WEB, StackFixture

from stackr import api
from stackr.docker_engine import DockerEngine
from stackr.engine import Engine
from stackr.errors import EngineError, StackrError

pytestmark = pytest.mark.engine

# Every Engine-protocol method is in exactly one of these (test_every_engine_method_is_sorted).
MUTATING = frozenset(
    {
        "create_network",
        "remove_network",
        "create_volume",
        "remove_volume",
        "create_container",
        "start_container",
        "remove_container",
        "stop_container",
        "rename_container",
        "connect_container",
        "disconnect_container",
        "unpause_container",
    }
)
READ_ONLY = frozenset(
    {
        "observe",
        "ensure_image",  # makes an image exist; it changes nothing stackr owns
        "pull_image",  # moves a tag to a newer image; it changes nothing stackr owns
        "image_id",
        "facts",
        "context_files",
        "anonymous_volumes",
        "start_times",
        "container_status",
        "logs",
        "last_log_lines",
    }
)

# The mutating calls a clean `up` of `_spec()` makes: 2 networks, 1 volume, 4 containers each
# created and started. The fault sweep cuts each of them in turn;
# test_a_clean_up_makes_the_expected_mutating_calls keeps this number honest.
EXPECTED_CALLS = 11
WAIT_TIMEOUT = 60.0


class FaultyEngine:
    """An Engine over a real one that fails its `fail_at`-th mutating call (from 1) with
    `EngineError("injected fault")` instead of making it; with `fail_at=None` it only counts.

    Calls are forwarded by `__getattr__`, so the proxy follows the protocol's signatures as
    they change; a name outside the protocol is refused.
    """

    def __init__(self, inner: DockerEngine, *, fail_at: int | None) -> None:
        self._inner = inner
        self._fail_at = fail_at
        self._lock = threading.Lock()  # the executor calls from several threads at once
        self.calls: list[str] = []  # every mutating call attempted, "method subject", in order
        self.cut: str | None = None  # the call failed instead of made

    def __getattr__(self, name: str) -> Any:
        if name in READ_ONLY:
            return getattr(self._inner, name)
        if name not in MUTATING:
            raise AttributeError(f"{name} is not a method of the Engine protocol")
        method = getattr(self._inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._count(f"{name} {_subject(args)}")
            return method(*args, **kwargs)

        return call

    def _count(self, call: str) -> None:
        with self._lock:
            self.calls.append(call)
            if len(self.calls) != self._fail_at:
                return
            self.cut = call
        raise EngineError("injected fault")


def _subject(args: tuple[Any, ...]) -> str:
    # A spec (create_*) or an engine name (everything else).
    return str(getattr(args[0], "name", args[0])) if args else ""


def _db(revision: str, extra_volumes: tuple[str, ...]) -> dict[str, Any]:
    sleeper = f"trap 'exit 0' TERM; echo revision {revision}; while true; do sleep 1; done & wait"
    return {
        "image": IMAGE,
        "command": ["sh", "-c", sleeper],
        "environment": {"DB_REVISION": revision},
        "volumes": ["data:/data", *extra_volumes],
        "configs": [{"source": "dbconf", "target": "/etc/db.conf"}],
        "networks": ["back"],
        "restart": "unless-stopped",
        "healthcheck": {"test": ["CMD", "true"], "interval": "1s", "timeout": "1s", "retries": 5},
        "stop_grace_period": "1s",
    }


def _spec(*, db_revision: str = "1", db_volumes: tuple[str, ...] = ()) -> dict[str, Any]:
    """A migration job, a database and a replicated web service gated on both (and
    restarted when the database is recreated)."""
    return {
        "services": {
            "migrate": {
                "image": IMAGE,
                "command": ["sh", "-c", "echo migrated > /data/m"],
                "volumes": ["data:/data"],
                "networks": ["back"],
                "restart": "no",
            },
            "db": _db(db_revision, db_volumes),
            "web": {
                "image": IMAGE,
                "command": WEB,
                "replicas": 2,
                "ports": ["8080"],  # an ephemeral host port each: nothing to clash with
                "networks": ["front", "back"],
                "restart": "unless-stopped",
                "depends_on": {
                    "migrate": {"condition": "completed"},
                    # A recreated db restarts the web replicas once it is healthy again.
                    "db": {"condition": "healthy", "restart": True},
                },
                "healthcheck": {
                    "test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:8080/"],
                    "interval": "1s",
                    "timeout": "1s",
                    "retries": 5,
                },
                "stop_grace_period": "1s",
            },
        },
        "networks": {"front": {}, "back": {"internal": True}},
        "volumes": {"data": {}},
        "configs": {"dbconf": {"content": f"revision {db_revision}\n"}},
    }


# -- what the engine holds -----------------------------------------------------------------


def _held_containers(stack: StackFixture) -> dict[str, tuple[str, int, tuple[str, ...]]]:
    """name → (state, exit code, networks) of every container labelled with the stack or named
    after it, so that a leftover temporary container shows up even without labels."""
    named = stack.sdk.containers.list(all=True, filters={"name": stack.name})
    found = {**stack.containers(), **{c.name: c for c in named}}
    return {
        name: (
            c.status,
            c.attrs["State"]["ExitCode"],
            tuple(sorted(c.attrs["NetworkSettings"]["Networks"])),
        )
        for name, c in found.items()
    }


def _held_networks(stack: StackFixture) -> list[str]:
    named = stack.sdk.networks.list(filters={"name": stack.name})
    return sorted({*stack.networks(), *(n.name for n in named)})


def _held(stack: StackFixture) -> str:
    containers = ", ".join(
        f"{name} {state} (exit {code})"
        for name, (state, code, _) in sorted(_held_containers(stack).items())
    )
    networks = ", ".join(_held_networks(stack)) or "none"
    volumes = ", ".join(stack.volumes()) or "none"
    return f"containers: {containers or 'none'}; networks: {networks}; volumes: {volumes}"


def _read(stack: StackFixture, container: str, path: str) -> str:
    result = stack.sdk.containers.get(container).exec_run(["cat", path])
    return str(result.output.decode().strip())


def _assert_holds_exactly_the_stack(stack: StackFixture, path: Path, context: str) -> None:
    prefix = f"{stack.name}-dev"
    back, front = f"{prefix}-back", f"{prefix}-front"
    assert _held_containers(stack) == {
        f"{prefix}-migrate-1": ("exited", 0, (back,)),
        f"{prefix}-db-1": ("running", 0, (back,)),
        f"{prefix}-web-1": ("running", 0, (back, front)),
        f"{prefix}-web-2": ("running", 0, (back, front)),
    }, context
    assert _held_networks(stack) == [back, front], context
    assert stack.volumes() == [f"{prefix}-data"], context
    assert _read(stack, f"{prefix}-db-1", "/data/m") == "migrated", context
    env = stack.sdk.containers.get(f"{prefix}-db-1").attrs["Config"]["Env"]
    revision = next(e.removeprefix("DB_REVISION=") for e in env if e.startswith("DB_REVISION="))
    # The config file the db was started with matches the spec it runs.
    assert _read(stack, f"{prefix}-db-1", "/etc/db.conf") == f"revision {revision}", context
    pending = api.plan(stack.load(path), stack.engine).pending()
    assert [action.describe() for action in pending] == [], context


# -- the Engine proxy stays complete --------------------------------------------------------


def test_every_engine_method_is_sorted() -> None:
    protocol = {
        name for name, value in vars(Engine).items() if callable(value) and not name.startswith("_")
    }
    assert sorted(MUTATING | READ_ONLY) == sorted(protocol)
    assert not MUTATING & READ_ONLY


# -- faults ----------------------------------------------------------------------------------


def test_a_clean_up_makes_the_expected_mutating_calls(stack: StackFixture) -> None:
    path = stack.write(_spec())
    counting = FaultyEngine(stack.engine, fail_at=None)
    # The default jobs: the replicas are created in parallel, and counted all the same.
    api.up(stack.load(path), counting, options=api.UpOptions(wait_timeout=WAIT_TIMEOUT))
    methods = Counter(call.split()[0] for call in counting.calls)
    assert methods == {
        "create_network": 2,
        "create_volume": 1,
        "create_container": 4,
        "start_container": 4,
    }
    assert len(counting.calls) == EXPECTED_CALLS
    _assert_holds_exactly_the_stack(stack, path, "after a clean up")


@pytest.mark.parametrize("fail_at", range(1, EXPECTED_CALLS + 1), ids=lambda n: f"call-{n}")
def test_the_next_up_repairs_a_fault_at_any_call(stack: StackFixture, fail_at: int) -> None:
    path = stack.write(_spec())
    assert (stack.containers(), stack.networks(), stack.volumes()) == ({}, [], [])
    faulty = FaultyEngine(stack.engine, fail_at=fail_at)
    # One worker: the calls come in one order, so each `fail_at` cuts another call, each once.
    options = api.UpOptions(jobs=1, wait_timeout=WAIT_TIMEOUT)
    with pytest.raises(StackrError, match="injected fault"):
        api.up(stack.load(path), faulty, options=options)
    context = f"mutating call {fail_at} ({faulty.cut}) was cut, leaving {_held(stack)}"
    try:
        stack.up(path)
    except StackrError as error:
        pytest.fail(f"{context}; the next up raised: {error}")
    _assert_holds_exactly_the_stack(stack, path, context)


# -- data across a recreate -----------------------------------------------------------------


@pytest.fixture
def unlabelled_volumes(stack: StackFixture) -> Iterator[list[str]]:
    """Anonymous volumes the test saw: no label finds them, so they are removed here, after the
    stack's containers (a volume mounted by name outlives `docker rm -v`)."""
    names: list[str] = []
    yield names
    for container in stack.containers().values():
        container.remove(force=True, v=True)
    for name in names:
        with contextlib.suppress(docker.errors.NotFound):
            stack.sdk.volumes.get(name).remove(force=True)


def _volume_at(stack: StackFixture, container: str, target: str) -> str:
    mounts = stack.sdk.containers.get(container).attrs["Mounts"]
    return str(next(m["Name"] for m in mounts if m["Destination"] == target))


def _write(stack: StackFixture, container: str, path: str, text: str) -> None:
    result = stack.sdk.containers.get(container).exec_run(["sh", "-c", f"echo {text} > {path}"])
    assert result.exit_code == 0, result.output


def test_named_volume_keeps_its_data_when_db_is_recreated(stack: StackFixture) -> None:
    db = f"{stack.name}-dev-db-1"
    stack.up(stack.write(_spec()))
    before = stack.sdk.containers.get(db).id
    _write(stack, db, "/data/sentinel", "kept")
    result = stack.up(stack.write(_spec(db_revision="2")))
    assert [(a.kind.value, a.name) for a in result.plan.pending()] == [
        ("recreate", db),
        ("restart", f"{stack.name}-dev-web-1"),
        ("restart", f"{stack.name}-dev-web-2"),
    ]
    after = stack.sdk.containers.get(db)
    assert after.id != before
    assert "DB_REVISION=2" in after.attrs["Config"]["Env"]
    assert _read(stack, db, "/data/sentinel") == "kept"
    assert _read(stack, db, "/data/m") == "migrated"


def test_anonymous_volume_keeps_its_data_when_db_is_recreated(
    stack: StackFixture, unlabelled_volumes: list[str]
) -> None:
    db = f"{stack.name}-dev-db-1"
    stack.up(stack.write(_spec(db_volumes=("/cache",))))
    before = stack.sdk.containers.get(db).id
    unlabelled_volumes.append(_volume_at(stack, db, "/cache"))
    _write(stack, db, "/cache/sentinel", "kept")
    result = stack.up(stack.write(_spec(db_revision="2", db_volumes=("/cache",))))
    unlabelled_volumes.append(_volume_at(stack, db, "/cache"))
    assert [a.name for a in result.plan.pending() if a.kind.value == "recreate"] == [db]
    assert stack.sdk.containers.get(db).id != before
    assert _read(stack, db, "/cache/sentinel") == "kept"


# Stop and park the old db, create and start the new one, remove the parked; then stop and
# start each web replica.
RECREATE_CALLS = 9


def test_a_recreate_makes_the_expected_mutating_calls(stack: StackFixture) -> None:
    stack.up(stack.write(_spec(db_volumes=("/cache",))))
    counting = FaultyEngine(stack.engine, fail_at=None)
    loaded = stack.load(stack.write(_spec(db_revision="2", db_volumes=("/cache",))))
    api.up(loaded, counting, options=api.UpOptions(jobs=1, wait_timeout=WAIT_TIMEOUT))
    assert len(counting.calls) == RECREATE_CALLS, counting.calls


@pytest.mark.parametrize("fail_at", range(1, RECREATE_CALLS + 1), ids=lambda n: f"call-{n}")
def test_a_fault_during_a_recreate_loses_no_data(
    stack: StackFixture, unlabelled_volumes: list[str], fail_at: int
) -> None:
    db = f"{stack.name}-dev-db-1"
    stack.up(stack.write(_spec(db_volumes=("/cache",))))
    unlabelled_volumes.append(_volume_at(stack, db, "/cache"))
    _write(stack, db, "/cache/sentinel", "kept")
    changed = stack.write(_spec(db_revision="2", db_volumes=("/cache",)))
    faulty = FaultyEngine(stack.engine, fail_at=fail_at)
    with pytest.raises(StackrError, match="injected fault"):
        api.up(
            stack.load(changed), faulty, options=api.UpOptions(jobs=1, wait_timeout=WAIT_TIMEOUT)
        )
    context = f"mutating call {fail_at} ({faulty.cut}) was cut, leaving {_held(stack)}"
    stack.up(changed)
    unlabelled_volumes.append(_volume_at(stack, db, "/cache"))
    assert "DB_REVISION=2" in stack.sdk.containers.get(db).attrs["Config"]["Env"], context
    assert _read(stack, db, "/cache/sentinel") == "kept", context
    assert sorted(stack.containers()) == sorted(_held_containers(stack)), context
    assert not [n for n in stack.containers() if n.endswith(("-prev", "-next"))], context
