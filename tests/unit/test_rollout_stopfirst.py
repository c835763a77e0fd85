"""Stop-first updates of a replicated service against the in-memory engine: while the other
replicas serve, the old one leaves the service's names and drains before it stops, and the new
one takes them only once ready; failures, Ctrl-C and crashes put the names back."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest
from fakes import FakeEngine

from stackr import api
from stackr.errors import ApplyError, EngineError, Interrupted

IMAGES = {"img:1": "sha256:1"}
NETWORK = "shop-dev-default"


def _spec(level: str, replicas: int = 3, **update: object) -> dict[str, object]:
    web = {
        "image": "img:1",
        "replicas": replicas,
        "restart": "always",
        "environment": {"LEVEL": level},
        "healthcheck": {"test": ["CMD", "true"]},
        # Stop-first is the default order. Drained at once: the drain's wait is a test of its own.
        "update": {"drain": 0, **update},
    }
    return {"name": "shop", "services": {"web": web}}


def _up(write_stack, engine: FakeEngine, level: str, replicas: int = 3, **update: object):  # type: ignore[no-untyped-def]
    loaded = api.load([str(write_stack(_spec(level, replicas, **update)))], profile="dev", env={})
    return api.up(loaded, engine, options=api.UpOptions(wait_timeout=1))


def _names(n: int) -> list[str]:
    return [f"shop-dev-web-{i}" for i in range(1, n + 1)]


def _assert_serving(engine: FakeEngine, level: str, replicas: int = 3) -> None:
    """Every replica runs `level`'s spec under its own name, on the service's name; nothing
    else is left."""
    assert sorted(engine.containers) == _names(replicas)
    for name, c in engine.containers.items():
        assert (c.state, c.aliases) == ("running", {NETWORK: ("web",)}), name
        assert c.spec.environment["LEVEL"] == level, name


def test_the_old_replica_leaves_the_names_and_drains_before_it_stops(
    write_stack, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from stackr.rollout import Rollout

    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info")
    engine.log.clear()
    drains: list[tuple[int, float]] = []
    monkeypatch.setattr(
        Rollout, "_drain", lambda self: drains.append((len(engine.log), self.service.update.drain))
    )
    seen: dict[str, dict[str, tuple[str, ...]]] = {}  # container -> its aliases then
    stop, start = engine.stop_container, engine.start_container

    def stopping(name: str, timeout: float) -> None:
        seen[f"stop {name}"] = dict(engine.containers[name].aliases)
        stop(name, timeout=timeout)

    def starting(name: str) -> None:
        seen[f"start {name}"] = dict(engine.containers[name].aliases)
        start(name)

    engine.stop_container = stopping  # type: ignore[method-assign]
    engine.start_container = starting  # type: ignore[method-assign]
    _up(write_stack, engine, "debug", drain="300ms")
    one = "shop-dev-web-1"
    assert engine.log[:9] == [
        f"rename_container {one} {one}-prev",
        f"disconnect_container {one}-prev {NETWORK}",
        f"connect_container {one}-prev {NETWORK}",  # back on its network, off the names
        f"stop_container {one}-prev",
        f"create_container {one}-next",
        f"start_container {one}-next",
        f"disconnect_container {one}-next {NETWORK}",
        f"connect_container {one}-next {NETWORK}",  # ready: it takes the names
        f"rename_container {one}-next {one}",
    ]
    # One drain a batch, between the leave and the stop.
    assert drains == [(3, 0.3), (12, 0.3), (21, 0.3)]
    for name in _names(3):
        assert seen[f"stop {name}-prev"] == {NETWORK: ()}
        assert seen[f"start {name}-next"] == {NETWORK: ()}
    _assert_serving(engine, "debug")


@pytest.mark.parametrize(("replicas", "parallelism"), [(1, 1), (2, 2)])
def test_with_no_other_replica_serving_the_old_one_stops_on_its_names(
    write_stack, monkeypatch, replicas: int, parallelism: int
) -> None:  # type: ignore[no-untyped-def]
    # Nobody would take its requests: leaving the names and draining would only add a wait.
    from stackr.rollout import Rollout

    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info", replicas, parallelism=parallelism)
    engine.log.clear()
    drains: list[float] = []
    monkeypatch.setattr(Rollout, "_drain", lambda self: drains.append(1.0))
    _up(write_stack, engine, "debug", replicas, parallelism=parallelism)
    assert drains == []
    assert not any("-next" in line or "connect" in line for line in engine.log), engine.log
    _assert_serving(engine, "debug", replicas)


@pytest.mark.parametrize("action", ["rollback", "pause"])
def test_a_new_replica_that_fails_puts_the_old_one_back_on_the_names(
    write_stack, action: str
) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info", failure_action=action)
    engine.unhealthy_names = {"shop-dev-web-2-next"}
    with pytest.raises(ApplyError, match="update of web failed at shop-dev-web-2") as caught:
        _up(write_stack, engine, "debug", failure_action=action)
    assert ("rolled back" if action == "rollback" else "paused: 1 replica(s)") in str(caught.value)
    first = "info" if action == "rollback" else "debug"
    levels = {n: c.spec.environment["LEVEL"] for n, c in engine.containers.items()}
    assert levels == {"shop-dev-web-1": first, "shop-dev-web-2": "info", "shop-dev-web-3": "info"}
    for name, c in engine.containers.items():
        assert (c.state, c.aliases) == ("running", {NETWORK: ("web",)}), name
    engine.unhealthy_names = set()
    _up(write_stack, engine, "debug", failure_action=action)
    _assert_serving(engine, "debug")


def test_ctrl_c_while_the_old_replica_stops_puts_it_back_on_the_names(write_stack) -> None:  # type: ignore[no-untyped-def]
    from test_rollout import _web_rollout

    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info")
    loaded = api.load([str(write_stack(_spec("debug")))], profile="dev", env={})
    stop = threading.Event()
    stop_container = engine.stop_container

    def ctrl_c_while_stopping(name: str, *, timeout: float) -> None:
        stop_container(name, timeout=timeout)
        stop.set()

    engine.stop_container = ctrl_c_while_stopping  # type: ignore[method-assign]
    engine.log.clear()
    rollout = _web_rollout(engine, loaded, stop.is_set)
    with pytest.raises(Interrupted, match="interrupted: 0 of the 3 replica"):
        rollout.run()
    assert not any("web-2" in line or "web-3" in line for line in engine.log), engine.log
    assert not any(line.startswith("create_container") for line in engine.log)
    _assert_serving(engine, "info")


def _fail_at(engine: FakeEngine, n: int) -> None:
    """The engine's `n`-th mutating call from now on fails, before it changes anything."""
    record = engine._record
    calls = [0]

    def failing(call: str, subject: str = "") -> None:
        if subject:
            calls[0] += 1
            if calls[0] == n:
                raise EngineError(f"injected fault at {call} {subject}")
        record(call, subject)

    engine._record = failing  # type: ignore[method-assign]


def _mutating_calls(write_stack, sick: set[str], **update: Any) -> int:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info", **update)
    engine.log.clear()
    engine.unhealthy_names = set(sick)
    try:
        _up(write_stack, engine, "debug", **update)
    except ApplyError:
        assert sick, "only a sick replica fails the update"
    return len(engine.log)


@pytest.mark.parametrize(
    ("sick", "update"),
    [
        (set(), {}),
        # web-2's new replica fails: web-1 is rolled back, web-2 put back (both on the names).
        ({"shop-dev-web-2-next"}, {}),
        ({"shop-dev-web-2-next"}, {"failure_action": "pause"}),
    ],
    ids=["forward", "rollback", "pause"],
)
# The next `up` finishes the update, or (the file put back as it was) undoes it: the plan sees
# names and specs only, so no replica may be left under its own name but off the names.
@pytest.mark.parametrize("then", ["debug", "info"])
def test_a_fault_at_any_call_of_an_update_converges_on_the_next_up(
    write_stack, sick: set[str], update: dict[str, Any], then: str
) -> None:  # type: ignore[no-untyped-def]
    total = _mutating_calls(write_stack, sick, **update)
    assert total > 20
    for n in range(1, total + 1):
        engine = FakeEngine(images=dict(IMAGES))
        _up(write_stack, engine, "info", **update)
        engine.unhealthy_names = set(sick)
        _fail_at(engine, n)
        # Mostly the update fails; a fault rejoining the network after leaving the names
        # only cuts the old replica's requests, and is said so.
        with contextlib.suppress(ApplyError):
            _up(write_stack, engine, "debug", **update)
        engine._record = FakeEngine._record.__get__(engine)  # type: ignore[method-assign]
        engine.unhealthy_names = set()
        _up(write_stack, engine, then, **update)
        try:
            _assert_serving(engine, then)
        except AssertionError as error:
            raise AssertionError(f"fault at mutating call {n} of {total}: {error}") from None


def test_a_fixed_host_port_per_replica_keeps_the_old_stop_first(write_stack) -> None:  # type: ignore[no-untyped-def]
    # Leaving a network drops a published port at once, and a leftover cut short while
    # draining would hold it when the next `up` starts the replica: stopped on its names.
    engine = FakeEngine(images=dict(IMAGES))
    spec = _spec("info")
    spec["services"]["web"]["ports"] = ["18081-18083:80"]  # type: ignore[index]
    loaded = api.load([str(write_stack(spec))], profile="dev", env={})
    api.up(loaded, engine, options=api.UpOptions(wait_timeout=1))
    engine.log.clear()
    spec["services"]["web"]["environment"] = {"LEVEL": "debug"}  # type: ignore[index]
    loaded = api.load([str(write_stack(spec))], profile="dev", env={})
    api.up(loaded, engine, options=api.UpOptions(wait_timeout=1))
    assert not any("-next" in line or "connect" in line for line in engine.log), engine.log


def test_ctrl_c_during_the_drain_stops_no_old_replica(write_stack, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from test_rollout import _web_rollout

    from stackr.rollout import Rollout

    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info")
    loaded = api.load([str(write_stack(_spec("debug")))], profile="dev", env={})
    stop = threading.Event()
    monkeypatch.setattr(Rollout, "_drain", lambda self: stop.set())  # Ctrl-C as it drains
    engine.log.clear()
    with pytest.raises(Interrupted, match="interrupted: 0 of the 3 replica"):
        _web_rollout(engine, loaded, stop.is_set).run()
    assert not any(line.startswith(("stop_container", "start_container")) for line in engine.log)
    _assert_serving(engine, "info")
