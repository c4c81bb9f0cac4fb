"""The one error hierarchy: every user mistake becomes a located Problem."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

import attrs

from klaster_build.origin import Origin


class ExitStatus(IntEnum):
    """Exit codes, the `make -q` convention."""

    OK = 0
    DRIFT = 1
    INVALID = 2
    INTERNAL = 3
    INTERRUPTED = 130  # Ctrl-C: the shell's status of a command stopped by SIGINT (128 + 2)
    TERMINATED = 143  # SIGTERM (128 + 15)


@attrs.frozen(order=True)
class Problem:
    """One thing wrong with the declarations, at one place, with what to do about it."""

    origin: Origin
    message: str
    severity: str = attrs.field(default="error", order=False)
    subject: str = attrs.field(default="", order=False)  # graph address it concerns, if any

    def __str__(self) -> str:
        return f"{self.origin}: {self.severity}: {self.message}"

    @property
    def is_error(self) -> bool:
        """Errors stop the build; warnings are only shown."""
        return self.severity == "error"

    @property
    def app(self) -> str | None:
        """The app the problem is about (its subject's address starts with it); None when it
        is about the cluster as a whole."""
        return self.subject.split("/", 1)[0] if self.subject else None


def scoped(problems: Iterable[Problem], apps: Iterable[str] | None) -> tuple[Problem, ...]:
    """What a command run for `apps` shows: every error (it stops the build wherever it is),
    and only the warnings of those apps and of the cluster as a whole. All when no apps."""
    if not apps:
        return tuple(problems)
    wanted = set(apps)
    return tuple(p for p in problems if p.is_error or p.app is None or p.app in wanted)


class KlasterError(Exception):
    """Root of klaster's own errors."""


class DeclarationError(KlasterError, ValueError):
    """A record was declared with a value it cannot take (raised at construction); `keyword`:
    the argument that holds it, when known (its line is shown)."""

    def __init__(self, message: str, keyword: str | None = None) -> None:
        super().__init__(message)
        self.keyword = keyword


class WriteFailed(KlasterError):
    """The disk failed after part of the build was written; the message says what is on disk."""


class WriteInterrupted(KeyboardInterrupt):
    """Ctrl-C while out/ was being replaced: it holds the old tree or the new one, whole."""


class ProblemsFound(KlasterError):
    """The run found problems; all of them are carried, sorted by place."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        # Errors first (what stops the build), then warnings; each group by place.
        self.problems = tuple(sorted(problems, key=lambda p: (not p.is_error, p)))
        super().__init__("\n".join(str(p) for p in self.problems))
