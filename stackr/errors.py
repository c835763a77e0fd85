"""The one error root of stackr, and the located `Issue` a spec problem is reported as.

Every failure a user can cause is a `StackrError` whose message a person can act on; the CLI
catches this root alone. Anything else escaping is a bug in stackr.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Issue:
    """One problem in a stack file, located as precisely as the loader knows."""

    file: str
    line: int = 0
    column: int = 0
    path: str = ""
    message: str
    hint: str = ""

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.column, self.path, self.message)

    def location(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file

    def render(self) -> str:
        where = f"{self.path}: " if self.path else ""
        hint = f" — {self.hint}" if self.hint else ""
        return f"{self.location()}  {where}{self.message}{hint}"


class StackrError(Exception):
    """Root of every error a user can cause; `str(error)` is the message to show."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class SpecError(StackrError):
    """The stack file set is invalid; `issues` holds every problem found, sorted."""

    def __init__(self, issues: list[Issue] | tuple[Issue, ...], *, subject: str = "") -> None:
        self.issues: tuple[Issue, ...] = tuple(sorted(issues, key=Issue.sort_key))
        subject = subject or (self.issues[0].file if self.issues else "stack file")
        count = len(self.issues)
        if count == 1 and not self.issues[0].line:
            # About a file as a whole (not found, not readable): not "invalid", just that.
            super().__init__(self.issues[0].render().replace("  ", ": ", 1))
            return
        noun = "problem" if count == 1 else "problems"
        lines = [f"{subject} is invalid ({count} {noun}):"]
        lines += [f"  {issue.render()}" for issue in self.issues]
        super().__init__("\n".join(lines))


class CycleError(SpecError):
    """`depends_on` forms a cycle; `cycle` names the services in order, first one repeated."""

    def __init__(self, cycle: list[str], issue: Issue) -> None:
        self.cycle = tuple(cycle)
        super().__init__([issue])


class EngineError(StackrError):
    """The container engine refused or could not be reached; raised only at the engine boundary."""


class ApplyError(StackrError):
    """Applying a plan failed part-way; `failures` maps each failed object to its reason."""

    def __init__(self, failures: dict[str, str], *, hint: str = "") -> None:
        self.failures = dict(failures)
        lines = [f"{len(failures)} object(s) failed:"]
        lines += [f"  {name}: {reason}" for name, reason in sorted(failures.items())]
        super().__init__("\n".join(lines), hint=hint)


class LockError(StackrError):
    """The lock of this stack and profile cannot be had: another stackr run holds it, or its
    folder cannot be written."""


class Interrupted(StackrError):
    """Work that Ctrl-C cut short; the message says what it did and left (an update: how many
    replicas run the new spec). The interruption itself is the CLI's to report."""


class Abandoned(KeyboardInterrupt):
    """A second Ctrl-C: stackr stopped waiting for the work in flight, which may be left half
    done (a replica stopped and not yet replaced) until the next `up`."""
