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


def _up(path, engine: FakeEngine) -> api.UpResult:  # type: ignore[no-untyped-def]
    return api.up(_load(path), engine, options=api.UpOptions(jobs=4, wait_timeout=2))


def _plan(path, engine: FakeEngine) -> Plan:  # type: ignore[no-untyped-def]
    return api.plan(_load(path), engine)


def _said(plan: Plan, name: str) -> tuple[ActionKind, str]:
    action = next(a for a in plan.actions if a.name == name)
    return action.kind, action.reason


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
    engine = FakeEngine(images=dict(IMAGES))
    path = write_stack(_stack())
    _up(path, engine)
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
    engine = FakeEngine(images=dict(IMAGES))
    path = write_stack(_stack())
    _up(path, engine)
    spec = engine.containers[VPN].spec
    engine.remove_container(VPN, timeout=0)
    engine.create_container(spec)
    engine.start_container(VPN)
    plan = _plan(path, engine)
    assert _said(plan, VPN)[0] is ActionKind.KEEP
    assert _said(plan, APP2) == (
        ActionKind.RECREATE,
        f"drift: {VPN}, whose network it shares, was replaced outside stackr",
    )
    _up(path, engine)
    assert engine.containers[APP2].joined == engine.containers[VPN].id
    assert _up(path, engine).plan.pending() == ()


def test_an_owner_started_again_restarts_the_replicas_on_its_network(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    path = write_stack(_stack())
    _up(path, engine)
    engine.containers[VPN].state = "exited"
    plan = _plan(path, engine)
    assert _said(plan, VPN)[0] is ActionKind.START
    assert _said(plan, APP1) == (
        ActionKind.RESTART,
        f"shares the network of {VPN}, which is started again",
    )
    engine.log.clear()
    _up(path, engine)
    assert engine.log.index(f"start_container {VPN}") < engine.log.index(f"stop_container {APP1}")
    assert engine.containers[APP1].started > engine.containers[VPN].started  # type: ignore[operator]
    assert _up(path, engine).plan.pending() == ()


def test_an_owner_restarted_by_its_policy_restarts_the_replicas_on_its_network(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    path = write_stack(_stack())
    _up(path, engine)
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
    stack["services"]["app"]["update"] = {"order": "start-first"}
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
