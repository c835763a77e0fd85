"""Applying plans to the in-memory engine: order along the graph, conditions, failures."""

from __future__ import annotations

import pytest
from fakes import FakeEngine

from stackr import api
from stackr.errors import ApplyError
from stackr.plan import ActionKind, ObjectKind

IMAGES = {"img:1": "sha256:111"}


def _up(path, engine: FakeEngine, profile: str = "dev") -> api.UpResult:  # type: ignore[no-untyped-def]
    loaded = api.load([str(path)], profile=profile, env={})
    return api.up(loaded, engine, options=api.UpOptions(jobs=4, wait_timeout=2))


CHAIN = {
    "name": "shop",
    "services": {
        "migrate": {"image": "img:1", "restart": "no"},
        "db": {
            "image": "img:1",
            "healthcheck": {"test": ["CMD", "true"]},
            "volumes": ["data:/data"],
        },
        "web": {
            "image": "img:1",
            "replicas": 2,
            "depends_on": {"db": {"condition": "healthy"}, "migrate": {"condition": "completed"}},
        },
    },
    "volumes": {"data": {}},
}


def test_up_creates_dependencies_before_dependents(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES), exit_codes={"migrate": 0})
    _up(write_stack(CHAIN), engine)
    log = engine.log
    assert log.index("create_volume shop-dev-data") < log.index("create_container shop-dev-db-1")
    assert log.index("start_container shop-dev-db-1") < log.index("create_container shop-dev-web-1")
    assert log.index("start_container shop-dev-migrate-1") < log.index(
        "create_container shop-dev-web-2"
    )


def test_second_up_makes_no_mutating_call(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES), exit_codes={"migrate": 0})
    path = write_stack(CHAIN)
    _up(path, engine)
    before = engine.mutations()
    engine.calls.clear()
    result = _up(path, engine)
    assert result.plan.pending() == ()
    assert engine.mutations() == 0
    assert engine.calls["observe"] == 1
    assert engine.calls["container_status"] == 0  # a no-op up does not wait for health again
    assert before > 0


def test_a_no_op_up_needs_no_graph(write_stack) -> None:  # type: ignore[no-untyped-def]
    # Building the graph imports networkx, most of a no-op up's start-up time.
    engine = FakeEngine(images=dict(IMAGES), exit_codes={"migrate": 0})
    path = write_stack(CHAIN)
    _up(path, engine)
    loaded = api.load([str(path)], profile="dev", env={})
    result = api.up(loaded, engine, options=api.UpOptions(jobs=4, wait_timeout=2))
    assert result.result is None  # the executor did not run
    assert loaded._graph is None


def test_failed_job_stops_dependents_and_names_it(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES), exit_codes={"migrate": 3})
    with pytest.raises(ApplyError) as caught:
        _up(write_stack(CHAIN), engine)
    failures = caught.value.failures
    assert "exited with code 3" in failures["migrate (completed)"]
    assert "last words of shop-dev-migrate-1" in failures["migrate (completed)"]
    assert "shop-dev-web-1" not in engine.containers
    assert "shop-dev-db-1" in engine.containers  # an unrelated branch is not torn down


def test_a_failure_is_reported_as_it_happens_and_skips_say_why(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr.events import Event, Phase

    engine = FakeEngine(images=dict(IMAGES), exit_codes={"migrate": 3})
    events: list[Event] = []
    loaded = api.load([str(write_stack(CHAIN))], profile="dev", env={})
    with pytest.raises(ApplyError):
        api.up(
            loaded, engine, options=api.UpOptions(jobs=4, wait_timeout=2), on_event=events.append
        )
    phases = [(e.subject, e.phase) for e in events]
    failed = phases.index(("migrate (completed)", Phase.FAILED))
    skipped = [e for e in events if e.phase is Phase.SKIPPED]
    assert skipped and all(e.detail == "migrate did not complete" for e in skipped)
    assert failed < phases.index((skipped[0].subject, Phase.SKIPPED))


def test_unhealthy_dependency_fails_up(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES), exit_codes={"migrate": 0}, unhealthy={"db"})
    with pytest.raises(ApplyError) as caught:
        _up(write_stack(CHAIN), engine)
    failure = caught.value.failures["db (healthy)"]
    assert "shop-dev-db-1 is unhealthy, so its dependents were not started" in failure
    assert "its last health check said: probe of shop-dev-db-1 failed" in failure
    assert not any(name.startswith("shop-dev-web") for name in engine.containers)


IMAGE_CHECKED = {
    "name": "shop",
    "services": {
        "db": {"image": "checked:1", "restart": "always"},
        "web": {"image": "img:1", "depends_on": {"db": {"condition": "healthy"}}},
    },
}


def test_a_healthy_condition_waits_for_the_images_own_healthcheck(write_stack) -> None:  # type: ignore[no-untyped-def]
    images = {**IMAGES, "checked:1": "sha256:222"}
    engine = FakeEngine(images=images, image_healthchecks={"checked:1"})
    _up(write_stack(IMAGE_CHECKED), engine)
    assert engine.containers["shop-dev-web-1"].state == "running"
    sick = FakeEngine(images=images, image_healthchecks={"checked:1"}, unhealthy={"db"})
    with pytest.raises(ApplyError) as caught:
        _up(write_stack(IMAGE_CHECKED), sick)
    assert "shop-dev-db-1 is unhealthy" in caught.value.failures["db (healthy)"]
    assert "shop-dev-web-1" not in sick.containers


def test_a_healthy_condition_on_a_container_without_any_healthcheck_fails_at_once(
    write_stack,
) -> None:  # type: ignore[no-untyped-def]
    import time

    engine = FakeEngine(images={**IMAGES, "checked:1": "sha256:222"})  # no HEALTHCHECK in it
    started = time.monotonic()
    with pytest.raises(ApplyError) as caught:
        _up(write_stack(IMAGE_CHECKED), engine)
    assert time.monotonic() - started < 1.0  # not the 2 s wait timeout
    failure = caught.value.failures["db (healthy)"]
    assert "shop-dev-db-1 has no healthcheck test, neither in the stack file nor in its image" in (
        failure
    )
    assert "hint: give 'db' a healthcheck, or wait for it with condition: started" in failure
    assert "shop-dev-web-1" not in engine.containers


def test_an_unhealthy_status_from_before_the_wait_waits_for_a_newer_check() -> None:
    from stackr.engine import ContainerStatus
    from stackr.readiness import FirstLook

    def sick(probed: str) -> ContainerStatus:
        return ContainerStatus(state="running", health="unhealthy", probed=probed)

    looks = FirstLook()
    assert not looks.unhealthy("db-1", sick("12:00:01"))  # paused outside stackr, just unpaused
    assert not looks.unhealthy("db-1", sick("12:00:01"))
    assert looks.unhealthy("db-1", sick("12:00:03"))
    assert not looks.unhealthy("web-1", ContainerStatus(state="running", health="starting"))
    assert looks.unhealthy("web-1", sick("12:00:02"))


def test_a_condition_on_a_service_scaled_to_zero_is_said_not_waited_for(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr.events import Event, Phase

    spec = {
        "name": "shop",
        "services": {
            "db": {"image": "img:1", "replicas": 0, "healthcheck": {"test": ["CMD", "true"]}},
            "web": {"image": "img:1", "depends_on": {"db": {"condition": "healthy"}}},
        },
    }
    events: list[Event] = []
    loaded = api.load([str(write_stack(spec))], profile="dev", env={})
    api.up(loaded, FakeEngine(images=dict(IMAGES)), options=api.UpOptions(), on_event=events.append)
    said = [(e.phase, e.detail) for e in events if e.subject == "db"]
    assert said == [(Phase.DONE, "has no replicas: not waited for")]


def test_missing_image_without_build_is_an_error(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr.errors import EngineError

    engine = FakeEngine()
    with pytest.raises(EngineError, match="img:1 is not on this engine"):
        _up(write_stack({"services": {"web": {"image": "img:1"}}}), engine)
    assert engine.mutations() == 0


def test_profiles_are_isolated(write_stack) -> None:  # type: ignore[no-untyped-def]
    spec = {
        "name": "shop",
        "services": {"web": {"image": "img:1"}},
        "profiles": {"dev": {}, "staging": {"services": {"web": {"replicas": 2}}}},
    }
    engine = FakeEngine(images=dict(IMAGES))
    path = write_stack(spec)
    _up(path, engine, "dev")
    _up(path, engine, "staging")
    assert sorted(engine.containers) == [
        "shop-dev-web-1",
        "shop-staging-web-1",
        "shop-staging-web-2",
    ]
    assert sorted(engine.networks) == ["shop-dev-default", "shop-staging-default"]


def test_recreate_replaces_one_replica_at_a_time(write_stack) -> None:  # type: ignore[no-untyped-def]
    # Stop-first (the default), drained at once: the drain's wait is a test of its own.
    web = {"image": "img:1", "replicas": 3, "update": {"drain": 0}}
    spec = {"name": "shop", "services": {"web": web}}
    engine = FakeEngine(images=dict(IMAGES))
    path = write_stack(spec)
    _up(path, engine)
    engine.log.clear()
    web["environment"] = {"A": "b"}
    _up(write_stack(spec), engine)
    expected = []
    network = "shop-dev-default"
    for n in (1, 2, 3):
        name = f"shop-dev-web-{n}"
        expected += [
            # The other two serve: the old one leaves the service's name before it stops ...
            f"rename_container {name} {name}-prev",
            f"disconnect_container {name}-prev {network}",
            f"connect_container {name}-prev {network}",
            f"stop_container {name}-prev",
            # ... and the new one takes it only once ready.
            f"create_container {name}-next",
            f"start_container {name}-next",
            f"disconnect_container {name}-next {network}",
            f"connect_container {name}-next {network}",
            f"rename_container {name}-next {name}",
        ]
    # The old replicas are kept, stopped, until every new one is ready: a failure rolls back.
    expected += [f"remove_container shop-dev-web-{n}-prev" for n in (1, 2, 3)]
    assert engine.log == expected


def test_down_removes_containers_and_networks_keeps_volumes(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES), exit_codes={"migrate": 0})
    path = write_stack(CHAIN)
    _up(path, engine)
    loaded = api.load([str(path)], profile="dev", env={})
    api.down("shop", "dev", engine, volumes=False, loaded=loaded)
    assert engine.containers == {}
    assert engine.networks == {}
    assert list(engine.volumes) == ["shop-dev-data"]
    api.down("shop", "dev", engine, volumes=True, loaded=loaded)
    assert engine.volumes == {}


def test_a_container_without_its_service_in_the_file_stops_with_its_own_grace(
    write_stack,
) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    both = {"web": {"image": "img:1", "stop_grace_period": "3s"}, "api": {"image": "img:1"}}
    _up(write_stack({"name": "shop", "services": both}), engine)
    # The file drops web: up removes it with the grace it was made with, not the default 10 s.
    _up(write_stack({"name": "shop", "services": {"api": both["api"]}}), engine)
    assert engine.stop_timeouts == {"shop-dev-web-1": 3.0}
    # A file that no longer loads: down reads each container's own grace from its spec label.
    api.down("shop", "dev", engine, volumes=False, loaded=None)
    assert engine.stop_timeouts["shop-dev-api-1"] == 10.0
    _up(
        write_stack({"name": "shop", "services": {"api": {**both["api"], "stop_grace_period": 1}}}),
        engine,
    )
    api.down("shop", "dev", engine, volumes=False, loaded=None)
    assert engine.stop_timeouts["shop-dev-api-1"] == 1.0


def _up_wait(path, engine: FakeEngine, timeout: float = 2.0) -> api.UpResult:  # type: ignore[no-untyped-def]
    loaded = api.load([str(path)], profile="dev", env={})
    options = api.UpOptions(jobs=4, wait=True, wait_timeout=timeout)
    return api.up(loaded, engine, options=options)


def test_up_wait_succeeds_when_services_ready_and_jobs_done(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES), exit_codes={"migrate": 0})
    _up_wait(write_stack(CHAIN), engine)
    assert engine.calls["container_status"] >= 4


def test_up_wait_names_a_failed_job(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr.errors import EngineError

    spec = {"name": "shop", "services": {"migrate": {"image": "img:1", "restart": "no"}}}
    engine = FakeEngine(images=dict(IMAGES), exit_codes={"migrate": 2})
    with pytest.raises(EngineError, match="shop-dev-migrate-1 exited with code 2"):
        _up_wait(write_stack(spec), engine)


def test_up_wait_timeout_names_what_it_waited_for(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr.errors import EngineError

    spec = {
        "name": "shop",
        "services": {
            "web": {"image": "img:1", "restart": "always", "healthcheck": {"test": ["CMD", "true"]}}
        },
    }
    engine = FakeEngine(images=dict(IMAGES))
    engine.healthy_after_start = False
    with pytest.raises(EngineError, match="still waiting for shop-dev-web-1 to be healthy"):
        _up_wait(write_stack(spec), engine, timeout=0.3)


def test_up_wait_waits_for_the_images_own_healthcheck(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr.errors import EngineError

    spec = {"name": "shop", "services": {"db": {"image": "checked:1", "restart": "always"}}}
    images = {**IMAGES, "checked:1": "sha256:222"}
    sick = FakeEngine(images=images, image_healthchecks={"checked:1"}, unhealthy={"db"})
    with pytest.raises(EngineError, match="shop-dev-db-1 is unhealthy"):
        _up_wait(write_stack(spec), sick)
    slow = FakeEngine(images=images, image_healthchecks={"checked:1"})
    slow.healthy_after_start = False
    with pytest.raises(EngineError, match="still waiting for shop-dev-db-1 to be healthy"):
        _up_wait(write_stack(spec), slow, timeout=0.3)


def test_up_wait_fails_on_a_crash_looping_service_instead_of_taking_it_for_up(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr.errors import EngineError

    spec = {"name": "shop", "services": {"crashy": {"image": "img:1", "restart": "always"}}}
    engine = FakeEngine(images=dict(IMAGES), restarting={"crashy"})
    with pytest.raises(EngineError, match=r"crashy-1 keeps exiting and being restarted \(3 times"):
        _up_wait(write_stack(spec), engine)


def test_up_wait_takes_a_container_for_running_once_it_ran_unrestarted(
    write_stack,
) -> None:  # type: ignore[no-untyped-def]
    import time

    from stackr.readiness import STEADY

    spec = {"name": "shop", "services": {"web": {"image": "img:1", "restart": "always"}}}
    engine = FakeEngine(images=dict(IMAGES))
    started = time.monotonic()
    _up_wait(write_stack(spec), engine)
    assert STEADY <= time.monotonic() - started < STEADY + 1.0


def test_failed_removal_of_a_recreate_fails_up(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr.errors import EngineError

    spec = {"name": "shop", "services": {"web": {"image": "img:1"}}}
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack(spec), engine)

    def refuse(name: str, **kwargs: object) -> None:
        raise EngineError("cannot remove")

    engine.remove_container = refuse  # type: ignore[method-assign, assignment]
    spec["services"]["web"]["environment"] = {"A": "1"}  # type: ignore[index]
    with pytest.raises(ApplyError) as caught:
        _up(write_stack(spec), engine)
    assert caught.value.failures == {"web (update)": "cannot remove"}


def test_a_fault_while_replacing_a_replica_puts_the_old_one_back_and_loses_no_volume(  # type: ignore[no-untyped-def]
    write_stack,
) -> None:
    from stackr.errors import EngineError

    spec = {"name": "shop", "services": {"db": {"image": "img:1", "volumes": ["/cache"]}}}
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack(spec), engine)
    create = engine.create_container

    def crash(container_spec):  # type: ignore[no-untyped-def]
        raise EngineError("injected fault")

    engine.create_container = crash  # type: ignore[method-assign]
    spec["services"]["db"]["environment"] = {"A": "1"}  # type: ignore[index]
    with pytest.raises(ApplyError, match="injected fault; rolled back"):
        _up(write_stack(spec), engine)
    (old,) = engine.containers.values()
    assert sorted(engine.containers) == ["shop-dev-db-1"]  # the old one serves again
    assert (old.state, dict(old.spec.environment)) == ("running", {})
    engine.create_container = create  # type: ignore[method-assign]
    _up(write_stack(spec), engine)
    (db,) = engine.containers.values()
    assert sorted(engine.containers) == ["shop-dev-db-1"]
    assert [m.source for m in db.spec.mounts] == ["anon-shop-dev-db-1-cache"]  # taken over


def test_wait_timeout_bounds_all_the_waits_of_a_run_together(write_stack) -> None:  # type: ignore[no-untyped-def]
    import time

    from stackr.apply import ApplyOptions
    from stackr.errors import EngineError
    from stackr.readiness import wait_until_ready

    spec = {
        "name": "shop",
        "services": {
            "web": {"image": "img:1", "restart": "always", "healthcheck": {"test": ["CMD", "true"]}}
        },
    }
    path = write_stack(spec)
    engine = FakeEngine(images=dict(IMAGES))
    engine.healthy_after_start = False
    _up(path, engine)
    # Earlier waits of the run used up its time: this one gives up at once, not after 60 s.
    options = ApplyOptions(wait_timeout=60, deadline=time.monotonic() + 0.2)
    started = time.monotonic()
    with pytest.raises(EngineError, match=r"--wait-timeout \(60s\) ran out; still waiting for"):
        wait_until_ready(
            api.load([str(path)], profile="dev", env={}).stack, engine, options=options
        )
    assert time.monotonic() - started < 5


def test_a_job_that_keeps_failing_under_on_failure_fails_its_dependents_soon(write_stack) -> None:  # type: ignore[no-untyped-def]
    import time

    from stackr.errors import ApplyError

    job = {"image": "img:1", "restart": "on-failure"}
    app = {"image": "img:1", "depends_on": {"migrate": {"condition": "completed"}}}
    path = write_stack({"name": "shop", "services": {"migrate": job, "app": app}})
    engine = FakeEngine(images=dict(IMAGES), restarting={"migrate"})
    loaded = api.load([str(path)], profile="dev", env={})
    started = time.monotonic()
    with pytest.raises(ApplyError, match="keeps exiting and being restarted"):
        api.up(loaded, engine, options=api.UpOptions(wait_timeout=60))
    assert time.monotonic() - started < 5  # not the 60 s of --wait-timeout
    assert "shop-dev-app-1" not in engine.containers


def test_a_job_that_on_failure_runs_again_and_then_completes_lets_its_dependents_start(  # type: ignore[no-untyped-def]
    write_stack,
) -> None:
    job = {"image": "img:1", "restart": "on-failure"}
    app = {"image": "img:1", "depends_on": {"migrate": {"condition": "completed"}}}
    path = write_stack({"name": "shop", "services": {"migrate": job, "app": app}})
    engine = FakeEngine(images=dict(IMAGES), recovering={"migrate": 2})  # fails, runs again
    loaded = api.load([str(path)], profile="dev", env={})
    result = api.up(loaded, engine, options=api.UpOptions(wait_timeout=5))
    assert result.result is not None and not result.result.failures()
    assert engine.containers["shop-dev-app-1"].state == "running"


def test_a_job_with_a_restart_limit_gets_every_try_it_asked_for(write_stack) -> None:  # type: ignore[no-untyped-def]
    # `on-failure:5`: five failed runs are the file's own tries, not a crash loop to give up on.
    job = {"image": "img:1", "restart": "on-failure:5"}
    app = {"image": "img:1", "depends_on": {"migrate": {"condition": "completed"}}}
    path = write_stack({"name": "shop", "services": {"migrate": job, "app": app}})
    engine = FakeEngine(images=dict(IMAGES), recovering={"migrate": 5})
    loaded = api.load([str(path)], profile="dev", env={})
    result = api.up(loaded, engine, options=api.UpOptions(wait_timeout=5))
    assert result.result is not None and not result.result.failures()
    assert engine.containers["shop-dev-app-1"].state == "running"


def test_a_recreated_network_with_dependencies_recreates_everything_on_it(write_stack) -> None:  # type: ignore[no-untyped-def]
    spec = {
        "name": "shop",
        "services": {
            "db": {"image": "img:1", "replicas": 2},
            "web": {
                "image": "img:1",
                "depends_on": ["db"],
                "update": {"order": "start-first", "drain": 0},
            },
        },
        "networks": {"default": {"labels": {"rev": "${NETV}"}}},
    }
    path = write_stack(spec)
    engine = FakeEngine(images=dict(IMAGES))
    options = api.UpOptions(jobs=4, wait_timeout=2)
    api.up(api.load([str(path)], profile="dev", env={"NETV": "1"}), engine, options=options)
    first = dict(engine.network_ids)
    loaded = api.load([str(path)], profile="dev", env={"NETV": "2"})
    web = api.plan(loaded, engine).action_for(ObjectKind.CONTAINER, "shop-dev-web-1")
    assert web is not None
    assert web.reason.endswith(
        "(stop-first: a recreated network must first lose every old container)"
    )
    result = api.up(loaded, engine, options=options)
    assert result.result is not None and not result.result.failures()
    assert engine.network_ids["shop-dev-default"] != first["shop-dev-default"]
    assert sorted(engine.containers) == ["shop-dev-db-1", "shop-dev-db-2", "shop-dev-web-1"]
    assert {c.state for c in engine.containers.values()} == {"running"}
    assert api.plan(loaded, engine).pending() == ()


def test_up_wait_takes_an_on_failure_container_that_exited_0_as_done(write_stack) -> None:  # type: ignore[no-untyped-def]
    spec = {"name": "shop", "services": {"seed": {"image": "img:1", "restart": "on-failure"}}}
    engine = FakeEngine(images=dict(IMAGES), exit_codes={"seed": 0})
    _up_wait(write_stack(spec), engine)
    assert engine.containers["shop-dev-seed-1"].state == "exited"


def _job_stack(version: str) -> dict[str, object]:
    migrate = {"image": "img:1", "restart": "no", "environment": {"V": version}}
    web = {"image": "img:1", "depends_on": {"migrate": {"condition": "completed"}}}
    return {"name": "shop", "services": {"migrate": migrate, "web": web}}


def test_a_changed_job_that_fails_fails_up_and_its_old_run_is_not_run_again(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES), exit_codes={"migrate": 0})
    _up(write_stack(_job_stack("1")), engine)
    web_id = id(engine.containers["shop-dev-web-1"])
    engine.exit_codes["migrate"] = 1
    engine.log.clear()
    with pytest.raises(ApplyError) as caught:
        _up(write_stack(_job_stack("2")), engine)
    assert "migrate (a job) failed at shop-dev-migrate-1" in str(caught.value)
    assert "exited with code 1" in str(caught.value)
    # The old run was not started again, nothing is left parked, and web was left alone.
    assert "start_container shop-dev-migrate-1-prev" not in engine.log
    assert sorted(engine.containers) == ["shop-dev-migrate-1", "shop-dev-web-1"]
    assert engine.containers["shop-dev-migrate-1"].spec.environment["V"] == "2"
    assert id(engine.containers["shop-dev-web-1"]) == web_id
    # The next up runs the new job again, and fails again while it fails.
    with pytest.raises(ApplyError, match="migrate"):
        _up(write_stack(_job_stack("2")), engine)
    engine.exit_codes["migrate"] = 0
    result = _up(write_stack(_job_stack("2")), engine)
    assert [a.describe() for a in result.plan.pending()] == [
        "start container shop-dev-migrate-1 — the job failed (exit code 1): it runs again"
    ]


def test_a_changed_job_still_running_is_not_done(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES), exit_codes={"migrate": 0})
    _up(write_stack(_job_stack("1")), engine)
    del engine.exit_codes["migrate"]  # the new run keeps running
    loaded = api.load([str(write_stack(_job_stack("2")))], profile="dev", env={})
    with pytest.raises(ApplyError, match="migrate"):
        api.up(loaded, engine, options=api.UpOptions(wait_timeout=0.3))


def _recreate_network_with_ctrl_c(
    write_stack, services: dict[str, object], *, after_parks: int, jobs: int
) -> tuple[FakeEngine, api.Loaded]:  # type: ignore[no-untyped-def]
    """Bring `services` up, change their network, and press Ctrl-C once `after_parks` old
    containers are parked; the `up` must raise KeyboardInterrupt."""
    import os
    import signal
    import time

    spec = {
        "name": "shop",
        "services": services,
        "networks": {"default": {"labels": {"rev": "${NETV}"}}},
    }
    path = write_stack(spec)
    engine = FakeEngine(images=dict(IMAGES))
    options = api.UpOptions(jobs=jobs, wait_timeout=2)
    api.up(api.load([str(path)], profile="dev", env={"NETV": "1"}), engine, options=options)
    rename = engine.rename_container
    parked: list[str] = []

    def rename_then_ctrl_c(name: str, new_name: str) -> None:
        rename(name, new_name)
        parked.append(new_name)
        if len(parked) == after_parks:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)

    engine.rename_container = rename_then_ctrl_c  # type: ignore[method-assign]
    loaded = api.load([str(path)], profile="dev", env={"NETV": "2"})
    with pytest.raises(KeyboardInterrupt):
        api.up(loaded, engine, options=options)
    engine.rename_container = rename  # type: ignore[method-assign]
    return engine, loaded


def test_ctrl_c_during_a_network_recreate_still_brings_the_parked_replicas_back(
    write_stack,
) -> None:  # type: ignore[no-untyped-def]
    # Ctrl-C once every old replica is parked, before the network goes.
    services = {"web": {"image": "img:1", "replicas": 2}}
    engine, loaded = _recreate_network_with_ctrl_c(write_stack, services, after_parks=2, jobs=4)
    assert sorted(engine.containers) == ["shop-dev-web-1", "shop-dev-web-2"]
    assert {c.state for c in engine.containers.values()} == {"running"}
    assert api.plan(loaded, engine).pending() == ()


def test_ctrl_c_while_old_containers_are_being_parked_completes_the_network_recreate(
    write_stack,
) -> None:  # type: ignore[no-untyped-def]
    # One worker: Ctrl-C after the first park, before the others began.
    services = {"web": {"image": "img:1", "replicas": 3}}
    engine, loaded = _recreate_network_with_ctrl_c(write_stack, services, after_parks=1, jobs=1)
    assert sorted(engine.containers) == ["shop-dev-web-1", "shop-dev-web-2", "shop-dev-web-3"]
    assert {c.state for c in engine.containers.values()} == {"running"}
    assert api.plan(loaded, engine).pending() == ()


def test_ctrl_c_during_a_network_recreate_still_waits_for_a_health_condition(
    write_stack,
) -> None:  # type: ignore[no-untyped-def]
    services = {
        "db": {"image": "img:1", "healthcheck": {"test": ["CMD", "true"]}},
        "web": {"image": "img:1", "depends_on": {"db": {"condition": "healthy"}}},
    }
    engine, loaded = _recreate_network_with_ctrl_c(write_stack, services, after_parks=2, jobs=4)
    assert sorted(engine.containers) == ["shop-dev-db-1", "shop-dev-web-1"]
    assert {c.state for c in engine.containers.values()} == {"running"}
    log = engine.log
    assert log.index("start_container shop-dev-db-1") < log.index("create_container shop-dev-web-1")
    assert api.plan(loaded, engine).pending() == ()


def test_a_failed_containers_last_output_shows_no_secret_value(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr.errors import EngineError

    env = {"DB_URL": "postgres://app:devpass123@db/app", "API_TOKEN": "tok-0123456789"}
    spec = {"name": "shop", "services": {"migrate": {"image": "img:1", "environment": env}}}
    engine = FakeEngine(images=dict(IMAGES), exit_codes={"migrate": 1})
    said = "migrating postgres://app:devpass123@db/app with tok-0123456789"
    engine.last_log_lines = lambda name, count: [said]  # type: ignore[method-assign]
    with pytest.raises(EngineError) as caught:
        _up_wait(write_stack(spec), engine)
    assert "migrating *** with ***" in str(caught.value)
    assert "devpass123" not in str(caught.value)


def test_a_failed_containers_last_output_shows_no_secret_read_from_a_file(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr.errors import EngineError

    migrate = {"image": "img:1", "secrets": ["db", "key"]}
    spec = {
        "name": "shop",
        "services": {"migrate": migrate},
        "secrets": {"db": {"file": "db.txt"}, "key": {"file": "key.pem"}},
    }
    path = write_stack(spec)
    (path.parent / "db.txt").write_text("file-secret-value-42\n")
    (path.parent / "key.pem").write_text(
        "-----BEGIN KEY-----\nc2VjcmV0LWtleS1ib2R5\n-----END KEY-----\n"
    )
    engine = FakeEngine(images=dict(IMAGES), exit_codes={"migrate": 1})
    said = "connecting with file-secret-value-42, key line c2VjcmV0LWtleS1ib2R5"
    engine.last_log_lines = lambda name, count: [said]  # type: ignore[method-assign]
    with pytest.raises(EngineError) as caught:
        _up_wait(path, engine)
    assert "connecting with ***, key line ***" in str(caught.value)


def test_a_recreated_network_parks_only_the_containers_on_it(write_stack) -> None:  # type: ignore[no-untyped-def]
    spec = {
        "name": "shop",
        "services": {
            "db": {"image": "img:1", "networks": ["back"], "environment": {"V": "${V}"}},
            "web": {
                "image": "img:1",
                "replicas": 2,
                "environment": {"V": "${V}"},
                "update": {"order": "start-first", "drain": 0},
            },
        },
        "networks": {"back": {"labels": {"rev": "${V}"}}},
    }
    path = write_stack(spec)
    engine = FakeEngine(images=dict(IMAGES))
    options = api.UpOptions(jobs=4, wait_timeout=2)
    api.up(api.load([str(path)], profile="dev", env={"V": "1"}), engine, options=options)
    loaded = api.load([str(path)], profile="dev", env={"V": "2"})
    the_plan = api.plan(loaded, engine)
    db = the_plan.action_for(ObjectKind.CONTAINER, "shop-dev-db-1")
    web = the_plan.action_for(ObjectKind.CONTAINER, "shop-dev-web-1")
    assert db is not None and db.parked
    assert web is not None and not web.parked and web.reason.endswith("(start-first: no downtime)")
    engine.log.clear()
    result = api.up(loaded, engine, options=options)
    assert result.result is not None and not result.result.failures()
    assert "create_container shop-dev-web-1-next" in engine.log  # web kept serving
    assert "rename_container shop-dev-db-1 shop-dev-db-1-prev" in engine.log
    assert api.plan(loaded, engine).pending() == ()


def _two_images() -> dict[str, str]:
    return {**IMAGES, "img:2": "sha256:222"}


def test_ctrl_c_after_a_park_began_still_replaces_what_depends_on_a_rollout(write_stack) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal
    import time

    def spec(version: int) -> dict[str, object]:
        web = {"image": "img:1", "networks": ["front", "back"], "depends_on": ["db"]}
        return {
            "name": "shop",
            "services": {"db": {"image": f"img:{version}", "networks": ["back"]}, "web": web},
            "networks": {"front": {"labels": {"rev": f"{version}"}}, "back": {}},
        }

    engine = FakeEngine(images=_two_images())
    options = api.UpOptions(jobs=4, wait_timeout=2)
    api.up(api.load([str(write_stack(spec(1)))], profile="dev", env={}), engine, options=options)
    loaded = api.load([str(write_stack(spec(2)))], profile="dev", env={})
    rename, stop = engine.rename_container, engine.stop_container

    def rename_then_ctrl_c(name: str, new_name: str) -> None:
        rename(name, new_name)
        if name == "shop-dev-web-1":  # web parked, db's rollout still stopping its replica
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.3)

    def slow_stop(name: str, *, timeout: float) -> None:
        if name == "shop-dev-db-1":
            time.sleep(0.5)
        stop(name, timeout=timeout)

    engine.rename_container = rename_then_ctrl_c  # type: ignore[method-assign]
    engine.stop_container = slow_stop  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        api.up(loaded, engine, options=options)
    assert sorted(engine.containers) == ["shop-dev-db-1", "shop-dev-web-1"]
    assert {c.state for c in engine.containers.values()} == {"running"}


def test_ctrl_c_before_any_park_began_stops_nothing_of_a_network_recreate(write_stack) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal
    import time

    def spec(version: int, *, old: bool) -> dict[str, object]:
        services: dict[str, object] = {"web": {"image": "img:1", "replicas": 2}}
        networks: dict[str, object] = {"default": {"labels": {"rev": f"{version}"}}}
        if old:
            services["old"] = {"image": "img:1", "networks": ["other"]}
            networks["other"] = {}
        return {"name": "shop", "services": services, "networks": networks}

    engine = FakeEngine(images=dict(IMAGES))
    options = api.UpOptions(jobs=1, wait_timeout=2)
    api.up(
        api.load([str(write_stack(spec(1, old=True)))], profile="dev", env={}),
        engine,
        options=options,
    )
    loaded = api.load([str(write_stack(spec(2, old=False)))], profile="dev", env={})
    remove = engine.remove_container

    def remove_then_ctrl_c(name: str, **kwargs: object) -> None:
        remove(name, **kwargs)  # type: ignore[arg-type]
        if name == "shop-dev-old-1":  # the orphan goes first, one worker: nothing parked yet
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.3)

    engine.remove_container = remove_then_ctrl_c  # type: ignore[method-assign]
    engine.log.clear()
    with pytest.raises(KeyboardInterrupt):
        api.up(loaded, engine, options=options)
    assert not any(line.startswith("stop_container shop-dev-web") for line in engine.log)
    assert {engine.containers[f"shop-dev-web-{n}"].state for n in (1, 2)} == {"running"}


def test_replicas_attached_differently_are_each_replaced_once(write_stack) -> None:  # type: ignore[no-untyped-def]
    def spec(version: int, networks: list[str]) -> dict[str, object]:
        return {
            "name": "shop",
            "services": {
                "web": {"image": "img:1", "replicas": 2, "networks": networks},
                "other": {"image": "img:1", "networks": ["front"]},
            },
            "networks": {"front": {"labels": {"rev": f"{version}"}}, "back": {}},
        }

    engine = FakeEngine(images=dict(IMAGES))
    options = api.UpOptions(jobs=4, wait_timeout=2)
    first = write_stack(spec(1, ["front", "back"]))
    api.up(api.load([str(first)], profile="dev", env={}), engine, options=options)
    web1 = engine.containers["shop-dev-web-1"]
    web1.networks = [n for n in web1.networks if n != "shop-dev-front"]  # disconnected by hand
    loaded = api.load([str(write_stack(spec(2, ["back"])))], profile="dev", env={})
    engine.log.clear()
    result = api.up(loaded, engine, options=options)
    assert result.result is not None and not result.result.failures()
    assert engine.log.count("stop_container shop-dev-web-2") == 1
    assert sorted(engine.containers) == ["shop-dev-other-1", "shop-dev-web-1", "shop-dev-web-2"]
    assert api.plan(loaded, engine).pending() == ()


def test_up_wait_fails_at_once_on_a_container_found_crash_looping(write_stack) -> None:  # type: ignore[no-untyped-def]
    import time

    from stackr.errors import EngineError

    spec = {"name": "shop", "services": {"crashy": {"image": "img:1", "restart": "always"}}}
    path = write_stack(spec)
    engine = FakeEngine(images=dict(IMAGES))
    _up(path, engine)
    crashy = engine.containers["shop-dev-crashy-1"]
    crashy.state, crashy.restarts = "restarting", 8  # it has been crashing for a while
    engine.healthy_after_start = True
    started = time.monotonic()
    with pytest.raises(EngineError, match="keeps exiting and being restarted"):
        _up_wait(path, engine, timeout=60)
    assert time.monotonic() - started < 1


RESTARTING = {
    "name": "shop",
    "services": {
        "db": {"image": "img:1", "healthcheck": {"test": ["CMD", "true"]}},
        "web": {
            "image": "img:1",
            "replicas": 2,
            "depends_on": {"db": {"condition": "healthy", "restart": True}},
        },
        "cache": {"image": "img:1"},
        "worker": {"image": "img:1", "depends_on": {"db": {"condition": "started"}}},
    },
}


def test_a_recreated_dependency_restarts_its_restart_true_dependents_once_ready(
    write_stack,
) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack(RESTARTING), engine)
    changed = {**RESTARTING, "services": {**RESTARTING["services"]}}
    changed["services"]["db"] = {**RESTARTING["services"]["db"], "environment": {"V": "2"}}  # type: ignore[index,dict-item]
    path = write_stack(changed)
    loaded = api.load([str(path)], profile="dev", env={})
    plan = api.plan(loaded, engine)
    kinds = {
        a.name: (a.kind.value, a.reason) for a in plan.actions if a.object is ObjectKind.CONTAINER
    }
    assert kinds["shop-dev-web-1"] == (
        "restart",
        "restart: true on its dependency: db is recreated",
    )
    assert kinds["shop-dev-web-2"][0] == "restart"
    # Without restart: true, or without depending on db, a container is kept.
    assert kinds["shop-dev-worker-1"][0] == "keep"
    assert kinds["shop-dev-cache-1"][0] == "keep"
    engine.log.clear()
    result = _up(path, engine)
    log = engine.log
    # The same containers, stopped and started again once the new db has started.
    ready = log.index("start_container shop-dev-db-1")
    for n in (1, 2):
        stop = log.index(f"stop_container shop-dev-web-{n}")
        assert ready < stop < log.index(f"start_container shop-dev-web-{n}")
        assert f"create_container shop-dev-web-{n}" not in log
    assert "stop_container shop-dev-worker-1" not in log
    assert result.plan.counts()[ActionKind.RESTART] == 2
    # Nothing to do the next time.
    assert api.plan(api.load([str(path)], profile="dev", env={}), engine).pending() == ()


def test_a_dependent_recreated_itself_is_not_restarted_too(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack(RESTARTING), engine)
    changed = {**RESTARTING, "services": {**RESTARTING["services"]}}
    changed["services"]["db"] = {**RESTARTING["services"]["db"], "environment": {"V": "2"}}  # type: ignore[index,dict-item]
    changed["services"]["web"] = {**RESTARTING["services"]["web"], "environment": {"V": "2"}}  # type: ignore[index,dict-item]
    plan = api.plan(api.load([str(write_stack(changed))], profile="dev", env={}), engine)
    web = [a.kind.value for a in plan.actions if a.service == "web"]
    assert web == ["recreate", "recreate"]


def test_a_restart_an_up_that_failed_did_not_make_is_made_by_the_next(write_stack) -> None:  # type: ignore[no-untyped-def]
    spec = {
        "name": "shop",
        "services": {
            "db": {"image": "img:1", "healthcheck": {"test": ["CMD", "true"]}},
            "cache": {"image": "img:1", "healthcheck": {"test": ["CMD", "true"]}},
            "web": {
                "image": "img:1",
                "depends_on": {
                    "db": {"condition": "healthy", "restart": True},
                    "cache": {"condition": "healthy"},
                },
            },
        },
    }
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack(spec), engine)
    assert engine.calls["start_times"] == 0  # web was made after db: the list call tells
    spec["services"]["db"]["environment"] = {"V": "2"}  # type: ignore[index]
    spec["services"]["cache"]["environment"] = {"V": "2"}  # type: ignore[index]
    path = write_stack(spec)
    engine.unhealthy_names.add("shop-dev-cache-1")  # cache's update fails: web is skipped
    with pytest.raises(ApplyError):
        _up(path, engine)
    assert "stop_container shop-dev-web-1" not in engine.log
    engine.unhealthy_names.clear()
    plan = api.plan(api.load([str(path)], profile="dev", env={}), engine)
    web = plan.action_for(ObjectKind.CONTAINER, "shop-dev-web-1")
    assert web is not None
    assert (web.kind, web.reason) == (
        ActionKind.RESTART,
        "restart: true on its dependency: db was recreated after it last started",
    )
    _up(path, engine)
    # Restarted after the new db was made: nothing to do any more, though the times are
    # looked up again (the list call's seconds cannot tell).
    engine.calls.clear()
    plan = api.plan(api.load([str(path)], profile="dev", env={}), engine)
    assert [a.describe() for a in plan.pending()] == []
    assert engine.calls["start_times"] == 1


def test_a_replica_the_dependency_gains_restarts_nothing(write_stack) -> None:  # type: ignore[no-untyped-def]
    engine = FakeEngine(images=dict(IMAGES))
    _up(write_stack(RESTARTING), engine)
    scaled = {**RESTARTING, "services": {**RESTARTING["services"]}}
    scaled["services"]["db"] = {**RESTARTING["services"]["db"], "replicas": 2}  # type: ignore[index,dict-item]
    plan = api.plan(api.load([str(write_stack(scaled))], profile="dev", env={}), engine)
    assert [(a.kind.value, a.name) for a in plan.pending()] == [("create", "shop-dev-db-2")]


def test_a_dependency_recreated_in_part_restarts_its_dependents(write_stack) -> None:  # type: ignore[no-untyped-def]
    spec = {
        **RESTARTING,
        "services": {
            **RESTARTING["services"],
            "db": {**RESTARTING["services"]["db"], "replicas": 2},  # type: ignore[dict-item]
        },
    }
    engine = FakeEngine(images=dict(IMAGES))
    path = write_stack(spec)
    _up(path, engine)
    # db-1 drifted off its network: recreated alone, and web restarts, as Compose would.
    engine.containers["shop-dev-db-1"].networks.clear()
    plan = api.plan(api.load([str(path)], profile="dev", env={}), engine)
    assert [(a.kind.value, a.name) for a in plan.pending()] == [
        ("recreate", "shop-dev-db-1"),
        ("restart", "shop-dev-web-1"),
        ("restart", "shop-dev-web-2"),
    ]
    _up(path, engine)
    assert api.plan(api.load([str(path)], profile="dev", env={}), engine).pending() == ()
