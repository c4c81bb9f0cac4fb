"""Reusable attrs validators: each check names the record, the field and what to write instead."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any, NoReturn

import attrs

from klaster_build.errors import DeclarationError, Mistake
from klaster_build.names import DNS_LABEL, DNS_SUBDOMAIN, PORT_NAME
from klaster_build.quantity import parse_quantity

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def fail(inst: Any, attribute: attrs.Attribute[Any], mistake: Mistake) -> NoReturn:
    """Refuse `inst`'s value of `attribute`: the mistake, said of that record and argument."""
    raise DeclarationError(mistake.about(type(inst).__name__, attribute.name))


def dns_label(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A DNS-1123 label: at most 63 of [a-z0-9-]; no dots, so it can never escape out/."""
    problem = DNS_LABEL.problem(value)
    if problem:
        fail(inst, attribute, problem)


def dns_subdomain(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A DNS-1123 subdomain (dots allowed, 253 chars); never used as a path."""
    problem = DNS_SUBDOMAIN.problem(value)
    if problem:
        fail(inst, attribute, problem)


def port_name(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """An IANA service name (a container port's name): at most 15 characters, one letter."""
    problem = PORT_NAME.problem(value)
    if problem:
        fail(inst, attribute, problem)


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
        fail(inst, attribute, Mistake(f"must be a quantity: {error}"))


# Parameterised validators are small callable attrs classes (attrs' own pattern): a readable
# repr, and a message that names the record, the field and what to write.
@attrs.frozen(repr=False)
class _OneOf:
    choices: frozenset[str]

    def __call__(self, inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in self.choices:
            fail(
                inst, attribute, Mistake(f"must be one of {sorted(self.choices)}", got=repr(value))
            )

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
            fail(inst, attribute, Mistake(f"must be {self}", got=_typed(value)))

    def __repr__(self) -> str:
        return self.what or " or ".join(t.__name__ for t in self.types)


@attrs.frozen(repr=False)
class _Matches:
    pattern: re.Pattern[str]
    what: str
    max_length: int

    def __call__(self, inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if (
            not isinstance(value, str)
            or len(value) > self.max_length
            or not self.pattern.fullmatch(value)
        ):
            fail(inst, attribute, Mistake(f"must be {self.what}", got=repr(value)))

    def __repr__(self) -> str:
        return f"<{self.what}>"


def matches(pattern: str, what: str, max_length: int = 4096) -> Validator:
    """The value is text of at most `max_length` that `pattern` matches whole (fullmatch: a
    trailing newline is refused); `what` says it in words, with an example."""
    return _Matches(re.compile(pattern), what, max_length)


# No '..' step anywhere in a path (it could leave the directory it names).
NO_DOTDOT = r"(?!(?:.*/)?\.\.(?:/|$))"

# A plain file name inside the app directory, like `release.yaml` (never a path).
output_file = matches(
    r"[a-z0-9][a-z0-9-]*\.yaml",
    "a file name such as 'release.yaml' (lower-case letters, digits and '-', ending in .yaml)",
    max_length=64,
)


def instance_of(*types: type, what: str | None = None) -> Validator:
    """The value is an instance of one of `types` (`what` names them for the message)."""
    return _InstanceOf(types, what)


@attrs.frozen(repr=False)
class _Text:
    max_length: int

    def __call__(self, inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, str):
            fail(inst, attribute, Mistake("must be a string", got=_typed(value)))
        elif len(value) > self.max_length:
            fail(
                inst,
                attribute,
                Mistake(f"must be at most {self.max_length} characters", got=str(len(value))),
            )

    def __repr__(self) -> str:
        return f"<text of at most {self.max_length} characters>"


def text(max_length: int = 4096) -> Validator:
    """A string of bounded length (keeps enormous values out of the tree)."""
    return _Text(max_length)


def positive_int(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A whole number larger than zero."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        fail(inst, attribute, Mistake("must be a whole number larger than 0", got=repr(value)))


def non_negative_int(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A whole number, zero or more (replicas: 0 scales a workload down)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        fail(inst, attribute, Mistake("must be a whole number 0 or larger", got=repr(value)))


def mapping(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A dict (env, values, a selector...); the record's own checks then read its items."""
    if not isinstance(value, dict):
        fail(inst, attribute, Mistake("must be a dict", got=type(value).__name__))


def _typed(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def to_tuple(value: Any) -> Any:
    """Converter: lists become tuples so frozen records hold immutable sequences."""
    if isinstance(value, list):
        return tuple(value)
    return value


# A ConfigMap or Secret key (Kubernetes' IsConfigMapKey: pkg/util/validation, docs/names.md).
_DATA_KEY = re.compile(r"[-._a-zA-Z0-9]+")


def data_key_problem(key: object) -> Mistake | None:
    """Why `key` cannot be a key of a ConfigMap or Secret, or None when it can."""
    if not isinstance(key, str) or not _DATA_KEY.fullmatch(key) or len(key) > 253:
        return Mistake(
            f"{key!r} is not a ConfigMap/Secret key: at most 253 of letters, digits, '-', '_' "
            "and '.' (a file name such as 'config.yaml')"
        )
    if key in (".", ".."):
        return Mistake(f"{key!r} is not a ConfigMap/Secret key: it must not be '.' or '..'")
    return None


def resources(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A container's `resources`: requests and limits of valid quantities, each request at most
    its limit (the API server refuses a request above the limit)."""
    if not isinstance(value, dict):
        fail(inst, attribute, Mistake("must be a dict", got=type(value).__name__))
    unknown = sorted(set(value) - {"requests", "limits", "claims"})
    if unknown:
        fail(inst, attribute, Mistake("takes 'requests' and 'limits'", got=str(unknown)))
    amounts: dict[str, dict[str, Any]] = {}
    for part in ("requests", "limits"):
        given = value.get(part, {})
        if not isinstance(given, dict):
            fail(
                inst,
                attribute,
                Mistake(f"{part!r} must map a resource to a quantity", got=repr(given)),
            )
        for resource, amount in given.items():
            try:
                amounts.setdefault(part, {})[resource] = parse_quantity(str(amount))
            except ValueError as error:
                fail(inst, attribute, Mistake(f"{part} {resource!r}: {error}"))
    for resource, limit in amounts.get("limits", {}).items():
        request = amounts.get("requests", {}).get(resource)
        if request is not None and request > limit:
            fail(
                inst,
                attribute,
                Mistake(
                    f"requests {resource} {value['requests'][resource]!r} above its limit "
                    f"{value['limits'][resource]!r}: the API server refuses it",
                    instead="raise the limit or lower the request",
                ),
            )


# An image reference's repository path is lower-case (distribution/reference's grammar: path
# components [a-z0-9]+ joined by '.', '_', '__' or dashes); the registry host may have capitals.
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")


def image_reference(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A container image reference the API server and the registry accept."""
    text(512)(inst, attribute, value)
    if not value or any(c.isspace() for c in value):
        fail(
            inst,
            attribute,
            Mistake("must be an image reference such as 'nginx:1.27.3'", got=repr(value)),
        )
    name = value.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]  # the registry host
    bad = [p for p in parts if not _PATH_COMPONENT.fullmatch(p)]
    if bad:
        fixed = value.replace("/".join(parts), "/".join(parts).lower())
        fail(
            inst,
            attribute,
            Mistake(
                f"{value!r}: the repository {'/'.join(parts)!r} must be lower-case letters, "
                "digits and separators (registries refuse others)",
                instead=f"write {fixed!r}",
            ),
        )
