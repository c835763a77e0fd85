"""Every dataclass in stackr says what it is in a docstring of its own.

A dataclass without one gets a docstring made from `inspect.signature` while its module is
imported: about 0.1 ms a class, paid on every command's start-up, for text nobody reads.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from types import ModuleType

import stackr

# Only the CLI imports typer and rich, and the engine module the Docker SDK: all installed here.
MODULES = [
    importlib.import_module(info.name)
    for info in pkgutil.walk_packages(stackr.__path__, prefix="stackr.")
    if info.name != "stackr.__main__"
]


def _own_dataclasses(module: ModuleType) -> list[type]:
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and dataclasses.is_dataclass(value)
        and value.__module__ == module.__name__
    ]


def test_the_modules_define_dataclasses() -> None:
    assert sum(len(_own_dataclasses(m)) for m in MODULES) >= 40


def test_every_dataclass_has_a_docstring_of_its_own() -> None:
    generated = [
        f"{cls.__module__}.{cls.__qualname__}"
        for module in MODULES
        for cls in _own_dataclasses(module)
        if not cls.__doc__ or cls.__doc__.startswith(f"{cls.__name__}(")
    ]
    assert generated == []
