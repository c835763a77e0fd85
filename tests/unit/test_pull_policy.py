"""Compose's `pull_policy`: how it reads, and when `up` builds or pulls a service's image (on
the in-memory engine, whose registry is a dict)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeEngine

from stackr import api
from stackr.errors import EngineError, SpecError
from stackr.plan import ActionKind
from stackr.pulls import PullRecord
from stackr.spec.model import PullPolicy

WEB = "shop-dev-web-1"


def _path(write_stack: Any, policy: str | None, **web: Any) -> Path:
    service: dict[str, Any] = {"image": "shop/web:1", **web}
    if policy is not None:
        service["pull_policy"] = policy
    path: Path = write_stack({"name": "shop", "services": {"web": service}})
    return path


def _load(path: Path) -> api.Loaded:
    return api.load([str(path)], profile="dev", env={})


def _up(path: Path, engine: FakeEngine) -> api.UpResult:
    return api.up(_load(path), engine, options=api.UpOptions(jobs=2))


@pytest.mark.parametrize(
    ("written", "policy", "every"),
    [
        (None, PullPolicy.MISSING, 0.0),
        ("missing", PullPolicy.MISSING, 0.0),
        ("if_not_present", PullPolicy.MISSING, 0.0),
        ("always", PullPolicy.ALWAYS, 0.0),
        ("never", PullPolicy.NEVER, 0.0),
        ("daily", PullPolicy.REFRESH, 86400.0),
        ("weekly", PullPolicy.REFRESH, 604800.0),
        ("every_1h30m", PullPolicy.REFRESH, 5400.0),
    ],
)
def test_a_policy_reads_as_compose_means_it(
    write_stack: Any, written: str | None, policy: PullPolicy, every: float
) -> None:
    web = _load(_path(write_stack, written)).stack.services["web"]
    assert (web.pull_policy, web.pull_every) == (policy, every)


def test_config_writes_a_policy_back_as_it_reads(write_stack: Any) -> None:
    pairs = (
        ("every_1h30m", "every_90m"),  # the shortest text that reads back as the same period
        ("daily", "daily"),
        ("never", "never"),
        ("every_1500ms", "every_1.5s"),
        ("every_59.99999s", "every_59.99999s"),  # not rounded to 60s
        ("every_1.1h", "every_1.1h"),  # 3960.0000000000005 s as a float: read back the same
    )
    for written, shown in pairs:
        rendered = api.config(_load(_path(write_stack, written)).stack)
        assert rendered["services"]["web"]["pull_policy"] == shown
    assert "pull_policy" not in api.config(_load(_path(write_stack, "missing")).stack)["services"]


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("build", "pull_policy: build, but the service has no build section"),
        ("every_soon", "'every_soon' is not a pull period"),
        ("every_0s", "'every_0s' would pull on every up"),
        ("sometimes", "'sometimes' is not a valid pull policy"),
    ],
)
def test_a_policy_that_makes_no_sense_is_refused(
    write_stack: Any, written: str, message: str
) -> None:
    with pytest.raises(SpecError) as refused:
        _load(_path(write_stack, written))
    assert message in str(refused.value.issues[0])


def test_the_policy_is_not_part_of_the_containers_spec(write_stack: Any) -> None:
    engine = FakeEngine(images={"shop/web:1": "sha256:one"})
    _up(_path(write_stack, None), engine)
    assert api.plan(_load(_path(write_stack, "never")), engine).pending() == ()


def test_always_pulls_on_every_up_and_a_moved_tag_recreates(write_stack: Any) -> None:
    engine = FakeEngine(images={"shop/web:1": "sha256:one"}, registry={"shop/web:1": "sha256:one"})
    path = _path(write_stack, "always")
    assert _up(path, engine).plan.pending()[0].kind is ActionKind.CREATE
    assert _up(path, engine).plan.pending() == ()  # pulled again: the same image
    assert engine.calls["pull_image"] == 2
    engine.registry["shop/web:1"] = "sha256:two"  # a new build pushed under the tag
    (action,) = _up(path, engine).plan.pending()
    assert (action.name, action.kind) == (WEB, ActionKind.RECREATE)
    assert engine.containers[WEB].image_id == "sha256:two"


def test_a_period_pulls_only_once_it_has_passed(write_stack: Any, tmp_path: Path) -> None:
    # The engine keeps no pull time: stackr records it beside its locks.
    engine = FakeEngine(images={"shop/web:1": "sha256:one"}, registry={"shop/web:1": "sha256:one"})
    path = _path(write_stack, "every_1h")
    record = tmp_path / "pulls.json"
    options = api.UpOptions(jobs=2, pull_record=record)
    api.up(_load(path), engine, options=options)  # never pulled by stackr: due
    assert engine.calls["pull_image"] == 1
    api.up(_load(path), engine, options=options)
    assert engine.calls["pull_image"] == 1
    pulled = PullRecord(record)
    pulled.record("shop/web:1", "sha256:one", time.time() - 7200)  # two hours ago
    api.up(_load(path), engine, options=options)
    assert engine.calls["pull_image"] == 2
    # The tag moved outside stackr: when that image was pulled is not known, so it is due.
    engine.images["shop/web:1"] = "sha256:built-here"
    api.up(_load(path), engine, options=options)
    assert engine.calls["pull_image"] == 3


def test_the_most_eager_policy_of_an_images_services_holds(write_stack: Any) -> None:
    engine = FakeEngine(images={"shop/web:1": "sha256:one"}, registry={"shop/web:1": "sha256:two"})
    services = {"a": {"image": "shop/web:1"}, "b": {"image": "shop/web:1", "pull_policy": "always"}}
    path = write_stack({"name": "shop", "services": services})
    _up(path, engine)
    assert engine.calls["pull_image"] == 1
    assert {engine.containers[f"shop-dev-{n}-1"].image_id for n in "ab"} == {"sha256:two"}
    # One service that may pull a missing image is enough: the plan says it is pulled first.
    engine = FakeEngine(registry={"shop/web:1": "sha256:two"})
    services = {"a": {"image": "shop/web:1", "pull_policy": "never"}, "b": {"image": "shop/web:1"}}
    path = write_stack({"name": "shop", "services": services})
    reasons = [a.reason for a in api.plan(_load(path), engine).pending() if a.service == "a"]
    assert reasons[0].endswith("it is pulled first)")
    _up(path, engine)


def test_never_refuses_to_pull_a_missing_image_before_anything_changes(write_stack: Any) -> None:
    engine = FakeEngine(registry={"shop/web:1": "sha256:one"})
    path = _path(write_stack, "never")
    (action,) = [a for a in api.plan(_load(path), engine).pending() if a.name == WEB]
    assert action.reason.endswith(
        "(its image shop/web:1 is not on the engine, and pull_policy: never: up fails)"
    )
    with pytest.raises(
        EngineError, match=r"pull_policy: never keeps web \(.*stack.yml:\d+\) from pulling it"
    ):
        _up(path, engine)
    assert engine.calls["pull_image"] == 0
    assert engine.containers == {} and engine.networks == {}


def test_missing_pulls_only_what_the_engine_lacks(write_stack: Any) -> None:
    engine = FakeEngine(registry={"shop/web:1": "sha256:one"})
    path = _path(write_stack, None)
    _up(path, engine)
    _up(path, engine)
    assert engine.calls["pull_image"] == 1


def test_build_builds_on_every_up(tmp_path: Path, write_stack: Any) -> None:
    context = tmp_path / "shop" / "web"
    context.mkdir(parents=True)
    (context / "Dockerfile").write_text("FROM scratch\n")
    engine = FakeEngine()
    path = _path(write_stack, "build", build="./web")
    _up(path, engine)
    _up(path, engine)
    assert engine.calls["build"] == 2


@pytest.mark.parametrize("policy", ["always", "daily"])
def test_a_pulling_policy_beside_a_build_section_is_refused(
    tmp_path: Path, write_stack: Any, policy: str
) -> None:
    # Its containers run a build of its inputs: a pulled image would never be what they run.
    (tmp_path / "shop" / "web").mkdir(parents=True)
    with pytest.raises(SpecError, match=f"pull_policy: {policy} pulls the image, but the"):
        _load(_path(write_stack, policy, build="./web"))


@pytest.mark.parametrize(
    "written", ["null", "[]", '"x"', "{", '{"shop/web:1": ["sha256:one", NaN]}']
)
def test_a_record_that_is_no_record_is_read_as_none(tmp_path: Path, written: str) -> None:
    path = tmp_path / "pulls.json"
    path.write_text(written)
    record = PullRecord(path)
    assert record.pulled_at("shop/web:1", "sha256:one", now=time.time()) is None
    record.record("shop/web:1", "sha256:one", 100.0)
    assert PullRecord(path).pulled_at("shop/web:1", "sha256:one", now=200.0) == 100.0


def test_a_pull_time_ahead_of_the_clock_is_no_time(tmp_path: Path) -> None:
    record = PullRecord(tmp_path / "pulls.json")
    record.record("shop/web:1", "sha256:one", 1000.0)
    assert record.pulled_at("shop/web:1", "sha256:one", now=500.0) is None


def test_two_records_of_one_file_keep_each_others_pulls(tmp_path: Path) -> None:
    first, second = PullRecord(tmp_path / "pulls.json"), PullRecord(tmp_path / "pulls.json")
    first.record("a:1", "sha256:a", 10.0)
    second.record("b:1", "sha256:b", 20.0)
    again = PullRecord(tmp_path / "pulls.json")
    assert again.pulled_at("a:1", "sha256:a", now=30.0) == 10.0
    assert again.pulled_at("b:1", "sha256:b", now=30.0) == 20.0


def test_platform_and_never_run_the_image_the_engine_has(write_stack: Any) -> None:
    engine = FakeEngine(images={"shop/web:1": "sha256:one"})
    _up(_path(write_stack, "never", platform="linux/amd64"), engine)
    assert engine.containers[WEB].state == "running"


def test_pulling_an_image_another_service_builds_is_refused(
    tmp_path: Path, write_stack: Any
) -> None:
    (tmp_path / "shop" / "web").mkdir(parents=True)
    services = {
        "web": {"image": "shop/web:1", "build": "./web"},
        "worker": {"image": "shop/web:1", "pull_policy": "daily"},
    }
    with pytest.raises(SpecError, match="pulls image shop/web:1, which service 'web' builds"):
        _load(write_stack({"name": "shop", "services": services}))
