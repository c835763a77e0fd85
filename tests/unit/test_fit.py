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
        _up(write_stack, engine, runtime="runsc", cpus=4, cpuset="1-3")
    file = tmp_path / "shop" / "stack.yml"
    assert str(refused.value) == (
        f"the engine cannot run this stack as written: web's runtime runsc ({file}:5) is not "
        "one it knows (it knows io.containerd.runc.v2, runc); web asks for 4 CPUs "
        f"({file}:6), and it has 2; web's cpuset ({file}:7) names CPU 2, 3, and it has CPUs 0-1"
    )
    assert engine.log == []  # nothing made, not even the network or db


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
