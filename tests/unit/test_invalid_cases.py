"""Golden spec reports, by cases in data files.

`tests/cases/invalid/<case>/` holds `stack.yml` (plus any other file the case needs: a second
stack file, `.env`) and `expected.txt`, the exact report of loading it (`str(SpecError)` and a
newline).
`tests/cases/valid/<case>/` holds `stack.yml` and `expected.yml`, the effective stack
(`stackr.api.config`) dumped as YAML — for YAML hazards that must stay valid, such as `no` and
`0440` staying strings.

An optional `args.txt` in a case sets how it is loaded, one `key: value` per line:
`profile: prod` (default `dev`) and `files: stack.yml ops.yml` (default `stack.yml`). Each case
is loaded from inside its folder with relative names and an empty process environment, so the
reports are the same on every machine.

When messages change on purpose, regenerate every expected file and review the diff:

    STACKR_REGEN=1 .venv/bin/python -m pytest tests/unit/test_invalid_cases.py
    git diff tests/cases
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from stackr import api
from stackr.cli import yamlout
from stackr.errors import SpecError
from stackr.spec import Stack, load_stack

CASES = Path(__file__).resolve().parent.parent / "cases"
REGEN = os.environ.get("STACKR_REGEN") == "1"


def _cases(kind: str) -> list[str]:
    return sorted(p.name for p in (CASES / kind).iterdir() if p.is_dir())


def _args(folder: Path) -> dict[str, str]:
    # A Compose example is its compose.yaml, as `stackr -f compose.yaml` reads it.
    compose = not (folder / "stack.yml").exists() and (folder / "compose.yaml").exists()
    args = {"profile": "dev", "files": "compose.yaml" if compose else "stack.yml"}
    path = folder / "args.txt"
    if path.exists():
        for line in path.read_text().splitlines():
            key, _, value = line.partition(":")
            args[key.strip()] = value.strip()
    return args


def _load(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Stack:
    monkeypatch.chdir(folder)
    args = _args(folder)
    return load_stack(args["files"].split(), profile=args["profile"], env={})


def _golden(expected: Path, actual: str) -> str:
    """The expected text; under STACKR_REGEN=1, `actual` is written there first."""
    if REGEN:
        expected.write_text(actual)
    return expected.read_text()


@pytest.mark.parametrize("case", _cases("invalid"), ids=str)
def test_invalid_case_reports_golden_text(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = CASES / "invalid" / case
    with pytest.raises(SpecError) as caught:
        _load(folder, monkeypatch)
    report = str(caught.value) + "\n"
    assert report == _golden(folder / "expected.txt", report)


@pytest.mark.parametrize("case", _cases("valid"), ids=str)
def test_valid_case_renders_golden_config(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = CASES / "valid" / case
    config = api.config(_load(folder, monkeypatch))
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    # Bind sources and build contexts are absolute: show them relative to the case.
    text = text.replace(str(folder.resolve()), "<case>")
    assert text == _golden(folder / "expected.yml", text)


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    "folder",
    [*(CASES / "valid" / case for case in _cases("valid")), *sorted(EXAMPLES.iterdir())],
    ids=lambda folder: folder.name,
)
def test_config_output_is_a_stack_file_that_renders_the_same(
    folder: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # As with Compose, what `config` prints can be kept and used as the stack file itself.
    monkeypatch.chdir(folder)
    args = _args(folder)
    env = {"API_TOKEN": "t0ken-value"}  # the secrets example reads one from the environment
    stack = load_stack(args["files"].split(), profile=args["profile"], env=env)
    printed = api.config(stack)
    assert printed["profiles"] == {args["profile"]: {}}
    again = tmp_path / "stack.yml"
    again.write_text(yamlout.dump(printed))  # as `stackr config` writes it
    reloaded = load_stack([str(again)], profile=args["profile"], env=env)
    assert api.config(reloaded) == printed
