"""Secrets, configs, env_files and build contexts against a real engine: the files are in the
container with their modes and owners, never in its configuration, and a changed file recreates
exactly the containers that use it (and rebuilds an image whose context changed); an included
file brings its own."""

from __future__ import annotations

import time
from pathlib import Path

import yaml
from conftest import IMAGE, SLEEPER, StackFixture

from stackr import api
from stackr.observed import LABEL_BUILD_DIGEST
from stackr.plan import ActionKind


def _files_stack(stack: StackFixture) -> Path:
    (stack.folder / "db.txt").write_text("s3cret-value\n")
    (stack.folder / "app.conf").write_text("workers 2\n")
    (stack.folder / "web.env").write_text("LOG_LEVEL=info\n")
    return stack.write(
        {
            "services": {
                "web": {
                    "image": IMAGE,
                    "command": SLEEPER,
                    "env_file": "web.env",
                    "secrets": [
                        "db_password",
                        {"source": "db_password", "target": "copy", "mode": "0400", "uid": 1000},
                    ],
                    "configs": [{"source": "app", "target": "/etc/app/app.conf"}, "motd"],
                },
                "other": {"image": IMAGE, "command": SLEEPER},
            },
            "secrets": {"db_password": {"file": "db.txt"}},
            "configs": {"app": {"file": "app.conf"}, "motd": {"content": "hello\n"}},
        }
    )


def test_secret_and_config_files_are_in_the_container(stack: StackFixture) -> None:
    stack.up(_files_stack(stack))
    web = stack.containers()[f"{stack.name}-dev-web-1"]
    paths = ["/run/secrets/db_password", "/run/secrets/copy", "/etc/app/app.conf", "/motd"]
    code, output = web.exec_run(["stat", "-c", "%n %a %u:%g", *paths])
    assert code == 0, output
    assert output.decode().splitlines() == [
        "/run/secrets/db_password 444 0:0",
        "/run/secrets/copy 400 1000:0",
        "/etc/app/app.conf 444 0:0",
        "/motd 444 0:0",
    ]
    code, output = web.exec_run(["cat", "/run/secrets/copy", "/etc/app/app.conf", "/motd"])
    assert output.decode() == "s3cret-value\nworkers 2\nhello\n"
    assert "LOG_LEVEL=info" in web.attrs["Config"]["Env"]
    assert "s3cret-value" not in repr(web.attrs)


def test_changed_file_contents_recreate_only_their_users(stack: StackFixture) -> None:
    path = _files_stack(stack)
    stack.up(path)
    before = {name: c.id for name, c in stack.containers().items()}
    assert stack.up(path).plan.pending() == ()

    (stack.folder / "db.txt").write_text("rotated\n")
    result = stack.up(path)
    recreated = {a.name for a in result.plan.pending() if a.kind is ActionKind.RECREATE}
    assert recreated == {f"{stack.name}-dev-web-1"}
    after = stack.containers()
    assert after[f"{stack.name}-dev-other-1"].id == before[f"{stack.name}-dev-other-1"]
    _code, output = after[f"{stack.name}-dev-web-1"].exec_run(["cat", "/run/secrets/db_password"])
    assert output.decode() == "rotated\n"

    (stack.folder / "web.env").write_text("LOG_LEVEL=debug\n")
    action = stack.up(path).plan.pending()[0]
    assert action.change_lines() == ("environment.LOG_LEVEL: info → debug",)
    assert "LOG_LEVEL=debug" in stack.containers()[f"{stack.name}-dev-web-1"].attrs["Config"]["Env"]


def test_build_context_changes_rebuild_and_ignored_files_do_not(stack: StackFixture) -> None:
    context = stack.folder / "web"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {IMAGE}\nCOPY app.txt /app.txt\n")
    (context / "app.txt").write_text("v1\n")
    (context / ".dockerignore").write_text("# scratch files\nnotes/\n*.log\n")
    (context / "notes").mkdir()
    (context / "notes" / "todo.md").write_text("later\n")
    (context / "debug.log").write_text("x\n")
    image = f"{stack.name}-web:dev"
    path = stack.write(
        {"services": {"web": {"image": image, "build": "./web", "command": SLEEPER}}}
    )
    try:
        stack.up(path)
        web = f"{stack.name}-dev-web-1"
        first = stack.containers()[web].id

        (context / "notes" / "todo.md").write_text("sooner\n")
        (context / "debug.log").write_text("y\n")
        assert stack.up(path).plan.pending() == ()
        assert stack.containers()[web].id == first

        (context / "app.txt").write_text("v2\n")
        result = stack.up(path)
        assert [a.kind for a in result.plan.pending()] == [ActionKind.RECREATE]
        _code, output = stack.containers()[web].exec_run(["cat", "/app.txt"])
        assert output.decode() == "v2\n"
        assert stack.up(path).plan.pending() == ()
    finally:
        stack.down(path)
        stack.sdk.images.remove(image, force=True)
        # The first build, replaced by the second, is left untagged.
        stack.sdk.images.prune(filters={"dangling": True, "label": LABEL_BUILD_DIGEST})


def test_an_images_own_healthcheck_gates_healthy_and_a_stale_one_is_not_believed(
    stack: StackFixture,
) -> None:
    context = stack.folder / "db"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {IMAGE}\nHEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD test -f /tmp/ready\n"
    )
    image = f"{stack.name}-db:dev"
    ready_later = [
        "sh",
        "-c",
        "trap 'exit 0' TERM; (sleep 1; touch /tmp/ready) & sleep 86400 & wait",
    ]
    web = {"image": IMAGE, "command": SLEEPER, "depends_on": {"db": {"condition": "healthy"}}}
    # Only `retries` given: the test, interval and timeout stay the image's, as with Compose.
    db = {
        "image": image,
        "build": "./db",
        "command": ready_later,
        "restart": "unless-stopped",
        "healthcheck": {"retries": 2},
    }
    path = stack.write({"services": {"db": db, "web": web}})
    try:
        stack.up(path, wait=True)
        found = stack.containers()
        db_health = found[f"{stack.name}-dev-db-1"].attrs["State"]["Health"]["Status"]
        assert db_health == "healthy"
        check = found[f"{stack.name}-dev-db-1"].attrs["Config"]["Healthcheck"]
        assert (check["Test"][-1], check["Interval"], check["Timeout"], check["Retries"]) == (
            "test -f /tmp/ready",
            10**9,
            10**9,
            2,
        )
        assert found[f"{stack.name}-dev-web-1"].status == "running"

        # Paused outside stackr, db fails its checks; unpaused by `up`, it is healthy again at
        # its next check, and the `unhealthy` from the pause must not fail the wait.
        found[f"{stack.name}-dev-db-1"].pause()
        found[f"{stack.name}-dev-web-1"].kill()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            state = stack.containers()[f"{stack.name}-dev-db-1"].attrs["State"]
            if state["Health"]["Status"] == "unhealthy":
                break
            time.sleep(0.2)
        assert state["Health"]["Status"] == "unhealthy"
        stack.up(path)
        assert stack.containers()[f"{stack.name}-dev-web-1"].status == "running"
    finally:
        stack.down(path)
        stack.sdk.images.remove(image, force=True)


def test_an_included_file_runs_with_its_own_paths_variables_and_files(stack: StackFixture) -> None:
    # The included file's bind mount, env file and secret file are read from its folder, its
    # .env sets what the stack does not, and its volume is one of the stack's.
    db = stack.folder / "db"
    (db / "init").mkdir(parents=True)
    (db / "init" / "schema.sql").write_text("create table t;\n")
    (db / ".env").write_text("DB_MODE=replica\n")
    (db / "db.env").write_text("LOCALE=C\n")
    (db / "db.labels").write_text("com.example.tier=db\n")
    (db / "password.txt").write_text("s3cret-value\n")
    included = {
        "services": {
            "db": {
                "image": IMAGE,
                "command": SLEEPER,
                "environment": {"MODE": "${DB_MODE}"},
                "env_file": "db.env",
                "label_file": "db.labels",
                "volumes": ["./init:/init:ro", "data:/data"],
                "secrets": ["db_password"],
            }
        },
        "volumes": {"data": {}},
        "secrets": {"db_password": {"file": "password.txt"}},
    }
    (db / "stack.yml").write_text(yaml.safe_dump(included))
    path = stack.write(
        {
            "include": ["db/stack.yml"],
            "services": {
                "web": {"image": IMAGE, "command": SLEEPER, "depends_on": ["db"]},
                "db": {"environment": {"EXTRA": "1"}},
            },
        }
    )
    stack.up(path)
    container = stack.containers()[f"{stack.name}-dev-db-1"]
    env = container.attrs["Config"]["Env"]
    assert {"MODE=replica", "LOCALE=C", "EXTRA=1"} <= set(env)
    assert container.labels["com.example.tier"] == "db"
    code, output = container.exec_run(["cat", "/init/schema.sql", "/run/secrets/db_password"])
    assert (code, output.decode()) == (0, "create table t;\ns3cret-value\n")
    [volume] = stack.volumes()
    assert any(m.get("Name") == volume for m in container.attrs["Mounts"])
    assert f"{stack.name}-dev-web-1" in stack.containers()
    assert api.plan(stack.load(path), stack.engine).pending() == ()
