"""`stackr-validate-files`, the entry point of the pre-commit hook: validates the stack files a
commit changes, each overlay on top of the base it belongs to.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from stackr.cli.app import main


def validate_files_main(argv: list[str] | None = None) -> int:
    """`stackr-validate-files [--profile P] FILE...`: validate each file (for the pre-commit
    hook, which passes the changed files); exit 1 if any is invalid. An overlay,
    `stack.NAME.yml` beside a `stack.yml`, is validated on top of it, as `stackr up -f
    stack.yml -f stack.NAME.yml` reads it (alone it may lack what the base gives), and a
    changed `stack.yml` brings the overlays beside it along: an edit of the base can break them."""
    args = list(sys.argv[1:] if argv is None else argv)
    profile: list[str] = []
    if args[:1] == ["--profile"] and len(args) > 1:
        profile, args = args[:2], args[2:]
    sets = dict.fromkeys(tuple(layers) for path in args for layers in _file_sets(path))
    codes = [
        main(["validate", *(f for file in layers for f in ("-f", file)), *profile])
        for layers in sets
    ]
    return max(codes, default=0)


_OVERLAY = re.compile(r"stack\.[\w-]+\.ya?ml")
_BASES = ("stack.yml", "stack.yaml")


def _file_sets(path: str) -> list[list[str]]:
    """The file sets `path` takes part in: itself (on its base, for an overlay), and for a
    base, each overlay beside it on top of it."""
    file = Path(path)
    bases = [b for b in (file.with_name(n) for n in _BASES) if b.is_file()]
    if _OVERLAY.fullmatch(file.name) and bases:
        return [[str(bases[0]), path]]
    if file.name in _BASES:
        overlays = sorted(o for o in file.parent.iterdir() if _OVERLAY.fullmatch(o.name))
        return [[path], *([path, str(o)] for o in overlays)]
    return [[path]]
