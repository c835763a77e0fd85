"""`up`, a second `up`, changes, scaling, `down` and profiles, against the real engine."""

from __future__ import annotations

import socket
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest
from conftest import IMAGE, SLEEPER, WEB, StackFixture

from stackr import api

pytestmark = pytest.mark.engine


def _free_port_range(count: int) -> int:
    """A base port with `count` consecutive ports free on the host right now."""
    for base in range(20000, 60000, 97):
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                s.bind(("0.0.0.0", port))
                sockets.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free port range")


def _shop(base: int, replicas: int = 2) -> dict[str, object]:
    return {
        "services": {
            "web": {
                "image": IMAGE,
                "command": WEB,
                "replicas": replicas,
                "ports": [f"{base}-{base + replicas - 1}:8080"],
                "networks": ["front", "back"],
                "depends_on": {"db": {"condition": "healthy"}},
                "healthcheck": {
                    "test": ["CMD", "wget", "-q", "-O-", "http://localhost:8080/"],
                    "interval": "1s",
                    "timeout": "1s",
                    "retries": 5,
                },
                "environment": {"LOG_LEVEL": "info"},
                "stop_grace_period": "2s",
            },
            "db": {
                "image": IMAGE,
                "command": SLEEPER,
                "volumes": ["data:/var/lib/data"],
                "networks": ["back"],
                "healthcheck": {"test": ["CMD", "true"], "interval": "1s", "retries": 3},
            },
        },
        "volumes": {"data": {}},
        "networks": {"front": {}, "back": {"internal": True}},
    }


def _get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
        return response.read().decode().strip()


def test_up_creates_named_labelled_objects(stack: StackFixture) -> None:
    base = _free_port_range(2)
    stack.up(stack.write(_shop(base)))
    n = stack.name
    containers = stack.containers()
    assert sorted(containers) == [f"{n}-dev-db-1", f"{n}-dev-web-1", f"{n}-dev-web-2"]
    assert stack.networks() == [f"{n}-dev-back", f"{n}-dev-front"]
    assert stack.volumes() == [f"{n}-dev-data"]
    labels = containers[f"{n}-dev-web-2"].labels
    assert (labels["io.stackr.stack"], labels["io.stackr.profile"]) == (n, "dev")
    assert (labels["io.stackr.service"], labels["io.stackr.replica"]) == ("web", "2")
    assert len(labels["io.stackr.spec-hash"]) == 20
    assert all(c.status == "running" for c in containers.values())


def test_each_replica_publishes_its_own_host_port(stack: StackFixture) -> None:
    base = _free_port_range(2)
    stack.up(stack.write(_shop(base)))
    hosts = {_get(base), _get(base + 1)}
    assert len(hosts) == 2  # two different replicas answered


def test_replicas_answer_to_the_service_name(stack: StackFixture) -> None:
    base = _free_port_range(2)
    stack.up(stack.write(_shop(base)))
    client = stack.containers()[f"{stack.name}-dev-db-1"]
    # db is only on `back`: web's replicas must answer there by service name too.
    script = (
        "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do "
        "wget -q -O- http://web:8080/; done"
    )
    code, output = client.exec_run(["sh", "-c", script])
    assert code == 0
    ids = {line for line in output.decode().split() if line}
    web_ids = {c.id[:12] for name, c in stack.containers().items() if "-web-" in name}
    assert ids == web_ids  # both replicas served requests: DNS round robin


def test_a_network_alias_answers_on_its_network_only(stack: StackFixture) -> None:
    spec = {
        "services": {
            "web": {
                "image": IMAGE,
                "command": WEB,
                "networks": {"front": {"aliases": ["api"]}, "back": None},
            },
            "near": {"image": IMAGE, "command": SLEEPER, "networks": ["front"]},
            "far": {"image": IMAGE, "command": SLEEPER, "networks": {"back": None}},
        },
        "networks": {"front": {}, "back": {}},
    }
    stack.up(stack.write(spec))
    found = stack.containers()
    web_id = found[f"{stack.name}-dev-web-1"].id[:12]
    near = found[f"{stack.name}-dev-near-1"]
    code, output = near.exec_run(["wget", "-q", "-O-", "http://api:8080/"])
    assert (code, output.decode().strip()) == (0, web_id)
    far = found[f"{stack.name}-dev-far-1"]
    code, output = far.exec_run(["wget", "-q", "-O-", "http://web:8080/"])
    assert (code, output.decode().strip()) == (0, web_id)
    code, _ = far.exec_run(["wget", "-q", "-T", "2", "-O-", "http://api:8080/"])
    assert code != 0  # `api` is web's name on front only
    endpoint = found[f"{stack.name}-dev-web-1"].attrs["NetworkSettings"]["Networks"]
    assert {"web", "api"} <= set(endpoint[f"{stack.name}-dev-front"]["Aliases"])


def test_second_up_changes_nothing(stack: StackFixture) -> None:
    path = stack.write(_shop(_free_port_range(2)))
    stack.up(path)
    before = {name: (c.id, c.attrs["State"]["StartedAt"]) for name, c in stack.containers().items()}
    result = stack.up(path)
    after = {name: (c.id, c.attrs["State"]["StartedAt"]) for name, c in stack.containers().items()}
    assert result.plan.pending() == ()
    assert after == before


def test_changed_service_is_recreated_others_kept(stack: StackFixture) -> None:
    base = _free_port_range(2)
    stack.up(stack.write(_shop(base)))
    before = {name: c.id for name, c in stack.containers().items()}
    spec = _shop(base)
    spec["services"]["web"]["environment"] = {"LOG_LEVEL": "debug"}  # type: ignore[index]
    stack.up(stack.write(spec))
    after = stack.containers()
    n = stack.name
    assert after[f"{n}-dev-db-1"].id == before[f"{n}-dev-db-1"]
    for replica in (1, 2):
        name = f"{n}-dev-web-{replica}"
        assert after[name].id != before[name]
        assert "LOG_LEVEL=debug" in after[name].attrs["Config"]["Env"]


def _when(stamp: str) -> datetime:
    """The engine's RFC 3339 time (nanoseconds, trailing zeros cut) as a datetime."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    fraction = fraction.split("+")[0].split("-")[0]
    return datetime.fromisoformat(f"{whole}.{fraction[:6]:0<6}+00:00")


def test_a_recreated_dependency_restarts_dependents_that_ask_for_it(stack: StackFixture) -> None:
    health = {"test": ["CMD", "true"], "interval": "1s", "start_period": "0s"}
    spec: dict[str, object] = {
        "services": {
            "db": {"image": IMAGE, "command": SLEEPER, "healthcheck": health},
            "web": {
                "image": IMAGE,
                "command": SLEEPER,
                "depends_on": {"db": {"condition": "healthy", "restart": True}},
            },
            "worker": {"image": IMAGE, "command": SLEEPER, "depends_on": ["db"]},
        }
    }
    stack.up(stack.write(spec))
    n = stack.name
    before = {name: c.attrs for name, c in stack.containers().items()}
    spec["services"]["db"]["environment"] = {"V": "2"}  # type: ignore[index]
    result = stack.up(stack.write(spec))
    after = {name: c.attrs for name, c in stack.containers().items()}
    web, db, worker = (f"{n}-dev-{s}-1" for s in ("web", "db", "worker"))
    assert after[db]["Id"] != before[db]["Id"]
    # The same web container, started again after the new db (the unit tests hold the wait
    # for its health; the engine keeps only the last five probes to tell it by).
    assert after[web]["Id"] == before[web]["Id"]
    assert after[web]["State"]["Running"]
    started = _when(after[web]["State"]["StartedAt"])
    assert (
        started > _when(after[db]["State"]["StartedAt"]) > _when(before[web]["State"]["StartedAt"])
    )
    # Without restart: true, kept as it was.
    assert after[worker]["State"]["StartedAt"] == before[worker]["State"]["StartedAt"]
    assert [a.name for a in result.plan.actions if a.kind.value == "restart"] == [web]
    # The engine's times tell web started after the new db was made: nothing more to do.
    assert api.plan(stack.load(stack.folder / "stack.yml"), stack.engine).pending() == ()
    # db made again after drift: web restarts in the same up, and nothing is left to do.
    stack.sdk.containers.get(db).remove(force=True)
    replaced = stack.up(stack.write(spec))
    assert [(a.kind.value, a.name) for a in replaced.plan.pending()] == [
        ("create", db),
        ("restart", web),
    ]
    assert api.plan(stack.load(stack.folder / "stack.yml"), stack.engine).pending() == ()
    # An up that recreated db but did not restart web (`up db` names db only; a failed or
    # interrupted up leaves the same): the next plan tells from the engine's times.
    spec["services"]["db"]["environment"] = {"V": "3"}  # type: ignore[index]
    path = stack.write(spec)
    only_db = stack.load(path).only(["db"])
    api.up(only_db, stack.engine, options=api.UpOptions(wait_timeout=60.0))
    again = api.plan(stack.load(path), stack.engine)
    assert [(a.kind.value, a.name, a.reason) for a in again.pending()] == [
        ("restart", web, "restart: true on its dependency: db was recreated after it last started")
    ]
    stack.up(path)
    assert api.plan(stack.load(path), stack.engine).pending() == ()


def test_up_repairs_drift_made_outside_stackr(stack: StackFixture) -> None:
    # No restart policy (the default "no"): a killed container is drift all the same.
    spec = {
        "services": {
            "killed": {"image": IMAGE, "command": SLEEPER},
            "paused": {"image": IMAGE, "command": SLEEPER, "restart": "unless-stopped"},
            # A policy: without one, a container that exits 0 when stopped is taken for a
            # one-shot that has done its work, whatever became of its network.
            "orphaned": {
                "image": IMAGE,
                "command": SLEEPER,
                "networks": ["side"],
                "restart": "unless-stopped",
            },
        },
        "networks": {"side": {}},
    }
    path = stack.write(spec)
    stack.up(path)
    n = stack.name
    found = stack.containers()
    found[f"{n}-dev-killed-1"].kill()
    found[f"{n}-dev-paused-1"].pause()
    found[f"{n}-dev-orphaned-1"].stop(timeout=0)
    stack.sdk.networks.get(f"{n}-dev-side").remove()
    reasons = {a.name: a.reason for a in stack.up(path).plan.pending()}
    assert reasons == {
        f"{n}-dev-side": "not on the engine",
        f"{n}-dev-killed-1": "drift: container is exited (exit code 137), not running",
        f"{n}-dev-paused-1": "drift: container was paused outside stackr (up unpauses it)",
        f"{n}-dev-orphaned-1": f"drift: network {n}-dev-side was removed outside stackr",
    }
    assert {name: c.status for name, c in stack.containers().items()} == dict.fromkeys(
        found, "running"
    )
    assert stack.up(path).plan.pending() == ()


def test_anonymous_volumes_are_kept_unless_down_volumes(stack: StackFixture) -> None:
    # As Compose: removing a container (scale-down, `down`) keeps its anonymous volumes, with
    # their data; only `down --volumes` removes them.
    def spec(replicas: int) -> dict[str, object]:
        db = {"image": IMAGE, "command": SLEEPER, "volumes": ["/anon"], "replicas": replicas}
        return {"services": {"db": db}}

    def anonymous() -> dict[str, str]:
        return {
            name: next(m["Name"] for m in c.attrs["Mounts"] if m["Destination"] == "/anon")
            for name, c in stack.containers().items()
        }

    def exists(volume: str) -> bool:
        return any(v.name == volume for v in stack.sdk.volumes.list())

    n = stack.name
    stack.up(stack.write(spec(2)))
    first = anonymous()
    stack.up(stack.write(spec(1)))
    assert exists(first[f"{n}-dev-db-2"])
    path = stack.write(spec(1))
    stack.down(path)
    assert exists(first[f"{n}-dev-db-1"])
    stack.up(path)
    again = anonymous()[f"{n}-dev-db-1"]
    stack.down(path, volumes=True)
    assert not exists(again)


def test_scale_down_removes_surplus_replicas(stack: StackFixture) -> None:
    base = _free_port_range(3)
    stack.up(stack.write(_shop(base, replicas=3)))
    stack.up(stack.write(_shop(base, replicas=1)))
    n = stack.name
    assert sorted(stack.containers()) == [f"{n}-dev-db-1", f"{n}-dev-web-1"]


def test_down_keeps_volumes_and_down_volumes_removes_them(stack: StackFixture) -> None:
    path = stack.write(_shop(_free_port_range(2)))
    stack.up(path)
    db = stack.containers()[f"{stack.name}-dev-db-1"]
    db.exec_run(["sh", "-c", "echo sentinel > /var/lib/data/proof"])
    stack.down(path)
    assert stack.containers() == {}
    assert stack.networks() == []
    assert stack.volumes() == [f"{stack.name}-dev-data"]
    stack.up(path)
    db = stack.containers()[f"{stack.name}-dev-db-1"]
    assert db.exec_run(["cat", "/var/lib/data/proof"]).output.decode().strip() == "sentinel"
    stack.down(path, volumes=True)
    assert stack.volumes() == []


def test_two_profiles_run_side_by_side(stack: StackFixture) -> None:
    spec = _shop(_free_port_range(1), replicas=1)
    dev_port, staging_port = _free_port_range(1), _free_port_range(1) + 1
    spec["profiles"] = {
        "dev": {"services": {"web": {"ports": [f"{dev_port}:8080"]}}},
        "staging": {"services": {"web": {"ports": [f"{staging_port}:8080"]}}},
    }
    path = stack.write(spec)
    stack.up(path, "dev")
    stack.up(path, "staging")
    n = stack.name
    assert sorted(stack.containers("dev")) == [f"{n}-dev-db-1", f"{n}-dev-web-1"]
    assert sorted(stack.containers("staging")) == [f"{n}-staging-db-1", f"{n}-staging-web-1"]
    assert stack.volumes() == [f"{n}-dev-data", f"{n}-staging-data"]
    assert _get(dev_port) != _get(staging_port)
    stack.down(path, "dev")
    assert sorted(stack.containers()) == [f"{n}-staging-db-1", f"{n}-staging-web-1"]


@pytest.mark.parametrize("order", ["stop-first", "start-first"])
def test_anonymous_volume_data_survives_a_recreate(stack: StackFixture, order: str) -> None:
    import docker.errors

    def spec(level: str) -> dict[str, object]:
        return {
            "services": {
                "cache": {
                    "image": IMAGE,
                    "command": SLEEPER,
                    "volumes": ["/cache"],
                    "restart": "always",
                    "environment": {"LEVEL": level},
                    "update": {"order": order},
                }
            }
        }

    path = stack.write(spec("info"))
    stack.up(path)
    name = f"{stack.name}-dev-cache-1"
    stack.containers()[name].exec_run(["sh", "-c", "echo sentinel > /cache/proof"])
    stack.up(stack.write(spec("debug")))
    replaced = stack.containers()[name]
    assert "LEVEL=debug" in replaced.attrs["Config"]["Env"]
    assert replaced.exec_run(["cat", "/cache/proof"]).output.decode().strip() == "sentinel"
    (mount,) = [m for m in replaced.attrs["Mounts"] if m["Destination"] == "/cache"]
    stack.down(path)
    assert stack.sdk.volumes.get(mount["Name"])  # kept with its data, as Compose's `down` does
    stack.up(path)
    stack.up(stack.write(spec("info")))  # recreated again: its volume is carried over once more
    (mount,) = [m for m in stack.containers()[name].attrs["Mounts"] if m["Destination"] == "/cache"]
    stack.down(path, volumes=True)
    with pytest.raises(docker.errors.NotFound):
        stack.sdk.volumes.get(mount["Name"])  # `down --volumes` takes a carried one too


def _count_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Docker API calls made from now on, as "VERB /path" with names and ids as they are."""
    import docker.api.client

    calls: list[str] = []
    for verb in ("_get", "_post", "_delete", "_put"):
        original = getattr(docker.api.client.APIClient, verb)

        def counting(self, url, *args, _verb=verb, _original=original, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(f"{_verb[1:].upper()} {url.split('/v1.41', 1)[-1].split('?')[0]}")
            return _original(self, url, *args, **kwargs)

        monkeypatch.setattr(docker.api.client.APIClient, verb, counting)
    return calls


LIST_CALLS = ["GET /containers/json", "GET /images/json", "GET /networks", "GET /volumes"]


def test_up_from_nothing_makes_no_needless_calls(
    stack: StackFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = {
        f"s{i}": {"image": IMAGE, "command": SLEEPER, "stop_grace_period": "1s"} for i in range(3)
    }
    path = stack.write({"services": services})
    calls = _count_calls(monkeypatch)
    stack.up(path)
    # The image list already says the image is there: no inspect, no pull.
    kinds = sorted(c if c.startswith("GET") else c.rsplit("/", 1)[-1] for c in calls)
    assert kinds == [*LIST_CALLS, *["create"] * 4, *["start"] * 3]
    assert "POST /networks/create" in calls


def test_noop_up_makes_only_list_calls(
    stack: StackFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = {
        f"s{i}": {"image": IMAGE, "command": SLEEPER, "stop_grace_period": "1s"} for i in range(8)
    }
    path = stack.write({"services": services})
    stack.up(path)
    calls = _count_calls(monkeypatch)
    result = stack.up(path)
    assert result.plan.pending() == ()
    assert sorted(calls) == LIST_CALLS


def test_up_of_named_services_leaves_the_others_alone(stack: StackFixture) -> None:
    def spec(level: str) -> dict[str, object]:
        env = {"LOG_LEVEL": level}
        return {
            "services": {
                "db": {"image": IMAGE, "command": SLEEPER, "environment": env},
                "web": {
                    "image": IMAGE,
                    "command": SLEEPER,
                    "environment": env,
                    "depends_on": ["db"],
                },
                "worker": {"image": IMAGE, "command": SLEEPER, "environment": env},
            }
        }

    n = stack.name
    path = stack.write(spec("info"))
    loaded = stack.load(path).only(["web"])
    api.up(loaded, stack.engine, options=api.UpOptions(wait_timeout=60.0))
    assert sorted(stack.containers()) == [f"{n}-dev-db-1", f"{n}-dev-web-1"]
    stack.up(path)
    before = {name: c.id for name, c in stack.containers().items()}
    stack.write(spec("debug"))
    api.up(stack.load(path).only(["worker"]), stack.engine, options=api.UpOptions())
    after = {name: c.id for name, c in stack.containers().items()}
    assert after[f"{n}-dev-worker-1"] != before[f"{n}-dev-worker-1"]
    assert {k: v for k, v in after.items() if "worker" not in k} == {
        k: v for k, v in before.items() if "worker" not in k
    }


def test_a_bind_mount_of_a_missing_host_directory_creates_it(stack: StackFixture) -> None:
    write = "echo hi > /mnt/out/f; trap 'exit 0' TERM; sleep 86400 & wait"
    service = {
        "image": IMAGE,
        "command": ["sh", "-c", write],
        "volumes": ["./not-yet/sub:/mnt/out", "./conf:/mnt/conf:ro"],
    }
    (stack.folder / "conf").mkdir()
    stack.up(stack.write({"services": {"app": service}}))
    container = stack.containers()[f"{stack.name}-dev-app-1"]
    mounts = {m["Destination"]: (m["Type"], m["RW"]) for m in container.attrs["Mounts"]}
    assert mounts == {"/mnt/out": ("bind", True), "/mnt/conf": ("bind", False)}
    created = stack.folder / "not-yet" / "sub"
    for _ in range(50):  # the container writes the file as it starts
        if (created / "f").exists():
            break
        time.sleep(0.1)
    assert (created / "f").read_text() == "hi\n"


def test_mount_options_reach_the_engine(stack: StackFixture) -> None:
    service = {
        "image": IMAGE,
        "command": SLEEPER,
        "volumes": ["./conf:/mnt/conf:ro,z", "data:/mnt/data:nocopy"],
    }
    (stack.folder / "conf").mkdir()
    path = stack.write({"services": {"app": service}, "volumes": {"data": {}}})
    stack.up(path)
    container = stack.containers()[f"{stack.name}-dev-app-1"]
    assert container.attrs["HostConfig"]["Binds"] == [f"{stack.folder / 'conf'}:/mnt/conf:ro,z"]
    (volume,) = container.attrs["HostConfig"]["Mounts"]
    assert (volume["Target"], volume["VolumeOptions"]["NoCopy"]) == ("/mnt/data", True)
    assert stack.up(path).plan.pending() == ()


def test_a_volume_made_outside_stackr_under_the_stacks_name_is_refused(
    stack: StackFixture,
) -> None:
    # The engine answers the create with the volume it has: stackr must not report it made
    # (the stack would never find it by label, and no `up` would ever converge).
    name = f"{stack.name}-dev-data"
    stack.sdk.volumes.create(name)
    try:
        spec = {
            "services": {"db": {"image": IMAGE, "command": SLEEPER, "volumes": ["data:/d"]}},
            "volumes": {"data": {}},
        }
        with pytest.raises(api.ApplyError, match="was not made by stackr"):
            stack.up(stack.write(spec))
        assert stack.sdk.volumes.get(name).attrs["Labels"] in (None, {})  # left as it was
        assert stack.containers() == {}
    finally:
        stack.sdk.volumes.get(name).remove()


def test_a_network_made_outside_stackr_under_the_stacks_name_is_named(
    stack: StackFixture,
) -> None:
    name = f"{stack.name}-dev-default"
    stack.sdk.networks.create(name)
    try:
        spec = {"services": {"db": {"image": IMAGE, "command": SLEEPER}}}
        with pytest.raises(api.ApplyError, match=r"network .* was not made by stackr"):
            stack.up(stack.write(spec))
        assert stack.containers() == {}
    finally:
        stack.sdk.networks.get(name).remove()


def test_host_ports_moving_between_containers_converge(stack: StackFixture) -> None:
    # A replica range shifted by one, and two services swapping their ports (the dependent
    # one holding what its dependency wants): each new container's port is held by another
    # old one, so those stop first, together, and one `up` converges.
    base = _free_port_range(5)

    def spec(web: str, one: int, two: int) -> dict[str, object]:
        def box(port: int) -> dict[str, object]:
            return {"image": IMAGE, "command": SLEEPER, "ports": [f"{port}:80"]}

        return {
            "services": {
                "web": {"image": IMAGE, "command": SLEEPER, "replicas": 2, "ports": [web]},
                "one": box(one),
                "two": {**box(two), "depends_on": ["one"]},
            }
        }

    stack.up(stack.write(spec(f"{base}-{base + 1}:8080", base + 3, base + 4)))
    stack.up(stack.write(spec(f"{base + 1}-{base + 2}:8080", base + 4, base + 3)))
    published = {
        name: c.attrs["HostConfig"]["PortBindings"] for name, c in stack.containers().items()
    }
    n = stack.name
    assert published[f"{n}-dev-web-1"] == {"8080/tcp": [{"HostIp": "", "HostPort": str(base + 1)}]}
    assert published[f"{n}-dev-web-2"] == {"8080/tcp": [{"HostIp": "", "HostPort": str(base + 2)}]}
    assert published[f"{n}-dev-one-1"] == {"80/tcp": [{"HostIp": "", "HostPort": str(base + 4)}]}
    assert published[f"{n}-dev-two-1"] == {"80/tcp": [{"HostIp": "", "HostPort": str(base + 3)}]}
    assert all(c.status == "running" for c in stack.containers().values())
    again = stack.load(stack.write(spec(f"{base + 1}-{base + 2}:8080", base + 4, base + 3)))
    assert not api.plan(again, stack.engine).pending()


def test_a_plan_names_the_network_and_volume_options_that_changed(stack: StackFixture) -> None:
    def spec(internal: bool, size: str) -> dict[str, object]:
        service = {"image": IMAGE, "command": SLEEPER, "networks": ["back"]}
        return {
            "services": {"app": {**service, "volumes": ["data:/data"]}},
            "networks": {"back": {"internal": internal, "labels": {"team": "shop"}}},
            "volumes": {"data": {"driver_opts": {"type": "tmpfs", "device": "tmpfs", "o": size}}},
        }

    path = stack.write(spec(False, "size=64m"))
    stack.up(path)
    # The engine's listing reads as the file's options, so only what changed is told.
    observed = stack.engine.observe(stack.name, "dev")
    assert [n.settings for n in observed.networks] == [
        {"driver": "bridge", "internal": False, "labels": {"team": "shop"}}
    ]
    opts = {"type": "tmpfs", "device": "tmpfs", "o": "size=64m"}
    assert [v.settings for v in observed.volumes] == [
        {"driver": "local", "driver_opts": opts, "labels": {}}
    ]
    stack.write(spec(True, "size=128m"))
    plan = api.plan(stack.load(path), stack.engine)
    lines = {a.name: a.change_lines() for a in plan.actions if a.object.value != "container"}
    assert lines == {
        f"{stack.name}-dev-back": ("internal: false → true",),
        f"{stack.name}-dev-data": ("driver_opts.o: size=64m → size=128m",),
    }


def test_runtime_options_reach_the_engine(stack: StackFixture) -> None:
    # It stops on SIGINT only: `down` is quick only if the engine sends that.
    command = ["sh", "-c", "trap 'exit 0' INT; sleep 86400 & wait"]
    # Under systemd's cgroup driver a parent is a slice, which systemd removes itself.
    systemd = stack.sdk.info().get("CgroupDriver") == "systemd"
    parent = f"{stack.name}.slice" if systemd else f"/{stack.name}"
    app = {
        "image": IMAGE,
        "command": command,
        "stop_signal": "INT",
        "init": True,
        "read_only": True,
        "shm_size": "32m",
        "cap_drop": ["MKNOD"],
        "security_opt": ["no-new-privileges:true"],
        "dns_search": ["example.internal"],
        "extra_hosts": ["db.internal:10.0.0.5"],
        "tmpfs": ["/run:size=1m"],
        "sysctls": {"net.core.somaxconn": 512},
        "ulimits": {"nofile": {"soft": 512, "hard": 1024}},
        "logging": {"driver": "json-file", "options": {"max-size": "1m"}},
        "restart": "on-failure:2",
        "hostname": "rabbit",
        "ipc": "shareable",
        "pids_limit": 100,
        "oom_score_adj": 500,
        "cpu_shares": 512,
        "mem_reservation": "32m",
        "group_add": ["1001"],
        "devices": ["/dev/null:/dev/app-null:rw"],
        "expose": [8080, "9000-9001", "53/udp"],
        "runtime": "runc",
        "cgroup_parent": parent,
        "userns_mode": "host",
        "platform": "linux",  # the engine's own, whatever its architecture
        "memswap_limit": "256m",
        "resources": {"memory": "128m"},
    }
    path = stack.write({"services": {"app": app}})
    stack.up(path)
    container = stack.sdk.containers.get(f"{stack.name}-dev-app-1")
    host = container.attrs["HostConfig"]
    assert container.attrs["Config"]["StopSignal"] == "SIGINT"
    assert (host["Init"], host["ReadonlyRootfs"], host["ShmSize"]) == (True, True, 32 * 1024**2)
    assert (host["CapDrop"], host["SecurityOpt"]) == (["MKNOD"], ["no-new-privileges:true"])
    assert (host["DnsSearch"], host["ExtraHosts"]) == (
        ["example.internal"],
        ["db.internal:10.0.0.5"],
    )
    assert (host["Tmpfs"], host["Sysctls"]) == ({"/run": "size=1m"}, {"net.core.somaxconn": "512"})
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 512, "Hard": 1024}]
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "1m"}}
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert (container.attrs["Config"]["Hostname"], host["IpcMode"]) == ("rabbit", "shareable")
    assert (host["PidsLimit"], host["OomScoreAdj"], host["CpuShares"]) == (100, 500, 512)
    assert (host["MemoryReservation"], host["GroupAdd"]) == (32 * 1024**2, ["1001"])
    assert host["Devices"] == [
        {"PathOnHost": "/dev/null", "PathInContainer": "/dev/app-null", "CgroupPermissions": "rw"}
    ]
    assert (host["Runtime"], host["CgroupParent"], host["UsernsMode"]) == (
        "runc",
        parent,
        "host",
    )
    assert (host["Memory"], host["MemorySwap"]) == (128 * 1024**2, 256 * 1024**2)
    assert container.attrs["Platform"] == "linux"
    exposed = container.attrs["Config"]["ExposedPorts"]
    assert set(exposed) == {"8080/tcp", "9000/tcp", "9001/tcp", "53/udp"}
    said = container.exec_run(["sh", "-c", "touch /x 2>&1; touch /run/x && ulimit -n"]).output
    assert said.decode().split("\n")[-2:] == ["512", ""] and b"Read-only" in said
    assert api.plan(stack.load(path), stack.engine).pending() == ()
    started = time.monotonic()
    stack.down(path)
    assert time.monotonic() - started < 5  # SIGINT stopped it; SIGTERM would wait out 10 s
    # The engine makes the parent cgroup and leaves it behind, empty: this test made it.
    for made in () if systemd else Path("/sys/fs/cgroup").glob(f"**/{stack.name}"):
        made.rmdir()


def test_what_the_engine_lacks_fails_up_before_anything_is_made(stack: StackFixture) -> None:
    from stackr.errors import StackrError

    cpus = stack.sdk.info()["NCPU"]
    path = stack.write(
        {
            "services": {
                "db": {"image": IMAGE, "command": SLEEPER},
                "app": {"image": IMAGE, "command": SLEEPER, "runtime": "xplr-no-such-runtime"},
                "big": {"image": IMAGE, "command": SLEEPER, "cpus": cpus + 1},
            }
        }
    )
    with pytest.raises(StackrError) as refused:
        stack.up(path)
    said = str(refused.value)
    lines = path.read_text().splitlines()
    runtime = 1 + next(i for i, line in enumerate(lines) if "runtime:" in line)
    asked = 1 + next(i for i, line in enumerate(lines) if "cpus:" in line)
    assert f"app's runtime xplr-no-such-runtime ({path}:{runtime}) is not one it knows" in said
    assert f"big asks for {cpus + 1} CPUs ({path}:{asked}), and it has {cpus}" in said
    assert (stack.containers(), stack.networks()) == ({}, [])


def test_cpu_memory_and_namespace_options_reach_the_engine(stack: StackFixture) -> None:
    app = {
        "image": IMAGE,
        "command": SLEEPER,
        "cpuset": "0",
        "cpu_period": 100000,
        "cpu_quota": 50000,
        "mem_swappiness": 10,
        "oom_kill_disable": True,
        "mem_limit": "64m",
        "uts": "host",
        "cgroup": "private",
        "dns_opt": ["ndots:2", "timeout:1"],
        "device_cgroup_rules": ["c 1:3 mr"],
    }
    path = stack.write({"services": {"app": app}})
    stack.up(path)
    container = stack.sdk.containers.get(f"{stack.name}-dev-app-1")
    host = container.attrs["HostConfig"]
    assert (host["CpusetCpus"], host["CpuPeriod"], host["CpuQuota"]) == ("0", 100000, 50000)
    assert (host["MemorySwappiness"], host["OomKillDisable"], host["Memory"]) == (
        10,
        True,
        64 * 1024**2,
    )
    assert (host["UTSMode"], host["CgroupnsMode"]) == ("host", "private")
    assert (host["DnsOptions"], host["DeviceCgroupRules"]) == (
        ["ndots:2", "timeout:1"],
        ["c 1:3 rm"],
    )
    said = container.exec_run(["sh", "-c", "hostname; grep options /etc/resolv.conf"]).output
    assert said.decode().splitlines() == [socket.gethostname(), "options ndots:2 timeout:1"]
    assert api.plan(stack.load(path), stack.engine).pending() == ()


def test_an_external_network_and_volume_are_used_and_left_in_place(stack: StackFixture) -> None:
    from stackr.errors import StackrError

    proxy, media = f"{stack.name}-proxy", f"{stack.name}-media"
    app = {"image": IMAGE, "command": SLEEPER, "networks": ["proxy"], "volumes": ["media:/media"]}
    path = stack.write(
        {
            "services": {"app": app},
            "networks": {"proxy": {"external": True, "name": proxy}},
            "volumes": {"media": {"external": True, "name": media}},
        }
    )
    with pytest.raises(StackrError, match=f"external network {proxy}, volume {media}"):
        stack.up(path)
    assert stack.containers() == {}
    network = stack.sdk.networks.create(proxy)
    volume = stack.sdk.volumes.create(media)
    try:
        stack.up(path)
        container = stack.sdk.containers.get(f"{stack.name}-dev-app-1")
        assert list(container.attrs["NetworkSettings"]["Networks"]) == [proxy]
        assert [m.get("Name") for m in container.attrs["Mounts"]] == [media]
        assert api.plan(stack.load(path), stack.engine).pending() == ()
        stack.down(path, volumes=True)
        network.reload()
        volume.reload()  # both still there: raises NotFound otherwise
        assert stack.networks() == [] and stack.volumes() == []
    finally:
        stack.down(path)
        network.remove()
        volume.remove()


def test_a_network_mode_puts_replicas_on_the_hosts_network_or_on_none(stack: StackFixture) -> None:
    agent = {"image": IMAGE, "command": SLEEPER, "network_mode": "host", "pid": "host"}
    batch = {"image": IMAGE, "command": SLEEPER, "network_mode": "none"}
    path = stack.write({"services": {"agent": agent, "batch": batch}})
    stack.up(path)
    assert stack.networks() == []  # no service joins the stack's default network
    interfaces = {}
    for service, mode in (("agent", "host"), ("batch", "none")):
        container = stack.sdk.containers.get(f"{stack.name}-dev-{service}-1")
        assert container.attrs["HostConfig"]["NetworkMode"] == mode
        said = container.exec_run(["cat", "/proc/net/dev"]).output.decode()
        interfaces[mode] = {line.split(":")[0].strip() for line in said.splitlines()[2:]}
    assert interfaces["none"] == {"lo"}
    assert "docker0" in interfaces["host"]  # the host's own interfaces
    agent_container = stack.sdk.containers.get(f"{stack.name}-dev-agent-1")
    assert agent_container.attrs["HostConfig"]["PidMode"] == "host"
    processes = agent_container.exec_run(["ps", "-o", "comm"]).output.decode().split()
    assert "dockerd" in processes  # the host's processes
    assert api.plan(stack.load(path), stack.engine).pending() == ()
    # Back to the stack's network: recreated, and joined to it under its service name.
    batch = {"image": IMAGE, "command": SLEEPER}
    path = stack.write({"services": {"agent": agent, "batch": batch}})
    pending = api.plan(stack.load(path), stack.engine).pending()
    assert [(a.kind.value, a.name) for a in pending] == [
        ("create", f"{stack.name}-dev-default"),
        ("recreate", f"{stack.name}-dev-batch-1"),
    ]
    stack.up(path)
    batch_container = stack.sdk.containers.get(f"{stack.name}-dev-batch-1")
    endpoint = batch_container.attrs["NetworkSettings"]["Networks"][f"{stack.name}-dev-default"]
    assert "batch" in endpoint["Aliases"]
    assert api.plan(stack.load(path), stack.engine).pending() == ()


def test_a_long_syntax_tmpfs_and_a_bind_that_must_exist_reach_the_engine(
    stack: StackFixture,
) -> None:
    (stack.folder / "conf").mkdir()
    volumes = [
        {"type": "tmpfs", "target": "/run/cache", "tmpfs": {"size": "8m", "mode": 1770}},
        {
            "type": "bind",
            "source": "./conf",
            "target": "/mnt/conf",
            "bind": {"create_host_path": False},
        },
    ]
    service = {"image": IMAGE, "command": SLEEPER, "volumes": volumes}
    path = stack.write({"services": {"app": service}})
    stack.up(path)
    container = stack.containers()[f"{stack.name}-dev-app-1"]
    mounts = {m["Target"]: m for m in container.attrs["HostConfig"]["Mounts"]}
    assert mounts["/run/cache"]["Type"] == "tmpfs"
    assert mounts["/run/cache"]["TmpfsOptions"] == {"SizeBytes": 8 * 2**20, "Mode": 0o1770}
    assert mounts["/mnt/conf"]["Type"] == "bind"
    code, out = container.exec_run(["sh", "-c", "stat -c %a /run/cache; df -k /run/cache"])
    assert code == 0 and out.decode().split()[0] == "1770" and "8192" in out.decode()
    assert stack.up(path).plan.pending() == ()
    # A host path that must exist and does not: the engine refuses the container, as asked.
    volumes[1]["source"] = "./missing"
    with pytest.raises(api.ApplyError, match="missing"):
        stack.up(stack.write({"services": {"app": service}}))
    assert not (stack.folder / "missing").exists()


def test_the_compose_example_runs_as_compose_writes_it(stack: StackFixture) -> None:
    # examples/compose/compose.yaml, under this test's stack name: Compose's deploy, expose,
    # pull_policy and depends_on conditions reach the engine as stackr's own keys would.
    import yaml

    example = Path(__file__).parents[2] / "examples" / "compose" / "compose.yaml"
    document = yaml.safe_load(example.read_text())
    del document["name"]
    path = stack.write(document)
    stack.up(path)
    found = stack.containers()
    web = [found[f"{stack.name}-dev-web-{n}"] for n in (1, 2)]
    for replica in web:
        host = replica.attrs["HostConfig"]
        assert (host["Memory"], host["NanoCpus"]) == (64 * 1024**2, 500_000_000)
        assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
        assert set(replica.attrs["Config"]["ExposedPorts"]) == {"8080/tcp"}
    client = found[f"{stack.name}-dev-client-1"]
    assert client.attrs["HostConfig"]["RestartPolicy"]["Name"] == "always"
    assert api.plan(stack.load(path), stack.engine).pending() == ()
