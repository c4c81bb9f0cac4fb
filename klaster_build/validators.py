"""Reusable attrs validators: each check names the record, the field and what to write instead."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

import attrs

from klaster_build.errors import DeclarationError
from klaster_build.quantity import parse_quantity

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]

# DNS-1123 label (namespaces, services, most names) and subdomain (dots allowed).
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _fail(inst: Any, attribute: attrs.Attribute[Any], message: str) -> None:
    msg = f"{type(inst).__name__} {attribute.name!r} {message}"
    raise DeclarationError(msg)


def name_problem(value: object, *, max_length: int = 63, dots: bool = False) -> str | None:
    """Why `value` is not a valid Kubernetes name, or None when it is."""
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__} {value!r}"
    pattern = _DNS_SUBDOMAIN if dots else _DNS_LABEL
    if not value:
        return "must not be empty"
    if len(value) > max_length:
        return f"must be at most {max_length} characters, got {len(value)} ({value[:20]!r}...)"
    if not pattern.match(value):
        allowed = (
            "lower-case letters, digits, '-' and '.'"
            if dots
            else "lower-case letters, digits and '-'"
        )
        suggestion = re.sub(r"[^a-z0-9.-]" if dots else r"[^a-z0-9-]", "-", value.lower()).strip(
            "-."
        )
        hint = f"; e.g. {suggestion!r}" if suggestion and pattern.match(suggestion) else ""
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


def optional(validator: Validator) -> Validator:
    """Run `validator` unless the value is None."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            validator(inst, attribute, value)

    return check


def quantity(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A positive Kubernetes quantity such as `10Gi`."""
    try:
        parse_quantity(value)
    except ValueError as error:
        _fail(inst, attribute, f"must be a quantity: {error}")


def one_of(choices: Collection[str]) -> Validator:
    """The value is one of `choices`."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in choices:
            _fail(inst, attribute, f"must be one of {sorted(choices)}, got {value!r}")

    return check


def instance_of(*types: type, what: str | None = None) -> Validator:
    """The value is an instance of one of `types` (`what` names them for the message)."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        # bool is an int subclass; a flag is never a count.
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            expected = what or " or ".join(t.__name__ for t in types)
            _fail(inst, attribute, f"must be {expected}, got {type(value).__name__} {value!r}")

    return check


def each(validator: Validator) -> Validator:
    """Apply `validator` to every item of a sequence."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        for item in value:
            validator(inst, attribute, item)

    return check


def text(max_length: int = 4096) -> Validator:
    """A string of bounded length (keeps enormous values out of the tree)."""

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, str):
            _fail(inst, attribute, f"must be a string, got {type(value).__name__} {value!r}")
        elif len(value) > max_length:
            _fail(inst, attribute, f"must be at most {max_length} characters, got {len(value)}")

    return check


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
