"""References between records, as data.

A reference is a Python object, never a copied string: a record (renders to its name),
`Ref(record, part)` (`db.app_secret`: what the record's family computes for `part`), an
`AddressRef` (`ref("app/kind/name")`, a record of another app, resolved once every file has
loaded), or a `ClusterRef` (`cluster.domain`, a klasterfile setting, read when rendering). References may sit anywhere in a record's fields, deep inside Helm values and inside
f-strings (see `Ref.__format__`); the graph finds them there and the renderer resolves them.
"""

from __future__ import annotations

import itertools
import re
import secrets
from typing import Any

import attrs

from klaster_build.errors import DeclarationError, Mistake
from klaster_build.names import DNS_LABEL
from klaster_build.origin import Origin, capture_origin

# f-strings call __format__ at declaration time; a reference formats as this marker, which the
# graph walks and the renderer replaces. Records refuse any other NUL (klaster_build.data), and
# the run's random token keeps a NUL-number-NUL a user typed from passing for a marker.
MARK = "\x00"
_TOKEN = secrets.token_hex(4)
MARKER = re.compile(f"{MARK}{_TOKEN}-([0-9]+){MARK}")
_MARKED: dict[int, Ref | AddressRef | ClusterRef] = {}
_counter = itertools.count(1)


def mark(reference: Ref | AddressRef | ClusterRef) -> str:
    """The placeholder that stands for `reference` inside a string."""
    key = next(_counter)
    _MARKED[key] = reference
    return f"{MARK}{_TOKEN}-{key}{MARK}"


def stray_nul(text: str) -> bool:
    """True when `text` has a NUL that is not part of a marker `mark` made."""
    return MARK in MARKER.sub(lambda m: "" if int(m[1]) in _MARKED else m[0], text)


def unrendered(what: str) -> DeclarationError:
    """The error for str() of a reference: its text exists only once the cluster is rendered."""
    return DeclarationError(
        Mistake(
            "has no text yet (references get their value when rendering)",
            record=f"str() of {what}",
            instead="put it in an f-string (f'http://{x}:80') or pass it as it is",
        )
    )


def marked(key: int) -> Ref | AddressRef | ClusterRef:
    """The reference behind a placeholder."""
    return _MARKED[key]


@attrs.frozen(eq=False)
class Ref:
    """A value derived from a record: its name (`part` "name"), its secret's name, its service
    host... Plain data: the record's family says how `part` is computed when rendering."""

    # A Record (typed loosely: records.base builds on this module, never the other way round).
    target: Any
    part: str

    def __format__(self, spec: str) -> str:
        return mark(self)

    def __str__(self) -> str:
        raise unrendered(repr(self))


@attrs.frozen
class CallPart:
    """A deferred call in an AddressRef's path."""

    args: tuple[Any, ...]


@attrs.frozen(eq=False)
class AddressRef:
    """A reference by address (`"llama/Service/llama"`), for records declared in another file.

    Attribute access is deferred: `ref("llama/Postgres/db").app_secret` resolves `app_secret`
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
        """Deferred method call, e.g. `ref("llama/Service/llama").port("http")`."""
        return AddressRef(self.address, (*self.parts, CallPart(args)), self.origin)

    def __format__(self, spec: str) -> str:
        return mark(self)

    def __str__(self) -> str:
        raise unrendered(repr(self))


def ref(address: str) -> AddressRef:
    """Refer to a record of another app by its address `app/kind/name`."""
    return AddressRef(address)


def follow(value: Any, parts: tuple[Any, ...]) -> Any:
    """Apply an AddressRef's attribute names and calls to the record it names."""
    for part in parts:
        value = value(*part.args) if isinstance(part, CallPart) else getattr(value, part)
    return value


@attrs.frozen(eq=False)
class ClusterRef:
    """A setting of the klasterfile's Cluster (`setting`, called with `args` for `host`), read
    when rendering: apps.d files never copy the domain or the Authentik URL."""

    setting: str
    args: tuple[str, ...] = ()

    def __format__(self, spec: str) -> str:
        return mark(self)

    def __str__(self) -> str:
        raise unrendered(f"cluster.{self.label}")

    @property
    def label(self) -> str:
        """How apps.d spells it: `domain`, `host('auth')`."""
        if self.setting == "host":
            return f"host({self.args[0]!r})"
        return self.setting


class ClusterSettings:
    """`cluster` in apps.d files: the klasterfile's settings an app may use, as references.

    Example:
        ConfigMap("urls", data={"public_url": f"https://{cluster.host('photos')}", "domain": cluster.domain})
    """

    @property
    def domain(self) -> ClusterRef:
        """The cluster's domain (`lumpiasty.xyz`)."""
        return ClusterRef("domain")

    @property
    def name(self) -> ClusterRef:
        """The cluster's name."""
        return ClusterRef("name")

    @property
    def authentik_url(self) -> ClusterRef:
        """The Authentik base URL (per-application URLs: `OIDC(...).issuer_url` and friends)."""
        return ClusterRef("authentik_url")

    @property
    def pod_cidrs(self) -> ClusterRef:
        """The pods' networks (a list in values, comma-separated in text): the addresses the
        ingress controller proxies from, for an app's trusted proxies."""
        return ClusterRef("pod_cidrs")

    @property
    def service_cidrs(self) -> ClusterRef:
        """The Services' networks (a list in values, comma-separated in text)."""
        return ClusterRef("service_cidrs")

    def host(self, subdomain: str) -> ClusterRef:
        """`<subdomain>.<domain>`."""
        problem = DNS_LABEL.problem(subdomain)
        if problem:
            raise DeclarationError(problem.about(f"cluster.host({subdomain!r}): the subdomain"))
        return ClusterRef("host", (subdomain,))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise DeclarationError(
            Mistake(
                f"has no setting {name!r}",
                record="cluster",
                instead="apps.d files can use cluster.domain, cluster.name, "
                "cluster.authentik_url, cluster.pod_cidrs, cluster.service_cidrs and "
                "cluster.host('subdomain')",
            )
        )


cluster = ClusterSettings()
