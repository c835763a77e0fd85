"""The spec loader never crashes: whatever the text, `load_stack` returns a Stack or raises a
SpecError with located, worded issues — never another exception (that would be a bug, exit 3).

Three sources of input, each a property over generated files: arbitrary and YAML-ish text;
random documents shaped like stack files (real keys, random-typed values); and mutations of the
valid stack files in the repository (a line deleted, duplicated, re-indented, a scalar replaced);
and, on those mutations, `stackr validate` never exits 3. On the stack-shaped documents, the
compiled yes/no schema check also answers exactly as jsonschema does.

Crashes they found are kept at the end as plain regression tests. A crash found but not yet fixed
can be listed in `KNOWN_CRASHES` (with an xfail regression test) so the fuzzers discard its inputs
and keep finding new ones; today the list is empty.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from stackr.cli.app import main
from stackr.errors import Issue, SpecError
from stackr.spec import Stack, load_stack
from stackr.spec.schema import load_schema, quick_check
from stackr.spec.source import Document, parse_document

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
        HealthCheck.filter_too_much,
    ],
)


@pytest.fixture(scope="module")
def stack_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One path, rewritten by every example; its folder has no `.env`."""
    return tmp_path_factory.mktemp("fuzz") / "stack.yml"


# Open crashes (exception type, function): examples meeting one are discarded, so the fuzzers keep
# looking for new ones. Each entry needs an xfail regression test; remove it once that passes.
KNOWN_CRASHES: set[tuple[type[BaseException], str]] = set()
STACKR = str(ROOT / "stackr")
JSONSCHEMA = Draft202012Validator(load_schema())


def outcome(path: Path, text: str, profile: str = "dev") -> Stack | SpecError:
    """What loading `text` gives: the Stack, or the SpecError; anything else propagates."""
    path.write_bytes(text.encode("utf-8"))
    try:
        return load_stack([str(path)], profile=profile, env={})
    except SpecError as error:
        return error
    except Exception as error:
        if (type(error), _raised_in(error)) in KNOWN_CRASHES:
            reject()
        raise


def _raised_in(error: BaseException) -> str:
    """The innermost function of stackr the error went through."""
    frames = traceback.extract_tb(error.__traceback__)
    return next((f.name for f in reversed(frames) if f.filename.startswith(STACKR)), "")


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


def mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`usual` four times in five, else `odd`: most services must pass the schema for the
    value parsers and cross-checks behind it to be reached at all."""
    return st.integers(0, 4).flatmap(lambda n: odd if n == 0 else usual)


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**400)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(("8080:80", "80", "2s", "1m30s", "256m", "data:/d", "./x:/y:ro", "web"))
)
random_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
names = mostly(
    st.sampled_from(("web", "db", "cache", "front", "back", "data", "default")),
    st.sampled_from(("Web", "x-y", "1", "-a", "")) | st.text(max_size=6),
)
texts = st.text(st.characters(codec="ascii"), max_size=8)
durations = mostly(
    st.sampled_from(("2s", "1m30s", "500ms", 3, 0.5, 0)),
    st.sampled_from(("soon", "1h30", -1, 10**400, 1e308)) | scalars,
)

PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "image": st.sampled_from(("shop/web:1", "busybox", "")),
    "build": st.sampled_from((".", "./web", {"context": "."}, {"dockerfile": "D", "args": {}})),
    "command": st.lists(texts, max_size=3) | texts,
    "entrypoint": st.lists(texts, max_size=3) | texts,
    "environment": st.dictionaries(texts, scalars, max_size=3)
    | st.lists(st.sampled_from(("A=1", "B", "C=", "D=a=b", "=x", " E=1")), max_size=3),
    "labels": st.dictionaries(texts, scalars, max_size=3)
    | st.lists(st.sampled_from(("a=1", "c=", "b")), max_size=3),
    "ports": st.lists(
        mostly(
            st.sampled_from(("8080:80", "8081-8083:80", "80", "127.0.0.1:9000:9000/udp", 8080)),
            st.sampled_from(("0:80", "70000:80", "9-1:80", "[::1]:80:80", 0, 70000)),
        ),
        max_size=3,
    ),
    "volumes": st.lists(
        mostly(
            st.sampled_from(("data:/d", "./conf:/c:ro", "/anon", "front:/f:rw", "~/x:/y")),
            st.sampled_from(("a:b", "~nobody-stackr/x:/y", "data:/d:rx", ":/x")),
        ),
        max_size=3,
    ),
    "networks": st.lists(names, max_size=3, unique=True),
    "depends_on": st.lists(names, max_size=3, unique=True)
    | st.dictionaries(
        names,
        st.none()
        | st.fixed_dictionaries(
            {}, optional={"condition": st.sampled_from(("started", "healthy", "completed", "ok"))}
        ),
        max_size=3,
    ),
    "healthcheck": st.fixed_dictionaries(
        {},
        optional={
            "test": st.sampled_from((["CMD", "true"], "true", ["NONE"], ["CMD-SHELL", "x"], [])),
            "interval": durations,
            "timeout": durations,
            "start_period": durations,
            "retries": st.integers(-1, 5),
            "disable": st.booleans(),
        },
    ),
    "replicas": mostly(st.integers(0, 4), st.sampled_from((-1, 2.0, "2", 10**400))),
    "restart": st.sampled_from(("no", "always", "on-failure", "unless-stopped", "off")),
    "resources": st.fixed_dictionaries(
        {},
        optional={
            "cpus": mostly(st.sampled_from((0.5, 2, "1.", ".5")), scalars),
            "memory": mostly(st.sampled_from(("256m", 1024, "1 g", "1.5g")), scalars),
        },
    ),
    "user": st.sampled_from(("1000", 1000, "app:app")),
    "working_dir": st.sampled_from(("/app", "")),
    "stop_grace_period": durations,
}
SERVICE_KEYS = sorted(PLAUSIBLE)


def _entry(key: str) -> st.SearchStrategy[tuple[str, Any]]:
    if key not in PLAUSIBLE:
        return st.tuples(st.just(key), random_values)
    return st.tuples(st.just(key), mostly(PLAUSIBLE[key], random_values))


service_entry = mostly(st.sampled_from(SERVICE_KEYS), st.sampled_from(("imgae", "x-meta"))).flatmap(
    _entry
)


def _few_replicas(service: dict[str, Any]) -> dict[str, Any]:
    # A huge `replicas` beside a port makes the port-clash check loop once per replica: a hang
    # (reported on its own), not a crash, so the fuzzer keeps replica counts small.
    count = service.get("replicas")
    if isinstance(count, int | float) and not isinstance(count, bool) and abs(count) > 1000:
        return {**service, "replicas": 1000}
    return service


service = st.tuples(
    mostly(st.just({"image": "shop/web:1"}), st.just({})), st.lists(service_entry, max_size=5)
).map(lambda parts: _few_replicas({**parts[0], **dict(parts[1])}))
services = st.dictionaries(names, mostly(service, random_values), max_size=4)
declared = st.dictionaries(
    names,
    st.none()
    | st.fixed_dictionaries(
        {},
        optional={
            "internal": mostly(st.booleans(), scalars),
            "driver": st.sampled_from(("local", "bridge", "")),
            "labels": PLAUSIBLE["labels"],
            "driver_opts": st.dictionaries(texts, scalars, max_size=2),
        },
    ),
    max_size=3,
)
overlay = st.fixed_dictionaries(
    {},
    optional={
        "services": services,
        "volumes": declared,
        "networks": declared,
        "env_file": st.sampled_from((".env.none", "")) | random_values,
        "imgae": random_values,
    },
)
stack_documents = mostly(
    st.fixed_dictionaries(
        {"services": mostly(services, random_values)},
        optional={
            "name": st.sampled_from(("shop", "Shop", "")) | scalars,
            "volumes": mostly(declared, random_values),
            "networks": mostly(declared, random_values),
            "profiles": mostly(
                st.dictionaries(
                    st.sampled_from(PROFILES) | names,
                    st.none() | mostly(overlay, random_values),
                    max_size=3,
                ),
                random_values,
            ),
            "x-defaults": random_values,
            "web": st.just({"image": "shop/web:1"}) | random_values,
        },
    ),
    st.dictionaries(st.text(max_size=10), random_values, max_size=4),
)

# YAML the dumper never writes: merge directives and other tags, put before a random value.
TAGS = ("!reset ", "!override ", "!!str ", "!!int ", "!!map ", "!!seq ", "!!binary ", "!custom ")
_VALUE_START = re.compile(r"(?<=: )|(?<=- )|(?<=:)$", re.MULTILINE)


def _tagged(text: str, tags: list[tuple[int, str]]) -> str:
    """`text` with each `(n, tag)` inserting `tag` before the value start numbered n (mod)."""
    for index, tag in tags:
        spots = [m.start() for m in _VALUE_START.finditer(text)]
        if spots:
            at = spots[index % len(spots)]
            text = text[:at] + (tag if text[at - 1 : at] == " " else " " + tag) + text[at:]
    return text


@FUZZ
@given(
    doc=stack_documents,
    profile=st.sampled_from(PROFILES),
    flow=st.booleans(),
    tags=st.lists(st.tuples(st.integers(0, 100), st.sampled_from(TAGS)), max_size=2),
)
def test_stack_shaped_document_gives_stack_or_located_error(
    stack_file: Path, doc: dict[str, Any], profile: str, flow: bool, tags: list[tuple[int, str]]
) -> None:
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=flow)
    assert is_stack_or_located_error(outcome(stack_file, _tagged(text, tags), profile))


@FUZZ
@given(
    doc=stack_documents,
    flow=st.booleans(),
    tags=st.lists(st.tuples(st.integers(0, 100), st.sampled_from(TAGS)), max_size=2),
)
def test_event_builder_agrees_with_composed_nodes(
    doc: dict[str, Any], flow: bool, tags: list[tuple[int, str]]
) -> None:
    # Ordinary files skip the node tree; whatever the event builder accepts, it builds the same.
    text = _tagged(yaml.safe_dump(doc, sort_keys=False, default_flow_style=flow), tags)
    assert _parsed(text, ordinary=True) == _parsed(text, ordinary=False)


def _parsed(text: str, *, ordinary: bool) -> Document | list[Issue]:
    try:
        return parse_document(text, file="stack.yml", ordinary=ordinary)
    except SpecError as error:
        return list(error.issues)


@FUZZ
@given(doc=stack_documents)
def test_quick_check_agrees_with_jsonschema(doc: dict[str, Any]) -> None:
    # The compiled check lets a "valid" skip jsonschema: it must never say so wrongly, and for
    # the published schema it decides every document exactly as jsonschema does.
    assert quick_check().is_valid(doc) == JSONSCHEMA.is_valid(doc)


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


@settings(FUZZ, max_examples=60)
@given(text=mutated_files(), profile=st.sampled_from(PROFILES))
def test_validate_command_never_exits_as_a_bug(stack_file: Path, text: str, profile: str) -> None:
    outcome(stack_file, text, profile)  # discards the examples that meet a known crash
    assert main(["validate", "-f", str(stack_file), "--profile", profile]) in (0, 1)


# -- crashes the fuzzers found, as plain regression tests -------------------------------------


def issue_paths(path: Path, text: str) -> list[str]:
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_stack([str(path)], profile="dev", env={})
    return [issue.path for issue in caught.value.issues]


def test_reset_on_profiles_is_validated_not_used(tmp_path: Path) -> None:
    # `!reset` on `profiles` is not a merge directive, so its value reaches the profile overlay;
    # the schema used to skip it ("what a !reset holds is never used") and 5 crashed the overlay.
    text = "services: {web: {image: shop/web:1}}\nprofiles: !reset 5\n"
    assert issue_paths(tmp_path / "stack.yml", text) == ["profiles"]


def test_reset_on_one_profile_is_validated_not_used(tmp_path: Path) -> None:
    text = "services: {web: {image: shop/web:1}}\nprofiles:\n  dev: !reset 5\n"
    assert issue_paths(tmp_path / "stack.yml", text) == ["profiles.dev"]


def test_reset_on_a_list_item_in_a_profile_is_validated(tmp_path: Path) -> None:
    # The merge replaces lists whole: a `!reset` item stays in the list and is used.
    text = (
        "services: {web: {image: shop/web:1}}\n"
        "profiles: {dev: {services: {web: {networks: [!reset [front]]}}}}\n"
    )
    assert issue_paths(tmp_path / "stack.yml", text) == ["profiles.dev.services.web.networks[0]"]


HUGE = "1" + "0" * 400


def test_huge_integer_duration_is_an_issue(tmp_path: Path) -> None:
    text = f"services:\n  web:\n    image: shop/web:1\n    stop_grace_period: {HUGE}\n"
    assert issue_paths(tmp_path / "stack.yml", text) == ["services.web.stop_grace_period"]


def test_huge_integer_cpus_is_an_issue(tmp_path: Path) -> None:
    text = f"services:\n  web:\n    image: shop/web:1\n    resources: {{cpus: {HUGE}}}\n"
    assert issue_paths(tmp_path / "stack.yml", text) == ["services.web.resources.cpus"]


def test_bind_from_unknown_users_home_is_an_issue(tmp_path: Path) -> None:
    text = "services:\n  web:\n    image: shop/web:1\n    volumes: ['~nobody-stackr/a:/a']\n"
    assert issue_paths(tmp_path / "stack.yml", text) == ["services.web.volumes[0]"]


def test_command_with_unclosed_quote_is_an_issue(tmp_path: Path) -> None:
    text = "services:\n  web:\n    image: shop/web:1\n    command: echo 'hi\n"
    assert issue_paths(tmp_path / "stack.yml", text) == ["services.web.command"]


def test_bad_service_named_with_a_dot_is_reported(tmp_path: Path) -> None:
    text = "services:\n  a.b: x\n"
    assert issue_paths(tmp_path / "stack.yml", text) == ["services.a.b", "services.a.b"]
