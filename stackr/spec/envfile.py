"""`.env` files: Compose's rules for `KEY=value` lines.

`#` starts a comment at the start of a line, or after whitespace in an unquoted value; `export `
before a key is ignored; single quotes are literal, double quotes understand `\\n`, `\\t`, `\\"`
and `\\\\`; a quote must close on its line; an empty value is the empty string. Unquoted and
double-quoted values have their variables substituted (`${VAR}`, `${VAR:-default}`, `$$` or
`\\$` for a `$`, ...), looked up first in what the caller gives (the environment), then in the
lines above.
"""

from __future__ import annotations

import re
from collections import ChainMap
from collections.abc import Mapping
from pathlib import Path

from stackr.errors import Issue, SpecError
from stackr.spec.template import Expander, Missing, VariableUse

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$$"}


def read_env_file(
    path: Path,
    *,
    display: str,
    lookup: Mapping[str, str] | None = None,
    warnings: list[Issue] | None = None,
) -> dict[str, tuple[str, int]]:
    """The variables of one `.env` file, each with the line it was set on; `lookup` has the
    variables its values may use besides those set above them. A variable a value uses that
    is set nowhere (and has no default) reads as empty, with a warning added to `warnings`.

    Raises:
        SpecError: a line is not `KEY=value`, a comment or blank, or its value cannot be
            substituted (an unset `${VAR:?...}`, a malformed `${`).
    """
    values: dict[str, tuple[str, int]] = {}
    above: dict[str, str] = {}  # what the lines so far set, for the values below them
    known = ChainMap(dict(lookup or {}), above)
    issues: list[Issue] = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        hint = "check that the file is readable"
        issue = Issue(file=display, message=f"cannot read: {error.strerror}", hint=hint)
        raise SpecError([issue]) from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            issues.append(
                Issue(
                    file=display,
                    line=number,
                    column=1,
                    message=f"not a KEY=value line: {line.strip()[:40]!r}",
                    hint="write KEY=value, or start the line with # to comment it out",
                )
            )
            continue
        try:
            value, literal = _value(match.group(2))
        except ValueError as error:
            hint = "close it: a value is read from its one line (write \\n for a line break)"
            issues.append(Issue(file=display, line=number, column=1, message=str(error), hint=hint))
            continue
        if not literal:
            try:
                value = _substituted(value, known, (display, number), warnings)
            except Missing as missing:
                issues.append(
                    Issue(
                        file=display, line=number, column=1, message=str(missing), hint=missing.hint
                    )
                )
                continue
        values[match.group(1)] = (value, number)
        above[match.group(1)] = value
    if issues:
        raise SpecError(issues)
    return values


def _substituted(
    value: str, known: Mapping[str, str], at: tuple[str, int], warnings: list[Issue] | None
) -> str:
    used: list[VariableUse] = []
    result = Expander(known, used, strict=True).expand(value, 0)[0]
    for name in dict.fromkeys(u.name for u in used if u.default is None and not u.required):
        if name not in known and warnings is not None:
            message = f"{name} is not set: an empty string is used"
            hint = f"set {name}, or write ${{{name}:-default}} (${{{name}:-}} for an empty one)"
            warnings.append(Issue(file=at[0], line=at[1], column=1, message=message, hint=hint))
    return result


def _value(raw: str) -> tuple[str, bool]:
    """The value, and whether it is literal (single-quoted: nothing in it is substituted).
    `\\$` stands for a `$` (written `$$` for the substitution that follows).

    Raises:
        ValueError: a quote that opens the value is not closed on its line.
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
