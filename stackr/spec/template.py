"""Substituting variables in one string: `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
`${VAR:?message}`, `${VAR?message}`, `${VAR:+alt}`, `${VAR+alt}`, `$VAR`, and `$$` for a
literal `$`, as Compose does in stack files and in the values of env files. Records every
variable it meets. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from stackr.spec.source import Position

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Path_ = tuple[str | int, ...]


class Missing(Exception):
    """A substitution that cannot be made: a malformed `${`, or (`Unset`) a required variable
    that is not set; `hint` says what to write instead."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


class Unset(Missing):
    """A required variable (`${VAR:?...}`) is not set."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VariableUse:
    """One `${...}` in a file: what it names, its default or requirement, and where it is."""

    name: str
    default: str | None = None  # expanded with the variables at hand
    default_text: str | None = None  # as written: `${B:-x}` in `${A:-${B:-x}}`
    required: bool = False
    path: Path_ = ()
    position: Position | None = None


def substitute(text: str, env: Mapping[str, str]) -> str:
    """`text` with its variables substituted; raises Missing for an unset required one."""
    return Expander(env, [], strict=True).expand(text, 0)[0]


# `:-`/`-` a default, `:?`/`?` required, `:+`/`+` an alternative; with `:`, empty counts as unset.
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class Expander:
    """One pass over a value; records every variable it meets in `used`."""

    def __init__(self, env: Mapping[str, str], used: list[VariableUse], *, strict: bool) -> None:
        self.env, self.used, self.strict = env, used, strict

    def expand(self, text: str, i: int, *, closing: bool = False) -> tuple[str, int]:
        # Returns the expansion and the index just past it (past the `}` when `closing`).
        out: list[str] = []
        while i < len(text):
            # Copy the plain run up to the next `$` (or the closing `}`) in one slice.
            end = text.find("$", i)
            if closing:
                brace = text.find("}", i, None if end < 0 else end)
                if brace >= 0:
                    out.append(text[i:brace])
                    return "".join(out), brace + 1
            if end < 0:
                out.append(text[i:])
                i = len(text)
                break
            out.append(text[i:end])
            piece, i = self._dollar(text, end)
            out.append(piece)
        if closing:
            raise Missing(
                "unterminated '${' in value", "close it with '}', or write '$$' for a '$'"
            )
        return "".join(out), i

    def _dollar(self, text: str, i: int) -> tuple[str, int]:
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt == "$":
            return "$", i + 2
        if nxt == "{":
            return self._braced(text, i + 2)
        match = _NAME.match(text, i + 1)
        if match:
            self.used.append(VariableUse(name=match.group(0)))
            return self.env.get(match.group(0), ""), match.end()
        return "$", i + 1

    def _braced(self, text: str, i: int) -> tuple[str, int]:
        match = _NAME.match(text, i)
        if not match:
            raise Missing(
                "'${' must be followed by a variable name", "write '$$' for a literal '$'"
            )
        name, i = match.group(0), match.end()
        operator = next((op for op in _OPERATORS if text.startswith(op, i)), "")
        if not operator:
            if text[i : i + 1] != "}":
                raise Missing(
                    f"unexpected text after '${{{name}'", "use ${VAR}, ${VAR:-default}, ${VAR:+alt}"
                )
            self.used.append(VariableUse(name=name))
            return self.env.get(name, ""), i + 1
        word, end = self.expand(text, i + len(operator), closing=True)
        if operator.endswith("+"):  # the word where the variable is set (and not empty, `:+`)
            value = self.env.get(name)
            self.used.append(VariableUse(name=name, default="", default_text=""))
            unset = value is None or (operator == ":+" and value == "")
            return ("" if unset else word), end
        required = operator.endswith("?")
        written = text[i + len(operator) : end - 1]
        self.used.append(
            VariableUse(
                name=name,
                default=None if required else word,
                default_text=None if required else written,
                required=required,
            )
        )
        value = self.env.get(name)
        unset = value is None or (operator.startswith(":") and value == "")
        if not required:
            return (word if unset else str(value)), end
        if unset and self.strict:
            reason = word or f"variable {name} is required"
            state = "is not set" if value is None else "is empty"
            raise Unset(
                f"{reason} (${{{name}}} {state})",
                f"set {name} in the environment, an --env-file, the profile's env_file, "
                ".env.<profile> or .env",
            )
        return str(value or ""), end
