"""What emitters may read while rendering: the cluster settings and the loaded project."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from klaster_build.refs import follow

if TYPE_CHECKING:
    from klaster_build.cluster import Cluster
    from klaster_build.family import Catalog
    from klaster_build.records.app import App
    from klaster_build.records.base import Record
    from klaster_build.refs import AddressRef, ClusterRef, Ref


@attrs.frozen
class RenderContext:
    """Read-only view used by emitters and reference resolvers."""

    cluster: Cluster
    apps: Mapping[str, App]
    catalog: Catalog
    by_address: Mapping[str, Record] = attrs.field(factory=dict)
    namespace_owners: Mapping[str, str] = attrs.field(factory=dict)
    # Records of an infra file placed in an infra controller's namespace (its secret chain).
    placements: Mapping[Record, str] = attrs.field(factory=dict)
    # Emitters that need a cluster-wide index build it once per render and keep it here.
    memo: dict[str, Any] = attrs.field(factory=dict)

    def namespace(self, record: Record) -> str:
        """The namespace a record of an app lives in (an infra record's: its controller's)."""
        return self.placements.get(record) or self.apps[record.app].namespace_name

    def namespace_owner(self, namespace: str) -> str:
        """The app that writes the Namespace document of `namespace`."""
        return self.namespace_owners[namespace]

    def records(self) -> list[Record]:
        """Every declared record."""
        return list(self.by_address.values())

    def reference_value(self, reference: Ref) -> Any:
        """What `reference` stands for: the record's name, or what its family computes."""
        if reference.part == "name":
            return reference.target.record_name
        resolver = self.catalog.resolver_for(type(reference.target), reference.part)
        if resolver is None:
            msg = (
                f"no family says how to compute {type(reference.target).__name__}.{reference.part}"
            )
            raise AssertionError(msg)
        return resolver(reference.target, self)

    def resolve_address(self, reference: AddressRef) -> Any:
        """The record (or derived value) an address reference points at."""
        return follow(self.by_address[reference.address], reference.parts)

    def cluster_value(self, reference: ClusterRef) -> Any:
        """The klasterfile setting a `cluster.<setting>` reference reads."""
        if reference.setting == "host":
            return self.cluster.host(*reference.args)
        value = getattr(self.cluster, reference.setting)
        return list(value) if isinstance(value, tuple) else value
