"""Views of the stack files that need no engine: `stackr diff` between two profiles, and
`stackr config --variables`. Secret values show as they do in `stackr config`: masked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stackr.sensitive import MASK, hunted_values, is_secret
from stackr.spec import load_stack
from stackr.spec.template import VariableUse

if TYPE_CHECKING:
    from stackr.spec.diff import Difference

__all__ = ["VariableRow", "diff", "variables"]


def diff(
    files: Sequence[str],
    *,
    left: str,
    right: str,
    env: Mapping[str, str] | None = None,
    env_files: Sequence[str] = (),
) -> list[Difference]:
    """What differs, key by key, between the stack rendered for profile `left` and for `right`.

    Raises:
        SpecError: the files are invalid for either profile.
    """
    from stackr.spec.diff import MISSING, Difference, diff_configs
    from stackr.spec.render import render_stack

    stacks = [
        load_stack(files, profile=profile, env=env, env_files=env_files)
        for profile in (left, right)
    ]
    plain = diff_configs(*(render_stack(s, masked=False) for s in stacks))
    # Shown as `stackr config` shows them: a secret value that differs is still a difference,
    # written *** on each side.
    shown = {d.path: d for d in diff_configs(*(render_stack(s) for s in stacks))}
    return [
        shown.get(d.path)
        or Difference(
            path=d.path,
            left=d.left if d.left is MISSING else MASK,
            right=d.right if d.right is MISSING else MASK,
        )
        for d in plain
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class VariableRow:
    """One line of `stackr config --variables`: a variable, its value and where it is used."""

    name: str
    default: str | None
    required: bool
    value: str | None  # what it resolves to now, None when unset
    source: str  # "the environment", ".env.prod:3", "default", or "unset"
    used_at: tuple[str, ...]  # file:line of every use


def variables(
    files: Sequence[str],
    *,
    profile: str,
    env: Mapping[str, str] | None = None,
    env_files: Sequence[str] = (),
) -> list[VariableRow]:
    """Every variable the files use: its default, whether it is required, and where its value
    would come from for `profile`.

    Raises:
        SpecError: a file cannot be read or parsed, or an env file is broken.
    """
    from stackr.spec import load_variables

    read = load_variables(files, profile=profile, env=env, env_files=env_files)
    found, secrets = read.found, read.secret_sources
    defaults: dict[str, VariableUse] = {}  # the first use of each name that has a default
    for use in read.uses:
        if use.default_text is not None:
            defaults.setdefault(use.name, use)
    # A value holding a secret one (`URL=http://x?t=${API_TOKEN}`, or a secret's default
    # nested in another default) is hidden, as `config` does.
    hunted = (
        hunted_values(found.values, secrets)
        | hunted_values({n: u.default or "" for n, u in defaults.items()}, secrets)
        | read.secret_contents
    )
    rows: dict[str, VariableRow] = {}
    for use in read.uses:
        where = f"{use.position.file}:{use.position.line}" if use.position else ""
        known = rows.get(use.name)
        first = defaults.get(use.name)
        default = first.default if first else None
        value = found.values.get(use.name)
        if value is None and first is not None:
            value = _default_value(first, found.values)
        source = found.origin(use.name) or ("default" if default is not None else "unset")
        rows[use.name] = VariableRow(
            name=use.name,
            default=_shown(use.name, default, secrets, hunted),  # a secret's default is one too
            required=use.required or bool(known and known.required),
            value=_shown(use.name, value, secrets, hunted),
            source=source,
            used_at=(*(known.used_at if known else ()), where),
        )
    return sorted(rows.values(), key=lambda row: row.name)


def _default_value(use: VariableUse, values: Mapping[str, str]) -> str | None:
    """What an unset variable's default reads as with `values` (a default may use others)."""
    from stackr.spec.template import Missing, substitute

    try:
        return substitute(use.default_text or "", values)
    except Missing:
        return use.default


def _shown(
    name: str, value: str | None, secrets: frozenset[str], hunted: frozenset[str]
) -> str | None:
    # A variable whose name looks secret, that a secret is made from, or whose value holds a
    # URL's password or another secret variable's value is listed as set, never with its value.
    if value is None:
        return None
    return MASK if name in secrets or is_secret(name, value, hunted) else value
