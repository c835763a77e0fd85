"""JSON Schema validation of a stack document, reported as sorted, located Issues.

This module owns the published schema (`schemas/stack.schema.json`): finding it, loading it once,
validating a `Document` against it, and turning every jsonschema error into an `Issue` a person
can act on, located at the key or list item the user wrote (`wording` words single values).
Issues are built from each error's structured fields (`validator`, `validator_value`,
`instance`, `schema`, `absolute_path`), never from jsonschema's English messages. Two keywords of
our own in the schema feed the wording: `x-what` names what a textual value is ("port",
"duration"), `x-hint` says how to write one, and `x-words` lists the literal words a pattern
takes, for a "did you mean".
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from stackr.errors import Issue
from stackr.spec.quickcheck import QuickCheck, compile_check
from stackr.spec.source import Document
from stackr.spec.wording import (
    WORDINGS,
    as_list,
    close_match,
    example_hint,
    expected,
    got,
    other,
    schema_of,
    show,
)

if TYPE_CHECKING:
    # jsonschema is imported only to word a document's problems: a valid one never needs it.
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

__all__ = ["inlined_schema", "load_schema", "quick_check", "validate_document"]

Path_ = tuple[str | int, ...]

_SCHEMA_FILE = "stack.schema.json"
_MAX_LISTED_KEYS = 12  # list the allowed keys in a hint only when there are this few

_FORGOT_SERVICES = "did you forget 'services:'?"


class _Finding(NamedTuple):
    """One problem before it is located: where in the data, what is wrong, how to fix it."""

    path: Path_
    message: str
    hint: str = ""


@functools.cache
def load_schema() -> dict[str, Any]:
    """The stack file schema (JSON Schema draft 2020-12), read once per process."""
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


def schema_text() -> str:
    # An installed wheel ships the schema inside the package (pyproject's force-include puts it at
    # stackr/schemas/); a source checkout or editable install has it only at the repository root,
    # beside the `stackr` package, where editors and the docs point at it.
    packaged = importlib.resources.files("stackr") / "schemas" / _SCHEMA_FILE
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[2] / "schemas" / _SCHEMA_FILE
    return checkout.read_text(encoding="utf-8")


@functools.cache
def inlined_schema() -> dict[str, Any]:
    """The schema with every `$ref` to `#/$defs/...` replaced by what it names, built once.

    Resolving the refs per value dominated validation (~58k look-ups for 1,000 services), and
    the schema has no recursive reference.
    """
    schema = load_schema()
    inlined: dict[str, Any] = _inline(schema, schema.get("$defs", {}))
    return inlined


@functools.cache
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    # The schema is checked against the meta-schema by the tests, not on every run.
    return Draft202012Validator(inlined_schema())


@functools.cache
def quick_check() -> QuickCheck:
    """The compiled yes/no check of the schema (see `stackr.spec.quickcheck`), built once."""
    return compile_check(inlined_schema())


def _inline(node: Any, defs: Mapping[str, Any]) -> Any:
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    rest = {k: _inline(v, defs) for k, v in node.items() if k not in ("$ref", "$defs")}
    if not (isinstance(ref, str) and ref.startswith("#/$defs/")):
        return rest if ref is None else {**rest, "$ref": ref}
    target = _inline(defs[ref.removeprefix("#/$defs/")], defs)
    # Keywords beside a `$ref` apply too: keep them as a second branch of an allOf.
    return {"allOf": [target, rest]} if set(rest) - _ANNOTATIONS else target


_ANNOTATIONS = {"description", "examples", "title", "x-hint", "x-what", "x-words"}


def validate_document(doc: Document) -> list[Issue]:
    """Every way `doc.data` breaks the schema, one Issue each, sorted by file, line and column.

    An empty list means the document is valid. Nothing is raised: the caller decides.
    """
    if quick_check().is_valid(doc.data):
        return []  # jsonschema would find nothing: skip its walk and the locating
    findings = (found for error in _validator().iter_errors(doc.data) for found in _findings(error))
    resets = _merged_away(doc)
    issues = dict.fromkeys(
        _locate(doc, found) for found in findings if not _under_any(found.path, resets)
    )
    if any(issue.hint == _FORGOT_SERVICES for issue in issues):
        # One mistake, one message: the missing `services` is what the hint already says.
        issues = {i: None for i in issues if i.message != "missing required key 'services'"}
    return sorted(issues, key=Issue.sort_key)


def _merged_away(doc: Document) -> list[Path_]:
    """The `!reset` values the merge will drop. A merge reaches a key only through mappings and
    never treats `profiles` or one profile as a directive, so a `!reset` on a list item, on
    `profiles` or on a profile keeps its value, which is then used and must be validated."""
    return [
        path
        for path, tag in doc.tags.items()
        if tag == "reset"
        and all(isinstance(part, str) for part in path)
        and not (path[:1] == ("profiles",) and len(path) <= 2)
    ]


def _under_any(path: Path_, roots: list[Path_]) -> bool:
    # What a `!reset` holds is never used, so it is never wrong.
    return any(path[: len(root)] == root for root in roots)


def _locate(doc: Document, found: _Finding) -> Issue:
    return doc.issue(found.path, found.message, found.hint)


def _findings(error: ValidationError) -> Iterator[_Finding]:
    """The problems one jsonschema error stands for (an unknown-keys error may hold several)."""
    path: Path_ = tuple(error.absolute_path)
    if "propertyNames" in error.absolute_schema_path:
        # propertyNames checks each key as an instance but leaves the path at the mapping.
        path = (*path, str(error.instance))
    validator = str(error.validator)
    if validator in ("anyOf", "oneOf"):
        yield from _alternatives(error, path)
    elif validator == "additionalProperties":
        yield from _unknown_keys(error, path)
    elif validator == "required":
        yield from _missing_keys(error, path)
    elif validator == "uniqueItems":
        yield _repeated_item(error, path)
    else:
        message, hint = WORDINGS.get(validator, other)(error)
        yield _Finding(path, message, hint)


# -- anyOf / oneOf: one precise message instead of one per alternative ------------------------


def _alternatives(error: ValidationError, path: Path_) -> Iterator[_Finding]:
    context = error.context
    here = [sub for sub in context if not sub.relative_path]
    if context and len(here) == len(context):
        if all(sub.validator == "required" for sub in here):
            yield from _needs_one_of(error, path)
            return
        if all(sub.validator == "type" for sub in here):
            types = [t for sub in here for t in as_list(sub.validator_value)]
            message = f"expected {expected(types)}, got {got(error.instance)}"
            yield _Finding(path, message, example_hint(schema_of(here[0])))
            return
    from jsonschema.exceptions import best_match

    candidates = _fitting_branches(context) or context
    best: ValidationError | None = best_match(candidates)
    if best is None:
        if error.validator == "oneOf":
            yield _more_than_one(error, path)
        return
    # Every problem of the branch that fits best: each refused item of a list, not only one.
    # `best_match` may descend into a nested anyOf/oneOf: its branch is that of the candidate
    # it came from.
    top: Any = best
    while top is not None and not any(top is sub for sub in candidates):
        top = top.parent
    if top is None:
        yield from _findings(best)
        return
    branch = _branch(top)
    for sub in candidates:
        if sub is top or (branch is not None and _branch(sub) == branch):
            yield from _findings(sub)


def _branch(error: ValidationError) -> Any:
    """Which alternative of an anyOf/oneOf an error of its context belongs to."""
    return next(iter(error.relative_schema_path), None)


def _fitting_branches(context: list[ValidationError]) -> list[ValidationError]:
    """The errors of the alternatives that accept the value's type: a mapping written where a
    name or a mapping is allowed is wrong as a mapping, not for failing to be a name."""
    wrong_type = {sub.schema_path[0] for sub in context if sub.validator == "type"}
    wrong_type &= {sub.schema_path[0] for sub in context if not sub.relative_path}
    return [sub for sub in context if sub.schema_path[0] not in wrong_type]


def _more_than_one(error: ValidationError, path: Path_) -> _Finding:
    forms = as_list(error.validator_value)
    keys = [k for form in forms for k in as_list(form.get("required")) if isinstance(form, dict)]
    given = [str(k) for k in keys if isinstance(error.instance, dict) and k in error.instance]
    if len(given) > 1:
        return _Finding(path, "give only one of " + ", ".join(f"'{k}'" for k in given))
    return _Finding(path, "matches more than one of the allowed forms")


def _needs_one_of(error: ValidationError, path: Path_) -> Iterator[_Finding]:
    """`needs 'image' or 'build'`, unless a key written there is a typo of one of them."""
    instance = error.instance if isinstance(error.instance, dict) else {}
    wanted = [k for sub in error.context for k in as_list(sub.validator_value)]
    missing = [str(key) for key in dict.fromkeys(wanted) if key not in instance]
    if not missing or any(close_match(str(key), missing) for key in instance):
        return  # the unknown-key issue already says "did you mean ...?"
    hints = {
        ("image", "build", "extends"): "e.g. image: nginx:1.25, or build: ./web",
        ("file", "environment", "content"): "e.g. file: ./db_password.txt, or environment: "
        "DB_PASSWORD",
        ("file", "environment"): "e.g. file: ./db_password.txt, or environment: DB_PASSWORD",
    }
    hint = hints.get(tuple(missing), "")
    yield _Finding(path, "needs " + " or ".join(f"'{key}'" for key in missing), hint)


# -- keys: unknown, missing -------------------------------------------------------------------


def _unknown_keys(error: ValidationError, path: Path_) -> Iterator[_Finding]:
    schema = schema_of(error)
    allowed = [str(key) for key in schema.get("properties", {})]
    patterns = list(schema.get("patternProperties", {}))
    instance = error.instance if isinstance(error.instance, dict) else {}
    for key, value in instance.items():
        if key in allowed or any(re.search(pattern, key) for pattern in patterns):
            continue
        hint = _unknown_key_hint(path, key, value, allowed)
        yield _Finding((*path, key), f"unknown key '{key}'", hint)


# Compose keys a stackr file says otherwise, and how: (where, key) -> hint. `where` is
# "top" for the file, "service" for a service.
_COMPOSE_KEYS = {
    ("overlay", "include"): "include at the top of the file: a profile changes what the "
    "files (and the files they include) define",
    ("deploy", "placement"): "a swarm's: on one engine every replica runs there: remove it",
    ("deploy", "labels"): "a swarm service's labels: give the containers labels with the "
    "service's labels key",
    ("deploy", "rollback_config"): "a failed update rolls back by update_config (failure_action: "
    "rollback), one replica at a time, each gated on being ready: remove it",
    ("deploy", "endpoint_mode"): "a swarm's: replicas answer to the service's name on their "
    "networks: remove it",
    **{
        ("restart_policy", key): "a swarm's: the engine restarts a container at once, with a "
        "delay that doubles as it keeps failing: remove it"
        for key in ("delay", "window")
    },
    ("reservations", "cpus"): "a swarm's placement: on one engine, limit CPUs with "
    "resources.limits.cpus: remove it",
    ("reservations", "devices"): "devices reserved for a container (GPUs) are not supported by "
    "stackr: remove it",
    ("update_config", "max_failure_ratio"): "an update stops at the first replica that does "
    "not turn ready: remove it",
    ("update_config", "drain"): "drain is stackr's own key, not Compose's: write it under the "
    "service's update (update: {drain: 2s})",
    ("service", "profiles"): "a service only some profiles run is declared under them: "
    "profiles: {debug: {services: {NAME: {...}}}} (see docs/stack-file.md, Profiles)",
    ("service", "container_name"): "stackr names each container STACK-PROFILE-SERVICE-N, so "
    "replicas and profiles never clash: remove it",
    ("service", "links"): "services reach each other by name on the networks they share: remove it",
    ("service", "external_links"): "put the service on the other container's network "
    "(networks: {NAME: {external: true}}) and call it by its name: remove it",
    ("service", "volumes_from"): "share a named volume instead: declare it under volumes: and "
    "mount it in both services",
    ("service", "gpus"): "devices reserved for a container (GPUs) are not supported by stackr: "
    "remove it",
    ("service", "develop"): "stackr has no watch mode: run stackr up --build after a change",
    ("service", "post_start"): "lifecycle hooks are not supported by stackr: run the command from "
    "the container's own entrypoint",
    ("service", "pre_stop"): "lifecycle hooks are not supported by stackr: trap the stop_signal "
    "in the container and run the command there",
    ("service", "annotations"): "not supported by stackr (the engine takes them from API 1.43 on): "
    "give the containers labels instead",
    ("service", "use_api_socket"): "not supported by stackr: mount the engine's socket as a "
    "volume (/var/run/docker.sock:/var/run/docker.sock) if the service must reach it",
    ("service", "provider"): "services run by a provider plugin are not supported by stackr: "
    "remove it",
    ("service", "models"): "AI models are not supported by stackr: remove it",
    ("top", "models"): "AI models are not supported by stackr: remove it",
    ("service", "mac_address"): "not supported by stackr: replicas and start-first updates "
    "would share it",
    ("service", "storage_opt"): "not supported by stackr (the overlay2 driver takes a size only "
    "on xfs with pquota): remove it",
    ("service", "blkio_config"): "not supported by stackr: remove it",
    **{
        ("service", key): "Windows containers only: remove it"
        for key in ("isolation", "credential_spec", "cpu_count", "cpu_percent")
    },
    **{
        ("service", key): "real-time CPU scheduling is not supported by stackr: remove it"
        for key in ("cpu_rt_runtime", "cpu_rt_period")
    },
}


def _unknown_key_hint(path: Path_, key: str, value: Any, allowed: list[str]) -> str:
    if not path and _looks_like_service(key, value):
        return _FORGOT_SERVICES
    where = _where(path)
    if (where, key) in _COMPOSE_KEYS:
        return _COMPOSE_KEYS[(where, key)]
    close = close_match(key, allowed)
    # A typo of a Compose key: what that key would need here, when it is the closer match and
    # close (`bogus` is no `gpus`).
    compose = close_match(key, [k for w, k in _COMPOSE_KEYS if w == where], cutoff=0.8)
    if compose and (not close or _likeness(key, compose) > _likeness(key, close)):
        return f"'{compose}'? {_COMPOSE_KEYS[(where, compose)]}"
    if close:
        return f"did you mean '{close}'?"
    if len(allowed) <= _MAX_LISTED_KEYS:
        return "allowed: " + ", ".join(sorted(allowed))
    return ""


def _where(path: Path_) -> str:
    """Which kind of mapping `path` names, for the Compose keys it may meet: a service (in a
    profile's overlay too), a dependency, deploy and its parts, the top, a profile's overlay."""
    if not path:
        return "top"
    if path[0] == "profiles" and len(path) >= 2:
        if len(path) == 2:
            return "overlay"
        path = path[2:]  # an overlay has the shape of the file
    where = "service" if len(path) == 2 and path[0] == "services" else ""
    if len(path) == 4 and path[0] == "services" and path[2] == "depends_on":
        where = "dependency"
    if len(path) == 3 and path[0] == "services" and path[2] == "deploy":
        where = "deploy"
    if len(path) >= 4 and path[0] == "services" and path[2] == "deploy":
        where = str(path[-1])  # restart_policy, update_config, reservations
    return where


def _likeness(one: str, other: str) -> float:
    import difflib

    return difflib.SequenceMatcher(None, one, other).ratio()


def _looks_like_service(key: str, value: Any) -> bool:
    """A top-level `web: {image: ...}`: a service name holding keys only a service has."""
    defs = load_schema()["$defs"]
    if not isinstance(value, dict) or not re.search(defs["serviceName"]["pattern"], key):
        return False
    others = {*defs["volume"]["properties"], *defs["network"]["properties"]}
    return any(k in defs["service"]["properties"] and k not in others for k in value)


_REQUIRED_HINTS = {
    "services": "a stack file lists its services under a top-level `services:` key, e.g. "
    "services: {web: {image: nginx:1.25}}",
}


def _missing_keys(error: ValidationError, path: Path_) -> Iterator[_Finding]:
    # jsonschema raises one error per missing key with the same fields; duplicates merge later.
    instance = error.instance if isinstance(error.instance, dict) else {}
    for key in as_list(error.validator_value):
        if key not in instance:
            hint = _REQUIRED_HINTS.get(key, f"add '{key}'")
            yield _Finding(path, f"missing required key '{key}'", hint)


def _repeated_item(error: ValidationError, path: Path_) -> _Finding:
    items = error.instance if isinstance(error.instance, list) else []
    for index, item in enumerate(items):
        if any(_same(item, earlier) for earlier in items[:index]):
            return _Finding((*path, index), f"{show(item)} is listed more than once")
    return _Finding(path, "lists an entry more than once")


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values: unlike Python's ==, true is not 1."""
    return type(a) is type(b) and bool(a == b)
