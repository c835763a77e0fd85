"""Compose's `deploy` section: read into stackr's own keys, so a Compose file runs as it is, and
the same service written either way is the same spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stackr import api
from stackr.desired import canonical_container, desired_state
from stackr.errors import SpecError
from stackr.spec.model import RestartPolicy, Service, UpdateOrder


def _service(write_stack: Any, **web: Any) -> Service:
    path: Path = write_stack({"name": "shop", "services": {"web": {"image": "shop/web:1", **web}}})
    return api.load([str(path)], profile="dev", env={}).stack.services["web"]


def _issues(write_stack: Any, **web: Any) -> list[str]:
    with pytest.raises(SpecError) as refused:
        _service(write_stack, **web)
    return [f"{i.path}: {i.message}" for i in refused.value.issues]


def test_deploy_reads_into_stackrs_own_keys(write_stack: Any) -> None:
    web = _service(
        write_stack,
        deploy={
            "mode": "replicated",
            "replicas": 3,
            "resources": {
                "limits": {"cpus": "0.5", "memory": "256m", "pids": 100},
                "reservations": {"memory": "128m"},
            },
            "update_config": {"parallelism": 2, "order": "start-first", "delay": "1s"},
            "restart_policy": {"condition": "on-failure", "max_attempts": 3},
        },
    )
    assert web.replicas == 3
    assert (web.resources.cpus, web.resources.memory) == (0.5, 256 * 1024**2)
    assert (web.runtime.pids_limit, web.runtime.mem_reservation) == (100, 128 * 1024**2)
    assert (web.update.parallelism, web.update.order, web.update.delay) == (
        2,
        UpdateOrder.START_FIRST,
        1.0,
    )
    assert (web.restart, web.restart_tries) == (RestartPolicy.ON_FAILURE, 3)


@pytest.mark.parametrize(
    ("condition", "restart"),
    [("none", RestartPolicy.NO), ("any", RestartPolicy.ALWAYS), (None, RestartPolicy.ALWAYS)],
)
def test_a_restart_condition_reads_as_compose_maps_it(
    write_stack: Any, condition: str | None, restart: RestartPolicy
) -> None:
    policy = {"condition": condition} if condition else {}
    assert _service(write_stack, deploy={"restart_policy": policy}).restart is restart


def test_a_service_written_either_way_is_one_spec(write_stack: Any) -> None:
    def container(**web: Any) -> dict[str, Any]:
        spec = {"name": "shop", "services": {"web": {"image": "shop/web:1", **web}}}
        stack = api.load([str(write_stack(spec))], profile="dev", env={}).stack
        return canonical_container(desired_state(stack).containers["shop-dev-web-1"])

    limits = {"cpus": 1, "memory": "1g"}
    assert container(deploy={"resources": {"limits": limits}}) == container(resources=limits)
    assert container(mem_limit="1g", cpus=1) == container(resources=limits)
    # 0 is no limit, as the engine reads it and Compose writes it: the same as none given.
    assert container(mem_limit=0, cpus=0) == container() == container(resources={"memory": 0})


def test_one_value_given_both_ways_is_refused_when_they_differ(write_stack: Any) -> None:
    assert _issues(write_stack, replicas=3, deploy={"replicas": 2}) == [
        "services.web.deploy.replicas: deploy.replicas (2) and replicas (3) say different things"
    ]
    # The same value twice is no conflict; the rest of a section still reads.
    web = _service(
        write_stack,
        replicas=2,
        resources={"cpus": 1},
        deploy={"replicas": 2, "resources": {"limits": {"cpus": 1, "memory": "1g"}}},
    )
    assert (web.replicas, web.resources.cpus, web.resources.memory) == (2, 1.0, 1024**3)
    # Two spellings of one value agree, and update_config adds to update key by key.
    web = _service(
        write_stack,
        replicas="2",
        resources={"memory": "1g", "cpus": "1.0"},
        update={"order": "start-first", "delay": "700ms"},
        deploy={
            "replicas": 2,
            "resources": {"limits": {"memory": "1024m", "cpus": 1}},
            "update_config": {"order": "start-first", "parallelism": 2, "delay": "0.7s"},
        },
    )
    assert (web.replicas, web.resources.memory, web.update.parallelism) == (2, 1024**3, 2)


def test_scale_mem_limit_and_cpus_read_as_replicas_and_resources(write_stack: Any) -> None:
    # Compose's own spellings at the service's top, as its older files write them.
    web = _service(write_stack, scale=3, mem_limit="512m", cpus="0.5")
    assert (web.replicas, web.resources.memory, web.resources.cpus) == (3, 512 * 1024**2, 0.5)
    # Agreeing with the other spellings, they are one value; differing, refused where written.
    web = _service(
        write_stack,
        scale=2,
        replicas=2,
        mem_limit="1g",
        deploy={"resources": {"limits": {"memory": "1024m"}}},
    )
    assert (web.replicas, web.resources.memory) == (2, 1024**3)
    assert _issues(
        write_stack, mem_limit="1g", resources={"memory": "2g"}, scale=2, deploy={"replicas": 3}
    ) == [
        "services.web.mem_limit: mem_limit (1g) and resources.memory (2g) say different things",
        "services.web.deploy.replicas: deploy.replicas (3) and scale (2) say different things",
    ]


def test_restart_gives_way_to_restart_policy_with_a_warning(write_stack: Any) -> None:
    path = write_stack(
        {
            "name": "shop",
            "services": {
                "web": {
                    "image": "shop/web:1",
                    "restart": "always",
                    "deploy": {"restart_policy": {"condition": "on-failure"}},
                }
            },
        }
    )
    stack = api.load([str(path)], profile="dev", env={}).stack
    assert stack.services["web"].restart is RestartPolicy.ON_FAILURE
    (warning,) = stack.warnings
    assert warning.path == "services.web.restart"
    assert "gives way to deploy.restart_policy (on-failure)" in warning.message


def test_what_only_a_swarm_does_is_refused_with_a_hint(write_stack: Any) -> None:
    with pytest.raises(SpecError) as refused:
        _service(
            write_stack,
            deploy={
                "mode": "global",
                "placement": {"constraints": ["node.role==manager"]},
                "restart_policy": {"condition": "any", "max_attempts": 2},
            },
        )
    said = {i.path: (i.message, i.hint) for i in refused.value.issues}
    assert said["services.web.deploy.placement"][1].startswith("a swarm's")
    assert "services.web.deploy.mode" in said
    # max_attempts goes with on-failure only: checked once the section's shape is right.
    assert _issues(write_stack, deploy={"restart_policy": {"condition": "any", "max_attempts": 2}})
    assert _issues(write_stack, deploy={"resources": {"limits": {"memory": "99999999999g"}}}) == [
        "services.web.deploy.resources.limits.memory: '99999999999g' is far too large"
    ]
