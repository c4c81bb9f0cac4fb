"""The Record base class: what an apps.d file declares. References between records are in
`klaster_build.refs`."""

from __future__ import annotations

import attrs

from klaster_build import registry
from klaster_build.data import Checked, check_fields
from klaster_build.origin import Origin, capture_origin
from klaster_build.refs import Ref, unrendered


@attrs.frozen(kw_only=True, eq=False)
class Record(Checked):
    """Something an apps.d file declares. Subclasses are frozen attrs classes with validators.

    Every record knows the file and line that declared it (`origin`) and the app it belongs to
    (the apps.d file stem). Equality is identity: two declarations are two records.
    """

    origin: Origin = attrs.field(factory=capture_origin, repr=False)
    app: str = attrs.field(factory=registry.current_app, repr=False)

    def __attrs_post_init__(self) -> None:
        check_fields(self)
        active = registry.active()
        if active is not None:
            active.add(self)

    @property
    def kind(self) -> str:
        """The record's type as apps.d files spell it (`Service`, `ChartIngress`)."""
        return type(self).__name__

    @property
    def record_name(self) -> str:
        """The name part of the address; families with a `name` field use it."""
        return str(getattr(self, "name", ""))

    @property
    def described(self) -> str:
        """How a message names the record: its type and the name it was declared with
        (`Volume 'data'`, whose address names its LV)."""
        return f"{self.kind} {getattr(self, 'name', self.record_name)!r}"

    @property
    def address(self) -> str:
        """`app/Kind/name` (e.g. `llama/Service/llama`), unique in the cluster."""
        return f"{self.app}/{self.kind}/{self.record_name}"

    @property
    def ref(self) -> Ref:
        """A reference to this record's name."""
        return Ref(self, "name")

    def __format__(self, spec: str) -> str:
        return format(self.ref, spec)

    def __str__(self) -> str:
        raise unrendered(f"{self.kind} {self.record_name!r}")
