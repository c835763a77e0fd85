"""External networks and volumes: made outside the stack, used by it, never created or removed
by it; a missing one stops `plan` and `up` before anything changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakes import FakeEngine

from stackr import api
from stackr.errors import StackrError
from stackr.plan import ObjectKind

IMAGES = {"shop/web:1": "sha256:aaa"}


def _stack(write_stack: Any) -> Path:
    web = {"image": "shop/web:1", "networks": ["proxy", "default"], "volumes": ["media:/media"]}
    path: Path = write_stack(
        {
            "name": "shop",
            "services": {"web": web},
            "networks": {"proxy": {"external": True, "name": "traefik_proxy"}},
            "volumes": {"media": {"external": True}},
        }
    )
    return path


def _loaded(path: Path) -> api.Loaded:
    return api.load([str(path)], profile="dev", env={})


def test_a_missing_external_network_or_volume_stops_plan_and_up(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = _stack(write_stack)
    engine = FakeEngine(images=dict(IMAGES), foreign_volumes={"media"})
    with pytest.raises(StackrError, match="uses external network traefik_proxy, which") as caught:
        api.plan(_loaded(path), engine)
    assert "docker network create traefik_proxy" in caught.value.hint
    with pytest.raises(StackrError, match="external network traefik_proxy"):
        api.up(_loaded(path), engine, options=api.UpOptions())
    assert engine.mutations() == 0


def test_an_external_network_and_volume_are_used_as_they_are(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = _stack(write_stack)
    engine = FakeEngine(
        images=dict(IMAGES),
        foreign_networks={"traefik_proxy": "id-proxy"},
        foreign_volumes={"media"},
    )
    plan = api.plan(_loaded(path), engine)
    assert [(a.object, a.name) for a in plan.pending()] == [
        (ObjectKind.NETWORK, "shop-dev-default"),
        (ObjectKind.CONTAINER, "shop-dev-web-1"),
    ]
    api.up(_loaded(path), engine, options=api.UpOptions())
    web = engine.containers["shop-dev-web-1"]
    assert web.networks == ["traefik_proxy", "shop-dev-default"]
    assert [m.source for m in web.spec.mounts] == ["media"]
    assert api.plan(_loaded(path), engine).pending() == ()
    api.down("shop", "dev", engine, volumes=True, loaded=_loaded(path))
    assert (engine.foreign_networks, engine.foreign_volumes) == (
        {"traefik_proxy": "id-proxy"},
        {"media"},
    )
    assert engine.containers == {} and engine.networks == {}


def test_an_external_network_made_again_recreates_its_containers(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = _stack(write_stack)
    engine = FakeEngine(
        images=dict(IMAGES), foreign_networks={"traefik_proxy": "id-1"}, foreign_volumes={"media"}
    )
    api.up(_loaded(path), engine, options=api.UpOptions())
    engine.foreign_networks["traefik_proxy"] = "id-2"
    action = api.plan(_loaded(path), engine).action_for(ObjectKind.CONTAINER, "shop-dev-web-1")
    assert action is not None
    assert action.reason == "drift: network traefik_proxy was removed outside stackr"
