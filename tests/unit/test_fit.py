"""What a stack asks that its engine lacks (a runtime, CPUs) stops `up` before it changes
anything, naming each service; a stack that asks nothing of the kind costs no question."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakes import FakeEngine

from stackr import api
from stackr.errors import StackrError

IMAGES = {"shop/web:1": "sha256:aaa"}


def _up(write_stack: Any, engine: FakeEngine, **web: Any) -> Path:
    spec = {
        "name": "shop",
        "services": {"web": {"image": "shop/web:1", **web}, "db": {"image": "shop/web:1"}},
    }
    path: Path = write_stack(spec)
    api.up(api.load([str(path)], profile="dev", env={}), engine, options=api.UpOptions())
    return path


def test_an_unknown_runtime_or_too_many_cpus_stop_up_before_any_change(
    write_stack: Any, tmp_path: Path
) -> None:
    engine = FakeEngine(images=dict(IMAGES), cpus=2)
    with pytest.raises(StackrError) as refused:
        _up(write_stack, engine, runtime="runsc", cpus=4)
    file = tmp_path / "shop" / "stack.yml"
    assert str(refused.value) == (
        f"the engine cannot run this stack as written: web's runtime runsc ({file}:5) is not "
        "one it knows (it knows io.containerd.runc.v2, runc); web asks for 4 CPUs "
        f"({file}:6), and it has 2"
    )
    assert refused.value.hint == (
        "ask for at most the engine's CPUs; name a runtime the engine knows, or add it to its "
        "daemon.json; nothing was changed"
    )
    assert engine.log == []  # nothing made, not even the network or db


def test_a_build_on_every_up_waits_for_the_check(write_stack: Any, tmp_path: Path) -> None:
    # Images built (or pulled) before the plan would be made for nothing.
    (tmp_path / "shop").mkdir(exist_ok=True)
    (tmp_path / "shop" / "Dockerfile").write_text("FROM scratch\n")
    spec = {"name": "shop", "services": {"web": {"build": ".", "runtime": "runsc"}}}
    path: Path = write_stack(spec)
    engine = FakeEngine()
    with pytest.raises(StackrError):
        api.up(
            api.load([str(path)], profile="dev", env={}), engine, options=api.UpOptions(build=True)
        )
    assert (engine.calls["build"], engine.log) == (0, [])


@pytest.mark.parametrize(
    "runtimes, runtime",
    [
        # A containerd shim an engine from Docker 23 on runs though its list does not name it.
        (frozenset({"runc"}), "io.containerd.runsc.v1"),
        (frozenset(), "runsc"),  # an engine that lists none: it judges for itself
    ],
)
def test_what_the_engine_does_not_list_is_left_to_it(
    write_stack: Any, runtimes: frozenset[str], runtime: str
) -> None:
    engine = FakeEngine(images=dict(IMAGES), runtimes=runtimes)
    _up(write_stack, engine, runtime=runtime, cpuset="7")  # a cpuset is the engine's to judge
    assert engine.calls["facts"] == 1


def test_what_the_engine_has_is_asked_only_when_a_changed_service_needs_it(
    write_stack: Any,
) -> None:
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack, engine)
    assert engine.calls["facts"] == 0
    _up(write_stack, engine, runtime="runc", resources={"cpus": 2}, cpuset="0-1")
    assert engine.calls["facts"] == 1
    _up(write_stack, engine, runtime="runc", resources={"cpus": 2}, cpuset="0-1")  # no change
    assert engine.calls["facts"] == 1


def test_plan_says_up_would_fail_for_what_the_engine_lacks(
    write_stack: Any, tmp_path: Path
) -> None:
    spec = {"name": "shop", "services": {"web": {"image": "shop/web:1", "runtime": "runsc"}}}
    path: Path = write_stack(spec)
    engine = FakeEngine(images=dict(IMAGES))
    (action,) = api.plan(api.load([str(path)], profile="dev", env={}), engine).pending()[1:]
    assert action.reason == (
        f"not on the engine (web's runtime runsc ({path}:5) is not one it knows (it knows "
        "io.containerd.runc.v2, runc): up fails)"
    )
