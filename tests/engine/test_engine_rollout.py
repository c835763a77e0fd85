"""Zero-downtime updates on the real engine: a client calls the service by name in a loop while
`up` replaces every replica of it; not one request may fail."""

from __future__ import annotations

import time
from typing import Any

import pytest
from conftest import IMAGE, StackFixture

pytestmark = pytest.mark.engine

CLIENT = [
    "sh",
    "-c",
    "trap 'exit 0' TERM; while true; do "
    "if wget -q -O /dev/null http://web:8080/; then echo ok; else echo FAIL; fi; "
    "sleep 0.05; done & wait",
]


def _web(greeting: str, order: str = "start-first") -> dict[str, Any]:
    return {
        "image": IMAGE,
        "command": [
            "sh",
            "-c",
            "trap 'exit 0' TERM; mkdir -p /www; echo $$GREETING > /www/index.html; "
            "httpd -f -p 8080 -h /www & wait",
        ],
        "environment": {"GREETING": greeting},
        "replicas": 3,
        "restart": "always",
        "healthcheck": {
            "test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:8080/"],
            "interval": "1s",
            "timeout": "1s",
            "retries": 3,
        },
        "update": {"order": order, "parallelism": 1},
        "stop_grace_period": "2s",
    }


def _spec(greeting: str, order: str = "start-first") -> dict[str, Any]:
    return {
        "services": {
            "web": _web(greeting, order),
            "client": {
                "image": IMAGE,
                "command": CLIENT,
                "restart": "always",
                "depends_on": {"web": {"condition": "healthy"}},
                "stop_grace_period": "1s",
            },
        }
    }


def _client_lines(stack: StackFixture) -> list[str]:
    client = stack.containers()[f"{stack.name}-dev-client-1"]
    return client.logs().decode().split()


# Stop-first too: while one replica is replaced, the other two serve, and the one stopping
# has left the service's name first.
@pytest.mark.parametrize("order", ["start-first", "stop-first"])
def test_an_update_of_replicas_drops_no_request(stack: StackFixture, order: str) -> None:
    stack.up(stack.write(_spec("hello", order)))
    time.sleep(1)
    before = {name: c.id for name, c in stack.containers().items() if "-web-" in name}
    result = stack.up(stack.write(_spec("bonjour", order)))
    time.sleep(1)
    lines = _client_lines(stack)
    after = {name: c.id for name, c in stack.containers().items() if "-web-" in name}
    assert sorted(after) == sorted(before)  # the same names, no leftovers
    assert all(after[name] != before[name] for name in before)  # every replica replaced
    assert result.plan.counts()  # the update really ran
    # The client's whole log in the message: which request failed, and after how many.
    assert lines.count("ok") > 40, " ".join(lines)
    assert lines.count("FAIL") == 0, " ".join(lines)
    env = stack.containers()[f"{stack.name}-dev-web-2"].attrs["Config"]["Env"]
    assert "GREETING=bonjour" in env


# A handler answering after 1.5 s, and three clients calling it back to back (each gives up
# after 3 s): whenever the old replica leaves the service's name, it has requests in flight.
_SLOW = (
    "trap 'exit 0' TERM; mkdir -p /www/cgi-bin; echo ok > /www/index.html; cd /www/cgi-bin; "
    "echo '#!/bin/sh' > slow; echo 'sleep 1.5' >> slow; "
    "echo 'echo Content-Type: text/plain' >> slow; echo 'echo' >> slow; "
    'echo "echo $$GREETING" >> slow; chmod +x slow; '
    "httpd -f -p 8080 -h /www & wait"
)
_SLOW_CLIENTS = (
    "trap 'exit 0' TERM; for i in 1 2 3; do (while true; do "
    "if timeout 3 wget -q -O - http://web:8080/cgi-bin/slow; then :; else echo FAIL; fi; "
    "done) & done; wait"
)


def _slow_spec(greeting: str, replicas: int = 1, order: str = "start-first") -> dict[str, Any]:
    web = _web(greeting)
    web["command"] = ["sh", "-c", _SLOW]
    web["replicas"] = replicas
    web["update"] = {"order": order, "drain": "3s"}
    client = {"image": IMAGE, "command": ["sh", "-c", _SLOW_CLIENTS]}
    client |= {"depends_on": {"web": {"condition": "healthy"}}, "stop_grace_period": "1s"}
    return {"services": {"web": web, "client": client}}


# Start-first: the old replica leaves once its replacement serves. Stop-first: it leaves while
# the other replica serves, and its replacement starts once it has stopped.
@pytest.mark.parametrize(("order", "replicas"), [("start-first", 1), ("stop-first", 2)])
def test_requests_in_flight_when_an_old_replica_leaves_get_their_answers(
    stack: StackFixture, order: str, replicas: int
) -> None:
    stack.up(stack.write(_slow_spec("hello", replicas, order)))
    time.sleep(2)  # the clients are calling
    stack.up(stack.write(_slow_spec("bonjour", replicas, order)))
    time.sleep(3.5)  # past the clients' timeout: a cut request has failed by now
    lines = stack.containers()[f"{stack.name}-dev-client-1"].logs().decode().split()
    assert "FAIL" not in lines, " ".join(lines)
    # The clients went on through the update: the new replica answers them since.
    assert lines.count("bonjour") >= 3, " ".join(lines)


def test_requests_in_flight_on_a_replica_scaled_down_get_their_answers(
    stack: StackFixture,
) -> None:
    stack.up(stack.write(_slow_spec("hello", replicas=3)))
    time.sleep(2)  # the clients are calling, some of them the replicas about to go
    stack.up(stack.write(_slow_spec("hello", replicas=1)))
    time.sleep(3.5)  # past the clients' timeout: a cut request has failed by now
    assert sorted(stack.containers()) == [f"{stack.name}-dev-{n}" for n in ("client-1", "web-1")]
    lines = stack.containers()[f"{stack.name}-dev-client-1"].logs().decode().split()
    assert "FAIL" not in lines, " ".join(lines)
    assert lines.count("hello") >= 3, " ".join(lines)


def test_failed_update_rolls_back_and_keeps_serving(stack: StackFixture) -> None:
    from stackr.errors import ApplyError

    stack.up(stack.write(_spec("hello")))
    broken = _spec("broken")
    broken["services"]["web"]["healthcheck"]["test"] = ["CMD", "false"]
    before = {name: c.id for name, c in stack.containers().items() if "-web-" in name}
    with pytest.raises(ApplyError, match="rolled back"):
        stack.up(stack.write(broken), wait_timeout=8.0)
    after = {name: c.id for name, c in stack.containers().items() if "-web-" in name}
    assert after == before
    assert _client_lines(stack).count("FAIL") == 0


def test_a_changed_job_that_fails_fails_up_and_never_runs_its_old_version_again(
    stack: StackFixture,
) -> None:
    from stackr.errors import ApplyError

    def spec(version: str, code: int) -> dict[str, Any]:
        migrate = {
            "image": IMAGE,
            "volumes": ["data:/data"],
            "command": ["sh", "-c", f"echo {version} >> /data/log; exit {code}"],
        }
        keeper = {
            "image": IMAGE,
            "volumes": ["data:/data"],
            "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 86400 & wait"],
            "depends_on": {"migrate": {"condition": "completed"}},
        }
        return {"services": {"migrate": migrate, "keeper": keeper}, "volumes": {"data": {}}}

    stack.up(stack.write(spec("v1", 0)))
    with pytest.raises(ApplyError) as caught:
        stack.up(stack.write(spec("v2", 3)))
    assert "migrate (a job) failed" in str(caught.value)
    assert "exited with code 3" in str(caught.value)
    keeper = stack.sdk.containers.get(f"{stack.name}-dev-keeper-1")
    log = keeper.exec_run(["cat", "/data/log"]).output.decode().split()
    assert log == ["v1", "v2"]  # the old migration did not run again
    migrate = stack.containers()[f"{stack.name}-dev-migrate-1"]
    assert migrate.attrs["State"]["ExitCode"] == 3


def test_an_unchecked_replica_that_exits_at_once_is_not_taken_for_ready(
    stack: StackFixture,
) -> None:
    from stackr.errors import ApplyError

    def spec(command: str) -> dict[str, Any]:
        app = {
            "image": IMAGE,
            "command": ["sh", "-c", command],
            "replicas": 2,
            "restart": "unless-stopped",  # an exit is restarted: it may be seen running
            "update": {"order": "start-first"},
        }
        return {"services": {"app": app}}

    stack.up(stack.write(spec("trap 'exit 0' TERM; sleep 86400 & wait")))
    before = {name: c.id for name, c in stack.containers().items()}
    with pytest.raises(ApplyError, match="rolled back"):
        stack.up(stack.write(spec("exit 7")), wait_timeout=10.0)
    after = {name: c.id for name, c in stack.containers().items()}
    assert after == before
    assert all(c.status == "running" for c in stack.containers().values())
