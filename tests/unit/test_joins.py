"""`network_mode: service:NAME`: the model's implied dependency, and plans and `up` on the
in-memory engine that keep each replica on its owner's current container."""

from __future__ import annotations

from typing import Any

from fakes import FakeEngine

from stackr import api
from stackr.plan import ActionKind, Plan
from stackr.spec.model import Condition

IMAGES = {"img:1": "sha256:111"}
VPN, APP1, APP2 = "shop-dev-vpn-1", "shop-dev-app-1", "shop-dev-app-2"


def _stack(**vpn: Any) -> dict[str, Any]:
    return {
        "name": "shop",
        "services": {
            "vpn": {"image": "img:1", "ports": ["8080:80"], **vpn},
            "app": {"image": "img:1", "replicas": 2, "network_mode": "service:vpn"},
        },
    }


def _load(path) -> api.Loaded:  # type: ignore[no-untyped-def]
    return api.load([str(path)], profile="dev", env={})


def _up(path, engine: FakeEngine, jobs: int = 4) -> api.UpResult:  # type: ignore[no-untyped-def]
    return api.up(_load(path), engine, options=api.UpOptions(jobs=jobs, wait_timeout=2))


def _plan(path, engine: FakeEngine) -> Plan:  # type: ignore[no-untyped-def]
    return api.plan(_load(path), engine)


def _converged(write_stack, spec: dict[str, Any]) -> tuple[FakeEngine, Any]:  # type: ignore[no-untyped-def]
    """A fresh engine holding `spec` after an `up`, and the file's path."""
    engine = FakeEngine(images=dict(IMAGES))
    path = write_stack(spec)
    _up(path, engine)
    return engine, path


def _said(plan: Plan, name: str) -> tuple[ActionKind, str]:
    action = next(a for a in plan.actions if a.name == name)
    return action.kind, action.reason


def _restarted_after_its_owner(path, engine: FakeEngine, owner: ActionKind) -> None:  # type: ignore[no-untyped-def]
    """The plan runs vpn again (`owner`) and restarts app's first replica for it; `up` starts
    vpn before it stops that replica."""
    plan = _plan(path, engine)
    assert _said(plan, VPN)[0] is owner
    assert _said(plan, APP1) == (
        ActionKind.RESTART,
        f"shares the network of {VPN}, which is started again",
    )
    engine.log.clear()
    _up(path, engine)
    assert engine.log.index(f"start_container {VPN}") < engine.log.index(f"stop_container {APP1}")


def test_sharing_a_network_implies_a_started_dependency(write_stack) -> None:  # type: ignore[no-untyped-def]
    stack = _load(write_stack(_stack())).stack
    (dep,) = stack.services["app"].depends_on
    assert (dep.service, dep.condition, dep.required) == ("vpn", Condition.STARTED, True)
    assert stack.services["app"].networks == ()
    # A dependency written out keeps its own condition.
    declared = _stack()
    declared["services"]["vpn"]["healthcheck"] = {"test": ["CMD", "true"]}
    declared["services"]["app"]["depends_on"] = {"vpn": {"condition": "healthy"}}
    stack = _load(write_stack(declared)).stack
    (dep,) = stack.services["app"].depends_on
    assert dep.condition is Condition.HEALTHY


def test_up_joins_each_replica_to_its_owners_first_container(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine, path = _converged(write_stack, _stack())
    vpn = engine.containers[VPN]
    for name in (APP1, APP2):
        app = engine.containers[name]
        assert app.spec.network_mode == f"container:{VPN}"
        assert app.joined == vpn.id and app.networks == [] and app.spec.aliases == ()
        assert engine.log.index(f"start_container {VPN}") < engine.log.index(
            f"create_container {name}"
        )
    engine.calls.clear()
    assert _up(path, engine).plan.pending() == ()
    assert engine.mutations() == 0
    assert engine.calls["start_times"] == 1  # one look at the times of the pairs


def test_a_recreated_owner_recreates_the_replicas_on_its_network_after_it(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack(_stack()), engine)
    path = write_stack(_stack(environment={"LOG": "debug"}))
    plan = _plan(path, engine)
    assert _said(plan, VPN)[0] is ActionKind.RECREATE
    kind, reason = _said(plan, APP1)
    assert kind is ActionKind.RECREATE
    assert reason.startswith(f"shares the network of {VPN}, which is recreated")
    engine.log.clear()
    _up(path, engine)
    assert engine.log.index(f"start_container {VPN}") < engine.log.index(f"create_container {APP1}")
    assert {engine.containers[n].joined for n in (APP1, APP2)} == {engine.containers[VPN].id}
    assert _up(path, engine).plan.pending() == ()


def test_an_owner_replaced_outside_stackr_is_drift_the_next_up_repairs(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine, path = _converged(write_stack, _stack())
    spec = engine.containers[VPN].spec
    engine.remove_container(VPN, timeout=0)
    engine.create_container(spec)
    engine.start_container(VPN)
    plan = _plan(path, engine)
    assert _said(plan, VPN)[0] is ActionKind.KEEP
    assert _said(plan, APP2) == (
        ActionKind.RECREATE,
        f"{VPN}, whose network it shares, was replaced since it joined it",
    )
    _up(path, engine)
    assert engine.containers[APP2].joined == engine.containers[VPN].id
    assert _up(path, engine).plan.pending() == ()


def test_an_owner_started_again_restarts_the_replicas_on_its_network(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine, path = _converged(write_stack, _stack())
    engine.containers[VPN].state = "exited"
    _restarted_after_its_owner(path, engine, ActionKind.START)
    assert engine.containers[APP1].started > engine.containers[VPN].started  # type: ignore[operator]
    assert _up(path, engine).plan.pending() == ()


def test_an_owner_restarted_by_its_policy_restarts_the_replicas_on_its_network(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine, path = _converged(write_stack, _stack())
    engine.containers[VPN].started = engine._now()  # the same container, run again
    plan = _plan(path, engine)
    assert _said(plan, VPN)[0] is ActionKind.KEEP
    kind, reason = _said(plan, APP2)
    assert kind is ActionKind.RESTART
    assert reason.startswith(f"shares the network of {VPN}, which started again after it")
    _up(path, engine)
    assert _up(path, engine).plan.pending() == ()


def test_a_replica_on_another_network_is_updated_stop_first(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    stack = _stack()
    stack["services"]["app"]["update"] = {"order": "start-first", "drain": 0}
    _up(write_stack(stack), engine)
    stack["services"]["app"]["environment"] = {"LOG": "debug"}
    path = write_stack(stack)
    kind, reason = _said(_plan(path, engine), APP1)
    assert kind is ActionKind.RECREATE
    assert reason.endswith(
        "(stop-first: on vpn's network, a port is held by one replica at a time)"
    )
    engine.log.clear()
    _up(path, engine)
    assert not any("-next" in line for line in engine.log)
    assert engine.log.index(f"stop_container {APP1}") < engine.log.index(f"create_container {APP1}")


def test_a_one_shot_that_has_run_on_a_recreated_owners_network_is_not_run_again(
    write_stack,
) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES), exit_codes={"app": 0})
    _up(write_stack(_stack()), engine)
    assert engine.containers[APP1].state == "exited"
    plan = _plan(write_stack(_stack(environment={"LOG": "debug"})), engine)
    assert _said(plan, VPN)[0] is ActionKind.RECREATE
    assert _said(plan, APP1) == (ActionKind.KEEP, "one-shot container has run (exited 0)")


def test_an_owner_restarted_for_its_own_dependency_restarts_the_replicas_on_its_network(
    write_stack,
) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    stack = _stack(depends_on={"db": {"condition": "started", "restart": True}})
    stack["services"]["db"] = {"image": "img:1"}
    _up(write_stack(stack), engine)
    stack["services"]["db"]["environment"] = {"V": "2"}
    path = write_stack(stack)
    _restarted_after_its_owner(path, engine, ActionKind.RESTART)
    assert _up(path, engine).plan.pending() == ()


def test_an_unpaused_owner_or_one_on_the_hosts_network_restarts_nothing(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine, path = _converged(write_stack, _stack())
    engine.containers[VPN].state = "paused"
    plan = _plan(path, engine)
    assert _said(plan, VPN)[0] is ActionKind.START
    assert _said(plan, APP1)[0] is ActionKind.KEEP
    hosted = _stack(network_mode="host")
    del hosted["services"]["vpn"]["ports"]
    engine, path = _converged(write_stack, hosted)
    engine.containers[VPN].started = engine._now()  # run again: the host's network stays
    assert _plan(path, engine).pending() == ()


def test_an_owner_that_exited_0_runs_again_for_a_replica_on_its_network(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine, path = _converged(write_stack, _stack())
    # No restart policy, stopped with exit code 0: taken for a one-shot that has run.
    engine.containers[VPN].state, engine.containers[VPN].exit_code = "exited", 0
    engine.containers[APP2].state, engine.containers[APP2].exit_code = "exited", 137
    plan = _plan(path, engine)
    assert _said(plan, VPN) == (
        ActionKind.START,
        f"exited 0, but {APP1} shares its network: it runs again",
    )
    assert _said(plan, APP1)[0] is ActionKind.RESTART
    assert _said(plan, APP2)[0] is ActionKind.START
    _up(path, engine)
    assert {engine.containers[n].state for n in (VPN, APP1, APP2)} == {"running"}
    assert _up(path, engine).plan.pending() == ()


def test_up_naming_only_the_owner_refuses_to_leave_the_replicas_on_its_network_behind(
    write_stack,
) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from stackr.errors import StackrError

    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack(_stack()), engine)
    path = write_stack(_stack(environment={"LOG": "debug"}))
    with pytest.raises(StackrError, match=f"{APP1}, {APP2} share\\(s\\) the network"):
        api.up(_load(path).only(["vpn"]), engine, options=api.UpOptions(wait_timeout=2))
    # Named together, the owner and the replicas on its network are updated in one go.
    api.up(_load(path).only(["vpn", "app"]), engine, options=api.UpOptions(wait_timeout=2))
    assert engine.containers[APP1].joined == engine.containers[VPN].id
    # Naming only a replica on the network takes its owner along, as a dependency.
    assert api.plan(_load(path).only(["app"]), engine).pending() == ()


CHECKED = {"test": ["CMD", "true"], "interval": "1s"}


def test_a_rolled_back_owner_takes_the_replicas_on_its_network_back_with_it(write_stack) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from stackr.errors import ApplyError

    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack(_stack(healthcheck=CHECKED)), engine)
    engine.unhealthy.add("vpn")  # its new replica never turns healthy
    engine.log.clear()
    with pytest.raises(ApplyError, match="rolled back"):
        _up(write_stack(_stack(healthcheck=CHECKED, environment={"V": "2"})), engine)
    log = engine.log
    assert log.index(f"start_container {VPN}") < log.index(f"stop_container {APP1}")
    assert log.index(f"stop_container {APP1}") < log.index(f"start_container {APP1}")
    assert {engine.containers[n].state for n in (VPN, APP1, APP2)} == {"running"}


def test_a_replica_that_cannot_be_put_back_is_said_so(write_stack) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from stackr.errors import ApplyError

    engine = FakeEngine(images=dict(IMAGES))
    stack = _stack()
    stack["services"]["app"]["healthcheck"] = CHECKED
    _up(write_stack(stack), engine)
    engine.unhealthy.add("app")
    stack["services"]["vpn"]["environment"] = {"V": "2"}
    stack["services"]["app"]["environment"] = {"V": "2"}
    # vpn is recreated; app's new replica fails, and its old one joined a vpn that is gone.
    with pytest.raises(ApplyError, match=f"rolled back, but not everything runs again: {APP1} "):
        _up(write_stack(stack), engine)


def test_a_start_first_owner_says_the_replicas_on_its_network_follow_it(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    stack = _stack(update={"order": "start-first", "drain": 0})
    del stack["services"]["vpn"]["ports"]  # a fixed host port would make it stop-first
    _up(write_stack(stack), engine)
    stack["services"]["vpn"]["environment"] = {"V": "2"}
    kind, reason = _said(_plan(write_stack(stack), engine), VPN)
    assert kind is ActionKind.RECREATE
    assert reason.endswith("(start-first: no downtime but for app, sharing its namespaces)")


APP, DEBUG = "shop-dev-app-1", "shop-dev-debug-1"


def _pid_stack(**app: Any) -> dict[str, Any]:
    return {
        "name": "shop",
        "services": {
            "app": {"image": "img:1", **app},
            "debug": {"image": "img:1", "pid": "service:app"},
        },
    }


def test_a_service_sharing_processes_joins_its_owners_first_container(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    path = write_stack(_pid_stack())
    stack = _load(path).stack
    assert [d.service for d in stack.services["debug"].depends_on] == ["app"]
    _up(path, engine)
    debug = engine.containers[DEBUG]
    assert debug.spec.runtime.pid == f"container:{APP}"
    assert debug.pid_owner == engine.containers[APP].id
    assert _up(path, engine).plan.pending() == ()
    # The owner recreated: the replica sharing its processes is recreated after it.
    path = write_stack(_pid_stack(environment={"V": "2"}))
    assert _said(_plan(path, engine), DEBUG) == (
        ActionKind.RECREATE,
        f"shares the processes of {APP}, which is recreated",
    )
    _up(path, engine)
    assert engine.containers[DEBUG].pid_owner == engine.containers[APP].id
    assert _up(path, engine).plan.pending() == ()


def test_a_service_sharing_processes_runs_again_after_its_owner(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine, path = _converged(write_stack, _pid_stack(restart="unless-stopped"))
    engine.stop_container(APP, timeout=0)  # its processes end, the debugger's with them
    assert engine.containers[DEBUG].state == "exited"
    plan = _plan(path, engine)
    assert (_said(plan, APP)[0], _said(plan, DEBUG)[0]) == (ActionKind.START, ActionKind.START)
    _up(path, engine)
    assert {engine.containers[n].state for n in (APP, DEBUG)} == {"running"}
    # Replaced outside stackr: the debugger joined a container that is gone.
    spec = engine.containers[APP].spec
    engine.remove_container(APP, timeout=0)
    engine.create_container(spec)
    engine.start_container(APP)
    assert _said(_plan(path, engine), DEBUG) == (
        ActionKind.RECREATE,
        f"{APP}, whose processes it shares, was replaced since it joined it",
    )
    _up(path, engine)
    assert _up(path, engine).plan.pending() == ()


def test_up_naming_only_the_owner_of_processes_is_refused(write_stack) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from stackr.errors import StackrError

    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack(_pid_stack()), engine)
    path = write_stack(_pid_stack(environment={"V": "2"}))
    with pytest.raises(StackrError, match=f"{DEBUG} share\\(s\\) the network or processes"):
        api.up(_load(path).only(["app"]), engine, options=api.UpOptions(wait_timeout=2))


def test_a_paused_replica_on_a_network_that_went_is_restarted_not_unpaused(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine, path = _converged(write_stack, _stack())
    engine.containers[VPN].started = engine._now()  # run again since app joined it
    engine.containers[APP1].state = "paused"
    assert _said(_plan(path, engine), APP1) == (
        ActionKind.RESTART,
        f"shares the network of {VPN}, which started again after it: its network went with "
        "that run",
    )
    _up(path, engine)
    assert engine.containers[APP1].state == "running"
    assert _up(path, engine).plan.pending() == ()


def test_up_naming_a_paused_owner_alone_unpauses_it(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine, path = _converged(write_stack, _stack())
    engine.containers[VPN].state = "paused"
    result = api.up(_load(path).only(["vpn"]), engine, options=api.UpOptions(wait_timeout=2))
    assert [(a.kind, a.name) for a in result.plan.pending()] == [(ActionKind.START, VPN)]


def test_the_start_first_note_is_on_the_first_replica_only(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    stack = _stack(update={"order": "start-first", "drain": 0}, replicas=2)
    del stack["services"]["vpn"]["ports"]
    _up(write_stack(stack), engine)
    stack["services"]["vpn"]["environment"] = {"V": "2"}
    plan = _plan(write_stack(stack), engine)
    assert _said(plan, VPN)[1].endswith(
        "(start-first: no downtime but for app, sharing its namespaces)"
    )
    assert _said(plan, "shop-dev-vpn-2")[1].endswith("(start-first: no downtime)")


def test_a_rollback_leaves_a_one_shot_that_has_run_on_its_network_alone(write_stack) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from stackr.errors import ApplyError

    engine = FakeEngine(images=dict(IMAGES), exit_codes={"app": 0})
    _up(write_stack(_stack(healthcheck=CHECKED)), engine)
    engine.unhealthy.add("vpn")
    engine.log.clear()
    with pytest.raises(ApplyError, match="rolled back"):
        _up(write_stack(_stack(healthcheck=CHECKED, environment={"V": "2"})), engine)
    assert not any(APP1 in line for line in engine.log)  # its work is done: not run again


def test_an_owner_restarted_by_up_restarts_the_replicas_sharing_its_processes(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    stack = _pid_stack(depends_on={"db": {"condition": "started", "restart": True}})
    stack["services"]["db"] = {"image": "img:1"}
    _up(write_stack(stack), engine)
    stack["services"]["db"]["environment"] = {"V": "2"}
    path = write_stack(stack)
    assert _said(_plan(path, engine), DEBUG) == (
        ActionKind.RESTART,
        f"shares the processes of {APP}, which is started again: they end with its run",
    )
    _up(path, engine)
    assert engine.containers[DEBUG].state == "running"
    assert _up(path, engine).plan.pending() == ()


def test_an_owner_made_in_the_same_second_is_not_taken_for_a_replacement(write_stack) -> None:  # type: ignore[no-untyped-def]
    # The list gives whole seconds; a lookup of exact times for another reason must not make
    # the owner look newer than the replica made just after it.
    from dataclasses import replace

    from stackr.observed import ObservedState

    engine, path = _converged(write_stack, _pid_stack())
    observed = engine.observe("shop", "dev")
    exact = {APP: 100.3, DEBUG: 100.0}  # the owner looked up, the replica as listed
    observed = ObservedState(
        containers=tuple(
            replace(c, created=exact[c.name]) if c.name in exact else c for c in observed.containers
        ),
        networks=observed.networks,
        volumes=observed.volumes,
        images=observed.images,
    )
    from stackr import joins

    stack = _load(path).stack
    assert joins.recreate_reasons(stack, observed, remade={}) == {}


def test_a_paused_replica_sharing_processes_is_unpaused_before_its_owner_stops(write_stack) -> None:  # type: ignore[no-untyped-def]
    # A frozen process keeps its namespace's run from ending: the engine would wait for the
    # owner's exit in vain (and give up after a long while).
    engine, _ = _converged(write_stack, _pid_stack())
    engine.containers[DEBUG].state = "paused"
    changed = _pid_stack(environment={"V": "2"})
    plan = _plan(write_stack(changed), engine)
    kind, reason = _said(plan, APP)
    assert kind is ActionKind.RECREATE
    assert f"(unpausing {DEBUG} first: a paused process in its namespace" in reason
    assert next(a for a in plan.actions if a.name == APP).thaw == (DEBUG,)
    engine.log.clear()
    _up(write_stack(changed), engine)
    assert engine.log.index(f"unpause_container {DEBUG}") < engine.log.index(
        f"stop_container {APP}"
    )
    assert {engine.containers[n].state for n in (APP, DEBUG)} == {"running"}
    assert engine.containers[DEBUG].pid_owner == engine.containers[APP].id


def test_a_paused_replica_sharing_processes_is_unpaused_before_a_restart(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    stack = _pid_stack(depends_on={"db": {"condition": "started", "restart": True}})
    stack["services"]["db"] = {"image": "img:1"}
    _up(write_stack(stack), engine)
    engine.containers[DEBUG].state = "paused"
    stack["services"]["db"]["environment"] = {"V": "2"}
    path = write_stack(stack)
    assert next(a for a in _plan(path, engine).actions if a.name == APP).thaw == (DEBUG,)
    _up(path, engine)
    assert {engine.containers[n].state for n in (APP, DEBUG)} == {"running"}
    assert _up(path, engine).plan.pending() == ()


def test_a_paused_replica_on_a_network_is_not_unpaused_for_its_owner(write_stack) -> None:  # type: ignore[no-untyped-def]
    # Only a process namespace holds its owner's run: a network namespace does not.
    engine, _ = _converged(write_stack, _stack())
    engine.containers[APP1].state = "paused"
    plan = _plan(write_stack(_stack(environment={"V": "2"})), engine)
    assert all(a.thaw == () for a in plan.actions)


def test_a_paused_replica_is_unpaused_when_its_owner_leaves_the_file(write_stack) -> None:  # type: ignore[no-untyped-def]
    # Paired as the engine has them: the file no longer names the owner, nor the sharing.
    engine, _ = _converged(write_stack, _pid_stack())
    engine.containers[DEBUG].state = "paused"
    path = write_stack({"name": "shop", "services": {"debug": {"image": "img:1"}}})
    plan = _plan(path, engine)
    assert next(a for a in plan.actions if a.name == APP).thaw == (DEBUG,)
    _up(path, engine)
    assert APP not in engine.containers and engine.containers[DEBUG].state == "running"
    assert _up(path, engine).plan.pending() == ()


def test_a_paused_replica_no_longer_sharing_is_unpaused_before_its_owner_stops(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine, _ = _converged(write_stack, _pid_stack())
    engine.containers[DEBUG].state = "paused"
    changed = _pid_stack(environment={"V": "2"})
    del changed["services"]["debug"]["pid"]
    _up(write_stack(changed), engine, jobs=1)
    assert {engine.containers[n].state for n in (APP, DEBUG)} == {"running"}


def test_down_unpauses_a_replica_sharing_processes_whatever_the_file_says(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine, _ = _converged(write_stack, _pid_stack())
    engine.containers[DEBUG].state = "paused"
    # No file (it does not load): no order between the two but the engine's pairing.
    api.down("shop", "dev", engine, volumes=False, loaded=None, jobs=1)
    assert engine.containers == {}


def test_a_chain_of_namespaces_restarts_to_its_end(write_stack) -> None:  # type: ignore[no-untyped-def]
    # debug shares the processes of app, which shares the network of vpn: vpn run again
    # restarts app, and so debug.
    stack = _stack(restart="unless-stopped")
    stack["services"]["app"]["replicas"] = 1
    stack["services"]["debug"] = {"image": "img:1", "pid": "service:app"}
    engine, path = _converged(write_stack, stack)
    engine.stop_container(VPN, timeout=0)
    plan = _plan(path, engine)
    kinds = {a.name: a.kind for a in plan.actions}
    assert (kinds[VPN], kinds[APP1], kinds[DEBUG]) == (
        ActionKind.START,
        ActionKind.RESTART,
        ActionKind.RESTART,
    )
    _up(path, engine)
    assert {engine.containers[n].state for n in (VPN, APP1, DEBUG)} == {"running"}
    assert _up(path, engine).plan.pending() == ()


def test_a_paused_replica_is_stopped_only_once_unpaused() -> None:
    # Its own removal (or update) racing its unpause fails the unpause: it waits for it.
    from stackr.actions import Action, ObjectKind, Plan
    from stackr.removals import thawed

    owner = Action(
        kind=ActionKind.REMOVE, object=ObjectKind.CONTAINER, name=APP, reason="down", thaw=(DEBUG,)
    )
    sharer = Action(kind=ActionKind.REMOVE, object=ObjectKind.CONTAINER, name=DEBUG, reason="down")
    plan = Plan(stack="shop", profile="dev", actions=(owner, sharer))
    assert thawed([owner], plan) == {f"thaw:{DEBUG}"}
    assert thawed([sharer], plan) == {f"thaw:{DEBUG}"}
