"""The app: one apps.d file, one directory under out/apps, one namespace."""

from __future__ import annotations

import attrs

from klaster_build.records.base import Record
from klaster_build.validators import dns_label, instance_of, optional, output_file


@attrs.frozen(kw_only=True, eq=False)
class App(Record):
    """Settings of the app its file declares; implicit when a file does not declare one.

    Example:
        App(namespace="crawl4ai")   # apps.d/crawl4ai-proxy.py deploys into crawl4ai's namespace
    """

    namespace: str | None = attrs.field(default=None, validator=optional(dns_label))
    # An infra file (controllers, configs): no app directory and no namespace of its own.
    infra: bool = attrs.field(default=False, validator=instance_of(bool))

    @property
    def record_name(self) -> str:
        return self.app

    @property
    def namespace_name(self) -> str:
        """The namespace the app's records live in: its own name unless declared."""
        return self.namespace or self.app


@attrs.frozen(kw_only=True, eq=False)
class Namespace(Record):
    """An extra namespace the app owns besides its own, written to its `namespace.yaml` (e.g.
    where a CI runner starts build pods, kept apart from the runner itself). Roles and
    RoleBindings take it as `namespace=`.

    Example:
        Namespace("sandbox-jobs")
    """

    name: str = attrs.field(kw_only=False, validator=dns_label)
    file: str = attrs.field(default="namespace.yaml", validator=output_file)
