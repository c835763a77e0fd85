"""Safe YAML loading: positions, refusals (tags, duplicates, alias bombs) and YAML 1.2 scalars."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackr.errors import Issue, SpecError
from stackr.spec import yamltree
from stackr.spec.fastyaml import build_ordinary
from stackr.spec.source import (
    MAX_FILE_BYTES,
    Document,
    Position,
    load_document,
    parse_document,
)
from stackr.spec.yamltree import BasedInt

FILE = "stack.yml"

SERVICES = """\
services:
  web:
    image: nginx
    ports:
      - "80:80"
      - 443
"""

BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def parse(text: str) -> Document:
    return parse_document(text, file=FILE)


def issues_of(text: str) -> list[Issue]:
    with pytest.raises(SpecError) as caught:
        parse(text)
    return list(caught.value.issues)


def load_issues(path: Path, display: str | None = None) -> list[Issue]:
    with pytest.raises(SpecError) as caught:
        load_document(path, display=display)
    return list(caught.value.issues)


def test_builds_plain_tree() -> None:
    assert parse(SERVICES).data == {
        "services": {"web": {"image": "nginx", "ports": ["80:80", 443]}}
    }


def test_mapping_entry_is_located_at_its_key() -> None:
    positions = parse(SERVICES).positions
    assert positions[("services", "web", "image")] == Position(FILE, 3, 5)


def test_list_item_is_located_at_the_item() -> None:
    positions = parse(SERVICES).positions
    assert positions[("services", "web", "ports", 1)] == Position(FILE, 6, 9)


def test_flow_list_items_have_their_own_columns() -> None:
    positions = parse("ports: [80, 443]\n").positions
    assert (positions[("ports", 0)], positions[("ports", 1)]) == (
        Position(FILE, 1, 9),
        Position(FILE, 1, 13),
    )


def test_root_is_line_one_column_one() -> None:
    assert parse("# comment\na: 1\n").positions[()] == Position(FILE, 1, 1)


def test_loader_leaves_layer_empty() -> None:
    assert parse(SERVICES).positions[("services",)].layer == ""


def test_locate_falls_back_to_nearest_recorded_ancestor() -> None:
    doc = parse(SERVICES)
    assert doc.locate(("services", "web", "ports", 7, "target")) == Position(FILE, 4, 5)


def test_locate_falls_back_to_root() -> None:
    assert parse(SERVICES).locate(("volumes", "data")) == Position(FILE, 1, 1)


def test_duplicate_key_is_reported_at_second_occurrence() -> None:
    text = "services:\n  web:\n    image: a\n    ports: []\n    image: b\n"
    assert issues_of(text) == [
        Issue(
            file=FILE,
            line=5,
            column=5,
            path="services.web.image",
            message="duplicate key 'image' (first at line 3)",
            hint="remove one of them",
        )
    ]


def test_every_duplicate_key_is_reported_in_one_error() -> None:
    text = "a: 1\nb:\n  c: 1\n  c: 2\na: 3\n"
    assert [(issue.line, issue.message) for issue in issues_of(text)] == [
        (4, "duplicate key 'c' (first at line 3)"),
        (5, "duplicate key 'a' (first at line 1)"),
    ]


def test_duplicate_inside_an_aliased_mapping_is_reported_once() -> None:
    text = "base: &b\n  x: 1\n  x: 2\none: *b\ntwo: *b\n"
    assert [(issue.line, issue.path) for issue in issues_of(text)] == [(3, "base.x")]


def test_alias_copies_the_anchored_value() -> None:
    text = "base: &b [1, 2]\ncopy: *b\n"
    assert parse(text).data == {"base": [1, 2], "copy": [1, 2]}


def test_alias_positions_point_to_the_anchor() -> None:
    text = "base: &b\n  x: 1\ncopy: *b\n"
    assert parse(text).positions[("copy", "x")] == Position(FILE, 2, 3)


def test_merge_key_brings_in_anchored_mapping() -> None:
    text = "x-base: &base\n  image: a\n  restart: always\nweb:\n  <<: *base\n  ports: [80]\n"
    assert parse(text).data["web"] == {"image": "a", "restart": "always", "ports": [80]}


def test_explicit_key_overrides_merged_key_without_duplicate_error() -> None:
    text = "x-base: &base\n  image: a\n  restart: always\nweb:\n  <<: *base\n  image: b\n"
    assert parse(text).data["web"] == {"image": "b", "restart": "always"}


def test_explicit_key_before_merge_still_wins() -> None:
    text = "x-base: &base {image: a}\nweb:\n  image: b\n  <<: *base\n"
    assert parse(text).data["web"] == {"image": "b"}


def test_overriding_key_is_located_where_it_was_written() -> None:
    text = "x-base: &base\n  image: a\nweb:\n  <<: *base\n  image: b\n"
    assert parse(text).positions[("web", "image")] == Position(FILE, 5, 3)


def test_merge_list_prefers_earlier_mappings() -> None:
    text = "a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: [*a, *b]\n"
    assert parse(text).data["c"] == {"x": 1, "y": 2}


def test_merge_of_a_scalar_is_refused() -> None:
    assert issues_of("web:\n  <<: 5\n") == [
        Issue(
            file=FILE,
            line=2,
            column=7,
            path="web",
            message="'<<' takes a mapping or a list of mappings",
            hint="merge an anchored mapping, e.g. '<<: *defaults'",
        )
    ]


def test_billion_laughs_is_refused() -> None:
    assert [issue.message for issue in issues_of(BILLION_LAUGHS)] == [
        "too many nodes after expanding aliases (over 1000000)"
    ]


CAP = 100  # MAX_NODES for the next test, so that it builds small files


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("a: [" + "1, " * (CAP - 3) + "]\n", False),  # root, key, list, items: CAP nodes
        ("a: [" + "1, " * (CAP - 2) + "]\n", True),
        # A value skipped after a problem still counts: the key is repeated, then refused.
        ("a: 1\na: [" + "1, " * (CAP - 4) + "]\n", True),
        ("a: !!str [" + "1, " * (CAP - 2) + "]\n", True),
    ],
)
def test_a_file_without_aliases_is_held_to_the_node_cap_too(
    monkeypatch: pytest.MonkeyPatch, text: str, refused: bool
) -> None:
    # Without an alias, the nodes are counted as they are built instead of in a walk first.
    monkeypatch.setattr(yamltree, "MAX_NODES", CAP)
    if refused:
        message = f"too many nodes after expanding aliases (over {CAP})"
        assert [issue.message for issue in issues_of(text)] == [message]
    else:
        assert len(parse(text).data["a"]) == CAP - 3


def test_merge_of_an_inline_mapping_without_aliases() -> None:
    text = "web:\n  <<: {image: a, restart: always}\n  image: b\n"
    doc = parse(text)
    assert doc.data == {"web": {"image": "b", "restart": "always"}}
    assert doc.positions[("web", "restart")] == Position(FILE, 2, 18)


def test_alias_inside_its_own_anchor_is_refused() -> None:
    assert [(i.line, i.column, i.message) for i in issues_of("a: &a [1, *a]\n")] == [
        (1, 4, "an alias refers to the anchor that contains it")
    ]


def test_python_tag_is_refused_and_located() -> None:
    assert issues_of("services:\n  web: !!python/object/apply:os.system ['ls']\n") == [
        Issue(
            file=FILE,
            line=2,
            column=8,
            path="services.web",
            message="unsupported tag '!!python/object/apply:os.system'",
            hint="stack files are plain YAML: remove the tag",
        )
    ]


def test_merge_tags_are_kept_beside_the_plain_tree() -> None:
    doc = parse_document("ports: !reset []\nenv: !override {A: 1}\n", file=FILE)
    assert doc.data == {"ports": [], "env": {"A": 1}}
    assert doc.tags == {("ports",): "reset", ("env",): "override"}


def test_unknown_custom_tag_is_refused() -> None:
    assert [issue.message for issue in issues_of("ports: !replace []\n")] == [
        "unsupported tag '!replace'"
    ]


def test_every_bad_tag_is_reported() -> None:
    assert [issue.line for issue in issues_of("a: !!python/none x\nb: !!set {x}\n")] == [1, 2]


def test_syntax_error_is_located_at_the_problem() -> None:
    assert issues_of("a: 1\nb: c: d\n") == [
        Issue(
            file=FILE,
            line=2,
            column=5,
            message="mapping values are not allowed here",
            hint="check indentation and quoting near here",
        )
    ]


def test_undefined_alias_is_located() -> None:
    assert [(i.line, i.column, i.message) for i in issues_of("a: 1\nb: *nope\n")] == [
        (2, 4, "found undefined alias 'nope'")
    ]


def test_control_character_is_located() -> None:
    assert [(i.line, i.column, i.message) for i in issues_of("a: 1\nb: x\x01\n")] == [
        (2, 5, "character #x0001 is not allowed in YAML")
    ]


def test_deep_nesting_becomes_spec_error() -> None:
    assert [issue.message for issue in issues_of("[" * 1000 + "]" * 1000)] == ["too deeply nested"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on", "on"),
        ("off", "off"),
        ("yes", "yes"),
        ("no", "no"),
        ("y", "y"),
        ("NO", "NO"),
        ("22:22", "22:22"),
        ("1:30:00", "1:30:00"),
        ("0440", "0440"),
        ("0o17", BasedInt(15)),  # an int that says it was not written in decimal
        ("0x1F", BasedInt(31)),
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("null", None),
        ("~", None),
        ("", None),
        ("1.5", 1.5),
        ("-1e3", -1000.0),
        (".5", 0.5),
        (".inf", math.inf),
        ("-.inf", -math.inf),
        ("-12", -12),
        ("+3", 3),
        ("0", 0),
        ("1_000", "1_000"),
        ("2001-12-14", "2001-12-14"),
        ("nginx:1.25", "nginx:1.25"),
    ],
)
def test_plain_scalar_follows_yaml_1_2_core(text: str, expected: Any) -> None:
    value = parse(f"v: {text}\n").data["v"]
    assert (value, type(value)) == (expected, type(expected))


def test_nan_is_a_float() -> None:
    assert math.isnan(parse("v: .nan\n").data["v"])


@pytest.mark.parametrize("text", ["'on'", '"0o17"', "'true'", '"null"', "!!str 5", "'1.5'"])
def test_quoted_or_str_tagged_scalar_stays_string(text: str) -> None:
    assert parse(f"v: {text}\n").data["v"] == text.strip("'\"").removeprefix("!!str ")


def test_scalar_keys_become_their_text() -> None:
    text = "8080: a\non: b\ntrue: c\n0x1F: d\n1.50: e\n"
    assert list(parse(text).data) == ["8080", "on", "true", "0x1F", "1.50"]


def test_null_key_is_refused() -> None:
    assert issues_of("services:\n  ~: x\n") == [
        Issue(
            file=FILE,
            line=2,
            column=3,
            path="services",
            message="keys must be text",
            hint="write the key as a name, quoting it if needed",
        )
    ]


def test_sequence_key_is_refused() -> None:
    assert [(i.line, i.column, i.message) for i in issues_of("? [a, b]\n: 1\n")] == [
        (1, 3, "keys must be text")
    ]


def test_multiple_documents_are_refused() -> None:
    assert issues_of("a: 1\n---\nb: 2\n") == [
        Issue(
            file=FILE,
            line=2,
            column=1,
            message="only one YAML document per file",
            hint="split the documents into separate files, listed with -f",
        )
    ]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_document_has_no_data(text: str) -> None:
    assert parse(text).data is None


def test_too_long_text_is_refused() -> None:
    assert [issue.message for issue in issues_of("#" * (MAX_FILE_BYTES + 1))] == [
        "the file is larger than 8 MiB"
    ]


def test_load_document_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "stack.yml"
    path.write_text("a: 1\n", encoding="utf-8")
    doc = load_document(path)
    assert (doc.file, doc.data) == (str(path), {"a": 1})


def test_load_document_locates_with_display_name(tmp_path: Path) -> None:
    path = tmp_path / "stack.yml"
    path.write_text("a: 1\nb: c: d\n", encoding="utf-8")
    assert [issue.location() for issue in load_issues(path, display="stack.yml")] == [
        "stack.yml:2:5"
    ]


def test_file_too_large_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yml"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: large without writing 8 MiB
    assert load_issues(path, display="big.yml") == [
        Issue(
            file="big.yml",
            message="the file is larger than 8 MiB",
            hint="a stack file is small text: check that this is the right file",
        )
    ]


def test_missing_file_is_refused_with_hint(tmp_path: Path) -> None:
    assert load_issues(tmp_path / "nope.yml", display="nope.yml") == [
        Issue(
            file="nope.yml",
            message="file not found",
            hint="check the path and the working directory",
        )
    ]


def test_directory_is_refused(tmp_path: Path) -> None:
    assert [issue.message for issue in load_issues(tmp_path)] == ["is a directory, not a file"]


def test_non_utf8_file_is_refused_and_located(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes(b"a: 1\nb: caf\xe9\n")
    assert load_issues(path, display="latin1.yml") == [
        Issue(
            file="latin1.yml",
            line=2,
            column=7,
            message="the file is not UTF-8 text",
            hint="save it as UTF-8",
        )
    ]


# -- the event builder for ordinary files agrees with the full loader --------------------------

ROOT = Path(__file__).resolve().parents[2]
YAML_FILES = sorted([*ROOT.glob("examples/**/*.yml"), *ROOT.glob("tests/cases/**/*.yml")])


def both_ways(text: str) -> tuple[Document | list[Issue], Document | list[Issue]]:
    """What the loader gives with the event builder tried first, and with nodes only."""
    results: list[Document | list[Issue]] = []
    for ordinary in (True, False):
        try:
            results.append(parse_document(text, file=FILE, ordinary=ordinary))
        except SpecError as error:
            results.append(list(error.issues))
    return results[0], results[1]


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_event_builder_agrees_with_nodes_on_every_file_here(path: Path) -> None:
    fast, full = both_ways(path.read_text(encoding="utf-8"))
    assert fast == full


@pytest.mark.parametrize(
    "text",
    [
        "a: !reset [1]\nb: !override {c: '0x1F'}\nd: !reset '5'\ne: !!str 5\nf: !!map {g: 1}\n",
        "ports: [0x1F, 1.50, 0440, '8080', 1e3]\nenv: {A: 1_000, B: .inf}\n",
        "a: 1\na: 2\n",  # the rest: given up on, then worded by the full loader
        "~: 1\n",
        "'<<': quoted, so a key\n",
        "a: &x 1\n",
        "a: ! 1\n",
        "? [a]\n: 1\n",
        "a: 1\n---\nb: 2\n",
        "a: b: c\n",
        "",
        "---\n",
        "5\n",
    ],
)
def test_event_builder_agrees_with_nodes_on_odd_files(text: str) -> None:
    fast, full = both_ways(text)
    assert fast == full


@pytest.mark.parametrize(
    ("text", "built"),
    [
        (SERVICES, True),
        ("a: !reset [1]\nb: '1'\n", True),
        ("a: 1\na: 2\n", False),
        ("a: &x 1\n", False),
        ("a: {<<: {b: 1}}\n", False),
        ("a: !!python/none x\n", False),
    ],
)
def test_only_ordinary_files_are_built_from_events(text: str, built: bool) -> None:
    found = build_ordinary(text, FILE, yaml.CSafeLoader)
    assert found == (parse(text) if built else None)
