"""Tests of stackr.spec.quickcheck: the compiled yes/no check answers as jsonschema does, and
says "no" (never a wrong "yes") for what it does not implement."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from stackr.spec.quickcheck import compile_check
from stackr.spec.schema import inlined_schema, quick_check

# (schema, instance): each decided exactly as jsonschema's Draft 2020-12 validator decides it.
CASES: list[tuple[dict[str, Any], Any]] = [
    ({"type": "integer"}, 1),
    ({"type": "integer"}, 1.0),  # 2020-12: a float without a fraction is an integer
    ({"type": "integer"}, 1.5),
    ({"type": "integer"}, True),  # a bool is no integer, though Python says it is an int
    ({"type": "number"}, False),
    ({"type": "number"}, 2.5),
    ({"type": ["string", "integer"]}, True),
    ({"type": ["string", "integer"]}, "x"),
    ({"type": ["array", "null"]}, None),
    ({"type": "object"}, []),
    ({"minimum": 1}, 0),
    ({"minimum": 1}, "0"),  # number keywords ignore other types
    ({"minimum": 1}, False),  # ... and bools
    ({"exclusiveMinimum": 0}, 0),
    ({"maximum": 65535}, 65536),
    ({"type": "string", "minLength": 1}, ""),
    ({"minLength": 1}, 5),
    ({"type": "string", "pattern": "^a"}, "ba"),
    ({"pattern": "b"}, "abc"),  # search, not match
    ({"enum": ["no", "always"]}, "no"),
    ({"enum": ["no", "always"]}, False),
    ({"const": "x"}, "y"),
    ({"properties": {"a": {"type": "string"}}}, {"a": 1}),
    ({"properties": {"a": {"type": "string"}}}, "not a mapping"),
    ({"required": ["a"]}, {"b": 1}),
    ({"additionalProperties": False, "properties": {"a": {}}}, {"a": 1, "b": 2}),
    ({"additionalProperties": False, "patternProperties": {"^x-": {}}}, {"x-a": 1}),
    # A key both named and matched by a pattern must pass both.
    ({"properties": {"x-a": {}}, "patternProperties": {"^x-": {"type": "string"}}}, {"x-a": 1}),
    ({"additionalProperties": {"type": "string"}}, {"a": "1", "b": 2}),
    ({"propertyNames": {"pattern": "^[a-z]+$"}}, {"ok": 1, "Bad": 2}),
    ({"minProperties": 1}, {}),
    ({"type": "array", "items": {"type": "string"}}, ["a", 1]),
    ({"prefixItems": [{"enum": ["CMD"]}], "items": {"type": "string"}}, ["CMD", "x"]),
    ({"prefixItems": [{"enum": ["CMD"]}], "items": {"type": "string"}}, ["RUN", "x"]),
    ({"prefixItems": [{"type": "integer"}], "items": {"type": "string"}}, [1, "a"]),
    ({"prefixItems": [{}], "items": False}, [1, 2]),
    ({"minItems": 1}, []),
    ({"maxItems": 1}, [1, 2]),
    ({"uniqueItems": True}, ["a", "b", "a"]),
    ({"uniqueItems": True}, ["a", "b"]),
    ({"anyOf": [{"required": ["image"]}, {"required": ["build"]}]}, {"build": "."}),
    ({"anyOf": [{"required": ["image"]}, {"required": ["build"]}]}, {}),
    ({"oneOf": [{"type": "string"}, {"minLength": 1}]}, "x"),  # both match: invalid
    ({"oneOf": [{"type": "string"}, {"type": "array"}]}, []),
    ({"allOf": [{"type": "string"}, {"minLength": 2}]}, "x"),
    ({"not": {"type": "string"}}, "x"),
    ({"description": "only words", "x-hint": "e.g. 1", "examples": [1]}, 5),
    (True, 1),
    ({"properties": {"a": False}}, {"a": 1}),
]


@pytest.mark.parametrize(("schema", "instance"), CASES)
def test_decides_as_jsonschema_does(schema: dict[str, Any], instance: Any) -> None:
    check = compile_check(schema)
    assert check.undecided == ()
    assert check.is_valid(instance) == Draft202012Validator(schema).is_valid(instance)


@pytest.mark.parametrize(
    ("schema", "instance", "undecided"),
    [
        ({"if": {"type": "string"}, "then": {"minLength": 2}}, "xy", "if, then"),
        ({"enum": [1, "a"]}, 1, "enum of non-strings"),
        ({"dependentRequired": {"a": ["b"]}}, {"a": 1, "b": 2}, "dependentRequired"),
        ({"items": {"contains": {"const": 1}}}, [[1]], "contains"),
    ],
)
def test_what_it_does_not_implement_is_never_valid(
    schema: dict[str, Any], instance: Any, undecided: str
) -> None:
    check = compile_check(schema)
    assert check.undecided == (undecided,)
    assert Draft202012Validator(schema).is_valid(instance)
    assert not check.is_valid(instance)


def test_unique_items_of_other_values_are_left_to_jsonschema() -> None:
    # 1 and true are different JSON values, but equal in Python: jsonschema decides.
    check = compile_check({"uniqueItems": True})
    assert check.undecided == ()
    assert not check.is_valid([1, True])
    assert Draft202012Validator({"uniqueItems": True}).is_valid([1, True])


def test_the_published_schema_is_decided_entirely() -> None:
    assert quick_check().undecided == ()
    assert quick_check() is quick_check()
    assert compile_check(inlined_schema()).undecided == ()
