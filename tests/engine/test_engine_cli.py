"""The `stackr` command end to end against the real engine: exit codes and what it prints."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from conftest import IMAGE, SLEEPER, StackFixture

from stackr.cli.app import main

pytestmark = pytest.mark.engine


def _simple(stack: StackFixture, **service: object) -> str:
    spec = {"services": {"app": {"image": IMAGE, "command": SLEEPER, **service}}}
    return str(stack.write(spec))


def test_up_ps_plan_down(stack: StackFixture, capsys: pytest.CaptureFixture[str]) -> None:
    path = _simple(stack, replicas=2)
    assert main(["up", "-f", path]) == 0
    assert main(["ps", "-f", path]) == 0
    shown = capsys.readouterr().out
    assert f"{stack.name}-dev-app-1" in shown
    assert f"{stack.name}-dev-app-2" in shown
    assert main(["plan", "-f", path]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert main(["down", "-f", path]) == 0
    assert stack.containers() == {}


def test_up_dry_run_with_json_progress_prints_the_plan_as_json(
    stack: StackFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    path = _simple(stack)
    assert main(["up", "-f", path, "--dry-run", "--progress", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [a["action"] for a in plan["actions"]] == ["create", "create"]
    assert stack.containers() == {}


def test_plan_detailed_exitcode_tells_pending_from_nothing_and_errors(
    stack: StackFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _simple(stack)
    gate = ["plan", "-f", path, "--detailed-exitcode"]
    assert main(gate) == 2  # changes pending
    assert main(["up", "-f", path]) == 0
    assert main(gate) == 0  # nothing to do
    assert main([*gate, "--format", "xml"]) == 1  # a usage error is an error, not "pending"
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    assert main(gate) == 1


def test_down_and_ps_work_when_the_file_no_longer_loads_for_the_profile(
    stack: StackFixture, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A deploy sets TOKEN; whoever takes the stack down later may not have it.
    spec = {"services": {"app": {"image": IMAGE, "command": SLEEPER, "environment": {}}}}
    spec["services"]["app"]["environment"] = {"TOKEN": "${TOKEN:?deploy sets TOKEN}"}
    path = str(stack.write(spec))
    monkeypatch.setenv("TOKEN", "s3cr3t-value")
    assert main(["up", "-f", path]) == 0
    monkeypatch.delenv("TOKEN")
    capsys.readouterr()
    assert main(["ps", "-f", path]) == 0
    captured = capsys.readouterr()
    assert f"{stack.name}-dev-app-1" in captured.out
    assert "does not load for profile dev" in captured.err
    assert main(["down", "-f", path]) == 0
    assert stack.containers() == {}
    assert stack.networks() == []
    # Again, or with a mistyped profile: nothing of it is there, and that is no finished down.
    capsys.readouterr()
    assert main(["down", "-f", path, "--profile", "prdo"]) == 1
    assert "nothing of stack" in capsys.readouterr().err
    assert main(["ps", "-f", path, "--profile", "prdo"]) == 1
    assert "nothing of stack" in capsys.readouterr().err


def test_an_unhealthy_dependency_fails_up_with_what_its_health_check_said(
    stack: StackFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    check = {"test": ["CMD-SHELL", "echo db-probe-refused; exit 1"], "interval": "1s"}
    db = {"image": IMAGE, "command": SLEEPER, "healthcheck": {**check, "retries": 1}}
    web = {"image": IMAGE, "command": SLEEPER, "depends_on": {"db": {"condition": "healthy"}}}
    path = str(stack.write({"services": {"db": db, "web": web}}))
    assert main(["up", "-f", path, "--wait-timeout", "60"]) == 1
    err = capsys.readouterr().err
    assert f"{stack.name}-dev-db-1 is unhealthy, so its dependents were not started" in err
    assert "its last health check said: db-probe-refused" in err
    assert f"{stack.name}-dev-web-1" not in stack.containers()


def test_a_failed_job_run_again_shows_its_latest_run_only(
    stack: StackFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # It speaks, then works a moment: its runs' output lies further apart than the slack
    # `last_log_lines` gives a run's first words.
    migrate = {"image": IMAGE, "command": ["sh", "-c", "echo migration-refused; sleep 0.4; exit 3"]}
    web = {
        "image": IMAGE,
        "command": SLEEPER,
        "depends_on": {"migrate": {"condition": "completed"}},
    }
    path = str(stack.write({"services": {"migrate": migrate, "web": web}}))
    for _ in range(2):  # the second `up` starts the same failed container again
        assert main(["up", "-f", path, "--wait-timeout", "60"]) == 1
        err = capsys.readouterr().err
        assert "exited with code 3" in err
        assert err.count("migration-refused") == 1, err
    logs = stack.sdk.containers.get(f"{stack.name}-dev-migrate-1").logs().decode()
    assert logs.count("migration-refused") == 2  # both runs happened


def test_a_failure_is_told_when_the_output_cannot_be_read_back(
    stack: StackFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    job = {
        "image": IMAGE,
        "command": ["sh", "-c", "echo boom; exit 5"],
        "logging": {"driver": "none"},
    }
    web = {"image": IMAGE, "command": SLEEPER, "depends_on": {"job": {"condition": "completed"}}}
    path = str(stack.write({"services": {"job": job, "web": web}}))
    assert main(["up", "-f", path, "--wait-timeout", "60"]) == 1
    err = capsys.readouterr().err
    assert "exited with code 5" in err
    assert "its output cannot be read back" in err
    assert main(["logs", "--file", path, "job"]) == 1
    assert "json-file, local and journald do" in capsys.readouterr().err


def test_logs_prefix_lines_with_container(
    stack: StackFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _simple(stack, command=["sh", "-c", "echo hello-from-app"], restart="no")
    assert main(["up", "-f", path]) == 0
    capsys.readouterr()
    assert main(["logs", "--file", path, "app"]) == 0
    assert f"{stack.name}-dev-app-1 | hello-from-app" in capsys.readouterr().out
    assert main(["logs", "--file", path, "ap"]) == 1
    assert f"no service 'ap' in stack {stack.name}" in capsys.readouterr().err


def test_cycle_is_refused_before_any_engine_call(
    stack: StackFixture, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import stackr.docker_engine

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the engine was contacted for a cyclic stack")

    monkeypatch.setattr(stackr.docker_engine.DockerEngine, "__init__", refuse)
    spec = {
        "services": {
            "web": {"image": IMAGE, "depends_on": ["api"]},
            "api": {"image": IMAGE, "depends_on": ["web"]},
        }
    }
    assert main(["up", "-f", str(stack.write(spec))]) == 1
    assert "dependency cycle: api → web → api" in capsys.readouterr().err
    assert stack.containers() == {}


def test_missing_image_is_a_clear_error(
    stack: StackFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = {"services": {"app": {"image": "stackr-test/absent:0"}}}
    assert main(["up", "-f", str(stack.write(spec))]) == 1
    err = capsys.readouterr().err
    assert "stackr-test/absent:0 is not on this engine and could not be pulled" in err
    assert "hint:" in err
    assert stack.containers() == {}


def test_port_already_taken_is_a_clear_error(
    stack: StackFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = socket.socket()
    holder.bind(("0.0.0.0", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        assert main(["up", "-f", _simple(stack, ports=[f"{port}:8080"])]) == 1
    finally:
        holder.close()
    err = capsys.readouterr().err
    assert f"{stack.name}-dev-app-1" in err
    assert "Traceback" not in err


def test_build_tags_and_runs_the_image(
    stack: StackFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    context = stack.folder / "app"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {IMAGE}\nARG GREETING=none\nRUN echo $GREETING > /greeting\n"
    )
    spec = {
        "services": {
            "app": {
                "build": {"context": "./app", "args": {"GREETING": "built-by-stackr"}},
                "command": ["sh", "-c", "cat /greeting"],
                "restart": "no",
            }
        }
    }
    path = str(stack.write(spec))
    try:
        assert main(["up", "-f", path]) == 0
        capsys.readouterr()
        assert main(["logs", "--file", path]) == 0
        assert "built-by-stackr" in capsys.readouterr().out
        assert stack.sdk.images.get(f"{stack.name}-app")
    finally:
        main(["down", "-f", path])
        stack.sdk.images.remove(f"{stack.name}-app", force=True)


def test_build_target_picks_a_stage_and_a_new_target_rebuilds(
    stack: StackFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    context = stack.folder / "app"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {IMAGE} AS base\n"
        "FROM base AS production\nARG GREETING\nRUN echo production-$GREETING > /stage\n"
        "FROM base AS debug\nARG GREETING\nRUN echo debug-$GREETING > /stage\n"
    )

    def spec(target: str) -> dict[str, object]:
        build = {"context": "./app", "args": ["GREETING=hi"], "target": target}
        app = {"build": build, "command": ["sh", "-c", "cat /stage"], "restart": "no"}
        return {"services": {"app": app}}

    path = str(stack.write(spec("production")))
    try:
        for target in ("production", "debug"):
            stack.write(spec(target))
            assert main(["up", "-f", path]) == 0
            capsys.readouterr()
            assert main(["logs", "--file", path, "--tail", "1"]) == 0
            assert f"{target}-hi" in capsys.readouterr().out
    finally:
        main(["down", "-f", path])
        stack.sdk.images.remove(f"{stack.name}-app", force=True)


def test_logs_tail_0_prints_no_line(
    stack: StackFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _simple(stack, command=["sh", "-c", "echo one; echo two"], restart="no")
    assert main(["up", "-f", path]) == 0
    capsys.readouterr()
    assert main(["logs", "--file", path, "--tail", "0", "app"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["logs", "--file", path, "--tail", "1", "app"]) == 0
    assert capsys.readouterr().out == f"{stack.name}-dev-app-1 | two\n"


def test_up_wait_fails_on_a_crash_looping_service(
    stack: StackFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _simple(stack, command=["sh", "-c", "echo boom; exit 3"], restart="always")
    assert main(["up", "-f", path, "--wait", "--wait-timeout", "60"]) == 1
    err = capsys.readouterr().err
    assert f"{stack.name}-dev-app-1 keeps exiting and being restarted (" in err
    assert "boom" in err


def test_down_ps_and_logs_work_when_the_file_no_longer_parses(
    stack: StackFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _simple(stack)
    assert main(["up", "-f", path]) == 0
    with open(path, "a", encoding="utf-8") as broken:
        broken.write('    entrypoint: ["a" "b"]\n')  # a YAML syntax error
    capsys.readouterr()
    assert main(["ps", "-f", path]) == 0
    assert f"{stack.name}-dev-app-1" in capsys.readouterr().out
    assert main(["logs", "--file", path, "--tail", "5"]) == 0
    assert f"going by its name, {stack.name}" in capsys.readouterr().err
    assert main(["down", "-f", path]) == 0
    assert f"going by its name, {stack.name}" in capsys.readouterr().err
    assert stack.containers() == {}
    assert stack.networks() == []
    assert main(["logs", "--file", path]) == 1
    assert f"nothing of stack {stack.name} with profile dev is on the engine" in (
        capsys.readouterr().err
    )


def test_a_taken_host_port_names_the_container_holding_it(
    stack: StackFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _free_port()
    holder = f"{stack.name}-holder"
    # Labelled as the stack's, so the fixture cleans it up; not a replica stackr would plan.
    stack.sdk.containers.run(
        IMAGE,
        SLEEPER,
        name=holder,
        detach=True,
        ports={"80/tcp": port},
        labels={"io.stackr.stack": stack.name},
    )
    path = _simple(stack, ports=[f"{port}:80"])
    assert main(["up", "-f", path]) == 1
    err = capsys.readouterr().err
    assert f"host port {port} is published by {holder}: stop it, or change 'ports'" in err


def test_a_container_of_the_same_name_not_the_stacks_is_named_in_the_error(
    stack: StackFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"{stack.name}-dev-app-1"
    stack.sdk.containers.create(IMAGE, SLEEPER, name=name)  # no stackr labels
    try:
        assert main(["up", "-f", _simple(stack)]) == 1
        err = capsys.readouterr().err
        assert "a container of that name exists that this stack does not own" in err
    finally:
        stack.sdk.containers.get(name).remove(force=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("0.0.0.0", 0))
        return int(probe.getsockname()[1])


def test_a_reader_that_goes_away_does_not_stop_up_or_down(stack: StackFixture) -> None:
    # `stackr up | head -1`: the rest of the progress has nowhere to go, the work goes on.
    services = {f"s{i}": {"image": IMAGE, "command": SLEEPER} for i in range(4)}
    path = str(stack.write({"services": services}))
    for command in ("up", "down"):
        stackr = subprocess.Popen(
            [sys.executable, "-m", "stackr", command, "-f", path, "--progress", "plain"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert stackr.stdout is not None and stackr.stderr is not None
        stackr.stdout.readline()
        stackr.stdout.close()
        assert stackr.wait(timeout=60) == 0, stackr.stderr.read().decode()
        running = [c for c in stack.containers().values() if c.status == "running"]
        assert len(running) == (4 if command == "up" else 0)
