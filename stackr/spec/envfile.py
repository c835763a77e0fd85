"""`.env` files: Compose's rules for `KEY=value` lines.

`#` starts a comment at the start of a line, or after whitespace in an unquoted value; `export `
before a key is ignored; single quotes are literal, double quotes understand `\\n`, `\\t`, `\\"`
and `\\\\`; a quoted value may span lines; an empty value is the empty string. Unquoted and
double-quoted values have their variables substituted (`${VAR}`, `${VAR:-default}`, `$$` or
`\\$` for a `$`, ...), looked up first in what the caller gives (the environment), then in the
lines above.
"""

from __future__ import annotations

import re
from collections import ChainMap
from collections.abc import Iterator, Mapping
from pathlib import Path

from stackr.errors import Issue, SpecError
from stackr.sensitive import secret_name
from stackr.spec.template import Expander, Missing, Unset, VariableUse

# DOTALL: a quoted value may go on over several lines (`_entries`).
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$", re.DOTALL)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$$"}


def _text(data: bytes, display: str) -> str:
    # UTF-8, as the stack file: a byte that is not would reach the container as U+FFFD. A
    # byte-order mark some editors write first is no part of the first name.
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        issue = Issue(
            file=display,
            line=line,
            column=1,
            message=f"not UTF-8: byte 0x{data[error.start]:02x} cannot be read",
            hint="save the file as UTF-8",
        )
        raise SpecError([issue]) from None


def read_env_file(
    path: Path,
    *,
    display: str,
    lookup: Mapping[str, str] | None = None,
    warnings: list[Issue] | None = None,
    lines_first: bool = False,
) -> dict[str, tuple[str, int]]:
    """The variables of one `.env` file, each with the line it was set on; `lookup` has the
    variables its values may use besides those set above them, and wins over those unless
    `lines_first` (the process environment wins over a `.env`; a label file's own lines win
    over an earlier one's). A variable a value uses that is set nowhere (and has no default)
    reads as empty, with a warning added to `warnings`.

    Raises:
        SpecError: a line is not `KEY=value`, a comment or blank, or its value cannot be
            substituted (an unset `${VAR:?...}`, a malformed `${`).
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        hint = "check that the file is readable"
        issue = Issue(file=display, message=f"cannot read: {error.strerror}", hint=hint)
        raise SpecError([issue]) from None
    text = _text(data, display)
    values: dict[str, tuple[str, int]] = {}
    above: dict[str, str] = {}  # what the lines so far set, for the values below them
    known = (
        ChainMap(above, dict(lookup or {})) if lines_first else ChainMap(dict(lookup or {}), above)
    )
    issues: list[Issue] = []
    for number, line in _entries(text):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            key, value, said = _line(line, known)
        except _LineError as error:
            issues.append(
                Issue(file=display, line=number, column=1, message=str(error), hint=error.hint)
            )
            continue
        if warnings is not None:
            warnings += [
                Issue(file=display, line=number, column=1, message=message, hint=hint)
                for message, hint in said
            ]
        values[key] = (value, number)
        above[key] = value
    if issues:
        raise SpecError(issues)
    return values


def _entries(text: str) -> Iterator[tuple[int, str]]:
    """Each line with its number; a quoted value that does not close on its line goes on over
    the lines after it, joined with line breaks, until its quote closes (as in Compose)."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        number, line = i + 1, lines[i]
        i += 1
        match = _LINE.match(line)
        while match and not _closes(match.group(2)) and i < len(lines):
            line += "\n" + lines[i]
            i += 1
            match = _LINE.match(line)
        yield number, line


def _closes(raw: str) -> bool:
    """Whether a quote that opens the value `raw` is closed in it (an unquoted one is)."""
    raw = raw.lstrip()
    if raw[:1] == "'":
        return "'" in raw[1:]
    if raw[:1] != '"':
        return True
    escaped = False
    for char in raw[1:]:
        if char == '"' and not escaped:
            return True
        escaped = char == "\\" and not escaped
    return False


class _LineError(ValueError):
    """A line that cannot be read, and what to do about it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _line(line: str, known: Mapping[str, str]) -> tuple[str, str, list[tuple[str, str]]]:
    """The key and value of one `KEY=value` line, its variables substituted from `known`, and
    what to warn of (message, hint): a variable it uses that is set nowhere, never named with
    a part of a secret-looking key's value.

    Raises:
        _LineError: the line is not `KEY=value`, a quote is left open, or a substitution fails.
    """
    match = _LINE.match(line)
    if not match:
        hint = "write KEY=value, or start the line with # to comment it out"
        raise _LineError(f"not a KEY=value line: {line.strip()[:40]!r}", hint)
    key = match.group(1)
    try:
        value, literal = _value(match.group(2))
    except ValueError as error:
        hint = "close it: a quoted value goes on over the lines after it until its quote closes"
        raise _LineError(str(error), hint) from None
    if literal:
        return key, value, []
    value, unset = _substituted(key, value, known)
    if not unset:
        return key, value, []
    if secret_name(key):
        said = [
            (f"{key}'s value uses a variable that is not set: it reads as empty", _LITERAL_HINT)
        ]
    else:
        said = [
            (f"{n} is not set: an empty string is used", _unset_hint(n))
            for n in dict.fromkeys(unset)
        ]
    return key, value, said


def _substituted(key: str, value: str, known: Mapping[str, str]) -> tuple[str, list[str]]:
    """`value` with its variables substituted, and the names it uses that are set nowhere."""
    used: list[VariableUse] = []
    try:
        value = Expander(known, used, strict=True).expand(value, 0)[0]
    except Missing as missing:
        if secret_name(key) and not isinstance(missing, Unset):
            # What follows a `$` in a password is a part of it; a `${VAR:?...}` is meant.
            raise _LineError(f"{key}'s value cannot be substituted", _LITERAL_HINT) from None
        raise _LineError(str(missing), missing.hint) from None
    unset = [u.name for u in used if u.default is None and not u.required and u.name not in known]
    return value, unset


_LITERAL_HINT = "write $$ or \\$ for a literal $, or single-quote the value"


def _unset_hint(name: str) -> str:
    return f"set {name}, or write ${{{name}:-default}} (${{{name}:-}} for an empty one)"


def _value(raw: str) -> tuple[str, bool]:
    """The value, and whether it is literal (single-quoted: nothing in it is substituted).
    `\\$` stands for a `$` (written `$$` for the substitution that follows).

    Raises:
        ValueError: a quote that opens the value is never closed.
    """
    raw = raw.strip()
    if raw[:1] == "'":
        if "'" not in raw[1:]:
            raise ValueError("the single quote that opens this value is never closed")
        return raw[1 : raw.index("'", 1)], True
    if raw[:1] == '"':
        return _double_quoted(raw[1:]), False
    comment = re.search(r"\s#", raw)
    return (raw[: comment.start()] if comment else raw).strip().replace("\\$", "$$"), False


def _double_quoted(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body) and body[i] != '"':
        if body[i] == "\\" and i + 1 < len(body):
            out.append(_ESCAPES.get(body[i + 1], "\\" + body[i + 1]))
            i += 2
            continue
        out.append(body[i])
        i += 1
    if i == len(body):
        raise ValueError("the double quote that opens this value is never closed")
    return "".join(out)
