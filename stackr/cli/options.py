"""Option values of stackr's commands, converted without pydantic.

typer 0.29 converts every option value through a pydantic `TypeAdapter` that it builds the first
time the option is used. Importing pydantic and building the adapters costs about 70 ms, a third
of the 200 ms that `stackr validate` may take to start. stackr's options only take `str`, `int`,
`float`, `Path`, an `Enum`, flags, and lists of those, which plain Python converts. Commands made
with `PlainCommand` (and the group with `PlainGroup`) give each such option a converter of its
own; an option of any other kind, and every option under a typer without this hook, keeps
typer's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

import typer
from typer.core import TyperCommand, TyperGroup

Convert = Callable[[Any], Any]

# A Path option with typer's defaults only: any other setting needs typer's own checks.
_PATH_DEFAULTS: dict[str, object] = {
    "exists": False,
    "file_okay": True,
    "dir_okay": True,
    "writable": False,
    "readable": True,
    "resolve_path": False,
    "allow_dash": False,
    "path_type": None,
}


class PlainValue:
    """Converts one option's value; it has what typer 0.29 asks of its `RuntimeParam`."""

    def __init__(self, convert: Convert, *, many: bool) -> None:
        self.convert = convert
        self.many = many

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:
            return () if self.many else None
        try:
            if self.many:
                return [self.convert(item) for item in value]
            return self.convert(value)
        except ValueError as error:
            raise typer.BadParameter(str(error), ctx=ctx, param=param) from None


class PlainCommand(TyperCommand):
    """A typer command whose options convert their values without pydantic."""

    def get_params(self, ctx: Any) -> list[Any]:
        # Here rather than at construction: click makes the --help option on first use.
        params: list[Any] = super().get_params(ctx)
        convert_plainly(params)
        for param in params:
            if param.param_type_name == "argument" and param.metavar:
                # typer 0.29 writes an argument's Python type after it in --help
                # (`SERVICE <list[str]>`); its metavar says what to give.
                param.display_type_rich = _no_type
        return params

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        _refuse_repeats(self.get_params(ctx), args)
        result: list[str] = super().parse_args(ctx, args)
        return result


def _refuse_repeats(params: list[Any], args: list[str]) -> None:
    """An option that takes one value, given twice: click would quietly keep the last, and
    `--profile dev --profile prod` would act on prod alone."""
    options = {opt: p for p in params if p.param_type_name == "option" for opt in p.opts}
    given: dict[str, int] = {}
    for param in _options_in(args, options):
        if not (param.multiple or param.is_flag or param.count):
            given[param.name] = given.get(param.name, 0) + 1
            if given[param.name] > 1:
                raise typer.BadParameter(
                    f"given {given[param.name]} times; give it once",
                    param_hint=f"'{max(param.opts, key=len)}'",
                )


def _options_in(args: list[str], options: dict[str, Any]) -> Iterator[Any]:
    """The options `args` give, as click reads them: the word after an option that takes a
    value is that value (`--env-file --profile`), short options may be clustered (`-dj4`)."""
    words = iter(args)
    for word in words:
        if word == "--":
            return
        found, value_follows = _read_option(word, options)
        yield from found
        if value_follows:
            next(words, None)


def _read_option(word: str, options: dict[str, Any]) -> tuple[list[Any], bool]:
    # The options one word gives, and whether the next word is the last one's value.
    if word.startswith("--"):
        param = options.get(word.partition("=")[0])
        if param is None:
            return [], False
        return [param], "=" not in word and _takes_value(param)
    found: list[Any] = []
    if word.startswith("-"):
        for i, letter in enumerate(word[1:], start=1):
            param = options.get(f"-{letter}")
            if param is None:
                break
            found.append(param)
            if _takes_value(param):  # its value is the rest of the word, else the next word
                return found, i == len(word) - 1
    return found, False


def _takes_value(param: Any) -> bool:
    return not (param.is_flag or param.count)


def _no_type(ctx: Any) -> None:
    return None


class PlainGroup(TyperGroup):
    """A typer group (the `stackr` command itself) whose options convert without pydantic."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        convert_plainly(params)
        return params


def convert_plainly(params: list[Any]) -> None:
    """Give each of `params` that stackr's types cover a converter without pydantic."""
    for param in params:
        # typer 0.29 leaves `_runtime_param` None until the option's first use; other typers
        # do not have it and convert the way click does, without pydantic.
        if getattr(param, "_runtime_param", False) is not None:
            continue
        plain = plain_value(param.type_descriptor.annotation, param.type_descriptor.parameter_info)
        if plain is not None:
            param._runtime_param = plain


def plain_value(annotation: Any, info: Any) -> PlainValue | None:
    """A converter for values of `annotation` (a type or `list[type]`), or None when the
    annotation or typer's `ParameterInfo` asks for more than this module does."""
    if info.parser is not None or info.clamp:
        return None
    many = get_origin(annotation) is list
    kind = get_args(annotation)[0] if many else annotation
    convert = _converter(kind, info)
    return None if convert is None else PlainValue(convert, many=many)


def _converter(kind: Any, info: Any) -> Convert | None:
    if kind is str:
        return str
    if kind is bool:
        return _flag
    if kind is int or kind is float:
        return _number(kind, info.min, info.max)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return _choice(kind, case_sensitive=info.case_sensitive)
    if kind is Path and all(getattr(info, k) == v for k, v in _PATH_DEFAULTS.items()):
        return _path
    return None


def _number(kind: type[int] | type[float], low: float | None, high: float | None) -> Convert:
    name = "integer" if kind is int else "number"

    def convert(value: Any) -> int | float:
        if isinstance(value, kind) and not isinstance(value, bool):
            number: int | float = value
        else:
            try:
                number = kind(value)
            except (TypeError, ValueError):
                raise ValueError(f"{value!r} is not a valid {name}.") from None
        if not math.isfinite(number):  # `nan` would never end a wait, `inf` never time out
            raise ValueError(f"{value!r} is not a finite {name}.")
        if (low is not None and number < low) or (high is not None and number > high):
            raise ValueError(f"{value} is not in the range {_range(low, high)}.")
        return number

    return convert


def _range(low: float | None, high: float | None) -> str:
    # The way typer's help shows a range: x>=1, x<=9, 1<=x<=9.
    if high is None:
        return f"x>={low}"
    if low is None:
        return f"x<={high}"
    return f"{low}<=x<={high}"


def _choice(kind: type[Enum], *, case_sensitive: bool) -> Convert:
    def fold(text: str) -> str:
        return text if case_sensitive else text.casefold()

    def convert(value: Any) -> Enum:
        if isinstance(value, kind):
            return value
        for member in kind:
            if fold(str(member.value)) == fold(str(value)):
                return member
        choices = ", ".join(repr(str(member.value)) for member in kind)
        raise ValueError(f"{value!r} is not one of {choices}.")

    return convert


def _flag(value: Any) -> bool:
    # Flags (--help, --wait...) are True when given; typer passes None when one is not.
    if isinstance(value, bool):
        return value
    raise ValueError(f"{value!r} is not a flag value.")


def _path(value: Any) -> Path:
    # A file that cannot be read is not bad usage: reading it says why, located (exit 1).
    return Path(value)
