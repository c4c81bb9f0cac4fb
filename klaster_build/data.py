"""What a record's fields may hold, checked once when the record is made.

Every value an apps.d file passes becomes YAML in out/ or steers what is generated, so it must
be something YAML and Kubernetes can hold: text without NUL characters or lone surrogates,
finite numbers, flags, None, lists and dicts with string keys, a bounded depth and no cycles;
references and records anywhere; klaster's value objects (Container, Port...) in the fields
that take them. Fields marked `DATA` (Helm values, Manifest bodies, extra specs) are free-form
documents: there only references, `Plain(...)` and `SecretKey(...)` may stand for values. One walk per record, at
construction, so the mistake is reported at the line that made it, with the path to the value.
"""

from __future__ import annotations

import math
import re
from typing import Any

import attrs

from klaster_build.errors import DeclarationError, Mistake
from klaster_build.refs import MARK, AddressRef, ClusterRef, Ref, stray_nul
from klaster_build.validators import text

# Field metadata of a free-form document field (rendered as given, references resolved).
DATA = {"data": True}
# Deeper than any Kubernetes document; values nested this deep are built by a loop by mistake
# (and deeper ones would exhaust the writer's recursion).
MAX_DEPTH = 100

_SURROGATE = re.compile("[\ud800-\udfff]")
_LEAVES = (int, bool, type(None))


class Checked:
    """Mixin of values whose fields were checked when they were made (records): a walk stops
    at them."""

    __slots__ = ()


@attrs.frozen
class Plain:
    """A literal that looks like a credential but is deliberately public (`Plain("ignored")`):
    env values whose name says PASSWORD, TOKEN, SECRET or KEY must otherwise come from a secret.

    Example:
        Deployment("vaultwarden", containers=[Container("vaultwarden", image="vaultwarden/server:1.34.3",
                   env={"SHOW_PASSWORD_HINT": Plain("false", reason="a setting, not a password")})])
    """

    text: str
    reason: str = ""

    def __attrs_post_init__(self) -> None:
        check_fields(self)


@attrs.frozen
class SecretKey:
    """An env value read from a key of a Kubernetes Secret (`valueFrom.secretKeyRef`).

    `VaultSecret.key(...)`, `OIDC.client_id` and `Postgres.secret_key(...)` make these for the
    secrets klaster declares; write one yourself for a Secret made elsewhere. In Helm values it
    renders as the `valueFrom` mapping itself: `{"name": "X", "valueFrom": secret.key("k")}`.

    Example:
        Deployment("backup", containers=[Container("restic", image="restic/restic:0.18.0",
                   env={"RESTIC_PASSWORD": SecretKey("restic-repository", "password")})])
    """

    secret: Any  # a record or reference that renders to the Secret's name, or a plain name
    key: str = attrs.field(validator=text(253))


# The value objects a free-form document may hold: they render as text or as a mapping.
_DATA_OBJECTS = (Plain, SecretKey)


def check_fields(value: Any) -> None:
    """Refuse (DeclarationError naming the field and the path inside it) any field of the attrs
    instance `value` that holds what cannot be written or would hang the build."""
    for name, data in _fields(type(value)):
        field = getattr(value, name)
        if _is_plain(field):
            continue
        try:
            _check(field, data, 0)
        except _Refused as refused:
            raise DeclarationError(refused.mistake(type(value).__name__, name)) from None


_FIELDS: dict[type, tuple[tuple[str, bool], ...]] = {}


def _fields(kind: type) -> tuple[tuple[str, bool], ...]:
    """(name, is a DATA field) of what a caller passes; derived fields (init=False) are built by
    klaster from those, `origin` and `app` by klaster itself."""
    fields = _FIELDS.get(kind)
    if fields is None:
        fields = tuple(
            (f.name, bool(f.metadata.get("data")))
            for f in attrs.fields(kind)
            if f.init and f.name not in ("origin", "app")
        )
        _FIELDS[kind] = fields
    return fields


class _Refused(Exception):
    """A value that cannot be taken; `trail` grows while unwinding: (subscript, container),
    innermost first."""

    def __init__(self, problem: Mistake) -> None:
        super().__init__(str(problem))
        self.problem = problem
        self.trail: list[tuple[str, object]] = []

    def mistake(self, kind: str, field: str) -> Mistake:
        """The problem said of the record `kind`, its argument `field` and the path inside it."""
        steps = [step for step, _ in reversed(self.trail)]
        containers = [container for _, container in reversed(self.trail)]
        ids = [id(c) for c in containers]
        repeat = next((n for n, i in enumerate(ids) if i in ids[:n]), None)
        if repeat is not None:  # the walk went round a cycle until it was too deep
            first = ids.index(ids[repeat])
            return Mistake(
                f"contains itself (it is {_path(field, steps[:first])})",
                record=f"{kind} {_path(field, steps[:repeat])}",
                instead="YAML cannot write a value inside itself: put a new dict or list there",
                keyword=field,
            )
        if steps:
            return attrs.evolve(self.problem, record=f"{kind} {_path(field, steps)}", keyword=field)
        return attrs.evolve(self.problem.about(kind, field), keyword=field)


def _path(field: str, steps: list[str]) -> str:
    if len(steps) > 8:  # a path of a hundred steps says nothing more than its ends
        steps = [*steps[:4], "...", *steps[-2:]]
    return field + "".join(steps)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_plain(value: Any) -> bool:
    """A value nothing needs to be checked in: most are (names, numbers, flags), and the walk
    runs for every record, so they are told apart here before any call."""
    kind = type(value)
    return (kind is str and MARK not in value and value.isascii()) or kind in _LEAVES


def _check(value: Any, data: bool, depth: int) -> None:
    kind = type(value)
    if kind is str:
        _check_text(value)
        return
    if kind in _LEAVES:
        return
    if isinstance(value, dict | list | tuple):
        _check_items(value, data, depth)
    elif isinstance(value, str):
        _check_text(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _Refused(
                Mistake(
                    f"is {value!r}, which Kubernetes cannot store (JSON has no NaN or infinity)",
                    instead=f"write a finite number, or the text {str(value)!r} if it is meant "
                    "as text",
                )
            )
    elif isinstance(value, int | Checked | Ref | AddressRef | ClusterRef):
        return  # numbers, records (checked when they were made) and references
    elif isinstance(value, set | frozenset):
        try:
            listed = _short(sorted(value))
        except TypeError:  # items of different types: no order to suggest
            listed = "[...]"
        raise _Refused(Mistake("is a set", instead=f"YAML has no sets: write a list, {listed}"))
    elif attrs.has(kind) and (not data or kind in _DATA_OBJECTS):  # a value object: its fields
        for name, inner_data in _fields(kind):
            try:
                _check(getattr(value, name), data or inner_data, depth + 1)
            except _Refused as refused:
                refused.trail.append((f".{name}", value))
                raise
    else:
        raise _Refused(
            Mistake(
                f"is a value of type {kind.__name__} ({_short(value)}), which is not YAML data",
                instead="write a string, number, True/False, None, list or dict",
            )
        )


def _check_items(
    value: dict[Any, Any] | list[Any] | tuple[Any, ...], data: bool, depth: int
) -> None:
    if depth >= MAX_DEPTH:
        raise _Refused(
            Mistake(
                f"nests deeper than {MAX_DEPTH} levels",
                instead="no Kubernetes document is this deep: look for a loop that builds the value",
            )
        )
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise _Refused(
                    Mistake(
                        f"has the key {_short(key)} ({type(key).__name__})",
                        instead=f"YAML keys here are text: write {str(key)!r}",
                    )
                )
            if not _is_plain(key):
                _check_text(key)
    # (key, item) of a dict and (index, item) of a sequence: the subscript is the same f-string
    for key, item in value.items() if isinstance(value, dict) else enumerate(value):
        if _is_plain(item):
            continue
        try:
            _check(item, data, depth + 1)
        except _Refused as refused:
            refused.trail.append((f"[{key!r}]", value))
            raise


def _check_text(text: str) -> None:
    if MARK in text and stray_nul(text):
        raise _Refused(
            Mistake(
                f"contains a NUL character (\\x00): {_short(text)}",
                instead="remove it (a reference goes into text whole, by an f-string: "
                "f'http://{svc.host}')",
            )
        )
    surrogate = None if text.isascii() else _SURROGATE.search(text)
    if surrogate:
        raise _Refused(
            Mistake(
                f"contains a lone surrogate {surrogate[0]!r} (half of a UTF-16 pair, not a "
                f"character): {_short(text)}",
                instead="write the whole character, e.g. '\\U0001f600'",
            )
        )
