"""cert-manager Certificates: a TLS key pair for an app that terminates TLS itself."""

from __future__ import annotations

from typing import Any

import attrs

from klaster_build.errors import Mistake
from klaster_build.records.base import Record
from klaster_build.refs import Ref
from klaster_build.validators import (
    dns_label,
    dns_subdomain,
    each,
    fail,
    optional,
    output_file,
    text,
    to_tuple,
)

# The keys cert-manager writes into the Secret (`kubernetes.io/tls` plus the CA).
TLS_KEYS = ("tls.crt", "tls.key", "ca.crt")


def _hosts(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    each(dns_subdomain)(inst, attribute, value)
    if not value:
        fail(
            inst,
            attribute,
            Mistake("must name at least one host, such as hosts=['mqtt']", keyword="hosts"),
        )


@attrs.frozen(kw_only=True, eq=False)
class Certificate(Record):
    """A certificate from the cluster's issuer (`cluster.cluster_issuer`) for an app serving TLS
    itself (an MQTT broker, a game server): cert-manager keeps the key pair in the Secret
    `<name>-tls` (keys tls.crt, tls.key, ca.crt). `hosts` are labels under the cluster domain or
    full names (outside the domain only with `host_reason=`). Mount it, or pass `cert.secret`.

    Example:
        tls = Certificate("mqtt", hosts=["mqtt"])   # mqtt.<domain>
        Deployment("broker", containers=[Container("mosquitto", image="eclipse-mosquitto:2.0.22",
                   mounts={"/mosquitto/certs": Mount(tls, items={"tls.crt": "server.crt",
                                                                  "tls.key": "server.key"})})])
    """

    name: str = attrs.field(kw_only=False, validator=dns_label)
    hosts: tuple[str, ...] = attrs.field(converter=to_tuple, validator=_hosts)
    host_reason: str | None = attrs.field(default=None, validator=optional(text(500)))
    secret_name: str | None = attrs.field(default=None, validator=optional(dns_subdomain))
    file: str = attrs.field(default="certificate.yaml", validator=output_file)

    @property
    def secret(self) -> Ref:
        """The Secret cert-manager fills (`<name>-tls` unless `secret_name=`), for chart values."""
        return Ref(self, "secret_name")

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """The keys of the Secret, which `Mount(..., items=)` may pick."""
        return TLS_KEYS

    @property
    def tls_secret_name(self) -> str:
        """The name of the Secret."""
        return self.secret_name or f"{self.name}-tls"
