"""Everything between the YAML text and the typed model; `load_stack` is the one entry point.

load (safe YAML, positions) → collect variables → interpolate → normalise pairs → resolve each
file's `include` (a layer under it) and `extends` → merge the files in order → validate against
the schema → overlay the profile → validate again → build the model → cross-checks. Every
problem found on the way is reported at once, sorted, as one SpecError.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from stackr.errors import Issue, SpecError
from stackr.sensitive import hunted_contents, hunted_values
from stackr.spec.model import Stack
from stackr.spec.profiles import profile_settings, refuse_unknown_profile
from stackr.spec.prune import prune_invalid
from stackr.spec.source import Document, Position, load_document
from stackr.spec.variables import Variables, collect_variables, is_file

if TYPE_CHECKING:
    from stackr.spec.template import VariableUse


__all__ = ["FileVariables", "Stack", "load_stack", "load_variables", "stack_identity"]


def stack_identity(paths: Sequence[str], *, profile: str) -> tuple[str, str | None]:
    """The stack's name and the profile's engine as the files write them (`spec.identity`).

    Raises:
        SpecError: a file cannot be read or parsed, or the name is not written plainly.
    """
    from stackr.spec.identity import stack_identity as identity

    return identity(paths, profile=profile)


def load_stack(
    paths: Sequence[str],
    *,
    profile: str,
    env: Mapping[str, str] | None = None,
    env_files: Sequence[str] = (),
) -> Stack:
    """The stack in files `paths` (merged in order), rendered for `profile`.

    `env` is the process environment to interpolate from (default: `os.environ`); `env_files`
    (`--env-file`), the profile's `env_file`, `.env.<profile>` and `.env` fill in what it lacks.

    Raises:
        SpecError: any problem in the files, all of them reported, sorted by file and line.
    """
    # The trees built here hold no reference cycles, but the cyclic collector would walk their
    # hundreds of thousands of objects again and again as they grow: pause it.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _load_stack(paths, profile=profile, env=env, env_files=env_files)
    finally:
        if paused:
            gc.enable()


def _load_stack(
    paths: Sequence[str],
    *,
    profile: str,
    env: Mapping[str, str] | None,
    env_files: Sequence[str],
) -> Stack:
    from stackr.spec.extends import extends_from_profiles
    from stackr.spec.profiles import apply_profile
    from stackr.spec.schema import validate_document

    files = tuple(paths) or ("stack.yml",)
    raw = [_load(path) for path in files]
    refuse_unknown_profile(raw, profile)
    variables, missing = _variables(
        raw, files, profile, os.environ if env is None else env, env_files
    )
    warnings: list[Issue] = [*variables.warnings]
    filled: dict[str, str] = {}  # what included files' env files set besides
    try:
        merged, extended = _interpolate_and_merge(raw, variables, profile, warnings, filled)
    except SpecError as error:
        # A variable the missing env file would have set: say that first.
        raise SpecError([*missing, *error.issues], subject=_subject(files)) from None
    issues = [*missing, *extended, *_rendered_here(validate_document(merged), raw, profile)]
    settings = profile_settings(merged, profile)
    try:
        rendered = apply_profile(merged, profile)
    except SpecError as error:
        raise SpecError([*issues, *error.issues], subject=_subject(files)) from None
    rendered_issues = validate_document(rendered)
    issues += _new_places(rendered_issues, issues)
    issues += extends_from_profiles(merged, rendered)
    engine = settings.get("engine")
    try:
        stack, more = _built_and_checked(
            rendered,
            rendered_issues,
            profile=profile,
            files=files,
            env=variables.values,
            engine=engine if isinstance(engine, str) else None,
        )
    except SpecError as error:  # nothing could be built: the problems found so far too
        raise SpecError(
            sorted(dict.fromkeys([*issues, *error.issues]), key=Issue.sort_key),
            subject=_subject(files),
        ) from None
    _raise_if([*issues, *more], subject=_subject(files))
    return replace(
        stack,
        sensitive=hunted_values({**filled, **variables.values}, _secret_sources(stack))
        | _secret_environment(stack)
        # A secret read from a file is as secret as one read from a variable.
        | hunted_contents(s.data for s in stack.secrets.values() if s.file),
        # One of each: `.env` may be read for the variables and as a service's env_file too.
        warnings=tuple(sorted(dict.fromkeys([*warnings, *stack.warnings]), key=Issue.sort_key)),
    )


def _rendered_here(issues: list[Issue], raw: list[Document], profile: str) -> list[Issue]:
    """`issues` without those in another profile's overlay at a value made from variables:
    that profile's variables are not asked for when rendering this one."""
    elsewhere = [i for i in issues if i.path.startswith("profiles.")]
    if not any(not i.path.startswith(f"profiles.{profile}.") for i in elsewhere):
        return issues  # the common case: no walk of the files for their variables
    from stackr.spec.document import dotted
    from stackr.spec.interpolate import variable_uses

    made = {
        dotted(use.path)
        for doc in raw
        for use in variable_uses(doc)
        if use.path[:1] == ("profiles",) and use.path[1:2] != (profile,)
    }
    return [i for i in issues if i.path not in made]


def _built_and_checked(
    rendered: Document,
    refused: list[Issue],
    *,
    profile: str,
    files: tuple[str, ...],
    env: Mapping[str, str],
    engine: str | None,
) -> tuple[Stack, list[Issue]]:
    """The stack built from `rendered`, and the problems of its values and cross-references.

    What is valid is built and cross-checked even when something is not, so that one run
    reports every problem: entries the schema refused (`refused`) are left out, but still
    count as declared.
    """
    from stackr.spec.checks import check_stack
    from stackr.spec.normalize import build_stack

    usable = prune_invalid(rendered, refused)
    stack, issues = build_stack(usable.doc, profile=profile, files=files, env=env, engine=engine)
    return stack, [*issues, *check_stack(stack, usable.doc, pruned=usable)]


def _new_places(found: list[Issue], known: list[Issue]) -> list[Issue]:
    # The rendered document repeats the base's problems at the same places: report each once.
    seen = {(i.file, i.line, i.column) for i in known}
    return [i for i in found if (i.file, i.line, i.column) not in seen]


def _secret_environment(stack: Stack) -> frozenset[str]:
    # A service's environment (its env_files' included) under a secret-looking name is hunted
    # too: another value made from it (`URL=...?pw=${DB_PASSWORD}`) hides it as well.
    return frozenset().union(*(hunted_values(s.environment) for s in stack.services.values()))


def _secret_sources(stack: Stack) -> set[str]:
    # A variable a secret is made from is as secret as the secret, whatever its name.
    return {s.environment for s in stack.secrets.values() if s.environment}


@dataclass(frozen=True, slots=True)
class FileVariables:
    """The variables stack files use, read without loading the stack (`config --variables`)."""

    uses: list[VariableUse]  # every use, in file order
    found: Variables  # the values and origins they would get for the profile
    secret_sources: frozenset[str]  # those a secret is made from, in any profile
    # What secrets read from files hold (`sensitive.hunted_contents`): hidden in values too.
    secret_contents: frozenset[str] = frozenset()


def load_variables(
    paths: Sequence[str],
    *,
    profile: str,
    env: Mapping[str, str] | None = None,
    env_files: Sequence[str] = (),
) -> FileVariables:
    """Every variable the files use, the values and origins they would get for `profile`, and
    which ones secrets are made from.

    Raises:
        SpecError: a file cannot be read or parsed, the profile is not in it, or an env file
            is broken.
    """
    from stackr.spec.interpolate import made_from, variable_uses
    from stackr.spec.linked import filled_in, secret_files, with_linked

    files = tuple(paths) or ("stack.yml",)
    raw = [_load(path) for path in files]
    refuse_unknown_profile(raw, profile)  # its variables would be another profile's
    variables, missing = _variables(
        raw, files, profile, os.environ if env is None else env, env_files
    )
    _raise_if(missing)
    docs, env_files_included = with_linked(raw, profile, _load, variables.values)
    uses = [use for doc in docs for use in variable_uses(doc)]
    return FileVariables(
        uses=uses,
        found=filled_in(variables, env_files_included),
        # `secrets: {db: {environment: DBPW}}`, in the base and in every profile.
        secret_sources=frozenset(u.name for u in uses if made_from(u.path) == "secrets"),
        secret_contents=hunted_contents(secret_files(raw, docs[len(raw) :])),
    )


def _variables(
    raw: list[Document],
    files: tuple[str, ...],
    profile: str,
    env: Mapping[str, str],
    env_files: Sequence[str],
) -> tuple[Variables, list[Issue]]:
    """The variables for `profile`, and the profile's `env_file`s that are missing, located in
    the stack file (reported with the file's other problems)."""
    # The profile's own env_file must be known before anything is interpolated: read it raw.
    # A later file that sets it replaces what an earlier one set, missing entries included.
    chosen: list[str] = []
    missing: list[Issue] = []
    folder = Path(files[0]).parent
    for doc in raw:
        value = profile_settings(doc, profile).get("env_file")
        entries = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        if not entries:
            continue
        chosen, missing = [], []
        for i, entry in enumerate(entries):
            if not isinstance(entry, str) or not entry:
                continue  # a wrongly shaped entry is the schema's to report
            if is_file(folder / entry):
                chosen.append(entry)
                continue
            at: tuple[str | int, ...] = ("profiles", profile, "env_file")
            at = at if isinstance(value, str) else (*at, i)
            hint = "create it, or fix the path (relative to the stack file)"
            missing.append(doc.issue(at, f"env file {entry} not found", hint))
    variables = collect_variables(
        files[0], env, profile=profile, env_files=env_files, profile_env_files=chosen
    )
    return variables, missing


def _interpolate_and_merge(
    raw: list[Document],
    variables: Variables,
    profile: str,
    warnings: list[Issue],
    filled: dict[str, str],
) -> tuple[Document, list[Issue]]:
    """The files, their variables substituted and each one's `include` and `extends`
    resolved, merged in order; and the problems those met. What the includes' env files set
    besides the stack's variables is added to `filled`."""
    from stackr.spec.extends import resolve_extends
    from stackr.spec.interpolate import interpolate_document
    from stackr.spec.profiles import merge_documents, normalise_pairs

    cache: dict[str, Document] = {}

    def load(path: str) -> Document:
        # A file another one's `extends` names, read once however often it is named.
        key = os.path.realpath(path)
        if key not in cache:
            doc = interpolate_document(_load(path), variables, profile=profile, warnings=warnings)
            cache[key] = normalise_pairs(doc)
        return cache[key]

    docs, problems = [], []
    for doc in raw:
        interpolated = normalise_pairs(
            interpolate_document(doc, variables, profile=profile, warnings=warnings)
        )
        included = None
        if isinstance(interpolated.data, dict) and "include" in interpolated.data:
            from stackr.spec.include import resolve_includes, without_include

            # What a file includes is a layer under it: its own definitions merge over it.
            brought = resolve_includes(
                interpolated, variables, profile=profile, read=_load, warnings=warnings
            )
            included = brought.layer
            problems += brought.issues
            filled.update({k: v for k, v in brought.filled.items() if k not in filled})
            interpolated = without_include(interpolated)
        resolved, found = resolve_extends(interpolated, load, included)
        docs += [included, resolved] if included is not None else [resolved]
        problems += found
    if len(docs) == 1 and not docs[0].tags:
        # Merged onto the empty layer, one file without merge tags would only be copied: its
        # positions name exactly the paths in its data, and its root is at 1:1.
        return docs[0], problems
    # Merging onto an empty layer applies the first file's own `!reset`s too.
    first = raw[0].file
    merged = Document(file=first, data={}, positions={(): Position(first, 1, 1)})
    for doc in docs:
        merged = merge_documents(merged, doc, compose_lists=True)
    return merged, problems


def _load(path: str) -> Document:
    doc = load_document(path)
    if doc.data is None:
        raise SpecError(
            [
                Issue(
                    file=doc.file,
                    line=1,
                    column=1,
                    message="the file is empty",
                    hint="a stack file needs at least 'services:'",
                )
            ]
        )
    return doc


def _raise_if(issues: list[Issue], *, subject: str = "") -> None:
    if issues:
        raise SpecError(issues, subject=subject)


def _subject(files: tuple[str, ...]) -> str:
    # What the user asked to load, whichever file a problem is in (an env file, a base that
    # `extends` names, a later -f file).
    return files[0] if len(files) == 1 else "the file set " + ", ".join(files)
