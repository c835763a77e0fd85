"""Start-first updates against the in-memory engine: order, rollback, pause, fallback."""

from __future__ import annotations

import time

import pytest
from fakes import FakeEngine

from stackr import api
from stackr.desired import ContainerSpec
from stackr.errors import ApplyError

IMAGES = {"img:1": "sha256:1"}


def _spec(level: str, **update: object) -> dict[str, object]:
    web = {
        "image": "img:1",
        "replicas": 2,
        "restart": "always",
        "environment": {"LEVEL": level},
        "healthcheck": {"test": ["CMD", "true"]},
        # Drained at once: the drain's wait is a test of its own.
        "update": {"order": "start-first", "drain": 0, **update},
    }
    return {"name": "shop", "services": {"web": web}}


def _up(write_stack, engine: FakeEngine, level: str, **update: object) -> api.UpResult:  # type: ignore[no-untyped-def]
    loaded = api.load([str(write_stack(_spec(level, **update)))], profile="dev", env={})
    return api.up(loaded, engine, options=api.UpOptions(wait_timeout=1))


def _record_statuses(engine: FakeEngine) -> list[str]:
    """Each status look from now on, as `{log length} {name}`: when it came, among the calls."""
    seen: list[str] = []
    status = engine.container_status

    def recording(name: str):  # type: ignore[no-untyped-def]
        seen.append(f"{len(engine.log)} {name}")
        return status(name)

    engine.container_status = recording  # type: ignore[method-assign]
    return seen


def _levels(engine: FakeEngine) -> dict[str, str]:
    return {n: c.spec.environment["LEVEL"] for n, c in sorted(engine.containers.items())}


def test_new_replica_is_ready_before_the_old_one_leaves(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info")
    engine.log.clear()
    _up(write_stack, engine, "debug")
    assert engine.log[:9] == [
        "create_container shop-dev-web-1-next",
        "start_container shop-dev-web-1-next",
        "disconnect_container shop-dev-web-1-next shop-dev-default",
        "connect_container shop-dev-web-1-next shop-dev-default",
        "rename_container shop-dev-web-1 shop-dev-web-1-prev",
        "rename_container shop-dev-web-1-next shop-dev-web-1",
        "disconnect_container shop-dev-web-1-prev shop-dev-default",
        "connect_container shop-dev-web-1-prev shop-dev-default",  # back on, off the names
        "stop_container shop-dev-web-1-prev",
    ]
    assert _levels(engine) == {"shop-dev-web-1": "debug", "shop-dev-web-2": "debug"}


def test_old_replicas_leave_the_names_keep_their_network_and_drain_once_a_batch(
    write_stack, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # Off the service's names, but back on the network (the engine gives the address back, so
    # the requests it has get their answers); the batch's old ones drain together, then stop.
    from stackr.rollout import Rollout

    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info", parallelism=2)
    engine.log.clear()
    pauses: list[tuple[int, float]] = []

    def draining(self: Rollout) -> None:
        pauses.append((len(engine.log), self.service.update.drain))

    monkeypatch.setattr(Rollout, "_drain", draining)
    at_stop: dict[str, tuple[list[str], dict[str, tuple[str, ...]]]] = {}
    stop = engine.stop_container

    def stopping(name: str, timeout: float) -> None:
        c = engine.containers[name]
        at_stop[name] = (list(c.networks), dict(c.aliases))
        stop(name, timeout=timeout)

    engine.stop_container = stopping  # type: ignore[method-assign]
    _up(write_stack, engine, "debug", parallelism=2, drain="200ms")
    leaves = [
        f"{call}_container shop-dev-web-{n}-prev shop-dev-default"
        for n in (1, 2)
        for call in ("disconnect", "connect")
    ]
    first_stop = engine.log.index("stop_container shop-dev-web-1-prev")
    assert engine.log[first_stop - 4 :] == [
        *leaves,
        "stop_container shop-dev-web-1-prev",
        "stop_container shop-dev-web-2-prev",
        "remove_container shop-dev-web-1-prev",
        "remove_container shop-dev-web-2-prev",
    ]
    assert pauses == [(first_stop, 0.2)]  # once, between the leaves and the stops
    # Each stopped on its network, off the names, on the address it had (nothing to report).
    off_the_names = (["shop-dev-default"], {"shop-dev-default": ()})
    assert at_stop == {"shop-dev-web-1-prev": off_the_names, "shop-dev-web-2-prev": off_the_names}
    assert _levels(engine) == {"shop-dev-web-1": "debug", "shop-dev-web-2": "debug"}


def test_plan_says_start_first(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info")
    loaded = api.load([str(write_stack(_spec("debug")))], profile="dev", env={})
    reasons = {a.reason for a in api.plan(loaded, engine).pending()}
    assert reasons == {"its spec changed (start-first: no downtime)"}


def test_failed_replica_rolls_the_service_back(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info")
    engine.unhealthy_names = {"shop-dev-web-2-next"}
    with pytest.raises(ApplyError, match="rolled back: every replica runs the previous spec"):
        _up(write_stack, engine, "debug")
    assert _levels(engine) == {"shop-dev-web-1": "info", "shop-dev-web-2": "info"}
    assert all(c.state == "running" for c in engine.containers.values())


def test_a_rolled_back_replica_takes_the_name_back_only_once_ready(write_stack) -> None:  # type: ignore[no-untyped-def]
    # As going forward: the previous replica starts off the service's names, is checked,
    # and only then takes them back; the new one serves until it leaves.
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info")
    engine.unhealthy_names = {"shop-dev-web-2-next"}
    engine.log.clear()
    statuses = _record_statuses(engine)
    with pytest.raises(ApplyError, match="rolled back"):
        _up(write_stack, engine, "debug")
    back = engine.log[engine.log.index("start_container shop-dev-web-1-prev") - 1 :]
    assert back[:9] == [
        "connect_container shop-dev-web-1-prev shop-dev-default",
        "start_container shop-dev-web-1-prev",
        "disconnect_container shop-dev-web-1-prev shop-dev-default",
        "connect_container shop-dev-web-1-prev shop-dev-default",
        # The new one leaves the names as an old one does, under a temporary name, and
        # drains before it goes.
        "rename_container shop-dev-web-1 shop-dev-web-1-next",
        "rename_container shop-dev-web-1-prev shop-dev-web-1",
        "disconnect_container shop-dev-web-1-next shop-dev-default",
        "connect_container shop-dev-web-1-next shop-dev-default",
        "remove_container shop-dev-web-1-next",
    ]
    started = len(engine.log) - len(back) + 2  # the log's length once it was started
    assert f"{started} shop-dev-web-1-prev" in statuses  # checked before taking the name
    assert engine.containers["shop-dev-web-1"].aliases == {"shop-dev-default": ("web",)}
    assert _levels(engine) == {"shop-dev-web-1": "info", "shop-dev-web-2": "info"}


def test_a_new_replica_checked_by_its_images_healthcheck_must_turn_healthy(write_stack) -> None:  # type: ignore[no-untyped-def]
    def spec(level: str) -> dict[str, object]:
        web = {**_spec(level)["services"]["web"], "image": "checked:1"}  # type: ignore[index]
        del web["healthcheck"]
        return {"name": "shop", "services": {"web": web}}

    def up(level: str) -> api.UpResult:
        loaded = api.load([str(write_stack(spec(level)))], profile="dev", env={})
        return api.up(loaded, engine, options=api.UpOptions(wait_timeout=0.5))

    engine = FakeEngine(images={"checked:1": "sha256:2"}, image_healthchecks={"checked:1"})
    up("info")
    engine.healthy_after_start = False  # the new replicas never pass the image's check
    with pytest.raises(ApplyError, match="rolled back: every replica runs the previous spec"):
        up("debug")
    assert _levels(engine) == {"shop-dev-web-1": "info", "shop-dev-web-2": "info"}


def test_a_healthcheck_without_a_test_on_an_image_without_one_updates_once_running(
    write_stack,
) -> None:  # type: ignore[no-untyped-def]
    def up(level: str) -> api.UpResult:
        spec = _spec(level)
        spec["services"]["web"]["healthcheck"] = {"interval": "5s"}  # type: ignore[index]
        loaded = api.load([str(write_stack(spec))], profile="dev", env={})
        return api.up(loaded, engine, options=api.UpOptions(wait_timeout=1))

    engine = FakeEngine(images=dict(IMAGES))  # no HEALTHCHECK in img:1: no health reported
    up("info")
    up("debug")
    assert _levels(engine) == {"shop-dev-web-1": "debug", "shop-dev-web-2": "debug"}


def test_a_new_replica_takes_its_network_aliases_only_once_ready(write_stack) -> None:  # type: ignore[no-untyped-def]
    def up(level: str) -> api.UpResult:
        spec = _spec(level)
        web = spec["services"]["web"]  # type: ignore[index]
        web["networks"] = {"front": {"aliases": ["api"]}, "back": None}
        spec["networks"] = {"front": {}, "back": {}}
        loaded = api.load([str(write_stack(spec))], profile="dev", env={})
        return api.up(loaded, engine, options=api.UpOptions(wait_timeout=1))

    engine = FakeEngine(images=dict(IMAGES))
    up("info")
    assert engine.containers["shop-dev-web-1"].aliases == {
        "shop-dev-front": ("web", "api"),
        "shop-dev-back": ("web",),
    }
    created: dict[str, tuple[str, ...]] = {}
    create = engine.create_container

    def recording(spec: ContainerSpec) -> None:
        created[spec.name] = spec.aliases_on("shop-dev-front")
        create(spec)

    engine.create_container = recording  # type: ignore[method-assign]
    up("debug")
    # Made without a DNS name: it takes them when it joins the service, once ready.
    assert created == {"shop-dev-web-1-next": (), "shop-dev-web-2-next": ()}
    for name in ("shop-dev-web-1", "shop-dev-web-2"):
        assert engine.containers[name].spec.environment["LEVEL"] == "debug"
        assert engine.containers[name].aliases == {
            "shop-dev-front": ("web", "api"),
            "shop-dev-back": ("web",),
        }


def test_pause_keeps_what_was_replaced(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info", failure_action="pause")
    engine.unhealthy_names = {"shop-dev-web-2-next"}
    with pytest.raises(ApplyError, match="paused: 1 replica"):
        _up(write_stack, engine, "debug", failure_action="pause")
    assert _levels(engine) == {"shop-dev-web-1": "debug", "shop-dev-web-2": "info"}


def test_fixed_host_port_falls_back_to_stop_first(write_stack) -> None:  # type: ignore[no-untyped-def]
    spec = _spec("info")
    spec["services"]["web"]["ports"] = ["8081-8082:80"]  # type: ignore[index]
    engine = FakeEngine(images=dict(IMAGES))
    loaded = api.load([str(write_stack(spec))], profile="dev", env={})
    api.up(loaded, engine, options=api.UpOptions())
    spec["services"]["web"]["environment"] = {"LEVEL": "debug"}  # type: ignore[index]
    loaded = api.load([str(write_stack(spec))], profile="dev", env={})
    action = api.plan(loaded, engine).pending()[0]
    assert action.reason == (
        "its spec changed (stop-first: a fixed host port is held by one replica at a time)"
    )


def test_leftovers_of_an_interrupted_update_are_removed(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info")
    engine.containers["shop-dev-web-1-next"] = engine.containers["shop-dev-web-1"]
    loaded = api.load([str(write_stack(_spec("info")))], profile="dev", env={})
    (action,) = api.plan(loaded, engine).pending()
    assert action.describe() == (
        "remove container shop-dev-web-1-next — left over from an interrupted update"
    )


def test_an_interrupted_updates_leftovers_go_before_the_next_rollout(write_stack) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info")
    # A run killed mid-update left its new replica beside the old one.
    old = engine.containers["shop-dev-web-1"]
    engine.containers["shop-dev-web-1-next"] = replace(
        old, spec=replace(old.spec, name="shop-dev-web-1-next")
    )
    remove = engine.remove_container

    def slow_remove(name: str, **kwargs: object) -> None:
        time.sleep(0.2 if name.endswith("-next") else 0)  # as the engine: it takes a while
        remove(name, **kwargs)  # type: ignore[arg-type]

    engine.remove_container = slow_remove  # type: ignore[method-assign, assignment]
    engine.log.clear()
    _up(write_stack, engine, "debug")
    removed = engine.log.index("remove_container shop-dev-web-1-next")
    assert removed < engine.log.index("create_container shop-dev-web-1-next")
    assert _levels(engine) == {"shop-dev-web-1": "debug", "shop-dev-web-2": "debug"}


def _sick_when(engine: FakeEngine, name: str, level: str) -> None:
    """The container `name` turns unhealthy when it runs the spec with LEVEL `level`."""
    start = engine.start_container

    def start_and_check(container: str) -> None:
        start(container)
        found = engine.containers[container]
        # Under its own name or, made off the service's names first, as `-next`.
        if container in (name, name + "-next") and found.spec.environment["LEVEL"] == level:
            found.health = "unhealthy"

    engine.start_container = start_and_check  # type: ignore[method-assign]


@pytest.mark.parametrize("action", ["rollback", "pause"])
def test_stop_first_waits_for_each_new_replica_and_puts_the_old_one_back(  # type: ignore[no-untyped-def]
    write_stack, action: str
) -> None:
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info", order="stop-first", failure_action=action)
    _sick_when(engine, "shop-dev-web-2", "debug")
    with pytest.raises(ApplyError) as caught:
        _up(write_stack, engine, "debug", order="stop-first", failure_action=action)
    assert "failed at shop-dev-web-2: the new replica is unhealthy" in str(caught.value)
    outcome = "rolled back" if action == "rollback" else "paused: 1 replica(s) run the new spec"
    assert outcome in str(caught.value)
    first = "info" if action == "rollback" else "debug"
    assert _levels(engine) == {"shop-dev-web-1": first, "shop-dev-web-2": "info"}
    assert all(c.state == "running" for c in engine.containers.values())


def test_stop_first_takes_a_one_shot_that_ran_to_its_end_as_ready(write_stack) -> None:  # type: ignore[no-untyped-def]
    job = {"image": "img:1", "restart": "no", "environment": {"LEVEL": "info"}}
    path = write_stack({"name": "shop", "services": {"migrate": job}})
    engine = FakeEngine(images=dict(IMAGES), exit_codes={"migrate": 0})
    api.up(api.load([str(path)], profile="dev", env={}), engine, options=api.UpOptions())
    job["environment"] = {"LEVEL": "debug"}
    result = api.up(
        api.load(
            [str(write_stack({"name": "shop", "services": {"migrate": job}}))],
            profile="dev",
            env={},
        ),
        engine,
        options=api.UpOptions(wait_timeout=1),
    )
    assert result.result is not None and not result.result.failures()
    assert _levels(engine) == {"shop-dev-migrate-1": "debug"}


@pytest.mark.parametrize(
    ("stop_at", "order"),
    [
        (("shop-dev-web-1", "done"), "start-first"),  # between two batches
        (("shop-dev-web-2", "creating"), "start-first"),  # while batch 2 is in flight
        (("shop-dev-web-2", "creating"), "stop-first"),
    ],
)
def test_ctrl_c_mid_update_keeps_what_was_replaced_and_starts_nothing_new(  # type: ignore[no-untyped-def]
    write_stack, stop_at: tuple[str, str], order: str
) -> None:
    import threading

    from stackr.errors import Interrupted

    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info", order=order)
    loaded = api.load([str(write_stack(_spec("debug", order=order)))], profile="dev", env={})
    stop = threading.Event()

    def report(subject: str, phase: str, detail: str) -> None:
        if (subject, phase) == stop_at:
            stop.set()  # as Ctrl-C does

    rollout = _web_rollout(engine, loaded, stop.is_set, report)
    with pytest.raises(Interrupted, match="interrupted: 1 of the 2 replica"):
        rollout.run()
    assert _levels(engine) == {"shop-dev-web-1": "debug", "shop-dev-web-2": "info"}
    assert {c.state for c in engine.containers.values()} == {"running"}


def test_a_replica_disconnected_outside_stackr_is_replaced_without_downtime(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info")
    engine.containers["shop-dev-web-2"].networks.clear()  # docker network disconnect
    result = _up(write_stack, engine, "info")
    assert [a.describe() for a in result.plan.pending()] == [
        "recreate container shop-dev-web-2 — drift: disconnected from shop-dev-default outside "
        "stackr (start-first: no downtime)"
    ]
    assert engine.containers["shop-dev-web-2"].networks == ["shop-dev-default"]
    assert sorted(engine.containers) == ["shop-dev-web-1", "shop-dev-web-2"]


def _job_rollout(write_stack, engine: FakeEngine, stopped: object) -> object:  # type: ignore[no-untyped-def]
    from stackr.desired import desired_state
    from stackr.rollout import Rollout

    def stack(version: str) -> dict[str, object]:
        migrate = {"image": "img:1", "restart": "on-failure", "environment": {"V": version}}
        web = {"image": "img:1", "depends_on": {"migrate": {"condition": "completed"}}}
        return {"name": "shop", "services": {"migrate": migrate, "web": web}}

    api.up(
        api.load([str(write_stack(stack("1")))], profile="dev", env={}),
        engine,
        options=api.UpOptions(wait_timeout=1),
    )
    loaded = api.load([str(write_stack(stack("2")))], profile="dev", env={})
    specs = [s for s in desired_state(loaded.stack).containers.values() if s.service == "migrate"]
    return Rollout(
        engine,
        loaded.stack.services["migrate"],
        specs,
        job=True,
        wait_timeout=1,
        poll_interval=0.01,
        stopped=stopped,  # type: ignore[arg-type]
        report=lambda *_: None,
    )


def test_ctrl_c_during_a_jobs_new_run_never_starts_its_old_run_again(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr.errors import Interrupted

    engine = FakeEngine(images=dict(IMAGES), exit_codes={"migrate": 0})
    # Ctrl-C once the new run has started, while the update waits for it to exit 0.
    rollout = _job_rollout(
        write_stack, engine, lambda: "start_container shop-dev-migrate-1" in engine.log
    )
    del engine.exit_codes["migrate"]  # the new run keeps running
    engine.log.clear()
    with pytest.raises(Interrupted, match=r"1 new run.* started and go on, not waited for"):
        rollout.run()  # type: ignore[attr-defined]
    assert "start_container shop-dev-migrate-1-prev" not in engine.log  # the old run stays done
    assert sorted(engine.containers) == ["shop-dev-migrate-1", "shop-dev-web-1"]
    new_run = engine.containers["shop-dev-migrate-1"]
    assert (new_run.spec.environment["V"], new_run.state) == ("2", "running")  # left to finish


def test_a_job_restarted_by_on_failure_again_and_again_fails_soon(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr.errors import EngineError

    engine = FakeEngine(images=dict(IMAGES), exit_codes={"migrate": 0})
    rollout = _job_rollout(write_stack, engine, lambda: False)
    del engine.exit_codes["migrate"]
    engine.restarting.add("migrate")  # its new run fails and Docker restarts it
    started = time.monotonic()
    with pytest.raises(EngineError, match="keeps exiting and being restarted"):
        rollout.run()  # type: ignore[attr-defined]
    assert time.monotonic() - started < 0.5  # not the whole wait_timeout
    assert engine.containers["shop-dev-migrate-1"].spec.environment["V"] == "2"
    assert "shop-dev-migrate-1-prev" not in engine.containers


def test_an_update_waits_no_later_than_the_runs_deadline(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr.desired import desired_state
    from stackr.errors import EngineError
    from stackr.rollout import Rollout

    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info")
    engine.healthy_after_start = False  # the new replicas never turn healthy
    loaded = api.load([str(write_stack(_spec("debug")))], profile="dev", env={})
    specs = sorted(desired_state(loaded.stack).containers.values(), key=lambda s: s.replica)
    rollout = Rollout(
        engine,
        loaded.stack.services["web"],
        specs,
        wait_timeout=30,
        deadline=time.monotonic() + 0.2,  # what is left of --wait-timeout for this up
        poll_interval=0.01,
        stopped=lambda: False,
        report=lambda *_: None,
    )
    started = time.monotonic()
    with pytest.raises(EngineError):
        rollout.run()
    assert time.monotonic() - started < 2


def test_ctrl_c_in_a_stop_first_batch_touches_no_further_replica(write_stack) -> None:  # type: ignore[no-untyped-def]
    import threading

    from stackr.errors import Interrupted

    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info", order="stop-first", parallelism=2)
    loaded = api.load(
        [str(write_stack(_spec("debug", order="stop-first", parallelism=2)))],
        profile="dev",
        env={},
    )
    stop = threading.Event()
    stop_container = engine.stop_container

    def ctrl_c_while_stopping(name: str, *, timeout: float) -> None:
        stop_container(name, timeout=timeout)
        stop.set()  # Ctrl-C lands while web-1 stops

    engine.stop_container = ctrl_c_while_stopping  # type: ignore[method-assign]
    engine.log.clear()
    rollout = _web_rollout(engine, loaded, stop.is_set)
    with pytest.raises(Interrupted, match="interrupted: 0 of the 2 replica"):
        rollout.run()
    # web-1 was put back as it was; web-2 was never stopped, and nothing new was made.
    assert not any("shop-dev-web-2" in line for line in engine.log), engine.log
    assert not any(line.startswith("create_container") for line in engine.log)
    assert _levels(engine) == {"shop-dev-web-1": "info", "shop-dev-web-2": "info"}
    assert {c.state for c in engine.containers.values()} == {"running"}


def _web_rollout(  # type: ignore[no-untyped-def]
    engine: FakeEngine, loaded: api.Loaded, stopped, report=lambda *_: None
):
    """The rollout of web's replicas to `loaded`'s spec, as `up` would run it."""
    from stackr.desired import desired_state
    from stackr.rollout import Rollout

    specs = sorted(desired_state(loaded.stack).containers.values(), key=lambda s: s.replica)
    return Rollout(
        engine,
        loaded.stack.services["web"],
        specs,
        wait_timeout=1,
        poll_interval=0.01,
        stopped=stopped,
        report=report,
    )


@pytest.mark.parametrize("order", ["start-first", "stop-first"])
def test_a_failed_update_names_the_replica_that_failed(write_stack, order: str) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info", order=order, parallelism=2)
    suffix = "-next" if order == "start-first" else ""
    engine.unhealthy_names = {f"shop-dev-web-2{suffix}"}
    with pytest.raises(ApplyError, match="update of web failed at shop-dev-web-2: the new replica"):
        _up(write_stack, engine, "debug", order=order, parallelism=2)


class _Clock:
    """Time that passes only when the rollout sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize("order", ["start-first", "stop-first"])
def test_the_replicas_of_a_batch_are_watched_together(  # type: ignore[no-untyped-def]
    write_stack, monkeypatch: pytest.MonkeyPatch, order: str
) -> None:
    # `monitor` is how long each new replica must stay ready: the batch's replicas serve that
    # time side by side, so a batch of three takes it once, not three times.
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info", order=order, parallelism=2)
    clock = _Clock()
    monkeypatch.setattr("stackr.rollout.time", clock)
    monkeypatch.setattr("stackr.replicawait.time", clock)
    spec = _spec("debug", order=order, parallelism=2, monitor="2s")
    loaded = api.load([str(write_stack(spec))], profile="dev", env={})
    api.up(loaded, engine, options=api.UpOptions(wait_timeout=10))
    assert _levels(engine) == {"shop-dev-web-1": "debug", "shop-dev-web-2": "debug"}
    assert 2 <= clock.now < 3


def test_a_rollback_puts_the_old_replicas_back_on_their_own_networks(write_stack) -> None:  # type: ignore[no-untyped-def]
    # The update moves the service from `front` to `back` and fails: the old replicas serve
    # again where they did, under their own names, and never join the new spec's network.
    def up(level: str, networks: object) -> None:
        spec = _spec(level)
        spec["services"]["web"]["networks"] = networks  # type: ignore[index]
        spec["networks"] = {"front": {}, "back": {}}
        loaded = api.load([str(write_stack(spec))], profile="dev", env={})
        api.up(loaded, engine, options=api.UpOptions(wait_timeout=1))

    engine = FakeEngine(images=dict(IMAGES))
    up("info", {"front": {"aliases": ["api"]}})
    engine.unhealthy_names = {"shop-dev-web-2-next"}
    with pytest.raises(ApplyError, match="rolled back"):
        up("debug", ["back"])
    for name in ("shop-dev-web-1", "shop-dev-web-2"):
        container = engine.containers[name]
        assert container.spec.environment["LEVEL"] == "info"
        assert (container.networks, container.aliases) == (
            ["shop-dev-front"],
            {"shop-dev-front": ("web", "api")},
        )
    engine.unhealthy_names = set()
    up("debug", ["back"])  # the next `up` moves them, and takes the old ones off `front`
    for name in ("shop-dev-web-1", "shop-dev-web-2"):
        assert engine.containers[name].aliases == {"shop-dev-back": ("web",)}


def test_a_rollback_reconnects_an_old_replica_disconnected_outside_stackr(write_stack) -> None:  # type: ignore[no-untyped-def]
    # Disconnected by hand, then replaced; the update fails at the next replica, and the old
    # one comes back on the networks it was made for, under the service's name.
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info")
    old = engine.containers["shop-dev-web-1"]
    old.networks.clear()
    old.aliases.clear()
    engine.unhealthy_names = {"shop-dev-web-2-next"}
    with pytest.raises(ApplyError, match="rolled back"):
        _up(write_stack, engine, "debug")
    back = engine.containers["shop-dev-web-1"]
    assert back.spec.environment["LEVEL"] == "info"
    assert (back.networks, back.aliases) == (["shop-dev-default"], {"shop-dev-default": ("web",)})


def test_an_update_between_the_hosts_network_and_the_stacks_goes_either_way(write_stack) -> None:  # type: ignore[no-untyped-def]
    def up(**web: object) -> api.UpResult:
        spec = _spec("info")
        spec["services"]["web"].update(web)  # type: ignore[index, union-attr]
        loaded = api.load([str(write_stack(spec))], profile="dev", env={})
        return api.up(loaded, engine, options=api.UpOptions(wait_timeout=1))

    engine = FakeEngine(images=dict(IMAGES))
    up()
    # Onto the host's network: stop-first, as the plan says.
    reasons = {a.name: a.reason for a in up(network_mode="host").plan.pending()}
    assert reasons["shop-dev-default"] == "no service joins network 'default' any more"
    assert reasons["shop-dev-web-1"].endswith(
        "(stop-first: on the host's network, a port is held by one replica at a time)"
    )
    assert {n: c.networks for n, c in engine.containers.items()} == {
        "shop-dev-web-1": ["host"],
        "shop-dev-web-2": ["host"],
    }
    # Back: start-first; the old replicas are on no network of the stack's to leave.
    up()
    assert {n: c.aliases for n, c in engine.containers.items()} == {
        "shop-dev-web-1": {"shop-dev-default": ("web",)},
        "shop-dev-web-2": {"shop-dev-default": ("web",)},
    }


def test_a_stop_first_rollback_waits_for_the_old_replicas_and_says_which_did_not_serve(
    write_stack,
) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info", order="stop-first")
    start = engine.start_container

    def starting(name: str) -> None:
        # The new spec never turns healthy; the old one does, once put back.
        new = engine.containers[name].spec.environment["LEVEL"] == "debug"
        engine.unhealthy_names = {name} if new else set()
        start(name)

    engine.start_container = starting  # type: ignore[method-assign]
    seen = _record_statuses(engine)
    engine.log.clear()
    with pytest.raises(ApplyError) as caught:
        _up(write_stack, engine, "debug", order="stop-first")
    assert "rolled back: every replica runs the previous spec" in str(caught.value)
    assert "not everything runs again" not in str(caught.value)
    put_back = len(engine.log) - engine.log[::-1].index("start_container shop-dev-web-1")
    assert f"{put_back} shop-dev-web-1" in seen  # looked at once it was started again
    # An old replica that will not serve again either is named.
    engine.unhealthy_names = {"shop-dev-web-1"}
    engine.start_container = start  # type: ignore[method-assign]
    engine.unhealthy.add("web")
    with pytest.raises(
        ApplyError, match=r"not everything runs again: shop-dev-web-1 \(the previous replica"
    ):
        _up(write_stack, engine, "debug", order="stop-first")


def test_an_old_replica_given_another_address_is_said_cut_and_not_drained(
    write_stack, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # Three replicas two at a time: the first batch's old replicas stop and free their
    # addresses, the next new one takes one, and the last old one, leaving its names, is
    # handed the other lower one (the engine gives out the lowest free address).
    from stackr.events import Event
    from stackr.rollout import Rollout

    engine = FakeEngine(images=dict(IMAGES))
    pauses: list[float] = []
    monkeypatch.setattr(Rollout, "_drain", lambda self: pauses.append(self.service.update.drain))
    events: list[Event] = []
    before, after = _spec("info", parallelism=2), _spec("debug", parallelism=2, drain="5s")
    for stack in (before, after):
        stack["services"]["web"]["replicas"] = 3  # type: ignore[index]
    loaded = api.load([str(write_stack(before))], profile="dev", env={})
    api.up(loaded, engine, options=api.UpOptions(wait_timeout=1))
    pauses.clear()
    loaded = api.load([str(write_stack(after))], profile="dev", env={})
    api.up(loaded, engine, options=api.UpOptions(wait_timeout=1), on_event=events.append)
    cut = [e for e in events if "are cut" in e.detail]
    assert [(e.subject, e.detail) for e in cut] == [
        (
            "shop-dev-web-3",
            "the requests it had in flight are cut on shop-dev-default: it did not get its "
            "address back (the engine gave it another)",
        )
    ]
    assert pauses == [5.0]  # the first batch drains; the last has nothing left to drain
    done = [(e.subject, e.detail) for e in events if e.phase.value == "done"]
    assert ("shop-dev-web-3", "replaced; the old one's requests in flight were cut") in done
    assert ("shop-dev-web-1", "replaced without downtime") in done
    assert _levels(engine) == {f"shop-dev-web-{n}": "debug" for n in (1, 2, 3)}


def test_an_old_replica_not_running_only_leaves_and_is_not_drained(
    write_stack, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from stackr.rollout import Rollout

    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info")
    for n in (1, 2):
        engine.containers[f"shop-dev-web-{n}"].state = "exited"  # stopped outside stackr
    pauses: list[float] = []
    monkeypatch.setattr(Rollout, "_drain", lambda self: pauses.append(self.service.update.drain))
    engine.log.clear()
    _up(write_stack, engine, "debug", drain="5s")
    assert "connect_container shop-dev-web-1-prev shop-dev-default" not in engine.log
    assert "disconnect_container shop-dev-web-1-prev shop-dev-default" in engine.log
    assert pauses == []
    assert _levels(engine) == {"shop-dev-web-1": "debug", "shop-dev-web-2": "debug"}


def _assert_serving(engine: FakeEngine, level: str) -> None:
    """Both replicas run `level`'s spec under their own names, each on the service's name."""
    assert sorted(engine.containers) == ["shop-dev-web-1", "shop-dev-web-2"]
    for c in engine.containers.values():
        assert (c.state, c.aliases) == ("running", {"shop-dev-default": ("web",)})
    assert _levels(engine) == {"shop-dev-web-1": level, "shop-dev-web-2": level}


@pytest.mark.parametrize("cut", ["drain", "stop"])
def test_an_update_cut_short_while_an_old_replica_drains_converges_on_the_next_up(
    write_stack, monkeypatch, cut: str
) -> None:  # type: ignore[no-untyped-def]
    # Off the names under the replica's own name, the plan (which cannot see aliases) would
    # keep it so: it is renamed `-prev` before it leaves, and what is left is a leftover.
    from stackr.errors import EngineError
    from stackr.rollout import Rollout

    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info")

    def crash(*args: object, **kwargs: object) -> None:
        raise EngineError("injected fault")

    if cut == "drain":
        monkeypatch.setattr(Rollout, "_drain", crash)
    else:
        monkeypatch.setattr(engine, "stop_container", crash)
    with pytest.raises(ApplyError, match="injected fault"):
        _up(write_stack, engine, "debug")
    monkeypatch.undo()
    _up(write_stack, engine, "info")  # the file put back as it was
    _assert_serving(engine, "info")


def test_a_rollback_cut_short_while_the_new_replica_drains_converges_on_the_next_up(
    write_stack, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # The new replica leaves the names under a temporary `-next` name, which the next plan
    # removes: never the new spec under the replica's name, off the service's names.
    from stackr.errors import EngineError
    from stackr.rollout import Rollout

    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info")
    engine.unhealthy_names = {"shop-dev-web-2-next"}
    pauses: list[float] = []

    def drain(self: Rollout) -> None:
        pauses.append(self.service.update.drain)
        if len(pauses) == 2:  # the first is going forward, the second rolling back
            raise EngineError("injected fault")

    monkeypatch.setattr(Rollout, "_drain", drain)
    with pytest.raises(ApplyError, match="injected fault"):
        _up(write_stack, engine, "debug")
    monkeypatch.undo()
    engine.unhealthy_names = set()
    _up(write_stack, engine, "debug")  # the same file again
    _assert_serving(engine, "debug")


def test_a_container_the_engine_will_not_connect_again_is_off_the_names_and_said_cut(
    write_stack, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from stackr.errors import EngineError
    from stackr.leaving import Left, leave_names

    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info")

    def refuse(name: str, network: str, *, aliases: tuple[str, ...]) -> None:
        raise EngineError("refused")

    monkeypatch.setattr(engine, "connect_container", refuse)
    left = leave_names(engine, "shop-dev-web-1", ["shop-dev-default", "shop-dev-other"])
    assert left == Left(kept=False, cut=("on shop-dev-default: it could not rejoin it (refused)",))
    assert engine.containers["shop-dev-web-1"].networks == []  # off it, names and all


def test_ctrl_c_during_the_drain_lets_it_finish(write_stack) -> None:  # type: ignore[no-untyped-def]
    # The requests the leaving replica has are in flight, as an engine call is.
    import threading

    from stackr.errors import Interrupted

    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info")
    loaded = api.load([str(write_stack(_spec("debug", drain="300ms")))], profile="dev", env={})
    stop = threading.Event()
    when: dict[str, float] = {}
    connect, stop_container = engine.connect_container, engine.stop_container

    def connecting(name: str, network: str, *, aliases: tuple[str, ...]) -> None:
        connect(name, network, aliases=aliases)
        if name.endswith("-prev"):
            when["left"] = time.monotonic()
            stop.set()  # Ctrl-C as it starts draining

    def stopping(name: str, *, timeout: float) -> None:
        when.setdefault(name, time.monotonic())
        stop_container(name, timeout=timeout)

    engine.connect_container = connecting  # type: ignore[method-assign]
    engine.stop_container = stopping  # type: ignore[method-assign]
    with pytest.raises(Interrupted, match="interrupted: 1 of the 2 replica"):
        _web_rollout(engine, loaded, stop.is_set).run()
    assert when["shop-dev-web-1-prev"] - when["left"] >= 0.3


def test_leaving_touches_only_the_networks_it_is_asked_to(write_stack) -> None:  # type: ignore[no-untyped-def]
    # A network joined outside stackr is not the stack's to leave.
    from stackr.leaving import Left, leave_names

    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info")
    engine.connect_container("shop-dev-web-1", "theirs", aliases=("mine",))
    engine.log.clear()
    left = leave_names(engine, "shop-dev-web-1", ["shop-dev-default"])
    assert left == Left(kept=True)
    assert engine.log == [
        "disconnect_container shop-dev-web-1 shop-dev-default",
        "connect_container shop-dev-web-1 shop-dev-default",
    ]
    assert engine.containers["shop-dev-web-1"].aliases == {
        "theirs": ("mine",),
        "shop-dev-default": (),
    }


def test_an_old_replica_leaves_the_names_on_a_network_the_new_spec_drops(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    both = _spec("info")
    both["services"]["web"]["networks"] = ["front", "back"]  # type: ignore[index]
    both["networks"] = {"front": {}, "back": {}}
    loaded = api.load([str(write_stack(both))], profile="dev", env={})
    api.up(loaded, engine, options=api.UpOptions(wait_timeout=1))
    at_stop: dict[str, dict[str, tuple[str, ...]]] = {}
    stop = engine.stop_container

    def stopping(name: str, *, timeout: float) -> None:
        at_stop[name] = dict(engine.containers[name].aliases)
        stop(name, timeout=timeout)

    engine.stop_container = stopping  # type: ignore[method-assign]
    front = _spec("info")
    front["services"]["web"]["networks"] = ["front"]  # type: ignore[index]
    front["networks"] = {"front": {}, "back": {}}
    loaded = api.load([str(write_stack(front))], profile="dev", env={})
    api.up(loaded, engine, options=api.UpOptions(wait_timeout=1))
    off = {"shop-dev-front": (), "shop-dev-back": ()}
    assert at_stop == {"shop-dev-web-1-prev": off, "shop-dev-web-2-prev": off}


def test_an_old_replica_publishing_ports_is_said_cut_there(write_stack) -> None:  # type: ignore[no-untyped-def]
    # An ephemeral host port does not stop start-first, but the engine drops a replica's
    # published ports with its endpoint: requests coming in through them are cut.
    from stackr.events import Event

    engine = FakeEngine(images=dict(IMAGES))
    stacks = [_spec(level) for level in ("info", "debug")]
    for stack in stacks:
        stack["services"]["web"]["ports"] = ["8080"]  # type: ignore[index]
        stack["services"]["web"]["replicas"] = 1  # type: ignore[index]
    events: list[Event] = []
    for stack in stacks:
        loaded = api.load([str(write_stack(stack))], profile="dev", env={})
        if stack is stacks[1]:  # the plan says so beforehand
            (action,) = api.plan(loaded, engine).pending()
            assert action.reason.endswith(
                "(start-first: no downtime on its networks; requests coming in through its "
                "published ports are cut as each old replica leaves)"
            )
        api.up(loaded, engine, options=api.UpOptions(wait_timeout=1), on_event=events.append)
    assert [(e.subject, e.detail) for e in events if "are cut" in e.detail] == [
        (
            "shop-dev-web-1",
            "the requests it had in flight are cut through its published ports: the engine "
            "drops them as it leaves a network",
        )
    ]


def test_a_replica_scaled_down_leaves_the_names_and_drains_before_it_stops(
    write_stack, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # The others serve on: it is taken off the service's names, still answering what it
    # has, as an old replica in an update. Scaled to none, nothing serves on: it just goes.
    import stackr.removals

    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine, "info", drain="2s")
    sleeps: list[tuple[int, float]] = []
    monkeypatch.setattr(
        stackr.removals.time, "sleep", lambda seconds: sleeps.append((len(engine.log), seconds))
    )
    one = _spec("info", drain="2s")
    one["services"]["web"]["replicas"] = 1  # type: ignore[index]
    engine.log.clear()
    loaded = api.load([str(write_stack(one))], profile="dev", env={})
    (action,) = api.plan(loaded, engine).pending()
    assert action.describe() == "remove container shop-dev-web-2 — scaled down to 1 replica(s)"
    api.up(loaded, engine, options=api.UpOptions(wait_timeout=1))
    assert engine.log == [
        "disconnect_container shop-dev-web-2 shop-dev-default",
        "connect_container shop-dev-web-2 shop-dev-default",
        "remove_container shop-dev-web-2",
    ]
    assert sleeps == [(2, 2.0)]
    none = _spec("info", drain="2s")
    none["services"]["web"]["replicas"] = 0  # type: ignore[index]
    engine.log.clear()
    api.up(
        api.load([str(write_stack(none))], profile="dev", env={}),
        engine,
        options=api.UpOptions(wait_timeout=1),
    )
    assert engine.log == ["remove_container shop-dev-web-1"]
    assert sleeps == [(2, 2.0)]


def test_replicas_scaled_down_together_leave_the_names_one_at_a_time(write_stack) -> None:  # type: ignore[no-untyped-def]
    # Two leaving at once would take each other's freed address back (the engine hands out
    # the lowest free one), and cut what each had in flight.
    import contextlib
    import threading

    from stackr.events import Event

    engine = FakeEngine(images=dict(IMAGES))
    stacks = [_spec("info", drain="300ms") for _ in range(2)]
    stacks[0]["services"]["web"]["replicas"] = 3  # type: ignore[index]
    stacks[1]["services"]["web"]["replicas"] = 1  # type: ignore[index]
    loaded = [api.load([str(write_stack(stack))], profile="dev", env={}) for stack in stacks]
    api.up(loaded[0], engine, options=api.UpOptions(wait_timeout=1))
    both_off = threading.Barrier(2, timeout=0.5)  # both off at once, unless one at a time
    disconnect, connect = engine.disconnect_container, engine.connect_container

    def disconnecting(name: str, network: str) -> None:
        disconnect(name, network)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_off.wait()

    def connecting(name: str, network: str, *, aliases: tuple[str, ...]) -> None:
        if name.endswith("-2"):
            time.sleep(0.1)  # the other rejoins first, and takes the lowest address
        connect(name, network, aliases=aliases)

    engine.disconnect_container = disconnecting  # type: ignore[method-assign]
    engine.connect_container = connecting  # type: ignore[method-assign]
    events: list[Event] = []
    api.up(loaded[1], engine, options=api.UpOptions(wait_timeout=1, jobs=4), on_event=events.append)
    assert [e.detail for e in events if "cut" in e.detail] == []
    assert sorted(engine.containers) == ["shop-dev-web-1"]
