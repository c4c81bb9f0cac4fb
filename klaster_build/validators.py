"""Reusable attrs validators: each check names the record, the field and what to write instead."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

import attrs

from klaster_build.errors import DeclarationError
from klaster_build.names import DNS_LABEL, DNS_SUBDOMAIN, PORT_NAME
from klaster_build.quantity import parse_quantity

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _fail(inst: Any, attribute: attrs.Attribute[Any], message: str) -> None:
    msg = f"{type(inst).__name__} {attribute.name!r} {message}"
    raise DeclarationError(msg)


def name_problem(value: object, *, max_length: int = 63, dots: bool = False) -> str | None:
    """Why `value` is not a valid Kubernetes name, or None when it is."""
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__} {value!r}"
    pattern = (DNS_SUBDOMAIN if dots else DNS_LABEL).pattern
    if not value:
        return "must not be empty"
    if len(value) > max_length:
        return f"must be at most {max_length} characters, got {len(value)} ({value[:20]!r}...)"
    if not pattern.fullmatch(value):
        allowed = (
            "lower-case letters, digits, '-' and '.'"
            if dots
            else "lower-case letters, digits and '-'"
        )
        suggestion = re.sub(r"[^a-z0-9.-]" if dots else r"[^a-z0-9-]", "-", value.lower()).strip(
            "-."
        )
        hint = f"; e.g. {suggestion!r}" if suggestion and pattern.fullmatch(suggestion) else ""
        return (
            f"must be a DNS-1123 name ({allowed}, starting and ending with a letter or digit), "
            f"got {value!r}{hint}"
        )
    return None


def dns_label(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A DNS-1123 label: at most 63 of [a-z0-9-]; no dots, so it can never escape out/."""
    problem = name_problem(value)
    if problem:
        _fail(inst, attribute, problem)


def dns_subdomain(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A DNS-1123 subdomain (dots allowed, 253 chars); never used as a path."""
    problem = name_problem(value, max_length=253, dots=True)
    if problem:
        _fail(inst, attribute, problem)


def port_name(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """An IANA service name (a container port's name): at most 15 characters, one letter."""
    problem = PORT_NAME.problem(value)
    if problem:
        _fail(inst, attribute, f"{value!r} {problem}" if isinstance(value, str) else problem)


# attrs' own combinators: `optional(v)` skips None, `each(v)` checks every item of an iterable.
optional = attrs.validators.optional


def each(validator: Validator) -> Validator:
    """The value is a list (a tuple once converted) and `validator` accepts every item."""
    return attrs.validators.deep_iterable(
        member_validator=validator, iterable_validator=instance_of(tuple, list, what="a list")
    )


def quantity(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A positive Kubernetes quantity such as `10Gi`."""
    try:
        parse_quantity(value)
    except ValueError as error:
        _fail(inst, attribute, f"must be a quantity: {error}")


# Parameterised validators are small callable attrs classes (attrs' own pattern): a readable
# repr, and a message that names the record, the field and what to write.
@attrs.frozen(repr=False)
class _OneOf:
    choices: frozenset[str]

    def __call__(self, inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in self.choices:
            _fail(inst, attribute, f"must be one of {sorted(self.choices)}, got {value!r}")

    def __repr__(self) -> str:
        return f"<one_of {sorted(self.choices)}>"


def one_of(choices: Collection[str]) -> Validator:
    """The value is one of `choices`."""
    return _OneOf(frozenset(choices))


@attrs.frozen(repr=False)
class _InstanceOf:
    types: tuple[type, ...]
    what: str | None

    def __call__(self, inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        # bool is an int subclass; a flag is never a count.
        if not isinstance(value, self.types) or (
            isinstance(value, bool) and bool not in self.types
        ):
            _fail(inst, attribute, f"must be {self}, got {type(value).__name__} {value!r}")

    def __repr__(self) -> str:
        return self.what or " or ".join(t.__name__ for t in self.types)


def instance_of(*types: type, what: str | None = None) -> Validator:
    """The value is an instance of one of `types` (`what` names them for the message)."""
    return _InstanceOf(types, what)


@attrs.frozen(repr=False)
class _Text:
    max_length: int

    def __call__(self, inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, str):
            _fail(inst, attribute, f"must be a string, got {type(value).__name__} {value!r}")
        elif len(value) > self.max_length:
            _fail(
                inst, attribute, f"must be at most {self.max_length} characters, got {len(value)}"
            )

    def __repr__(self) -> str:
        return f"<text of at most {self.max_length} characters>"


def text(max_length: int = 4096) -> Validator:
    """A string of bounded length (keeps enormous values out of the tree)."""
    return _Text(max_length)


def positive_int(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A whole number larger than zero."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        _fail(inst, attribute, f"must be a whole number larger than 0, got {value!r}")


def non_negative_int(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A whole number, zero or more (replicas: 0 scales a workload down)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        _fail(inst, attribute, f"must be a whole number 0 or larger, got {value!r}")


def to_tuple(value: Any) -> Any:
    """Converter: lists become tuples so frozen records hold immutable sequences."""
    if isinstance(value, list):
        return tuple(value)
    return value
