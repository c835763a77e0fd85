"""The words of schema problems: each jsonschema error about one value as a message and a hint
a person can act on, and the small helpers that show values and suggest fixes. Built from the
error's structured fields, never from jsonschema's English messages.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from stackr.spec.interpolate import FLAG_WORDS

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

_MAX_SHOWN_CHARS = 40
_CLOSE_ENOUGH = 0.6  # difflib ratio above which a typo earns a "did you mean"
_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "object": "a mapping",
    "array": "a list",
    "boolean": "true or false",
    "null": "null",
}
_BOUNDS = {
    "minimum": "at least",
    "maximum": "at most",
    "exclusiveMinimum": "greater than",
    "exclusiveMaximum": "less than",
}
_COUNTS = {
    "minItems": ("at least", "item"),
    "maxItems": ("at most", "item"),
    "minProperties": ("at least", "key"),
    "maxProperties": ("at most", "key"),
    "minLength": ("at least", "character"),
    "maxLength": ("at most", "character"),
}
# What a YAML boolean may have been meant as, when a string was wanted.
_BOOLEAN_WORDS = {True: ("yes", "on", "true"), False: ("no", "off", "false")}


# -- wordings of single-value errors: (message, hint) -----------------------------------------


def _type(error: ValidationError) -> tuple[str, str]:
    types = as_list(error.validator_value)
    message = f"expected {expected(types)}, got {got(error.instance)}"
    hint = example_hint(schema_of(error))
    if types == ["boolean"] and isinstance(error.instance, str):
        hint = _boolean_hint(error.instance)
    elif not hint and error.instance is None and "object" in types:
        hint = "a key with nothing after it: give it its keys, indented below it, or remove it"
    elif not hint and "object" in types and isinstance(error.instance, list):
        hint = "write it as keys with values (key: value), not as a list (- item)"
    return message, hint


def _boolean_hint(text: str) -> str:
    # A variable's yes/no is cast before the schema sees it, so a word here was written in the
    # file, where YAML 1.2 reads only true and false as booleans.
    meant = next(
        (flag for flag, words in FLAG_WORDS.items() if text.strip().lower() in words), None
    )
    if meant is not None:
        return f"write {json.dumps(meant)}: in the file only true and false are booleans"
    return "write true or false (a ${VARIABLE} here may also give yes/no, on/off or y/n)"


def _pattern(error: ValidationError) -> tuple[str, str]:
    schema = schema_of(error)
    what = schema.get("x-what")
    shown = show(error.instance)
    message = f"{shown} is not a valid {what}" if what else f"{shown} is not in the expected form"
    # A value that is mostly words of its own (`network_mode: hots`): a typo of one of them.
    words = [str(word) for word in as_list(schema.get("x-words") or [])]
    written = str(error.instance)
    head, colon, rest = written.partition(":")
    # A word that takes a value after it (`service:`) is matched on what comes before it.
    guess = close_match(head.lower() + colon, words) if words else ""
    if guess and guess.endswith(":") == bool(colon):
        return message, f"did you mean '{guess}{rest}'?"
    return message, str(schema.get("x-hint", ""))


def _enum(error: ValidationError) -> tuple[str, str]:
    options = as_list(error.validator_value)
    message = f"{show(error.instance)} is not one of: " + ", ".join(map(_flow, options))
    guess = _enum_guess(error.instance, [str(option) for option in options])
    if guess:
        return message, f"did you mean '{guess}'?"
    # A hint written for this key says more than an example would.
    hint = str(schema_of(error).get("x-hint", "")) or example_hint(schema_of(error))
    return message, hint or f"write one of them, e.g. {_flow(options[0])}"


def _enum_guess(instance: Any, options: list[str]) -> str:
    if isinstance(instance, str) and instance.lower() in (*_BOOLEAN_WORDS[False], "none"):
        instance = False  # `restart: off` means what `no` does
    if isinstance(instance, bool):
        return next((o for o in options if o.lower() in _BOOLEAN_WORDS[instance]), "")
    by_lower = {option.lower(): option for option in options}
    close = close_match(str(instance).lower(), list(by_lower))
    return by_lower[close] if close else ""


def _const(error: ValidationError) -> tuple[str, str]:
    hint = str(schema_of(error).get("x-hint", ""))
    return f"must be {_flow(error.validator_value)}, got {show(error.instance)}", hint


def _bound(error: ValidationError) -> tuple[str, str]:
    relation = _BOUNDS[str(error.validator)]
    limit = _flow(error.validator_value)
    hint = example_hint(schema_of(error)) or f"use a number {relation} {limit}"
    return f"must be {relation} {limit}, got {show(error.instance)}", hint


def _count(error: ValidationError) -> tuple[str, str]:
    relation, noun = _COUNTS[str(error.validator)]
    limit = error.validator_value if isinstance(error.validator_value, int) else 0
    if relation == "at least" and limit == 1:
        return "must not be empty", example_hint(schema_of(error))
    plural = "" if limit == 1 else "s"
    verb = "needs" if relation == "at least" else "may have"
    return f"{verb} {relation} {limit} {noun}{plural}", ""


def other(error: ValidationError) -> tuple[str, str]:
    return f"does not satisfy the schema's '{error.validator}' rule", ""


WORDINGS: dict[str, Callable[[ValidationError], tuple[str, str]]] = {
    "type": _type,
    "pattern": _pattern,
    "enum": _enum,
    "const": _const,
    **dict.fromkeys(_BOUNDS, _bound),
    **dict.fromkeys(_COUNTS, _count),
}


# -- small helpers ----------------------------------------------------------------------------


def schema_of(error: ValidationError) -> Mapping[str, Any]:
    return error.schema if isinstance(error.schema, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def close_match(word: str, candidates: Iterable[str], cutoff: float = _CLOSE_ENOUGH) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=cutoff)
    return close[0] if close else ""


def expected(types: list[Any]) -> str:
    """`["string", "array"]` → "a string or a list"."""
    names = [_TYPE_NAMES.get(str(t), str(t)) for t in dict.fromkeys(types)]
    if len(names) == 1:
        return names[0]
    names = ["a boolean" if name == _TYPE_NAMES["boolean"] else name for name in names]
    return ", ".join(names[:-1]) + " or " + names[-1]


def example_hint(schema: Mapping[str, Any]) -> str:
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return f"e.g. {_flow(examples[0])}"
    return str(schema.get("x-hint", ""))


def got(value: Any) -> str:
    """What the user wrote, for "expected X, got Y": `integer 5`, `string 'x'`, `a list`."""
    if value is None or isinstance(value, dict | list):
        return show(value)
    kinds = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"))
    kind = next((name for cls, name in kinds if isinstance(value, cls)), type(value).__name__)
    return f"{kind} {show(value)}"


def show(value: Any) -> str:
    """A value as YAML would show it, strings quoted and shortened: `'eighty'`, `true`."""
    if isinstance(value, str):
        short = value if len(value) <= _MAX_SHOWN_CHARS else value[: _MAX_SHOWN_CHARS - 3] + "..."
        return f"'{short}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return _flow(value)


def _flow(value: Any) -> str:
    """A value as a user writes it in YAML flow style: `8080:80`, `["CMD", "wget"]`, `{a: 1}`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_nested(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_nested(item) for item in value) + "]"
    return json.dumps(value)  # true, false, null, numbers


def _nested(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else _flow(value)
