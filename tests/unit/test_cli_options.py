"""Option values converted without pydantic, and what the short commands import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main

from stackr.cli.app import app, main
from stackr.cli.options import PlainCommand, plain_value
from stackr.cli.params import ProgressMode

QUICKSTART = str(Path(__file__).parents[2] / "examples" / "quickstart" / "stack.yml")


def _options() -> list[tuple[str, Any]]:
    group = typer.main.get_command(app)
    commands: dict[str, Any] = getattr(group, "commands", {})
    return [
        (f"{name} {param.name}", param) for name, cmd in commands.items() for param in cmd.params
    ]


@pytest.mark.parametrize(
    ("name", "param"), _options(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_option_converts_without_pydantic(name: str, param: Any) -> None:
    descriptor = param.type_descriptor
    assert plain_value(descriptor.annotation, descriptor.parameter_info) is not None, name


def test_every_command_is_a_plain_command() -> None:
    group = typer.main.get_command(app)
    commands: dict[str, Any] = getattr(group, "commands", {})
    assert all(isinstance(command, PlainCommand) for command in commands.values())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--jobs", "0"], "Invalid value for '--jobs' / '-j': 0 is not in the range 1<=x<=256."),
        (["--jobs", "x"], "Invalid value for '--jobs' / '-j': 'x' is not a valid integer."),
        (
            ["--lock-timeout", "-1"],
            "Invalid value for '--lock-timeout': -1 is not in the range x>=0.",
        ),
        (
            ["--wait-timeout", "soon"],
            "Invalid value for '--wait-timeout': 'soon' is not a valid number.",
        ),
        (
            ["--progress", "fancy"],
            "Invalid value for '--progress': 'fancy' is not one of 'auto', 'plain', 'json'.",
        ),
        # A wait that could never end, or a pool as large as memory.
        (["--wait-timeout", "nan"], "Invalid value for '--wait-timeout': 'nan' is not a finite"),
        (["--lock-timeout", "inf"], "Invalid value for '--lock-timeout': 'inf' is not a finite"),
        (
            ["-j", "100000"],
            "Invalid value for '--jobs' / '-j': 100000 is not in the range 1<=x<=256.",
        ),
    ],
)
def test_a_bad_option_value_is_a_usage_error(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["up", "-f", "missing.yml", *args]) == 2
    assert f"Error: {message}" in capsys.readouterr().err


def test_values_keep_their_types() -> None:
    from typer.models import OptionInfo

    paths = plain_value(list[Path], OptionInfo())
    progress = plain_value(ProgressMode, OptionInfo())
    jobs = plain_value(int, OptionInfo(min=1))
    assert paths is not None and progress is not None and jobs is not None
    assert paths.coerce(("a.yml", "b.yml"), param=None, ctx=None) == [Path("a.yml"), Path("b.yml")]
    assert paths.coerce(None, param=None, ctx=None) == ()
    assert progress.coerce("json", param=None, ctx=None) is ProgressMode.JSON
    assert progress.coerce(ProgressMode.AUTO, param=None, ctx=None) is ProgressMode.AUTO
    assert jobs.coerce("3", param=None, ctx=None) == 3


def test_an_option_with_a_custom_parser_keeps_typers_conversion() -> None:
    from typer.models import OptionInfo

    assert plain_value(int, OptionInfo(parser=int)) is None


_PROBE = """
import sys
from stackr.cli.app import main
code = main(sys.argv[1:])
heavy = ("pydantic", "rich", "jsonschema", "yaml", "docker", "networkx")
print(code, *sorted(name for name in heavy if name in sys.modules))
"""


@pytest.mark.parametrize(
    ("args", "imported"),
    [
        (["--help"], ""),
        (["version"], ""),
        (["validate", "-f", QUICKSTART], "yaml"),
        (["config", "-f", QUICKSTART, "--format", "json"], "yaml"),
    ],
    ids=["help", "version", "validate", "config"],
)
def test_short_commands_import_only_what_they_use(args: list[str], imported: str) -> None:
    # Start-up time is mostly imports: pydantic (typer's option conversion), rich (nothing is
    # styled here), the Docker SDK and networkx have no business in these commands.
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == f"0 {imported}".strip()


def test_the_program_exits_with_mains_code_and_all_its_output() -> None:
    # `run` leaves through os._exit: whatever was written must still reach the reader.
    config = subprocess.run(
        [sys.executable, "-m", "stackr", "config", "-f", QUICKSTART, "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert config.returncode == 0
    assert json.loads(config.stdout)["name"]
    missing = subprocess.run(
        [sys.executable, "-m", "stackr", "validate", "-f", "no-such-stack.yml"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 1
    assert "no-such-stack.yml" in missing.stderr


def test_the_program_says_nothing_when_its_reader_goes_away(tmp_path: Path) -> None:
    # `stackr config | head -1`: the pipe closes while output larger than the pipe's buffer is
    # still being written; no BrokenPipeError traceback follows.
    services = "".join(
        f"  service-{i}:\n    image: busybox\n    environment: {{KEY_{i}: '{'x' * 200}'}}\n"
        for i in range(400)
    )
    stack = tmp_path / "stack.yml"
    stack.write_text(f"name: big\nservices:\n{services}", encoding="utf-8")
    with subprocess.Popen(
        [sys.executable, "-m", "stackr", "config", "-f", str(stack)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.readline()
        process.stdout.close()
        error = process.stderr.read().decode()
        process.wait(timeout=30)
    assert "Traceback" not in error
    assert "BrokenPipeError" not in error


def test_the_program_takes_sigterm_as_ctrl_c() -> None:
    # `main` here stands in for a command at work: SIGTERM must reach it as KeyboardInterrupt,
    # which the real `main` turns into exit code 130 after the work in flight is finished.
    script = (
        "import sys, time\n"
        "import stackr.cli.app as app\n"
        "def main():\n"
        "    try:\n"
        "        print('working', flush=True); time.sleep(20)\n"
        "    except KeyboardInterrupt:\n"
        "        print('interrupted'); return 130\n"
        "    return 0\n"
        "app.main = main\n"
        "app.run()\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "working"
        process.terminate()
        assert process.wait(timeout=10) == 130
        assert process.stdout.read().strip() == "interrupted"


def test_an_arguments_help_names_it_without_its_python_type(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from stackr.cli.app import main

    assert main(["logs", "--help"]) == 0
    out = capsys.readouterr().out
    assert "SERVICE  Only these services." in out
    assert "list[str]" not in out


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "--profile", "dev", "--profile", "prod"],
        ["validate", "--profile=dev", "--profile", "prod"],
        ["up", "-j", "2", "--jobs=3"],
        ["up", "-j", "2", "-dj4"],  # clustered short options
    ],
)
def test_an_option_of_one_value_given_twice_is_bad_usage(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # click would keep the last quietly: `--profile dev --profile prod` would act on prod alone.
    assert main(argv) == 2
    assert "given 2 times; give it once" in capsys.readouterr().err


def test_an_options_value_that_looks_like_an_option_is_a_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # click reads `--env-file --profile` as an env file named "--profile": not a second one.
    path = tmp_path / "stack.yml"
    path.write_text("services:\n  web:\n    image: shop/web:1\n")
    argv = ["config", "-f", str(path), "--env-file", "--profile", "--profile", "prod"]
    assert main(argv) == 1
    assert "--profile: env file not found" in capsys.readouterr().err


def test_repeatable_options_may_repeat(tmp_path: Path) -> None:
    path = tmp_path / "stack.yml"
    path.write_text("services:\n  web:\n    image: shop/web:1\n")
    assert main(["validate", "-f", str(path), "-f", str(path)]) == 0


_CTRL_C_WHILE_STARTING = """
import builtins
real = builtins.__import__
def importing(name, *args, **kwargs):
    if name == "stackr.cli.app":
        raise KeyboardInterrupt
    return real(name, *args, **kwargs)
builtins.__import__ = importing
from stackr.cli.entry import run
run()
"""


def test_ctrl_c_while_the_program_starts_ends_it_quietly() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CTRL_C_WHILE_STARTING], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stderr) == (130, "interrupted\n")


def test_ctrl_c_in_a_command_that_changes_nothing_says_only_that(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from stackr.cli import specargs

    def interrupt(self: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(specargs.SpecArgs, "validate", interrupt)
    assert main(["validate"]) == 130
    assert capsys.readouterr().err == "interrupted\n"
