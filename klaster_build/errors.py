"""The one error hierarchy: every user mistake is one Mistake, located in a Problem or carried
by a UserError, and said by one template."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from enum import IntEnum
from typing import Protocol

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


@attrs.frozen
class Mistake:
    """One user error as data: what declares the value (`record`: "Volume", "Postgres 'db'"),
    the argument (`field`), what is wrong with it, the value as given (`got`) and what to write
    instead. `str()` is the one template every message of klaster follows:

        <record> '<field>' <wrong>, got <got>; <instead>

    (parts left empty are left out)."""

    wrong: str
    record: str = ""
    field: str = ""
    got: str = ""  # the value as the user wrote it (usually its repr)
    instead: str = ""
    # The call argument whose own line the loader shows (calls span many lines).
    keyword: str | None = None

    def __str__(self) -> str:
        text = " ".join(
            p for p in (self.record, repr(self.field) if self.field else "", self.wrong) if p
        )
        if self.got:
            text += f", got {self.got}"
        if self.instead:
            text += f"; {self.instead}"
        return text

    def about(self, record: str, field: str = "") -> Mistake:
        """The same mistake said of `record` (and its argument `field`): a rule's finding
        placed on the value that broke it."""
        return attrs.evolve(self, record=record, field=field)


def did_you_mean(wrong: str, names: Iterable[str], most: int = 1) -> str:
    """`did you mean 'x'?` naming the closest of `names` (up to `most` of them), or ""."""
    names = list(names)
    close = difflib.get_close_matches(wrong, names, n=most, cutoff=0.6) or [
        next(n for n in names if n.lower() == found)
        for found in difflib.get_close_matches(
            wrong.lower(), [n.lower() for n in names], n=most, cutoff=0.6
        )
    ]
    return f"did you mean {' or '.join(map(repr, close))}?" if close else ""


class Located(Protocol):
    """What a problem can be about: a record (records.base builds on this module)."""

    @property
    def origin(self) -> Origin: ...

    @property
    def address(self) -> str: ...


@attrs.frozen(order=True)
class Problem:
    """One thing wrong with the declarations, at one place, with what to do about it."""

    origin: Origin
    mistake: Mistake = attrs.field(validator=attrs.validators.instance_of(Mistake), order=False)
    severity: str = attrs.field(default="error", order=False)
    subject: str = attrs.field(default="", order=False)  # graph address it concerns, if any
    # The rendered mistake: problems sort by place, then by what they say.
    message: str = attrs.field(init=False)

    @message.default
    def _render(self) -> str:
        return str(self.mistake)

    def __str__(self) -> str:
        return f"{self.origin}: {self.severity}: {self.message}"

    @classmethod
    def at(cls, record: Located, mistake: Mistake, severity: str = "error") -> Problem:
        """The problem of a declared record: at its line, about its graph address."""
        return cls(record.origin, mistake, severity, record.address)

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


class UserError(KlasterError):
    """Something the user must change, as one Mistake (its text is the template's): a
    declaration, a file in the way in out/, a command-line argument."""

    def __init__(self, mistake: Mistake) -> None:
        self.mistake = mistake
        super().__init__(str(mistake))


class DeclarationError(UserError, ValueError):
    """A record was declared with a value it cannot take (raised at construction)."""

    @property
    def keyword(self) -> str | None:
        """The argument that holds the value, when known (its line is shown)."""
        return self.mistake.keyword


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
