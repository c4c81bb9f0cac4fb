"""The Record base class and references between records.

A reference is a Python object, never a copied string: `db.app_secret` is a `Ref` to the
Postgres record that renders to the secret's name. References may sit anywhere in a record's
fields, including deep inside Helm values and inside f-strings (see `Ref.__format__`).
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

import attrs

from klaster_build import registry
from klaster_build.origin import Origin, capture_origin

# f-strings call __format__ at declaration time; a reference formats as this marker, which the
# graph walks and the renderer replaces. NUL never appears in YAML we write, so it cannot clash.
MARK = "\x00"
_MARKED: dict[int, Ref | AddressRef] = {}
_counter = itertools.count(1)


def mark(reference: Ref | AddressRef) -> str:
    """The placeholder that stands for `reference` inside a string."""
    key = next(_counter)
    _MARKED[key] = reference
    return f"{MARK}{key}{MARK}"


def marked(key: int) -> Ref | AddressRef:
    """The reference behind a placeholder."""
    return _MARKED[key]


@attrs.frozen(kw_only=True, eq=False)
class Record:
    """Something an apps.d file declares. Subclasses are frozen attrs classes with validators.

    Every record knows the file and line that declared it (`origin`) and the app it belongs to
    (the apps.d file stem). Equality is identity: two declarations are two records.
    """

    kind: ClassVar[str] = "record"
    # Path segment used for the record's output files; families override.
    origin: Origin = attrs.field(factory=capture_origin, repr=False)
    app: str = attrs.field(factory=registry.current_app, repr=False)

    def __attrs_post_init__(self) -> None:
        active = registry.active()
        if active is not None:
            active.add(self)

    @property
    def record_name(self) -> str:
        """The name part of the address; families with a `name` field use it."""
        return str(getattr(self, "name", ""))

    @property
    def address(self) -> str:
        """`app/kind/name`, unique in the cluster."""
        return f"{self.app}/{self.kind}/{self.record_name}"

    @property
    def ref(self) -> Ref:
        """A reference to this record's name."""
        return Ref(self, "name")

    def __format__(self, spec: str) -> str:
        return format(self.ref, spec)

    def __str__(self) -> str:
        return format(self.ref, "")


@attrs.frozen(eq=False)
class Ref:
    """A value derived from a record: its name (`part` "name"), its secret's name, its service
    host... Plain data: the record's family says how `part` is computed when rendering."""

    target: Record
    part: str

    def __format__(self, spec: str) -> str:
        return mark(self)

    def __str__(self) -> str:
        return mark(self)


@attrs.frozen
class CallPart:
    """A deferred call in an AddressRef's path."""

    args: tuple[Any, ...]


@attrs.frozen(eq=False)
class AddressRef:
    """A reference by address (`"llama/service/llama"`), for records declared in another file.

    Attribute access is deferred: `ref("llama/postgres/db").app_secret` resolves `app_secret`
    on the llama record once every file has loaded.
    """

    address: str
    parts: tuple[str | CallPart, ...] = ()
    origin: Origin = attrs.field(factory=capture_origin, repr=False)

    def __getattr__(self, name: str) -> AddressRef:
        if name.startswith("_"):
            raise AttributeError(name)
        return AddressRef(self.address, (*self.parts, name), self.origin)

    def __call__(self, *args: Any) -> AddressRef:
        """Deferred method call, e.g. `ref("llama/service/llama").port("http")`."""
        return AddressRef(self.address, (*self.parts, CallPart(args)), self.origin)

    def __format__(self, spec: str) -> str:
        return mark(self)

    def __str__(self) -> str:
        return mark(self)


def ref(address: str) -> AddressRef:
    """Refer to a record of another app by its address `app/kind/name`."""
    return AddressRef(address)
