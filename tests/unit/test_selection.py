"""`stackr up web`: only the named services and what they depend on, against the fake engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakes import FakeEngine

from stackr import api
from stackr.errors import StackrError
from stackr.plan import ActionKind

IMAGES = {"shop/web:1": "sha256:aaa", "shop/db:1": "sha256:ddd"}


def _stack(level: str = "info", **extra: Any) -> dict[str, Any]:
    services = {
        "db": {"image": "shop/db:1", "environment": {"LEVEL": level}},
        "web": {
            "image": "shop/web:1",
            "environment": {"LEVEL": level},
            "depends_on": ["db"],
            "networks": ["front", "back"],
        },
        "worker": {"image": "shop/web:1", "environment": {"LEVEL": level}, "networks": ["back"]},
    }
    return {"name": "shop", "services": services, "networks": {"front": {}, "back": {}}, **extra}


def _up(path: Path, engine: FakeEngine, *services: str) -> api.UpResult:
    loaded = api.load([str(path)], profile="dev", env={}).only(services)
    return api.up(loaded, engine, options=api.UpOptions(jobs=2))


def _pending(result: api.UpResult) -> list[tuple[str, str]]:
    return [(a.kind.value, a.name) for a in result.plan.pending()]


def test_up_of_a_service_brings_up_what_it_depends_on_and_nothing_else(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    result = _up(write_stack(_stack()), engine, "web")
    assert sorted(engine.containers) == ["shop-dev-db-1", "shop-dev-web-1"]
    assert sorted(engine.networks) == ["shop-dev-back", "shop-dev-default", "shop-dev-front"]
    assert ("create", "shop-dev-worker-1") not in _pending(result)


def test_a_named_service_is_updated_and_the_others_are_left_as_they_are(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack(_stack("info")), engine)
    result = _up(write_stack(_stack("debug")), engine, "worker")
    assert _pending(result) == [("recreate", "shop-dev-worker-1")]
    levels = {n: c.spec.environment["LEVEL"] for n, c in engine.containers.items()}
    assert levels == {
        "shop-dev-db-1": "info",
        "shop-dev-web-1": "info",
        "shop-dev-worker-1": "debug",
    }


def test_a_service_that_left_the_file_is_removed_only_by_a_full_up(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    path = write_stack(_stack())
    _up(path, engine)
    gone = _stack()
    del gone["services"]["worker"]
    write_stack(gone)
    assert _pending(_up(path, engine, "web")) == []
    assert "shop-dev-worker-1" in engine.containers
    assert _pending(_up(path, engine)) == [("remove", "shop-dev-worker-1")]


def test_an_unknown_service_is_named_with_the_ones_there_are(write_stack) -> None:  # type: ignore[no-untyped-def]
    loaded = api.load([str(write_stack(_stack()))], profile="dev", env={})
    with pytest.raises(StackrError) as caught:
        loaded.only(["web", "wrker"])
    assert str(caught.value) == "no service 'wrker' in stack shop"
    assert caught.value.hint == "its services: db, web, worker"


def test_a_changed_network_shared_with_services_not_named_is_refused(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    path = write_stack(_stack())
    _up(path, engine)
    write_stack(_stack(networks={"front": {}, "back": {"internal": True}}))
    with pytest.raises(StackrError, match="recreate shop-dev-worker-1 too"):
        _up(path, engine, "web")
    assert engine.networks["shop-dev-back"].internal is False  # nothing was touched
    result = _up(path, engine)
    assert ("recreate", "shop-dev-back") in _pending(result)
    assert result.plan.action_for(*_container("shop-dev-web-1")) is not None


def _container(name: str) -> tuple[Any, str]:
    from stackr.plan import ObjectKind

    return ObjectKind.CONTAINER, name


def test_plan_of_named_services_shows_only_them(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    path = write_stack(_stack())
    loaded = api.load([str(path)], profile="dev", env={}).only(["db"])
    the_plan = api.plan(loaded, engine)
    assert {a.name for a in the_plan.actions if a.kind is ActionKind.CREATE} == {
        "shop-dev-db-1",
        "shop-dev-default",
    }


def test_the_cli_takes_services_after_up(  # type: ignore[no-untyped-def]
    write_stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import stackr.cli.wiring
    from stackr.cli.app import main

    engine = FakeEngine(images=dict(IMAGES))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # the lock's folder
    monkeypatch.setattr(stackr.cli.wiring, "engine_for", lambda stack, **_: engine)
    path = str(write_stack(_stack()))
    assert main(["up", "db", "-f", path, "--progress", "plain"]) == 0
    assert sorted(engine.containers) == ["shop-dev-db-1"]
    assert main(["plan", "nope", "-f", path]) == 1
    assert "no service 'nope' in stack shop" in capsys.readouterr().err


def test_up_of_a_job_waits_for_it_to_exit(write_stack) -> None:  # type: ignore[no-untyped-def]
    services = {
        "migrate": {"image": "shop/db:1", "restart": "no"},
        "web": {"image": "shop/web:1", "depends_on": {"migrate": {"condition": "completed"}}},
    }
    path = write_stack({"name": "shop", "services": services})
    loaded = api.load([str(path)], profile="dev", env={}).only(["migrate"])
    # The fake engine leaves a started container running: a job that never ends. Named alone,
    # it is still a job (web waits for it to complete), and `up` waits for it, --wait or not.
    for wait in (True, False):
        engine = FakeEngine(images=dict(IMAGES))
        with pytest.raises(StackrError, match="shop-dev-migrate-1 to be completed"):
            api.up(loaded, engine, options=api.UpOptions(wait=wait, wait_timeout=0.3))
    done = FakeEngine(images=dict(IMAGES), exit_codes={"migrate": 0})
    api.up(loaded, done, options=api.UpOptions(wait=True, wait_timeout=0.3))
