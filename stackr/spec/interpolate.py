"""Variable substitution in string values: `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
`${VAR:?message}`, `${VAR?message}`, `${VAR:+alt}`, `${VAR+alt}`, `$VAR`, and `$$` for a literal
`$`, as in Compose.

Pure: the variables come in as an explicit `Variables`. Defaults may themselves hold
substitutions (`${A:-${B:-x}}`). Keys are never interpolated, only values. A value built from a
variable that came from an env file is located with that origin (`from .env.prod:3`).

Where the file takes a boolean (`read_only`, `depends_on.*.restart`, a network's `internal`,
...), a value made from variables that reads `true`, `yes`, `on`, `y` (or `false`, `no`, `off`,
`n`), in any case, is that boolean, as Compose casts it: `tty: ${TTY:-false}`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from stackr.errors import Issue, SpecError
from stackr.spec.source import Document, Position
from stackr.spec.template import Expander, Missing, Unset, VariableUse
from stackr.spec.variables import Variables

Path_ = tuple[str | int, ...]
_CONTAINERS = (dict, list)
# The words Compose casts to a boolean where a variable makes one, in any case.
FLAG_WORDS = {
    True: frozenset({"true", "yes", "on", "y"}),
    False: frozenset({"false", "no", "off", "n"}),
}
# Where a service takes a boolean, below `services.<name>` ("*": any key, 0: any list index).
_SERVICE_FLAGS = frozenset(
    {
        ("init",),
        ("read_only",),
        ("privileged",),
        ("tty",),
        ("stdin_open",),
        ("oom_kill_disable",),
        ("attach",),
        ("healthcheck", "disable"),
        ("depends_on", "*", "required"),
        ("depends_on", "*", "restart"),
        ("volumes", 0, "read_only"),
        ("volumes", 0, "volume", "nocopy"),
        ("volumes", 0, "bind", "create_host_path"),
        ("env_file", 0, "required"),
    }
)


def interpolate_document(
    doc: Document,
    variables: Variables,
    *,
    profile: str | None = None,
    warnings: list[Issue] | None = None,
) -> Document:
    """Every string value of `doc` with its variables substituted.

    A required variable unset inside the overlay of a profile other than `profile` is no
    error: that profile is not being rendered (its own variables may only be set for it).
    A plain `${VAR}` or `$VAR` that is unset becomes an empty string, as in Compose; each one
    is added to `warnings`, when given.

    Raises:
        SpecError: a required variable is unset, or a `${` is malformed; every one is reported.
    """
    issues: list[Issue] = []
    positions = dict(doc.positions)
    walker = _Walker(doc, variables, issues, positions, profile, warnings)
    data = walker.walk(doc.data, ())
    if issues:
        raise SpecError(issues)
    return Document(file=doc.file, data=data, positions=positions, tags=doc.tags, texts=doc.texts)


def variable_uses(doc: Document) -> list[VariableUse]:
    """Every variable `doc` uses, in file order (a variable used twice appears twice): each
    `${...}`, a bare `environment` key (its value comes from the variables), and the variable
    a secret or config is made from (`{environment: API_TOKEN}`, required)."""
    return list(_uses(doc, doc.data, ()))


def _uses(doc: Document, value: Any, path: Path_) -> Iterator[VariableUse]:
    bare = _bare_key(value, path)
    if bare:
        yield VariableUse(name=bare, path=path, position=doc.locate(path))
        return
    if made_from(path) and isinstance(value, str) and "$" not in value:
        yield VariableUse(name=value, required=True, path=path, position=doc.locate(path))
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _uses(doc, item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _uses(doc, item, (*path, index))
    elif isinstance(value, str) and "$" in value:
        found: list[VariableUse] = []
        # A malformed value is reported by interpolation itself, not here.
        with contextlib.suppress(Missing):
            Expander({}, found, strict=False).expand(value, 0, closing=False)
        pos = doc.locate(path)
        for use in found:
            yield VariableUse(
                name=use.name,
                default=use.default,
                default_text=use.default_text,
                required=use.required,
                path=path,
                position=pos,
            )


def _bare_key(value: Any, path: Path_) -> str:
    """The name of a bare `environment` entry at `path` (`KEY:` with no value, or `- KEY`),
    else ""."""
    if len(path) < 4 or path[-4] != "services" or path[-2] != "environment":
        return ""
    if value is None and isinstance(path[-1], str):
        return path[-1]
    if isinstance(path[-1], int) and isinstance(value, str) and "=" not in value:
        return "" if "$" in value else value
    return ""


def takes_flag(path: Path_) -> bool:
    """Whether the value at `path` is one the file takes as a boolean."""
    if path[:1] == ("profiles",):
        path = path[2:]
    if len(path) == 3 and path[0] in ("networks", "volumes") and path[2] == "external":
        return True
    if len(path) == 3 and path[0] == "networks" and path[2] == "internal":
        return True
    if len(path) < 3 or path[0] != "services":
        return False
    shape = tuple(0 if isinstance(p, int) else p for p in path[2:])
    return shape in _SERVICE_FLAGS or (
        len(shape) == 3 and (shape[0], "*", shape[2]) in _SERVICE_FLAGS
    )


def _as_flag(text: str) -> bool | str:
    """`text` as Compose casts a boolean made from variables; anything else stays text, for the
    schema to refuse."""
    word = text.strip().lower()
    return True if word in FLAG_WORDS[True] else False if word in FLAG_WORDS[False] else text


def made_from(path: Path_) -> str:
    """ "secrets" or "configs" when `path` is the `environment` a secret or config is made from
    (`secrets.db.environment`, in the base or a profile), else ""."""
    top = len(path) == 3 or (len(path) == 5 and path[0] == "profiles")
    if top and path[-1] == "environment" and path[-3] in ("secrets", "configs"):
        return str(path[-3])
    return ""


class _Walker:
    def __init__(
        self,
        doc: Document,
        variables: Variables,
        issues: list[Issue],
        positions: dict[Path_, Position],
        profile: str | None = None,
        warnings: list[Issue] | None = None,
    ) -> None:
        self.doc, self.variables, self.issues, self.positions = doc, variables, issues, positions
        self.profile, self.warnings = profile, warnings

    def walk(self, value: Any, path: Path_) -> Any:
        if isinstance(value, dict | list):
            return self.walk_container(value, path)
        if not isinstance(value, str) or "$" not in value:
            return value
        used: list[VariableUse] = []
        try:
            result = Expander(self.variables.values, used, strict=True).expand(value, 0)[0]
        except Missing as missing:
            if not (isinstance(missing, Unset) and self._inactive(path)):
                self._report(path, missing)
            return value
        self._attribute(path, used)
        if self.warnings is not None and not self._inactive(path):
            self._warn_unset(path, used, self.warnings)
        return _as_flag(result) if takes_flag(path) else result

    def _warn_unset(self, path: Path_, used: list[VariableUse], warnings: list[Issue]) -> None:
        env = self.variables.values
        for name in dict.fromkeys(
            u.name for u in used if u.default is None and not u.required and u.name not in env
        ):
            message = f"{name} is not set: an empty string is used"
            hint = f"set {name}, or write ${{{name}:-default}} (${{{name}:-}} for an empty one)"
            warnings.append(self.doc.issue(path, message, hint))

    def walk_container(self, value: dict[Any, Any] | list[Any], path: Path_) -> Any:
        """`value` with its strings substituted: the same object when none changed (the
        stages after this one build new containers where they change anything)."""
        changed: Any = None
        walk = self.walk
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            # A value with nothing to substitute is kept without a call or a path made for it.
            if (isinstance(item, str) and "$" in item) or isinstance(item, _CONTAINERS):
                new = walk(item, (*path, key))
                if new is not item:
                    if changed is None:
                        changed = value.copy()
                    changed[key] = new
        return value if changed is None else changed

    def _inactive(self, path: Path_) -> bool:
        return (
            self.profile is not None
            and len(path) > 1
            and path[0] == "profiles"
            and path[1] != self.profile
        )

    def _attribute(self, path: Path_, used: list[VariableUse]) -> None:
        found = self.variables
        names = list(dict.fromkeys(u.name for u in used if u.name in found.values))
        if not any(n in found.origins for n in names) or path not in self.positions:
            return  # only the environment or defaults: no file to point at
        if len(names) == 1:
            said = f"from {found.origins[names[0]]}"
        else:  # the value was made of several: name each, and where it was set
            said = "from " + ", ".join(f"{name} in {found.origin(name)}" for name in names)
        self.positions[path] = self.positions[path]._replace(layer=said)

    def _report(self, path: Path_, missing: Missing) -> None:
        self.issues.append(self.doc.issue(path, str(missing), missing.hint))
