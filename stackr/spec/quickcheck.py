"""A compiled yes/no check of a document against the stack schema, for the common valid file.

jsonschema walks the schema anew for every value and prepares an error object for each problem;
for a valid 1,000-service file those walks were a third of `load_stack`. This module compiles
the schema (its `$ref`s already inlined) once into nested closures that only answer "valid or
not", reading every keyword as jsonschema's Draft 2020-12 validator does. `schema.py` asks it
first and builds the located report with jsonschema only when it says no.

It must never call an invalid document valid. A keyword it does not implement, or a value it
cannot judge exactly (an `enum` of non-strings, `uniqueItems` over non-strings), makes the check
say "no", and the full report decides; `QuickCheck.undecided` lists such keywords, and a test
holds it empty for the published schema. It expects the plain values the YAML loader builds:
dict, list, str, int, float, bool and None.
"""

from __future__ import annotations

import itertools
import math
import numbers
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["QuickCheck", "compile_check"]

Check = Callable[[Any], bool]

# Keywords that only describe: jsonschema asserts nothing for them (nor for `x-...` keywords).
_ANNOTATIONS = frozenset(
    {"$comment", "$defs", "$id", "$schema", "default", "deprecated", "description", "examples"}
    | {"readOnly", "title", "writeOnly"}
)
_OBJECT = ("properties", "patternProperties", "additionalProperties", "required", "propertyNames")
_OBJECT_COUNTS = ("minProperties", "maxProperties")
_ARRAY = ("items", "prefixItems", "minItems", "maxItems", "uniqueItems")
_STRING = ("minLength", "maxLength", "pattern")
_NUMBER = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_LOGIC = ("allOf", "anyOf", "oneOf", "not", "enum", "const", "type")
_KNOWN = frozenset((*_OBJECT, *_OBJECT_COUNTS, *_ARRAY, *_STRING, *_NUMBER, *_LOGIC))


class _Undecided(Exception):
    """The check cannot judge this value exactly: let jsonschema decide."""


def _yes(value: Any) -> bool:
    return True


def _no(value: Any) -> bool:
    return False


def _undecided(value: Any) -> bool:
    raise _Undecided


def _is_number(value: Any) -> bool:
    # jsonschema's "number": any Number but a bool (bool is an int in Python).
    kind = type(value)
    return kind is int or kind is float or (isinstance(value, numbers.Number) and kind is not bool)


def _is_integer(value: Any) -> bool:
    # Draft 2020-12 counts 1.0 as an integer.
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


_TYPES: dict[str, Check] = {
    "string": lambda value: isinstance(value, str),
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
    "integer": _is_integer,
    "number": _is_number,
}


_CLASSES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "object": dict,
    "array": list,
    "boolean": bool,
    "null": type(None),
}


@dataclass(frozen=True, slots=True)
class QuickCheck:
    """`is_valid(data)` is True only if jsonschema finds no error in `data`."""

    check: Check
    undecided: tuple[str, ...] = field(default=())

    def is_valid(self, data: Any) -> bool:
        try:
            return self.check(data)
        except Exception:  # _Undecided, or anything odd (a deep tree): the full report decides
            return False


def compile_check(schema: Any) -> QuickCheck:
    """The yes/no check of `schema`, a Draft 2020-12 schema without `$ref`s to follow."""
    compiler = _Compiler()
    check = compiler.compile(schema)
    return QuickCheck(check=check, undecided=tuple(dict.fromkeys(compiler.undecided)))


def _all(checks: list[Check]) -> Check:
    if not checks:
        return _yes
    if len(checks) == 1:
        return checks[0]
    # Nested pairs: cheaper per value than a loop or all() over a list.
    first, rest = checks[0], _all(checks[1:])
    return lambda value: first(value) and rest(value)


class _Compiler:
    """Turns each schema object into one closure, keyword group by keyword group."""

    def __init__(self) -> None:
        self.undecided: list[str] = []

    def compile(self, schema: Any) -> Check:
        if schema is True or schema is False:
            return _yes if schema else _no
        if not isinstance(schema, Mapping):
            return self.give_up(f"a schema that is a {type(schema).__name__}")
        unknown = [k for k in schema if k not in _KNOWN and k not in _ANNOTATIONS]
        unknown = [k for k in unknown if not str(k).startswith("x-")]
        if unknown:
            return self.give_up(", ".join(map(str, unknown)))
        # A schema of one type has that type checked by the group of its keywords, if it has
        # any: one call per value instead of two.
        kind = schema.get("type")
        groups = {"string": self.strings, "object": self.objects, "array": self.arrays}
        typed = {name: group(schema, strict=name == kind) for name, group in groups.items()}
        fused = isinstance(kind, str) and typed.get(kind) is not None
        checks = [*self.logic(schema), self.numbers(schema), *typed.values()]
        if "type" in schema and not fused:
            checks.insert(0, self.types(schema["type"]))
        return _all([check for check in checks if check is not None])

    def give_up(self, what: str) -> Check:
        self.undecided.append(what)
        return _undecided

    def types(self, names: Any) -> Check:
        names = names if isinstance(names, list) else [names]
        if not all(isinstance(name, str) and name in _TYPES for name in names):
            return self.give_up(f"type {names}")
        if len(names) == 1:
            return _TYPES[names[0]]
        # One isinstance for the plain types; integer and number need their bool test.
        classes = tuple(_CLASSES[name] for name in names if name in _CLASSES)
        tests = [_TYPES[name] for name in names if name not in _CLASSES]
        if not tests:
            return lambda value: isinstance(value, classes)
        return lambda value: isinstance(value, classes) or any(test(value) for test in tests)

    def logic(self, schema: Mapping[str, Any]) -> list[Check]:
        checks: list[Check] = []
        if "enum" in schema:
            checks.append(self.one_of_strings(schema["enum"], "enum"))
        if "const" in schema:
            checks.append(self.one_of_strings([schema["const"]], "const"))
        if "allOf" in schema:
            checks.append(_all([self.compile(sub) for sub in schema["allOf"]]))
        if "anyOf" in schema:
            branches = [self.compile(sub) for sub in schema["anyOf"]]
            checks.append(lambda value: any(branch(value) for branch in branches))
        if "oneOf" in schema:
            options = [self.compile(sub) for sub in schema["oneOf"]]
            # Every branch runs: two valid ones make the value invalid.
            checks.append(lambda value: sum(bool(option(value)) for option in options) == 1)
        if "not" in schema:
            negated = self.compile(schema["not"])
            checks.append(lambda value: not negated(value))
        return checks

    def one_of_strings(self, options: Any, keyword: str) -> Check:
        # jsonschema compares a string with anything by ==, so a set lookup is exact here;
        # other constants follow its bool-is-not-int equality, left to it.
        if not (isinstance(options, list) and all(isinstance(o, str) for o in options)):
            return self.give_up(f"{keyword} of non-strings")
        allowed = frozenset(options)
        return lambda value: isinstance(value, str) and value in allowed

    def strings(self, schema: Mapping[str, Any], *, strict: bool) -> Check | None:
        """minLength, maxLength, pattern; `strict`: a value that is no string fails too."""
        if not any(keyword in schema for keyword in _STRING):
            return None
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        search = re.compile(schema["pattern"]).search if "pattern" in schema else None

        def string(value: Any) -> bool:
            if not isinstance(value, str):
                return not strict
            if len(value) < low or (high is not None and len(value) > high):
                return False
            return search is None or search(value) is not None

        return string

    def numbers(self, schema: Mapping[str, Any]) -> Check | None:
        if not any(keyword in schema for keyword in _NUMBER):
            return None
        low, high = schema.get("minimum"), schema.get("maximum")
        above, below = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")

        def number(value: Any) -> bool:
            if not _is_number(value):
                return True
            return not (
                (low is not None and value < low)
                or (high is not None and value > high)
                or (above is not None and value <= above)
                or (below is not None and value >= below)
            )

        return number

    def objects(self, schema: Mapping[str, Any], *, strict: bool) -> Check | None:
        """The keywords on a mapping's keys and values; `strict`: a non-mapping fails too."""
        if not any(keyword in schema for keyword in (*_OBJECT, *_OBJECT_COUNTS)):
            return None
        plan = self.key_plan(schema)
        plans: dict[Any, tuple[Check, ...] | None] = {}
        required = tuple(schema.get("required", ()))
        low, high = schema.get("minProperties", 0), schema.get("maxProperties", math.inf)

        def members(value: Any) -> bool:
            if not isinstance(value, dict):
                return not strict
            if not low <= len(value) <= high or not all(key in value for key in required):
                return False
            for key, item in value.items():
                checks = plans[key] if key in plans else _remember(plans, key, plan(key))
                if checks is None:
                    return False
                for check in checks:
                    if not check(item):
                        return False
            return True

        return members

    def key_plan(self, schema: Mapping[str, Any]) -> Callable[[Any], tuple[Check, ...] | None]:
        """What a value must pass under a given key, or None if the key itself is refused."""
        known = {key: self.compile(sub) for key, sub in schema.get("properties", {}).items()}
        patterns = schema.get("patternProperties", {})
        by_pattern = [(re.compile(p).search, self.compile(sub)) for p, sub in patterns.items()]
        # Which keys count as additional: jsonschema searches the patterns joined by "|".
        any_pattern = re.compile("|".join(patterns)).search if patterns else _none
        additional = self.compile(schema.get("additionalProperties", True))
        names = self.compile(schema.get("propertyNames", True))

        def plan(key: Any) -> tuple[Check, ...] | None:
            if not names(key):
                return None
            checks = [known[key]] if key in known else []
            checks += [sub for search, sub in by_pattern if search(key)]
            if key not in known and any_pattern(key) is None:
                checks.append(additional)
            return tuple(check for check in checks if check is not _yes)

        return plan

    def arrays(self, schema: Mapping[str, Any], *, strict: bool) -> Check | None:
        """The keywords on a list's items; `strict`: a value that is no list fails too."""
        if not any(keyword in schema for keyword in _ARRAY):
            return None
        prefix = [self.compile(sub) for sub in schema.get("prefixItems", [])]
        rest = self.compile(schema.get("items", True))
        low, high = schema.get("minItems", 0), schema.get("maxItems")
        unique = schema.get("uniqueItems") is True

        def array(value: Any) -> bool:
            if not isinstance(value, list):
                return not strict
            if len(value) < low or (high is not None and len(value) > high):
                return False
            for check, item in zip(prefix, value, strict=False):
                if not check(item):
                    return False
            for item in itertools.islice(value, len(prefix), None):
                if not rest(item):
                    return False
            return not unique or _unique(value)

        return array


def _none(key: Any) -> None:
    return None


_MAX_PLANS = 4096  # keys remembered per mapping schema; user-chosen keys must not grow it forever


def _remember(
    plans: dict[Any, tuple[Check, ...] | None], key: Any, plan: tuple[Check, ...] | None
) -> tuple[Check, ...] | None:
    if len(plans) < _MAX_PLANS:
        plans[key] = plan
    return plan


def _unique(items: list[Any]) -> bool:
    # Strings compare by == in jsonschema too; for other values (1 vs true vs 1.0) let it judge.
    if not all(isinstance(item, str) for item in items):
        raise _Undecided
    return len(set(items)) == len(items)
