"""The planner, by golden cases: tests/cases/plan/<case>/ holds `before.yml` (applied to a fake
engine first, optional), `stack.yml` (planned against it) and `expected.txt` (the plan's lines)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeEngine

from stackr import api
from stackr.plan import ActionKind, make_down_plan, make_plan

CASES = Path(__file__).parent.parent / "cases" / "plan"
IMAGES = {"shop/web:1": "sha256:aaa", "shop/db:1": "sha256:ddd", "shop/web:2": "sha256:bbb"}


def _apply(path: Path, engine: FakeEngine) -> None:
    loaded = api.load([str(path)], profile="dev", env={})
    api.up(loaded, engine, options=api.UpOptions(jobs=2))


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir()), ids=str)
def test_plan_matches_golden_case(case: str) -> None:
    folder = CASES / case
    engine = FakeEngine(images=dict(IMAGES))
    if (folder / "before.yml").exists():
        _apply(folder / "before.yml", engine)
    loaded = api.load([str(folder / "stack.yml")], profile="dev", env={})
    lines = [a.describe() for a in api.plan(loaded, engine).actions]
    assert lines == (folder / "expected.txt").read_text().splitlines()


def test_plan_of_applied_stack_is_all_keep(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack({"services": {"web": {"image": "shop/web:1", "replicas": 2}}})
    engine = FakeEngine(images=dict(IMAGES))
    _apply(path, engine)
    loaded = api.load([str(path)], profile="dev", env={})
    plan = api.plan(loaded, engine)
    assert plan.pending() == ()
    assert plan.counts()[ActionKind.KEEP] == 3  # two replicas and the default network


def test_image_moved_to_new_build_recreates(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack({"services": {"web": {"image": "shop/web:1"}}})
    engine = FakeEngine(images=dict(IMAGES))
    _apply(path, engine)
    engine.images["shop/web:1"] = "sha256:new0000000000000"
    loaded = api.load([str(path)], profile="dev", env={})
    action = api.plan(loaded, engine).action_for(*_container("shop-dev-web-1"))
    assert action is not None
    assert (action.kind, action.reason) == (
        ActionKind.RECREATE,
        "image shop/web:1 now is new000000000 (runs aaa)",
    )


def test_down_plan_keeps_volumes_unless_asked(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack(
        {
            "services": {"db": {"image": "shop/db:1", "volumes": ["data:/d"]}},
            "volumes": {"data": {}},
        }
    )
    engine = FakeEngine(images=dict(IMAGES))
    _apply(path, engine)
    observed = engine.observe("shop", "dev")
    kept = make_down_plan("shop", "dev", observed, volumes=False)
    removed = make_down_plan("shop", "dev", observed, volumes=True)
    assert [a.describe() for a in kept.actions] == [
        "remove container shop-dev-db-1 — down",
        "remove network shop-dev-default — down",
        "keep volume shop-dev-data — kept with its data (--volumes removes it)",
    ]
    assert removed.actions[-1].describe() == "remove volume shop-dev-data — down --volumes"


def test_make_plan_is_pure_and_repeatable(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack({"services": {"web": {"image": "shop/web:1"}}})
    stack = api.load([str(path)], profile="dev", env={}).stack
    observed = FakeEngine().observe("shop", "dev")
    assert make_plan(stack, observed) == make_plan(stack, observed)


def _container(name: str):  # type: ignore[no-untyped-def]
    from stackr.plan import ObjectKind

    return ObjectKind.CONTAINER, name
