"""Tests of stackr.cli.yamlout: the YAML `stackr config` prints is exactly what yaml.dump writes,
but that a string stackr's own reading (YAML 1.2) would take for something else is quoted."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from stackr.cli import yamlout
from stackr.spec.source import parse_document
from stackr.spec.yamltree import resolve_plain

DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def reference(data: Any) -> str:
    return yaml.dump(data, Dumper=DUMPER, sort_keys=False, default_flow_style=False)


SHARED = {"a": 1}

CASES: list[Any] = [
    {"name": "shop", "services": {"web": {"image": "nginx:1.25", "replicas": 2}}},
    {"b": 1, "a": 2},  # order kept
    {"words": ["yes", "no", "on", "null", "~", "", "1.0", "0x1F", "0440", "12:30", "- x", "#"]},
    {"numbers": [0, -1, 10**30, 1.5, -0.0, 1e17, 1e-7, float("inf"), -float("inf"), float("nan")]},
    {"flags": [True, False, None]},
    {"text": "a long line " * 20, "lines": "one\ntwo\n", "tab": "a\tb", "é": "ünïcödé ✓"},
    {"empty": {}, "none": [], "nested": [[1, [2]], {"x": {"y": []}}]},
    {"first": SHARED, "second": SHARED},  # an anchor and an alias
    [],
    "just text",
]


@pytest.mark.parametrize("data", CASES)
def test_writes_what_yaml_dump_writes(data: Any) -> None:
    assert yamlout.dump(data) == reference(data)


def test_other_values_are_left_to_yaml_dump() -> None:
    assert yamlout.dump({"a": (1, 2)}) == reference({"a": (1, 2)}) == "a:\n- 1\n- 2\n"
    with pytest.raises(yaml.representer.RepresenterError):
        yamlout.dump({"a": object()})


plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


def _texts(data: Any) -> list[str]:
    if isinstance(data, dict):
        return [t for k, v in data.items() for t in (*_texts(k), *_texts(v))]
    if isinstance(data, list):
        return [t for item in data for t in _texts(item)]
    return [data] if isinstance(data, str) else []


def _read_by_stackr(text: str) -> bool:
    """Whether stackr reads `text`, written plain, as something else than that string."""
    return resolve_plain(text) != text


@settings(max_examples=300, deadline=None)
@given(data=plain)
def test_writes_what_yaml_dump_writes_for_any_plain_data(data: Any) -> None:
    written = yamlout.dump(data)
    if not any(_read_by_stackr(t) for t in _texts(data)):
        assert written == reference(data)
        return
    # Quoted where yaml.dump would not: the same data to PyYAML, strings to stackr.
    assert json.dumps(yaml.safe_load(written)) == json.dumps(yaml.safe_load(reference(data)))
    read = parse_document(written, file="t.yml").data
    assert [t for t in _texts(read) if _read_by_stackr(t)] == [
        t for t in _texts(data) if _read_by_stackr(t)
    ]


def test_text_stackr_reads_as_a_number_is_quoted() -> None:
    assert yamlout.dump({"user": "0o755", "n": "0E0", "x": "0x1F"}) == (
        "user: '0o755'\nn: '0E0'\nx: '0x1F'\n"
    )
