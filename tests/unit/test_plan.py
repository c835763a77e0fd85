"""The planner, by golden cases: tests/cases/plan/<case>/ holds `before.yml` (applied to a fake
engine first, optional), `stack.yml` (planned against it) and `expected.txt` (the plan's lines)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeEngine

from stackr import api
from stackr.downplan import make_down_plan
from stackr.plan import ActionKind, make_plan

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
    assert action.change_lines() == ()  # the reason says it: not told twice


def test_a_moved_image_beside_a_changed_spec_is_told_too(write_stack) -> None:  # type: ignore[no-untyped-def]
    check = {"test": ["CMD", "true"], "interval": "1s"}
    path = write_stack({"services": {"web": {"image": "shop/web:1", "healthcheck": check}}})
    engine = FakeEngine(images=dict(IMAGES))
    _apply(path, engine)
    engine.images["shop/web:1"] = "sha256:new0000000000000"
    moved = {**check, "interval": "2s"}
    path = write_stack({"services": {"web": {"image": "shop/web:1", "healthcheck": moved}}})
    loaded = api.load([str(path)], profile="dev", env={})
    action = api.plan(loaded, engine).action_for(*_container("shop-dev-web-1"))
    assert action is not None
    assert action.change_lines() == (
        "healthcheck.interval: 1s → 2s",
        "image: shop/web:1 now is new000000000 (runs aaa)",
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


def test_recreate_names_changed_fields_and_masks_secrets(write_stack) -> None:  # type: ignore[no-untyped-def]
    spec = {
        "name": "shop",
        "services": {
            "web": {"image": "shop/web:1", "environment": {"LOG_LEVEL": "info", "DB_PASSWORD": "a"}}
        },
    }
    engine = FakeEngine(images=dict(IMAGES))
    _apply(write_stack(spec), engine)
    spec["services"]["web"] |= {  # type: ignore[index]
        "image": "shop/web:2",
        "environment": {"LOG_LEVEL": "debug", "DB_PASSWORD": "b", "NEW": "1"},
    }
    loaded = api.load([str(write_stack(spec))], profile="dev", env={})
    action = api.plan(loaded, engine).action_for(*_container("shop-dev-web-1"))
    assert action is not None
    assert action.change_lines() == (
        "environment.DB_PASSWORD: *** → ***",
        "environment.LOG_LEVEL: info → debug",
        "environment.NEW: (unset) → 1",
        "image: shop/web:1 → shop/web:2",
    )


def test_secret_values_are_masked_wherever_they_appear_and_never_stored(write_stack) -> None:  # type: ignore[no-untyped-def]
    # A value is secret by its name, by holding a URL's password, or by containing the value
    # of a variable whose name looks secret; the spec label keeps only digests of them.
    service = {
        "image": "shop/web:1",
        "command": ["serve", "--token=${API_TOKEN}"],
        "environment": {
            "PGPASS": "${DB_PASSWORD}",
            "AUTH": "Bearer ${API_TOKEN}",
            "DATABASE_URL": "postgres://u:${PW}@db/x",
            "LOG_LEVEL": "${LEVEL}",
        },
        "labels": {"secret.token": "${API_TOKEN}"},
        "healthcheck": {"test": ["CMD-SHELL", "test -n '${API_TOKEN}'"]},
    }
    spec = {"name": "shop", "services": {"web": service}}
    path = write_stack(spec)
    before = {
        "DB_PASSWORD": "pw-AAAAAA",
        "API_TOKEN": "tok-AAAAAA",
        "PW": "hunter2",
        "LEVEL": "info",
    }
    after = {
        "DB_PASSWORD": "pw-BBBBBB",
        "API_TOKEN": "tok-BBBBBB",
        "PW": "hunter3",
        "LEVEL": "debug",
    }
    engine = FakeEngine(images=dict(IMAGES))
    api.up(api.load([str(path)], profile="dev", env=before), engine, options=api.UpOptions())
    stored = engine.containers["shop-dev-web-1"].spec.labels["io.stackr.spec"]
    assert not any(v in stored for v in before.values() if v != "info")
    action = api.plan(api.load([str(path)], profile="dev", env=after), engine).action_for(
        *_container("shop-dev-web-1")
    )
    assert action is not None
    assert action.kind is ActionKind.RECREATE
    assert action.change_lines() == (
        'command: ["serve", "***"] → ["serve", "***"]',
        "environment.AUTH: *** → ***",
        "environment.DATABASE_URL: *** → ***",
        "environment.LOG_LEVEL: info → debug",
        "environment.PGPASS: *** → ***",
        'healthcheck.test: ["CMD-SHELL", "***"] → ["CMD-SHELL", "***"]',
        "labels.secret.token: *** → ***",
    )


def test_a_healthcheck_field_written_or_left_out_are_different_specs(write_stack) -> None:  # type: ignore[no-untyped-def]
    # Left out, a field is the image's HEALTHCHECK's (an image may check every 2s); written,
    # even as the engine's default, it is the file's: switching between them recreates.
    def stack(check: dict[str, object]) -> object:
        service = {"image": "shop/web:1", "healthcheck": {"test": ["CMD", "true"], **check}}
        return write_stack({"name": "shop", "services": {"web": service}})

    engine = FakeEngine(images=dict(IMAGES))
    api.up(api.load([str(stack({}))], profile="dev", env={}), engine, options=api.UpOptions())
    action = api.plan(
        api.load([str(stack({"interval": "30s"}))], profile="dev", env={}), engine
    ).action_for(*_container("shop-dev-web-1"))
    assert action is not None and action.kind is ActionKind.RECREATE
    assert action.change_lines() == ("healthcheck.interval: (unset) → 30s",)


def test_host_ports_moving_between_containers_stop_their_old_ones_first(write_stack) -> None:  # type: ignore[no-untyped-def]
    # A shifted range: replica 1's new port is replica 2's old one, and so on. Replaced one
    # by one, the first new replica would find its port held: they are all parked first.
    def stack(ports: str) -> object:
        web = {"image": "shop/web:1", "replicas": 3, "ports": [ports]}
        return write_stack({"name": "shop", "services": {"web": web, "db": {"image": "shop/db:1"}}})

    engine = FakeEngine(images=dict(IMAGES))
    api.up(
        api.load([str(stack("8081-8083:80"))], profile="dev", env={}),
        engine,
        options=api.UpOptions(),
    )
    plan = api.plan(api.load([str(stack("8082-8084:80"))], profile="dev", env={}), engine)
    web = [plan.action_for(*_container(f"shop-dev-web-{n}")) for n in (1, 2, 3)]
    assert [a.parked for a in web if a is not None] == [True, True, True]
    assert [a.reason for a in web if a is not None] == [
        "its spec changed (stop-first: it takes host port 8082 from shop-dev-web-2)",
        "its spec changed (stop-first: its host port 8082 goes to shop-dev-web-1)",
        "its spec changed (stop-first: its host port 8083 goes to shop-dev-web-2)",
    ]
    # Ports that do not move leave the update policy to itself.
    plan = api.plan(api.load([str(stack("9081-9083:80"))], profile="dev", env={}), engine)
    assert not any(a.parked for a in plan.actions)


def test_spec_changes_compares_lists_whole() -> None:
    from stackr.changes import spec_changes

    old = {"ports": ["8080:80/tcp"], "replicas_note": None}
    new = {"ports": ["8081:80/tcp"], "replicas_note": None}
    assert [c.line() for c in spec_changes(old, new)] == [
        'ports: ["8080:80/tcp"] → ["8081:80/tcp"]'
    ]


def test_plan_says_an_image_missing_from_the_engine_is_pulled_first(write_stack) -> None:  # type: ignore[no-untyped-def]
    spec = {"name": "shop", "services": {"web": {"image": "shop/web:9"}, "db": {"image": "db:1"}}}
    engine = FakeEngine(images={"db:1": "sha256:db"})
    loaded = api.load([str(write_stack(spec))], profile="dev", env={})
    reasons = {a.name: a.reason for a in api.plan(loaded, engine).pending()}
    assert reasons["shop-dev-web-1"] == (
        "not on the engine (its image shop/web:9 is not on the engine: it is pulled first)"
    )
    assert reasons["shop-dev-db-1"] == "not on the engine"


def test_durations_read_in_the_units_a_file_would_use() -> None:
    from stackr.changes import spec_changes

    old = {"stop_grace_period": 60.0, "healthcheck": {"interval": 0.5, "timeout": 7200.0}}
    new = {"stop_grace_period": 10.0, "healthcheck": {"interval": 90.0, "timeout": 1.5}}
    assert [c.line() for c in spec_changes(old, new)] == [
        "healthcheck.interval: 500ms → 90s",
        "healthcheck.timeout: 2h → 1.5s",
        "stop_grace_period: 1m → 10s",
    ]


def test_networks_in_the_mapping_form_change_nothing_until_an_alias_is_added(write_stack) -> None:  # type: ignore[no-untyped-def]
    def stack(networks: object) -> str:
        spec = {"name": "shop", "services": {"web": {"image": "shop/web:1", "networks": networks}}}
        return str(write_stack({**spec, "networks": {"front": {}}}))

    engine = FakeEngine(images=dict(IMAGES))
    _apply(stack(["front"]), engine)
    loaded = api.load([stack({"front": None})], profile="dev", env={})
    assert api.plan(loaded, engine).pending() == ()  # the same spec, written as a mapping
    loaded = api.load([stack({"front": {"aliases": ["api"]}})], profile="dev", env={})
    (action,) = api.plan(loaded, engine).pending()
    assert action.change_lines() == ('networks.aliases: (unset) → {"shop-dev-front": ["api"]}',)


def test_joining_or_leaving_a_network_is_not_told_as_a_changed_network() -> None:
    from stackr.changes import spec_changes

    old = {"networks": ["s-front", "s-back"], "network_specs": ["f1", "b1"]}
    left = {"networks": ["s-back"], "network_specs": ["b1"]}
    assert [c.line() for c in spec_changes(old, left)] == [
        'networks: ["s-front", "s-back"] → ["s-back"]'
    ]
    joined = {"networks": ["s-front", "s-back", "s-side"], "network_specs": ["f1", "b1", "x1"]}
    assert [c.field for c in spec_changes(old, joined)] == ["networks"]
    recreated = {"networks": ["s-back"], "network_specs": ["b2"]}
    assert [c.line() for c in spec_changes(old, recreated)] == [
        "networks: a network it joins was changed",
        'networks: ["s-front", "s-back"] → ["s-back"]',
    ]
    same_list = {"networks": ["s-front", "s-back"], "network_specs": ["f1", "b2"]}
    assert [c.line() for c in spec_changes(old, same_list)] == [
        "networks: a network it joins was changed"
    ]


def test_a_memory_change_reads_in_the_files_units_and_stays_bytes_as_data() -> None:
    from stackr.changes import spec_changes

    old = {"memory": 256 * 1024**2, "cpus": None}
    new = {"memory": int(1.5 * 1024**3), "cpus": None}
    (change,) = spec_changes(old, new)
    assert change.line() == "memory: 256m → 1536m"
    assert change.data() == {"field": "memory", "before": 268435456, "after": 1610612736}
    (added,) = spec_changes({"memory": None}, {"memory": 2 * 1024**3 + 1})
    assert added.line() == "memory: (unset) → 2147483649b"  # no limit: as left out
    (whole,) = spec_changes({"memory": 1024**3}, {"memory": 4 * 1024})
    assert whole.line() == "memory: 1g → 4k"


def test_a_disabled_healthcheck_reads_as_disabled_not_as_the_engines_none() -> None:
    from stackr.changes import spec_changes

    disabled, check = {"test": ["NONE"]}, {"test": ["CMD", "true"], "interval": 2.0}
    (removed,) = spec_changes({"healthcheck": disabled}, {"healthcheck": None})
    assert removed.line() == "healthcheck: disabled → (unset)"
    assert removed.data() == {"field": "healthcheck", "before": "disabled"}
    (added,) = spec_changes({"healthcheck": None}, {"healthcheck": disabled})
    assert added.line() == "healthcheck: (unset) → disabled"
    interval, test = spec_changes({"healthcheck": check}, {"healthcheck": disabled})
    assert interval.line() == "healthcheck.interval: 2s → (unset)"
    assert test.line() == 'healthcheck.test: ["CMD", "true"] → disabled'


def test_container_stopped_outside_stackr_is_drift(write_stack) -> None:  # type: ignore[no-untyped-def]
    service = {"image": "shop/web:1", "restart": "always"}
    path = write_stack({"name": "shop", "services": {"web": service}})
    engine = FakeEngine(images=dict(IMAGES))
    _apply(path, engine)
    engine.containers["shop-dev-web-1"].state = "exited"
    loaded = api.load([str(path)], profile="dev", env={})
    action = api.plan(loaded, engine).action_for(*_container("shop-dev-web-1"))
    assert action is not None
    assert action.describe() == (
        "start container shop-dev-web-1 — drift: container is exited, not running"
    )


def _plan_line(path: Path, engine: FakeEngine, name: str) -> str:
    loaded = api.load([str(path)], profile="dev", env={})
    action = api.plan(loaded, engine).action_for(*_container(name))
    assert action is not None
    return action.describe()


@pytest.mark.parametrize(
    ("state", "exit_code", "line"),
    [
        (
            "exited",
            137,
            "start container shop-dev-web-1 — drift: container is exited (exit code "
            "137), not running",
        ),
        (
            "exited",
            1,
            "start container shop-dev-web-1 — drift: container is exited (exit code 1), "
            "not running",
        ),
        ("exited", 0, "keep container shop-dev-web-1 — one-shot container has run (exited 0)"),
        (
            "paused",
            None,
            "start container shop-dev-web-1 — drift: container was paused outside "
            "stackr (up unpauses it)",
        ),
    ],
)
def test_a_stopped_container_without_restart_policy_runs_again_unless_it_exited_0(  # type: ignore[no-untyped-def]
    write_stack, state: str, exit_code: int | None, line: str
) -> None:
    # restart: "no" is the default: a service killed or stopped outside stackr (a non-zero
    # code) is drift, and so is a one-shot job that failed; only an exit 0 has done its work.
    path = write_stack({"name": "shop", "services": {"web": {"image": "shop/web:1"}}})
    engine = FakeEngine(images=dict(IMAGES))
    _apply(path, engine)
    container = engine.containers["shop-dev-web-1"]
    container.state, container.exit_code = state, exit_code
    assert _plan_line(path, engine, "shop-dev-web-1") == line


def test_a_failed_job_runs_again_and_the_next_up_converges(write_stack) -> None:  # type: ignore[no-untyped-def]
    job = {"image": "shop/web:1", "restart": "no"}
    app = {"image": "shop/web:1", "depends_on": {"migrate": {"condition": "completed"}}}
    path = write_stack({"name": "shop", "services": {"migrate": job, "app": app}})
    engine = FakeEngine(images=dict(IMAGES), exit_codes={"migrate": 1})
    with pytest.raises(Exception, match="exited with code 1"):
        _apply(path, engine)
    engine.exit_codes["migrate"] = 0  # the cause is fixed outside stackr
    _apply(path, engine)
    assert engine.containers["shop-dev-app-1"].state == "running"
    loaded = api.load([str(path)], profile="dev", env={})
    assert api.plan(loaded, engine).pending() == ()


def test_a_network_removed_outside_stackr_recreates_its_containers(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack({"name": "shop", "services": {"web": {"image": "shop/web:1"}}})
    engine = FakeEngine(images=dict(IMAGES))
    _apply(path, engine)
    engine.containers["shop-dev-web-1"].state = "exited"
    del engine.networks["shop-dev-default"]
    assert _plan_line(path, engine, "shop-dev-web-1") == (
        "recreate container shop-dev-web-1 — drift: network shop-dev-default was removed "
        "outside stackr"
    )
    _apply(path, engine)
    container = engine.containers["shop-dev-web-1"]
    assert container.state == "running"
    assert container.network_ids == {"shop-dev-default": engine.network_ids["shop-dev-default"]}
    loaded = api.load([str(path)], profile="dev", env={})
    assert api.plan(loaded, engine).pending() == ()


def test_container_disconnected_outside_stackr_is_drift(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack({"name": "shop", "services": {"web": {"image": "shop/web:1"}}})
    engine = FakeEngine(images=dict(IMAGES))
    _apply(path, engine)
    engine.containers["shop-dev-web-1"].networks.clear()
    loaded = api.load([str(path)], profile="dev", env={})
    action = api.plan(loaded, engine).action_for(*_container("shop-dev-web-1"))
    assert action is not None
    assert action.describe() == (
        "recreate container shop-dev-web-1 — "
        "drift: disconnected from shop-dev-default outside stackr"
    )


def test_a_job_that_has_run_is_kept_though_disconnected_or_its_network_removed(write_stack) -> None:  # type: ignore[no-untyped-def]
    # Replacing it would run its work (a migration) again for no change of the file.
    job = {"image": "shop/web:1", "command": ["migrate"], "restart": "no"}
    path = write_stack({"name": "shop", "services": {"migrate": job}})
    engine = FakeEngine(images=dict(IMAGES))
    _apply(path, engine)
    container = engine.containers["shop-dev-migrate-1"]
    container.state, container.exit_code = "exited", 0
    container.networks.clear()
    kept = "keep container shop-dev-migrate-1 — one-shot container has run (exited 0)"
    assert _plan_line(path, engine, "shop-dev-migrate-1") == kept
    container.networks.append("shop-dev-default")
    container.network_ids["shop-dev-default"] = "an-old-network-id"
    assert _plan_line(path, engine, "shop-dev-migrate-1") == kept
    container.exit_code = 1  # failed: it runs again, on the stack's network as it is now
    assert _plan_line(path, engine, "shop-dev-migrate-1") == (
        "recreate container shop-dev-migrate-1 — drift: network shop-dev-default was removed "
        "outside stackr"
    )


def test_reordering_a_services_networks_recreates_nothing(write_stack) -> None:  # type: ignore[no-untyped-def]
    # The engine orders a container's networks by name, whatever order the list has.
    def stack(networks: list[str]) -> dict[str, object]:
        service = {"image": "shop/web:1", "networks": networks}
        return {"name": "shop", "services": {"web": service}, "networks": {"front": {}, "back": {}}}

    path = write_stack(stack(["front", "back"]))
    engine = FakeEngine(images=dict(IMAGES))
    _apply(path, engine)
    write_stack(stack(["back", "front"]))
    loaded = api.load([str(path)], profile="dev", env={})
    assert api.plan(loaded, engine).pending() == ()
    write_stack(stack(["back"]))
    assert _plan_line(path, engine, "shop-dev-web-1") == (
        "recreate container shop-dev-web-1 — its spec changed"
    )


def test_a_container_renamed_outside_stackr_is_drift_not_a_scale_down(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = write_stack({"name": "shop", "services": {"web": {"image": "shop/web:1"}}})
    engine = FakeEngine(images=dict(IMAGES))
    _apply(path, engine)
    engine.containers["renamed-by-hand"] = engine.containers.pop("shop-dev-web-1")
    assert _plan_line(path, engine, "renamed-by-hand") == (
        "remove container renamed-by-hand — drift: renamed outside stackr (its labels make it "
        "replica 1 of service 'web', which is created under its own name)"
    )


def test_options_swapped_between_two_networks_recreate_their_containers(write_stack) -> None:  # type: ignore[no-untyped-def]
    def stack(internal: str) -> dict[str, object]:
        service = {"image": "shop/web:1", "networks": ["front", "back"]}
        networks = {name: {"internal": name == internal} for name in ("front", "back")}
        return {"name": "shop", "services": {"web": service}, "networks": networks}

    path = write_stack(stack("back"))
    engine = FakeEngine(images=dict(IMAGES))
    _apply(path, engine)
    write_stack(stack("front"))
    assert _plan_line(path, engine, "shop-dev-web-1").startswith(
        "recreate container shop-dev-web-1 — its spec changed"
    )


def test_a_recreated_network_and_a_kept_volume_say_which_option_changed(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr.plan import ObjectKind

    def stack(internal: bool, size: str) -> dict[str, object]:
        service = {"image": "shop/web:1", "networks": ["back"], "volumes": ["data:/data"]}
        return {
            "name": "shop",
            "services": {"web": service},
            "networks": {"back": {"internal": internal, "labels": {"team": "shop"}}},
            "volumes": {"data": {"driver_opts": {"type": "tmpfs", "o": f"size={size}"}}},
        }

    path = write_stack(stack(False, "64m"))
    engine = FakeEngine(images=dict(IMAGES))
    _apply(path, engine)
    write_stack(stack(True, "128m"))
    plan = api.plan(api.load([str(path)], profile="dev", env={}), engine)
    network = plan.action_for(ObjectKind.NETWORK, "shop-dev-back")
    volume = plan.action_for(ObjectKind.VOLUME, "shop-dev-data")
    assert network is not None and volume is not None
    assert (network.kind, network.change_lines()) == (
        ActionKind.RECREATE,
        ("internal: false → true",),
    )
    assert (volume.kind, volume.change_lines()) == (
        ActionKind.KEEP,
        ("driver_opts.o: size=64m → size=128m",),
    )


def test_a_volume_options_secret_is_masked_in_its_change_line(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr.plan import ObjectKind

    def stack(password: str) -> dict[str, object]:
        opts = {"type": "cifs", "device": "//nas/share", "o": "addr=nas", "password": password}
        service = {"image": "shop/web:1", "volumes": ["media:/media"]}
        return {
            "name": "shop",
            "services": {"web": service},
            "volumes": {"media": {"driver_opts": opts}},
        }

    path = write_stack(stack("hunter2-old"))
    engine = FakeEngine(images=dict(IMAGES))
    _apply(path, engine)
    write_stack(stack("hunter2-new"))
    volume = api.plan(api.load([str(path)], profile="dev", env={}), engine).action_for(
        ObjectKind.VOLUME, "shop-dev-media"
    )
    assert volume is not None
    assert volume.change_lines() == ("driver_opts.password: *** → ***",)


def test_a_change_is_data_with_secrets_masked_however_deep_and_survives_a_copy() -> None:
    import copy
    import pickle

    from stackr.changes import spec_changes
    from stackr.sensitive import digest

    old = {"labels": None, "environment": {"A": "1"}}
    new = {
        "labels": {"team": "shop", "token": digest("s3cret")},
        "environment": {"A": "1", "B": "2"},
    }
    changes = spec_changes(old, new)
    assert [c.data() for c in changes] == [
        {"field": "environment.B", "after": "2"},
        {"field": "labels", "before": None, "after": {"team": "shop", "token": "***"}},
    ]
    assert [copy.deepcopy(c).data() for c in changes] == [c.data() for c in changes]
    assert [pickle.loads(pickle.dumps(c)).data() for c in changes] == [c.data() for c in changes]
