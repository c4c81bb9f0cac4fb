"""Retirement: the user's explicit word that something out/ had is meant to go.

A build that would drop an LV (its data) or a removed app's leftovers outside the cluster
(OpenBao paths, Authentik application, DNS names, port forwards) is refused until one of these
records says so; `klaster todo` then lists the manual clean-up for as long as the record stays.
They may be declared in any apps.d file; a file that declares only these is no app (no
directory, no namespace). See docs/data-safety.md.
"""

from __future__ import annotations

from typing import Any

import attrs

from klaster_build.errors import Mistake
from klaster_build.records.base import Record
from klaster_build.records.vault import kv_path
from klaster_build.validators import dns_label, dns_subdomain, each, fail, matches, text, to_tuple

# What the refusal's ready-to-paste declaration says until the user writes the real reason.
REASON_PLACEHOLDER = "<why>"


def _reason(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    text(500)(inst, attribute, value)
    if not value.strip() or value == REASON_PLACEHOLDER:
        fail(
            inst,
            attribute,
            Mistake(
                "must say in words why it goes (e.g. 'replaced by kaneo-db-2')", got=repr(value)
            ),
        )


_port_forward = matches(
    r"[a-z0-9-]+/[a-z0-9-]+/(TCP|UDP|SCTP)/[0-9]{1,5}",
    "a list of 'namespace/service/TCP/port' entries",
)


@attrs.frozen(kw_only=True, eq=False)
class RetiredVolume(Record):
    """An LV that apps.d no longer declares, retired on purpose (its data is to be deleted).

    Example:
        RetiredVolume("wiki-data-lvmhdd", reason="the wiki moved to gitea")
    """

    name: str = attrs.field(kw_only=False, validator=dns_subdomain)  # the LV (LVMVolume, PV)
    reason: str = attrs.field(validator=_reason)  # why it goes, in words


@attrs.frozen(kw_only=True, eq=False)
class RetiredApp(Record):
    """A removed app and what it left outside the cluster, each a step in `klaster todo`.

    Example:
        RetiredApp("wiki", reason="moved to gitea", vault_paths=["wiki", "authentik/wiki"],
                   oidc=["wiki"], hosts=["wiki.example.org"])
    """

    name: str = attrs.field(kw_only=False, validator=dns_label)  # the app (its apps.d file stem)
    reason: str = attrs.field(validator=_reason)  # why it goes, in words
    # KV paths (under the klasterfile's mount) to delete from OpenBao
    vault_paths: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, validator=each(kv_path)
    )
    # Authentik application slugs to delete
    oidc: tuple[str, ...] = attrs.field(default=(), converter=to_tuple, validator=each(dns_label))
    # DNS names to delete
    hosts: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, validator=each(dns_subdomain)
    )
    # router port forwards to remove, as 'namespace/service/PROTOCOL/port'
    port_forwards: tuple[str, ...] = attrs.field(
        default=(), converter=to_tuple, validator=each(_port_forward)
    )


RETIREMENT_RECORDS = (RetiredVolume, RetiredApp)
