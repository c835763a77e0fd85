"""Tests of stackr.cli.yamlout: the YAML `stackr config` prints is exactly what yaml.dump writes."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from stackr.cli import yamlout

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


@settings(max_examples=300, deadline=None)
@given(data=plain)
def test_writes_what_yaml_dump_writes_for_any_plain_data(data: Any) -> None:
    assert yamlout.dump(data) == reference(data)
