"""Variable substitution in string values: `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
`${VAR:?message}`, `${VAR?message}`, `$VAR`, and `$$` for a literal `$`, as in Compose.

Pure: the variables come in as an explicit mapping. Defaults may themselves hold substitutions
(`${A:-${B:-x}}`). Keys are never interpolated, only values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from stackr.errors import Issue, SpecError
from stackr.spec.source import Document

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Missing(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def interpolate_document(doc: Document, env: Mapping[str, str]) -> Document:
    """Every string value of `doc` with its variables substituted from `env`.

    Raises:
        SpecError: a required variable is unset, or a `${` is malformed; every one is reported.
    """
    issues: list[Issue] = []
    data = _walk(doc.data, (), doc, env, issues)
    if issues:
        raise SpecError(issues)
    return Document(file=doc.file, data=data, positions=doc.positions, tags=doc.tags)


def _walk(
    value: Any,
    path: tuple[str | int, ...],
    doc: Document,
    env: Mapping[str, str],
    issues: list[Issue],
) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, (*path, k), doc, env, issues) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, (*path, i), doc, env, issues) for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value
    try:
        return substitute(value, env)
    except _Missing as missing:
        pos = doc.locate(path)
        issues.append(
            Issue(
                file=pos.file,
                line=pos.line,
                column=pos.column,
                path=dotted(path),
                message=str(missing),
                hint=missing.hint,
            )
        )
        return value


def substitute(text: str, env: Mapping[str, str]) -> str:
    """`text` with its variables substituted; raises _Missing for an unset required one."""
    out, _ = _expand(text, 0, env, closing=False)
    return out


def _expand(text: str, i: int, env: Mapping[str, str], *, closing: bool) -> tuple[str, int]:
    # Returns the expansion and the index just past it (past the `}` when `closing`).
    out: list[str] = []
    while i < len(text):
        char = text[i]
        if closing and char == "}":
            return "".join(out), i + 1
        if char != "$":
            out.append(char)
            i += 1
            continue
        piece, i = _dollar(text, i, env)
        out.append(piece)
    if closing:
        raise _Missing("unterminated '${' in value", "close it with '}', or write '$$' for a '$'")
    return "".join(out), i


def _dollar(text: str, i: int, env: Mapping[str, str]) -> tuple[str, int]:
    nxt = text[i + 1] if i + 1 < len(text) else ""
    if nxt == "$":
        return "$", i + 2
    if nxt == "{":
        return _braced(text, i + 2, env)
    match = _NAME.match(text, i + 1)
    if match:
        return env.get(match.group(0), ""), match.end()
    return "$", i + 1


def _braced(text: str, i: int, env: Mapping[str, str]) -> tuple[str, int]:
    match = _NAME.match(text, i)
    if not match:
        raise _Missing("'${' must be followed by a variable name", "write '$$' for a literal '$'")
    name, i = match.group(0), match.end()
    operator = next((op for op in (":-", ":?", "-", "?") if text.startswith(op, i)), "")
    if not operator:
        if text[i : i + 1] != "}":
            raise _Missing(f"unexpected text after '${{{name}'", "use ${VAR}, ${VAR:-default}")
        return env.get(name, ""), i + 1
    word, end = _expand(text, i + len(operator), env, closing=True)
    value = env.get(name)
    unset = value is None or (operator.startswith(":") and value == "")
    if operator.endswith("-"):
        return (word if unset else str(value)), end
    if unset:
        reason = word or f"variable {name} is required"
        raise _Missing(
            f"{reason} (${{{name}}} is not set)", f"set {name} in the environment or .env"
        )
    return str(value), end


def dotted(path: tuple[str | int, ...]) -> str:
    """`("services", "web", "ports", 0)` → `services.web.ports[0]`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
