"""The spec loader never crashes: whatever the text, `load_stack` returns a Stack or raises a
SpecError with located, worded issues — never another exception (that would be a bug, exit 3).

Three sources of input, each a property over generated files: arbitrary and YAML-ish text;
random documents shaped like stack files (real keys, random-typed values); and mutations of the
valid stack files in the repository (a line deleted, duplicated, re-indented, a scalar replaced).
Crashes they found are kept below as plain regression tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stackr.errors import SpecError
from stackr.spec import Stack, load_stack

ROOT = Path(__file__).resolve().parents[2]
VALID_FILES = sorted(
    [*ROOT.glob("examples/*/stack.yml"), *ROOT.glob("tests/cases/plan/*/stack.yml")]
)
PROFILES = ("dev", "staging", "prod", "qa")

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@pytest.fixture(scope="module")
def stack_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One path, rewritten by every example; its folder has no `.env`."""
    return tmp_path_factory.mktemp("fuzz") / "stack.yml"


def outcome(path: Path, text: str, profile: str = "dev") -> Stack | SpecError:
    """What loading `text` gives: the Stack, or the SpecError; anything else propagates."""
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        return load_stack([str(path)], profile=profile, env={})
    except SpecError as error:
        return error


def is_stack_or_located_error(result: Stack | SpecError) -> bool:
    """A Stack, or a SpecError whose every issue names a file and says something."""
    if isinstance(result, Stack):
        return True
    return bool(result.issues) and all(issue.file and issue.message for issue in result.issues)


# -- (a) text ---------------------------------------------------------------------------------

YAML_TOKENS = (
    *":-[]{}&*!|>'\"#%@,?~=$",
    "services:",
    "web:",
    "image: x",
    "ports:",
    "replicas:",
    "environment:",
    "depends_on:",
    "profiles:",
    "volumes:",
    "networks:",
    "- ",
    ": ",
    "&a ",
    "*a",
    "<<: ",
    "!reset ",
    "!override ",
    "!!python/object:os.system ",
    "!!str ",
    "!!binary ",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "${X}",
    "${X:?gone}",
    "$${",
    "8080:80",
    "0x1F",
    "0440",
    "22:22",
    "1_000",
    "yes",
    "no",
    "on",
    "null",
    ".nan",
    ".inf",
    "1e400",
    "\t",
    "\r",
    "\n",
    "\ufeff",
    "\x85",
    "\x00",
    "\x1b",
)

indentation = st.integers(min_value=0, max_value=8).map(" ".__mul__)
yaml_line = st.tuples(
    indentation, st.lists(st.sampled_from(YAML_TOKENS) | st.text(max_size=4), max_size=8)
).map(lambda parts: parts[0] + "".join(parts[1]))
yamlish_text = st.lists(yaml_line, max_size=20).map("\n".join)
any_text = st.text(max_size=300) | yamlish_text


@FUZZ
@given(text=any_text, profile=st.sampled_from(PROFILES))
def test_any_text_gives_stack_or_located_error(stack_file: Path, text: str, profile: str) -> None:
    assert is_stack_or_located_error(outcome(stack_file, text, profile))


# -- (b) documents shaped like stack files ----------------------------------------------------

# Bounded on purpose: a huge `replicas` beside a port makes the port-clash check loop once per
# replica (a hang, reported separately), which says nothing about crashes.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not 100_000 < abs(x) < 1e400)
    | st.text(max_size=12)
    | st.sampled_from(("8080:80", "80", "2s", "1m30s", "256m", "data:/d", "./x:/y:ro", "web"))
)
random_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
names = st.sampled_from(("web", "db", "cache", "front", "back", "data", "Web", "x-y", "1")) | (
    st.text(max_size=6)
)

PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "image": st.sampled_from(("shop/web:1", "", "busybox")),
    "build": st.sampled_from((".", "./web", {"context": "."}, {"dockerfile": "D", "args": {}})),
    "command": st.lists(st.text(max_size=5), max_size=3) | st.text(max_size=10),
    "entrypoint": st.lists(st.text(max_size=5), max_size=3) | st.text(max_size=10),
    "environment": st.dictionaries(st.text(max_size=5), scalars, max_size=3)
    | st.lists(st.sampled_from(("A=1", "B", "=x", "C=", " D=1")), max_size=3),
    "labels": st.dictionaries(st.text(max_size=5), scalars, max_size=3)
    | st.lists(st.sampled_from(("a=1", "b", "c=")), max_size=3),
    "ports": st.lists(
        st.sampled_from(("8080:80", "8081-8083:80", "80", "0:80", "70000", "9-1:80", "[::1]:80:80"))
        | st.integers(-1, 70000),
        max_size=3,
    ),
    "volumes": st.lists(
        st.sampled_from(("data:/d", "./conf:/c:ro", "/anon", "~/x:/y", "front:/f:rw", "a:b")),
        max_size=3,
    ),
    "networks": st.lists(names, max_size=3),
    "depends_on": st.lists(names, max_size=3)
    | st.dictionaries(
        names,
        st.none()
        | st.fixed_dictionaries({"condition": st.sampled_from(("started", "healthy", "done"))}),
        max_size=3,
    ),
    "healthcheck": st.fixed_dictionaries(
        {},
        optional={
            "test": st.sampled_from((["CMD", "true"], "true", ["NONE"], [], ["X"])),
            "interval": st.sampled_from(("2s", "1m30s", "soon", 5, -1)),
            "retries": st.integers(-2, 5),
            "disable": st.booleans(),
        },
    ),
    "replicas": st.integers(-1, 4),
    "restart": st.sampled_from(("no", "always", "on-failure", "unless-stopped", "sometimes")),
    "resources": st.fixed_dictionaries(
        {},
        optional={
            "cpus": st.sampled_from((0.5, 0, "1.", ".5", "x")),
            "memory": st.sampled_from(("256m", 1024, "1 g", "lots")),
        },
    ),
    "user": st.sampled_from(("1000", 1000, "app:app")),
    "working_dir": st.sampled_from(("/app", "")),
    "stop_grace_period": st.sampled_from(("2s", 3, "forever", 0.5)),
}
SERVICE_KEYS = sorted(PLAUSIBLE)


def _entry(key: str) -> st.SearchStrategy[tuple[str, Any]]:
    return st.tuples(st.just(key), PLAUSIBLE[key] | random_values)


service_entry = st.sampled_from([*SERVICE_KEYS, "imgae", "x-meta"]).flatmap(
    lambda key: _entry(key) if key in PLAUSIBLE else st.tuples(st.just(key), random_values)
)
services = st.dictionaries(names, st.lists(service_entry, max_size=6).map(dict), max_size=4)
declared = st.dictionaries(
    names,
    st.none()
    | st.fixed_dictionaries({}, optional={"internal": st.booleans(), "driver": st.text(max_size=5)}),
    max_size=3,
)
overlay = st.fixed_dictionaries({}, optional={"services": services, "volumes": declared})
stack_documents = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(("shop", "Shop", "")) | st.text(max_size=5),
        "services": services | random_values,
        "volumes": declared,
        "networks": declared,
        "profiles": st.dictionaries(st.sampled_from(PROFILES) | names, st.none() | overlay, max_size=3),
        "x-defaults": random_values,
    },
) | st.dictionaries(st.text(max_size=10), random_values, max_size=4)


@FUZZ
@given(doc=stack_documents, profile=st.sampled_from(PROFILES))
def test_stack_shaped_document_gives_stack_or_located_error(
    stack_file: Path, doc: dict[str, Any], profile: str
) -> None:
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    assert is_stack_or_located_error(outcome(stack_file, text, profile))


# -- (c) mutations of the valid files ---------------------------------------------------------

_SCALAR = re.compile(r"(?<=: )[^\[\]{},#\n]+|(?<=- )[^\[\]{},#\n]+|[A-Za-z0-9_./:-]+")

Mutation = Callable[[list[str], int, str], list[str]]


def _delete(lines: list[str], at: int, _: str) -> list[str]:
    return lines[:at] + lines[at + 1 :]


def _duplicate(lines: list[str], at: int, _: str) -> list[str]:
    return lines[: at + 1] + lines[at:]


def _indent(lines: list[str], at: int, text: str) -> list[str]:
    shift = len(text) % 7 - 3  # -3..3 spaces
    line = lines[at]
    moved = " " * shift + line if shift > 0 else line[min(-shift, len(line) - len(line.lstrip())) :]
    return [*lines[:at], moved, *lines[at + 1 :]]


def _replace_scalar(lines: list[str], at: int, text: str) -> list[str]:
    found = list(_SCALAR.finditer(lines[at]))
    if not found:
        return lines
    match = found[len(text) % len(found)]
    line = lines[at][: match.start()] + text + lines[at][match.end() :]
    return [*lines[:at], line, *lines[at + 1 :]]


MUTATIONS: tuple[Mutation, ...] = (_delete, _duplicate, _indent, _replace_scalar)


@st.composite
def mutated_files(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(VALID_FILES)).read_text().splitlines()
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        if not lines:
            break
        mutate = draw(st.sampled_from(MUTATIONS))
        at = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        lines = mutate(lines, at, draw(st.sampled_from(YAML_TOKENS) | st.text(max_size=12)))
    return "\n".join(lines) + "\n"


def test_mutation_sources_exist() -> None:
    assert len(VALID_FILES) >= 2


@FUZZ
@given(text=mutated_files(), profile=st.sampled_from(PROFILES))
def test_mutated_valid_file_gives_stack_or_located_error(
    stack_file: Path, text: str, profile: str
) -> None:
    assert is_stack_or_located_error(outcome(stack_file, text, profile))
