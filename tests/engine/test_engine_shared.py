"""`network_mode: service:NAME` and `pid: service:NAME` on a real engine: the replicas share the
owner's network (a port published on the owner reaches them) or processes, and stay with its
current container when it is recreated, replaced or restarted."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request

import pytest
from conftest import IMAGE, SLEEPER, WEB, StackFixture

from stackr import api

pytestmark = pytest.mark.engine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return int(s.getsockname()[1])


def _get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
        return response.read().decode().strip()


def _sidecar(port: int) -> dict[str, object]:
    # `vpn` owns the network and publishes the port; `app` listens on it from vpn's network.
    return {
        "services": {
            "vpn": {"image": IMAGE, "command": SLEEPER, "ports": [f"{port}:8080"]},
            "app": {
                "image": IMAGE,
                "command": WEB,
                "network_mode": "service:vpn",
                "healthcheck": {
                    "test": ["CMD", "wget", "-q", "-O-", "http://localhost:8080/"],
                    "interval": "1s",
                    "retries": 10,
                },
            },
        }
    }


def test_a_service_on_anothers_network_follows_its_owner(stack: StackFixture) -> None:
    port = _free_port()
    spec = _sidecar(port)
    path = stack.write(spec)
    stack.up(path, wait=True)
    n = stack.name
    vpn, app = f"{n}-dev-vpn-1", f"{n}-dev-app-1"

    def joined() -> str:
        found = stack.containers()
        mode = found[app].attrs["HostConfig"]["NetworkMode"]
        assert mode == f"container:{found[vpn].id}"
        return str(found[vpn].id)

    first = joined()
    assert _get(port)  # the port published on vpn reaches app's server
    assert api.plan(stack.load(path), stack.engine).pending() == ()

    # vpn recreated: app is recreated after it, on the new container's network.
    spec["services"]["vpn"]["environment"] = {"V": "2"}  # type: ignore[index]
    path = stack.write(spec)
    reasons = {a.name: a.reason for a in stack.up(path, wait=True).plan.pending()}
    assert reasons[app].startswith(f"shares the network of {vpn}, which is recreated")
    assert joined() != first
    assert _get(port)

    # vpn restarted outside stackr: app keeps a network that went with vpn's last run.
    stack.containers()[vpn].restart(timeout=0)
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        _get(port)
    again = stack.up(path, wait=True)
    assert [(a.kind.value, a.name) for a in again.plan.pending()] == [("restart", app)]
    assert _get(port)

    # vpn replaced outside stackr (another container under its name): drift, repaired.
    old = stack.containers()[vpn]
    settings = old.attrs
    old.remove(force=True)
    stack.sdk.containers.run(
        IMAGE,
        SLEEPER,
        name=vpn,
        detach=True,
        labels=settings["Config"]["Labels"],
        ports={"8080/tcp": port},
        network=f"{n}-dev-default",
    )
    drift = api.plan(stack.load(path), stack.engine)
    assert [(a.kind.value, a.name, a.reason) for a in drift.pending()] == [
        ("recreate", app, f"{vpn}, whose network it shares, was replaced since it joined it")
    ]
    stack.up(path, wait=True)
    joined()
    assert _get(port)
    assert api.plan(stack.load(path), stack.engine).pending() == ()
    stack.down(path)
    assert stack.containers() == {}


def test_a_rolled_back_owner_takes_the_service_on_its_network_back(stack: StackFixture) -> None:
    port = _free_port()
    spec = _sidecar(port)
    check = {"test": ["CMD", "true"], "interval": "1s", "retries": 1}
    spec["services"]["vpn"]["healthcheck"] = check  # type: ignore[index]
    stack.up(stack.write(spec), wait=True)
    assert _get(port)
    # A new vpn that never turns healthy: rolled back to the old one, and app restarted onto
    # it, so the port answers again.
    spec["services"]["vpn"]["healthcheck"] = {**check, "test": ["CMD", "false"]}  # type: ignore[index]
    with pytest.raises(api.ApplyError, match="rolled back"):
        stack.up(stack.write(spec), wait_timeout=15.0)
    for _ in range(50):  # app's server starts as its container does
        try:
            assert _get(port)
            break
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    else:
        pytest.fail("app does not answer on vpn's network after the rollback")


def test_a_service_sharing_processes_sees_its_owners_and_follows_it(stack: StackFixture) -> None:
    spec: dict[str, object] = {
        "services": {
            "app": {"image": IMAGE, "command": SLEEPER, "restart": "unless-stopped"},
            "debug": {"image": IMAGE, "command": SLEEPER, "pid": "service:app"},
        }
    }
    path = stack.write(spec)
    stack.up(path)
    n = stack.name
    app, debug = f"{n}-dev-app-1", f"{n}-dev-debug-1"

    def sees_app() -> None:
        found = stack.containers()
        assert found[debug].attrs["HostConfig"]["PidMode"] == f"container:{found[app].id}"
        code, out = found[debug].exec_run(["ps", "-o", "pid,args"])
        assert code == 0
        assert out.decode().count("while true") >= 2  # app's shell and its own

    sees_app()
    assert api.plan(stack.load(path), stack.engine).pending() == ()
    spec["services"]["app"]["environment"] = {"V": "2"}  # type: ignore[index]
    path = stack.write(spec)
    reasons = {a.name: a.reason for a in stack.up(path).plan.pending()}
    assert reasons[debug] == f"shares the processes of {app}, which is recreated"
    sees_app()
    # app restarted outside stackr: its processes end, debug's with them; up starts it again.
    stack.containers()[app].restart(timeout=0)
    again = stack.up(path)
    assert [(a.kind.value, a.name) for a in again.plan.pending()] == [("start", debug)]
    sees_app()
    assert api.plan(stack.load(path), stack.engine).pending() == ()


def test_a_paused_replica_sharing_processes_lets_its_owner_be_replaced(
    stack: StackFixture,
) -> None:
    # A frozen process keeps the owner's namespace, and so its run, from ending: dockerd's stop
    # of the owner would wait for an exit that never comes, then fail.
    spec: dict[str, object] = {
        "services": {
            "app": {"image": IMAGE, "command": SLEEPER},
            "debug": {"image": IMAGE, "command": SLEEPER, "pid": "service:app"},
        }
    }
    stack.up(stack.write(spec))
    n = stack.name
    app, debug = f"{n}-dev-app-1", f"{n}-dev-debug-1"
    stack.containers()[debug].pause()
    spec["services"]["app"]["environment"] = {"V": "2"}  # type: ignore[index]
    path = stack.write(spec)
    reasons = {a.name: a.reason for a in stack.up(path).plan.pending()}
    assert f"unpausing {debug} first" in reasons[app]
    found = stack.containers()
    assert {found[c].status for c in (app, debug)} == {"running"}
    assert found[debug].attrs["HostConfig"]["PidMode"] == f"container:{found[app].id}"
    assert api.plan(stack.load(path), stack.engine).pending() == ()
    # `down` going by the engine alone (no file), one removal at a time: app may come first.
    stack.containers()[debug].pause()
    api.down(stack.name, "dev", stack.engine, volumes=False, loaded=None, jobs=1)
    assert stack.containers() == {}
