"""Compose's runtime options (`stop_signal`, `init`, `tmpfs`, `ulimits`, `logging`, ...): how
they read, how a change to one shows in a plan, and that a container without them keeps the
spec hash it had before stackr knew them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakes import FakeEngine

from stackr import api
from stackr.desired import canonical_container, desired_state
from stackr.errors import SpecError
from stackr.plan import ActionKind, ObjectKind
from stackr.spec import load_stack
from stackr.spec.runopts import LogConfig, Runtime
from stackr.spec.runtime import signal, ulimit
from stackr.spec.values import ValueProblem

IMAGES = {"shop/web:1": "sha256:aaa"}


def _service(write_stack: Any, **runtime: Any) -> Path:
    path: Path = write_stack({"services": {"web": {"image": "shop/web:1", **runtime}}})
    return path


def _runtime(path: Path) -> Runtime:
    return api.load([str(path)], profile="dev", env={}).stack.services["web"].runtime


def test_every_option_reads_into_the_engines_terms(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = _service(
        write_stack,
        stop_signal="INT",
        init=False,
        shm_size="64m",
        dns="10.0.0.2",
        extra_hosts={"db.internal": "10.0.0.5", "v6": "[::1]", "gw": "host-gateway"},
        tmpfs=["/run/", "/tmp:size=1m"],
        sysctls={"net.core.somaxconn": 1024},
        ulimits={"nofile": {"soft": 10, "hard": 20}, "core": -1},
        logging={"options": {"max-size": "1m", "max-file": 3}},
    )
    assert _runtime(path) == Runtime(
        stop_signal="SIGINT",
        init=False,
        shm_size=64 * 1024**2,
        dns=("10.0.0.2",),
        extra_hosts=("db.internal:10.0.0.5", "gw:host-gateway", "v6:::1"),  # by host
        tmpfs={"/run": "", "/tmp": "size=1m"},
        sysctls={"net.core.somaxconn": "1024"},
        ulimits={"nofile": (10, 20), "core": (-1, -1)},
        logging=LogConfig(options={"max-size": "1m", "max-file": "3"}),
    )


@pytest.mark.parametrize(
    ("written", "signal_name"),
    [
        ("SIGTERM", "SIGTERM"),
        ("TERM", "SIGTERM"),
        ("sigterm", "SIGTERM"),
        (15, "SIGTERM"),
        ("35", "35"),
    ],
)
def test_a_signal_reads_as_one_spelling(written: object, signal_name: str) -> None:
    assert signal(written) == signal_name


def test_an_unlimited_hard_limit_takes_any_soft_one_but_not_the_other_way() -> None:
    assert ulimit({"soft": 1024, "hard": -1}) == (1024, -1)
    with pytest.raises(ValueProblem, match="soft limit -1 is above hard limit 1024"):
        ulimit({"soft": -1, "hard": 1024})


def test_a_container_without_them_keeps_its_spec_hash(write_stack) -> None:  # type: ignore[no-untyped-def]
    # Known before these options existed: adding them to stackr recreates nothing.
    plain = desired_state(api.load([str(_service(write_stack))], profile="dev", env={}).stack)
    canonical = canonical_container(plain.containers["shop-dev-web-1"])
    assert not set(canonical) & set(Runtime.__slots__)


def test_a_changed_option_recreates_and_the_plan_says_which(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = _service(write_stack, init=True, ulimits={"nofile": 1024}, tmpfs="/run")
    engine = FakeEngine(images=dict(IMAGES))
    api.up(api.load([str(path)], profile="dev", env={}), engine, options=api.UpOptions())
    _service(write_stack, init=False, ulimits={"nofile": 2048}, tmpfs="/run:size=1m")
    plan = api.plan(api.load([str(path)], profile="dev", env={}), engine)
    action = plan.action_for(ObjectKind.CONTAINER, "shop-dev-web-1")
    assert action is not None and action.kind is ActionKind.RECREATE
    assert action.change_lines() == (
        "init: true → false",
        'tmpfs./run: "" → size=1m',
        "ulimits.nofile: [1024, 1024] → [2048, 2048]",
    )


def test_a_log_options_secret_is_not_stored(write_stack) -> None:  # type: ignore[no-untyped-def]
    token = "d3adb33f-splunk-hec"
    path = _service(write_stack, logging={"driver": "splunk", "options": {"splunk-token": token}})
    engine = FakeEngine(images=dict(IMAGES))
    api.up(api.load([str(path)], profile="dev", env={}), engine, options=api.UpOptions())
    stored = engine.containers["shop-dev-web-1"].spec.labels["io.stackr.spec"]
    assert token not in stored
    assert "splunk-token" in stored


def test_sets_of_options_written_otherwise_are_one_spec(write_stack) -> None:  # type: ignore[no-untyped-def]
    first = _runtime(
        _service(write_stack, cap_add=["CAP_NET_ADMIN", "SYS_TIME"], group_add=["b", "a"])
    )
    second = _runtime(
        _service(write_stack, cap_add=["SYS_TIME", "NET_ADMIN"], group_add=["a", "b"])
    )
    assert first == second
    assert first.cap_add == ("NET_ADMIN", "SYS_TIME")


# Spec hashes of an ordinary stack as stackr made them before its runtime options, external
# networks and volumes, and restart limits: an upgrade must recreate nothing of it.
_HASHES_BEFORE = {
    "shop-dev-back": "2cc4c223d2c9fae3bc63",
    "shop-dev-data": "31d1aa3a0c78cfc23d6e",
    "shop-dev-db-1": "061bef09c5c3ffa56876",
    "shop-dev-front": "85f626f3cc9990ff38e7",
    "shop-dev-web-1": "57d24151da863631752b",
}


def test_an_ordinary_stack_keeps_the_spec_hashes_it_had(write_stack) -> None:  # type: ignore[no-untyped-def]
    web = {
        "image": "shop/web:1",
        "command": ["httpd", "-f"],
        "environment": {"LOG_LEVEL": "info"},
        "ports": ["8080:80"],
        "volumes": ["data:/data", "/cache", "/srv/conf:/etc/conf:ro"],
        "networks": ["front", "back"],
        "healthcheck": {"test": ["CMD", "true"], "interval": "2s"},
        "restart": "unless-stopped",
        "resources": {"cpus": 0.5, "memory": "256m"},
        "stop_grace_period": "5s",
    }
    db = {"image": "shop/db:1", "networks": {"back": {"aliases": ["database"]}}}
    path = write_stack(
        {
            "name": "shop",
            "services": {"web": web, "db": db},
            "volumes": {"data": {}},
            "networks": {"front": {}, "back": {"internal": True}},
        }
    )
    desired = desired_state(api.load([str(path)], profile="dev", env={}).stack)
    objects = {**desired.containers, **desired.networks, **desired.volumes}
    assert {n: s.labels["io.stackr.spec-hash"] for n, s in objects.items()} == _HASHES_BEFORE


def test_spellings_the_engine_reads_alike_are_one_spec(write_stack) -> None:  # type: ignore[no-untyped-def]
    written = _runtime(
        _service(
            write_stack,
            read_only=False,
            tty=False,
            devices=["/dev/null"],
            tmpfs=["/run:size=16m,mode=1777"],
        )
    )
    spelled = _runtime(
        _service(
            write_stack, devices=["/dev/null:/dev/null:rwm"], tmpfs=["/run:mode=1777,size=16m"]
        )
    )
    assert written == spelled
    assert (written.read_only, written.devices) == (None, ("/dev/null:/dev/null:rwm",))


def test_extra_hosts_in_another_order_are_the_same_spec(write_stack) -> None:  # type: ignore[no-untyped-def]
    def hosts(written: object) -> tuple[str, ...]:
        path = write_stack({"services": {"a": {"image": "img:1", "extra_hosts": written}}})
        return load_stack([str(path)], profile="dev", env={}).services["a"].runtime.extra_hosts

    mapping = hosts({"h2": "10.0.0.2", "h1": "10.0.0.1"})
    assert mapping == hosts({"h1": "10.0.0.1", "h2": "10.0.0.2"}) == ("h1:10.0.0.1", "h2:10.0.0.2")
    assert hosts(["h2:10.0.0.2", "h1=10.0.0.1"]) == mapping
    # A host given twice keeps its first address first: that is the one a lookup finds.
    assert hosts(["h:10.0.0.9", "a:10.0.0.1", "h:10.0.0.8"]) == (
        "a:10.0.0.1",
        "h:10.0.0.9",
        "h:10.0.0.8",
    )


def test_a_container_made_with_extra_hosts_unsorted_is_kept(write_stack) -> None:  # type: ignore[no-untyped-def]
    # An earlier stackr kept them as written: its containers stay, though the hash now differs.
    import json
    from dataclasses import replace

    from stackr.observed import LABEL_SPEC, LABEL_SPEC_HASH

    hosts = ["h2:10.0.0.2", "h1:10.0.0.1"]
    path = write_stack({"services": {"a": {"image": "img:1", "extra_hosts": hosts}}})
    engine = FakeEngine(images={"img:1": "sha256:1"})
    api.up(api.load([str(path)], profile="dev", env={}), engine, options=api.UpOptions())
    container = engine.containers["shop-dev-a-1"]
    made = json.loads(container.spec.labels[LABEL_SPEC])
    assert made["extra_hosts"] == ["h1:10.0.0.1", "h2:10.0.0.2"]
    as_before = {**made, "extra_hosts": hosts}
    labels = {
        **container.spec.labels,
        LABEL_SPEC: json.dumps(as_before, sort_keys=True, separators=(",", ":")),
        LABEL_SPEC_HASH: "sha256:made-by-an-earlier-stackr",
    }
    container.spec = replace(container.spec, labels=labels)
    assert api.plan(api.load([str(path)], profile="dev", env={}), engine).pending() == ()
    # A real change of them is one all the same.
    write_stack({"services": {"a": {"image": "img:1", "extra_hosts": ["h1:10.0.0.9"]}}})
    (action,) = api.plan(api.load([str(path)], profile="dev", env={}), engine).pending()
    assert action.reason == "its spec changed"


def test_a_container_made_with_a_memory_limit_of_0_is_kept(write_stack) -> None:  # type: ignore[no-untyped-def]
    # An earlier stackr kept `memory: 0`; 0 is no limit, as leaving it out now is.
    import json
    from dataclasses import replace

    from stackr.observed import LABEL_SPEC, LABEL_SPEC_HASH

    path = write_stack({"services": {"a": {"image": "img:1", "resources": {"memory": 0}}}})
    engine = FakeEngine(images={"img:1": "sha256:1"})
    api.up(api.load([str(path)], profile="dev", env={}), engine, options=api.UpOptions())
    container = engine.containers["shop-dev-a-1"]
    made = json.loads(container.spec.labels[LABEL_SPEC])
    assert made["memory"] is None
    labels = {
        **container.spec.labels,
        LABEL_SPEC: json.dumps({**made, "memory": 0}, sort_keys=True, separators=(",", ":")),
        LABEL_SPEC_HASH: "sha256:made-by-an-earlier-stackr",
    }
    container.spec = replace(container.spec, labels=labels)
    assert api.plan(api.load([str(path)], profile="dev", env={}), engine).pending() == ()


def test_exposed_ports_read_as_one_spelling_each(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = _service(write_stack, expose=["9000-9002", 80, "53/udp", "80/tcp", "80"])
    runtime = _runtime(path)
    # 80, "80" and "80/tcp" are one port; in any order, the same spec.
    assert runtime.expose == ("53/udp", "80/tcp", "9000-9002/tcp")
    assert runtime.exposed_ports() == (
        (53, "udp"),
        (80, "tcp"),
        (9000, "tcp"),
        (9001, "tcp"),
        (9002, "tcp"),
    )
    again = _runtime(_service(write_stack, expose=["80", "9000-9002/tcp", "53/udp"]))
    assert again == runtime
    # A range or its ports one by one, overlapping or not: the ports the engine exposes.
    ports = _runtime(_service(write_stack, expose=[9001, "80", 9002, "9000-9001", "53/udp"]))
    assert ports == runtime
    with pytest.raises(SpecError, match=r"8080\.0 is not a port"):
        _runtime(_service(write_stack, expose=[8080.0]))


def test_an_exposed_port_added_recreates_and_the_plan_says_so(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = _service(write_stack)
    engine = FakeEngine(images=dict(IMAGES))
    api.up(api.load([str(path)], profile="dev", env={}), engine, options=api.UpOptions())
    _service(write_stack, expose=[8080])
    plan = api.plan(api.load([str(path)], profile="dev", env={}), engine)
    action = plan.action_for(ObjectKind.CONTAINER, "shop-dev-web-1")
    assert action is not None and action.kind is ActionKind.RECREATE
    assert action.change_lines() == ('expose: (unset) → ["8080/tcp"]',)


def test_engine_options_read_as_the_engine_takes_them(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = _service(
        write_stack,
        platform="linux/arm64/v8",
        runtime="runsc",
        cgroup_parent="/jobs",
        userns_mode="host",
        memswap_limit="1g",
        resources={"memory": "512m"},
    )
    runtime = _runtime(path)
    assert (runtime.platform, runtime.runtime, runtime.cgroup_parent, runtime.userns_mode) == (
        "linux/arm64/v8",
        "runsc",
        "/jobs",
        "host",
    )
    assert runtime.memswap_limit == 1024**3
    # -1, written as a number or (from a variable) as text: swap without limit.
    for unlimited in (-1, "-1", -1.0):
        swap = _runtime(_service(write_stack, memswap_limit=unlimited)).memswap_limit
        assert swap == -1
    # 0 is no limit set, as the engine reads it: the same spec as leaving it out.
    assert _runtime(_service(write_stack, memswap_limit=0)).memswap_limit is None


def test_cpu_and_namespace_options_read_as_the_engine_takes_them(write_stack) -> None:  # type: ignore[no-untyped-def]
    runtime = _runtime(
        _service(
            write_stack,
            cpuset="0-1",
            cpu_period="100000",
            cpu_quota=50000,
            mem_swappiness=0,
            oom_kill_disable=True,
            uts="host",
            cgroup="private",
            dns_opt=["ndots:2"],
            device_cgroup_rules=["c 1:3 mr", "a *:* r", "c 1:3 rm"],
        )
    )
    assert (runtime.cpuset, runtime.cpu_period, runtime.cpu_quota) == ("0-1", 100000, 50000)
    assert (runtime.mem_swappiness, runtime.oom_kill_disable) == (0, True)
    assert (runtime.uts, runtime.cgroup, runtime.dns_opt) == ("host", "private", ("ndots:2",))
    # A set, as the engine's: `mr` and `rm` grant one access.
    assert runtime.device_cgroup_rules == ("a *:* r", "c 1:3 rm")
    # 0, and false, as the engine reads them: not set, the same spec as leaving them out.
    unset = _runtime(_service(write_stack, cpu_period=0, cpu_quota=-1, oom_kill_disable=False))
    assert (unset.cpu_period, unset.cpu_quota, unset.oom_kill_disable) == (None, None, None)
    assert unset.written() == {}


def test_whole_numbers_from_variables_are_held_to_their_ranges(write_stack) -> None:  # type: ignore[no-untyped-def]
    path = _service(
        write_stack,
        mem_swappiness="${SW:-500}",
        cpu_period="${P:-5000000}",
        oom_score_adj="-5000",
        pids_limit="${PIDS:-200}",
    )
    with pytest.raises(SpecError) as refused:
        _runtime(path)
    assert [f"{i.path}: {i.message}" for i in refused.value.issues] == [
        "services.web.mem_swappiness: must be at most 100, got 500",
        "services.web.cpu_period: must be at most 1000000, got 5000000",
        "services.web.oom_score_adj: must be at least -1000, got -5000",
    ]


def test_a_backward_cpuset_and_a_cpu_weight_of_1_are_refused_and_0_is_the_default(
    write_stack,
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpecError) as refused:
        _runtime(_service(write_stack, cpuset="0,3-1", cpu_shares=1))
    assert [f"{i.path}: {i.message}" for i in refused.value.issues] == [
        "services.web.cpuset: the range 3-1 of cpuset runs backwards",
        "services.web.cpu_shares: cpu_shares must be at least 2",
    ]
    assert _runtime(_service(write_stack, cpu_shares=0)).cpu_shares is None


def test_cpu_and_uts_options_the_engine_refuses_together_are_refused_at_load(write_stack) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpecError) as refused:
        _runtime(
            _service(
                write_stack,
                cpus=0.5,
                cpu_quota=500,
                uts="host",
                domainname="example.internal",
            )
        )
    assert [f"{i.path}: {i.message}" for i in refused.value.issues] == [
        "services.web.cpu_quota: cpu_quota and resources.cpus (0.5) are two ways to limit the "
        "CPU time, and the engine takes only one",
        "services.web.cpu_quota: cpu_quota is 500 microseconds, below the least the kernel "
        "takes (1000, 1ms)",
        "services.web.domainname: domainname beside uts: host, whose domainname is the host's",
    ]


@pytest.mark.parametrize(
    "written", ["700ms", "0.7s", "10s", "1m30s", "500ms", "2.5h", "1.5us", "100ns", "1.1h", "1.1m"]
)
def test_config_writes_a_duration_that_reads_back_the_same(written: str) -> None:
    # The spec hash holds these floats: config's text must plan as the file did.
    from stackr.spec.values import duration_text, parse_duration

    seconds = parse_duration(written)
    assert parse_duration(duration_text(seconds)) == seconds
    assert "e" not in duration_text(seconds)


def test_a_platform_reads_as_the_engine_names_it(write_stack) -> None:  # type: ignore[no-untyped-def]
    assert _runtime(_service(write_stack, platform="linux/x86_64")).platform == "linux/amd64"


def test_a_duration_under_a_nanosecond_is_refused(write_stack) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpecError, match="shorter than a nanosecond"):
        _runtime(_service(write_stack, stop_grace_period="0.0000000001s"))
