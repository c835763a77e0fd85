"""The command line without an engine: exit codes, JSON output, diff, variables, schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stackr.cli.app import main
from stackr.cli.precommit import validate_files_main
from stackr.errors import Abandoned

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").rglob("stack*.yml"))
STACK = """\
name: shop
services:
  web:
    image: shop/web:${TAG:-1.0}
    environment: {LOG_LEVEL: info}
profiles:
  dev: {}
  prod:
    services:
      web: {replicas: 3, environment: {LOG_LEVEL: warn}}
"""


@pytest.fixture
def stack_file(write_stack) -> str:  # type: ignore[no-untyped-def]
    return str(write_stack(STACK))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: str(p.parent.name))
def test_every_example_is_valid(example: Path) -> None:
    assert main(["validate", "-f", str(example)]) == 0


def test_validate_json_lists_problems(write_stack, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = write_stack("services:\n  web:\n    imgae: x\n")
    assert main(["validate", "-f", str(path), "--format", "json"]) == 1
    (problem,) = json.loads(capsys.readouterr().out)
    assert problem == {
        "file": str(path),
        "line": 3,
        "column": 5,
        "path": "services.web.imgae",
        "message": "unknown key 'imgae'",
        "hint": "did you mean 'image'?",
    }


def test_validate_json_of_a_valid_file_is_empty(
    stack_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "-f", stack_file, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_invalid_file_exits_1_without_traceback(
    write_stack,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    path = write_stack("services: [\n")
    assert main(["validate", "-f", str(path)]) == 1
    err = capsys.readouterr().err
    assert "is invalid (1 problem)" in err
    assert "Traceback" not in err


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["up", "--bogus"]) == 2
    assert "No such option: --bogus" in capsys.readouterr().err


def test_diff_shows_changed_keys(stack_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "-f", stack_file, "--profile", "dev", "--profile", "prod"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "dev → prod: 2 difference(s)",
        '  services.web.environment.LOG_LEVEL: "info" → "warn"',
        "  services.web.replicas: 1 → 3",
    ]


def test_diff_json_tells_an_absent_key_from_a_null_one(
    write_stack, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    path = write_stack(
        "services:\n  web: {image: x, networks: {front: {aliases: [a]}}}\n"
        "networks: {front: {}, back: {}}\n"
        "profiles:\n  dev: {}\n  p3: {services: {web: {networks: {back: null}}}}\n"
    )
    args = ["diff", "-f", str(path), "--profile", "dev", "--profile", "p3", "--format", "json"]
    assert main(args) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["left"], shown["right"]) == ("dev", "p3")
    assert shown["differences"] == [{"path": "services.web.networks.back", "right": None}]


def test_diff_json_keys_stay_fixed_whatever_the_profiles_are_called(
    write_stack, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    path = write_stack(
        "services:\n  web: {image: x}\n"
        "profiles:\n  path: {}\n  left: {services: {web: {replicas: 2}}}\n"
    )
    args = ["diff", "-f", str(path), "--profile", "path", "--profile", "left", "--format", "json"]
    assert main(args) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == {
        "left": "path",
        "right": "left",
        "differences": [{"path": "services.web.replicas", "left": 1, "right": 2}],
    }


@pytest.mark.parametrize("bad", ["Prod", "", "a b"])
def test_a_bad_profile_name_is_bad_usage(stack_file: str, bad: str) -> None:
    # Refused as usage (2), before anything runs; an empty one is not taken for "none given".
    assert main(["validate", "-f", stack_file, "--profile", bad]) == 2
    assert main(["diff", "-f", stack_file, "--profile", "dev", "--profile", bad]) == 2


def test_diff_needs_two_profiles(stack_file: str) -> None:
    assert main(["diff", "-f", stack_file, "--profile", "dev"]) == 2


def test_config_json_is_normalised(stack_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "-f", stack_file, "--profile", "prod", "--format", "json"]) == 0
    web = json.loads(capsys.readouterr().out)["services"]["web"]
    assert (web["image"], web["replicas"], web["environment"]) == (
        "shop/web:1.0",
        3,
        {"LOG_LEVEL": "warn"},
    )


def test_config_variables(stack_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "-f", stack_file, "--variables", "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row == {
        "name": "TAG",
        "default": "1.0",
        "required": False,
        "value": "1.0",
        "source": "default",
        "used_at": [f"{stack_file}:4"],
    }


def test_a_piped_table_has_no_trailing_spaces(
    stack_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "-f", stack_file, "--variables"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["VARIABLE", "VALUE", "FROM", "DEFAULT", "USED", "AT"]
    assert lines[1].startswith("TAG") and lines[1].endswith(f"{stack_file}:4")
    assert all(line == line.rstrip() for line in lines)  # the header's last column is shorter


def test_schema_prints_the_published_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_pre_commit_entry_validates_each_file(
    stack_file: str,
    write_stack,  # type: ignore[no-untyped-def]
) -> None:
    assert validate_files_main([stack_file]) == 0
    bad = str(write_stack("services: {web: {replicas: -1}}\n", "stack.bad.yml"))
    assert validate_files_main(["--profile", "prod", bad]) == 1


def test_pre_commit_entry_validates_an_overlay_on_top_of_its_base(
    stack_file: str,
    write_stack,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Alone, this overlay's service has no image: beside stack.yml it is the base's web.
    overlay = str(write_stack("services: {web: {replicas: 2}}\n", "stack.ops.yml"))
    assert validate_files_main([overlay]) == 0
    assert "stack.yml, " in capsys.readouterr().out
    lone = str(write_stack("services: {web: {replicas: 2}}\n", "stack.ops.yml", "other"))
    assert validate_files_main([lone]) == 1


@pytest.mark.parametrize("command", ["validate", "config"])
def test_spec_commands_never_import_the_docker_sdk(stack_file: str, command: str) -> None:
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from stackr.cli.app import main\n"
        f"code = main([{command!r}, '-f', {stack_file!r}])\n"
        "print(code, 'docker' in sys.modules, 'networkx' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == "0 False False"


def test_ctrl_c_during_up_exits_130_and_says_so(
    stack_file: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from fakes import FakeEngine

    import stackr.cli.wiring
    from stackr import api

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # the lock's folder
    monkeypatch.setattr(stackr.cli.wiring, "engine_for", lambda stack, **_: FakeEngine())
    monkeypatch.setattr(api, "up", interrupted)
    assert main(["up", "-f", stack_file]) == 130
    err = capsys.readouterr().err
    assert err.startswith("interrupted: no new work was started; the work in flight, and the")
    assert "run the command again to converge" in err


def test_a_failed_up_ends_its_json_progress_with_an_error_record(
    stack_file: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from fakes import FakeEngine

    import stackr.cli.wiring
    from stackr import api
    from stackr.errors import ApplyError

    def failing(*args: object, **kwargs: object) -> None:
        raise ApplyError({"shop-dev-web-1": "exited with code 1"}, hint="fix it")

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(stackr.cli.wiring, "engine_for", lambda stack, **_: FakeEngine())
    monkeypatch.setattr(api, "up", failing)
    assert main(["up", "-f", stack_file, "--progress", "json"]) == 1
    captured = capsys.readouterr()
    record = json.loads(captured.out.splitlines()[-1])["error"]
    assert record["failures"] == {"shop-dev-web-1": "exited with code 1"}
    assert record["hint"] == "fix it"
    assert "1 object(s) failed" in captured.err


def test_validate_warns_of_an_unset_variable_and_stays_valid(
    write_stack, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    path = write_stack("services:\n  web:\n    image: 'shop/web:${NO_SUCH_TAG_HERE}'\n")
    assert main(["validate", "-f", str(path)]) == 0
    captured = capsys.readouterr()
    assert "is valid" in captured.out
    assert captured.err.startswith(f"warning: {path}:3:5  services.web.image: NO_SUCH_TAG_HERE")


def test_plan_json_gives_each_change_as_data(
    write_stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    from fakes import FakeEngine

    import stackr.cli.wiring
    from stackr import api

    engine = FakeEngine(
        images={"shop/web:1": "sha256:" + "1" * 64, "shop/web:2": "sha256:" + "2" * 64}
    )
    monkeypatch.setattr(stackr.cli.wiring, "engine_for", lambda stack, **_: engine)
    service = {"image": "shop/web:1", "environment": {"LOG_LEVEL": "info", "DB_PASSWORD": "a"}}
    path = write_stack({"name": "shop", "services": {"web": service}})
    api.up(api.load([str(path)], profile="dev", env={}), engine, options=api.UpOptions())
    service |= {"image": "shop/web:2", "environment": {"LOG_LEVEL": "debug", "DB_PASSWORD": "b"}}
    service["ports"] = ["8080:80"]
    write_stack({"name": "shop", "services": {"web": service}})
    args = ["plan", "-f", str(path), "--format", "json", "--detailed-exitcode"]
    assert main(args) == 2
    actions = json.loads(capsys.readouterr().out)["actions"]
    (action,) = [a for a in actions if a["object"] == "container"]
    assert (action["action"], action["name"]) == ("recreate", "shop-dev-web-1")
    assert action["changes"] == [
        {"field": "environment.DB_PASSWORD", "before": "***", "after": "***"},
        {"field": "environment.LOG_LEVEL", "before": "info", "after": "debug"},
        {"field": "image", "before": "shop/web:1", "after": "shop/web:2"},
        {"field": "ports", "before": [], "after": ["8080:80/tcp"]},
    ]


def test_plan_json_reports_an_invalid_file_as_json(
    write_stack, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    path = write_stack("services:\n  web:\n    image: 3\n")
    assert main(["plan", "-f", str(path), "--format", "json", "--detailed-exitcode"]) == 1
    captured = capsys.readouterr()
    (issue,) = json.loads(captured.out)["error"]["issues"]
    assert (issue["file"], issue["line"], issue["path"]) == (str(path), 3, "services.web.image")
    assert captured.err.startswith("error:")


def test_pre_commit_entry_checks_the_overlays_of_a_changed_base(
    write_stack,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = str(write_stack("services: {web: {image: shop/web:1}}\n"))
    write_stack("services: {web: {depends_on: [db]}}\n", "stack.ops.yml")
    assert validate_files_main([base]) == 1  # the overlay needs a db the base does not have
    assert "stack.ops.yml" in capsys.readouterr().err
    write_stack("services: {web: {image: shop/web:1}, db: {image: shop/db:1}}\n")
    assert validate_files_main([base]) == 0


def test_config_output_is_read_for_its_own_profile_only(
    stack_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "-f", stack_file, "--profile", "prod"]) == 0
    saved = tmp_path / "rendered.yml"
    saved.write_text(capsys.readouterr().out)
    assert main(["validate", "-f", str(saved), "--profile", "prod"]) == 0
    assert main(["validate", "-f", str(saved)]) == 1  # dev: not what it was rendered for
    assert "no profile 'dev' in this file" in capsys.readouterr().err


def _rendered(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """`stackr config` of `path`, saved as a stack file of its own."""
    assert main(["config", "-f", str(path)]) == 0
    saved = tmp_path / "rendered.yml"
    saved.write_text(capsys.readouterr().out)
    return saved


def _hashes(path: Path) -> dict[str, str]:
    from stackr.desired import desired_state
    from stackr.spec import load_stack

    stack = load_stack([str(path)], profile="dev", env={})
    return {n: c.labels["io.stackr.spec-hash"] for n, c in desired_state(stack).containers.items()}


@pytest.mark.parametrize(
    "check",
    [
        "{interval: 500ms, retries: 5}",  # the test, timeout and start period are the image's
        "{disable: false}",  # nothing set at all
        "{test: [CMD, 'true'], timeout: 2s}",
    ],
)
def test_config_of_a_healthcheck_reads_back_to_the_same_stack(
    check: str, write_stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    path = write_stack(f"name: s\nservices:\n  db: {{image: x, healthcheck: {check}}}\n")
    saved = _rendered(path, tmp_path, capsys)
    assert main(["validate", "-f", str(saved)]) == 0
    assert _hashes(saved) == _hashes(path)
    if "interval" in check:
        rendered = saved.read_text()
        assert "test:" not in rendered and "timeout:" not in rendered  # left to the image
        assert "interval: 0.5s" in rendered and "retries: 5" in rendered


def test_nothing_to_do_for_named_services_says_for_which(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from stackr.cli import render
    from stackr.plan import Plan

    render.plan(Plan(stack="shop", profile="dev", actions=()), fmt="text", services=["api"])
    out = capsys.readouterr().out
    assert "nothing to do for api: the engine matches the file for them" in out
    render.plan(Plan(stack="shop", profile="dev", actions=()), fmt="text")
    assert "nothing to do: the engine matches the file" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("raised", "said"),
    [
        (KeyboardInterrupt, "interrupted: no new work was started"),
        (Abandoned, "interrupted twice: stackr stopped waiting"),
    ],
)
def test_ctrl_c_during_up_with_json_progress_ends_with_an_interrupted_record(
    stack_file: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    raised: type[KeyboardInterrupt],
    said: str,
) -> None:
    from fakes import FakeEngine

    import stackr.cli.wiring
    from stackr import api

    def interrupted(*args: object, **kwargs: object) -> None:
        raise raised

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(stackr.cli.wiring, "engine_for", lambda stack, **_: FakeEngine())
    monkeypatch.setattr(api, "up", interrupted)
    assert main(["up", "-f", stack_file, "--progress", "json"]) == 130
    captured = capsys.readouterr()
    record = json.loads(captured.out.splitlines()[-1])["error"]
    assert record["interrupted"] is True and record["message"].startswith(said)
    assert captured.err.startswith(said)


def test_down_with_json_progress_prints_json_lines_only(
    stack_file: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from fakes import FakeEngine

    import stackr.cli.wiring

    engine = FakeEngine(images={"shop/web:1.0": "sha256:1"})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(stackr.cli.wiring, "engine_for", lambda stack, **_: engine)
    monkeypatch.setattr(stackr.cli.wiring, "engine_at", lambda target, **_: engine)
    assert main(["up", "-f", stack_file, "--progress", "json"]) == 0
    capsys.readouterr()
    assert main(["down", "-f", stack_file, "--progress", "json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    summary = records[-1]["summary"]
    assert (summary["remove"], summary["keep"], summary["kept"]) == (2, 0, [])  # web, network
    assert summary["seconds"] >= 0


def test_up_and_down_with_json_progress_end_with_an_error_record_before_any_run(
    write_stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    from fakes import FakeEngine

    import stackr.cli.wiring

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(stackr.cli.wiring, "engine_at", lambda target, **_: FakeEngine())
    broken = write_stack("services:\n  web:\n    image: ${NEEDED:?set NEEDED}\n")
    assert main(["up", "-f", str(broken), "--progress", "json"]) == 1
    record = json.loads(capsys.readouterr().out.splitlines()[-1])["error"]
    assert record["issues"][0]["message"].startswith("set NEEDED (${NEEDED} is not set)")
    fine = write_stack(
        {"name": "shop", "services": {"web": {"image": "shop/web:1"}}, "profiles": {"dev": {}}}
    )
    assert main(["down", "-f", str(fine), "--profile", "prod", "--progress", "json"]) == 1
    record = json.loads(capsys.readouterr().out.splitlines()[-1])["error"]
    assert record["message"].startswith("nothing of stack shop with profile prod is on the engine")


def test_a_folder_with_only_a_compose_file_says_how_to_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: shop/web:1\n")
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 1
    err = capsys.readouterr().err
    assert "no stack.yml here, only Compose's compose.yaml" in err
    assert "-f compose.yaml" in err
    assert main(["validate", "-f", "compose.yaml"]) == 0


def test_composes_up_d_and_remove_orphans_are_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Parsed as options (not bad usage, exit 2): the run goes on to look for the file.
    missing = str(tmp_path / "stack.yml")
    for argv in (["up", "-d", "--remove-orphans"], ["down", "--remove-orphans"]):
        assert main([*argv, "-f", missing]) == 1
        assert "file not found" in capsys.readouterr().err


def test_a_stack_from_standard_input_is_refused_with_a_way_round(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["validate", "-f", "-"]) == 1
    assert "does not read a stack file from standard input" in capsys.readouterr().err


def test_config_writes_a_number_written_in_hex_and_keeps_octal_looking_text_quoted(
    write_stack, capsys
) -> None:  # type: ignore[no-untyped-def]
    import yaml as pyyaml

    from stackr.cli.app import main

    path = write_stack(
        "services:\n  web:\n    image: x\n    shm_size: 0x100000\n"
        "    user: '0o755'\n    command: [chmod, '0o755', /x]\n"
    )
    assert main(["config", "-f", str(path)]) == 0
    text = capsys.readouterr().out
    web = pyyaml.safe_load(text)["services"]["web"]
    assert web["shm_size"] == 1048576
    assert "user: '0o755'" in text and web["command"] == ["chmod", "0o755", "/x"]
