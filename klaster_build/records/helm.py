"""Flux sources and Helm releases: HelmRepository, GitRepository (chart from git), HelmRelease."""

from __future__ import annotations

from typing import Any

import attrs

from klaster_build.data import DATA
from klaster_build.errors import Mistake
from klaster_build.records.base import Record
from klaster_build.validators import (
    NO_DOTDOT,
    dns_label,
    fail,
    instance_of,
    mapping,
    matches,
    one_of,
    optional,
    output_file,
    text,
)
from klaster_build.versions import Renovate

url = matches(r"(https?|oci)://[^\s]+", "an https:// or oci:// URL", max_length=2048)
_chart_dir = matches(
    NO_DOTDOT + r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*",
    "a directory inside the git repository such as 'charts/kaneo'",
)


@attrs.frozen(kw_only=True, eq=False)
class HelmRepository(Record):
    """A Helm chart repository (Flux `HelmRepository`).

    Example:
        repo = HelmRepository("secustor", url="https://secustor.dev/helm-charts")
        HelmRelease("backstage", source=repo, chart="backstage", version="2.6.0")
    """

    name: str = attrs.field(kw_only=False, validator=dns_label)
    url: str = attrs.field(validator=url)
    type: str | None = attrs.field(default=None, validator=optional(one_of({"oci"})))
    file: str = attrs.field(default="release.yaml", validator=output_file)


@attrs.frozen(kw_only=True, eq=False)
class GitRepository(Record):
    """A git repository that carries a chart in `chart_dir`; Flux fetches only that directory.

    Example:
        git = GitRepository("kaneo", url="https://github.com/usekaneo/kaneo.git",
                            tag="v2.29.3", chart_dir="charts")
        HelmRelease("kaneo", source=git, chart="./charts/kaneo")   # no version: the tag pins it
    """

    name: str = attrs.field(kw_only=False, validator=dns_label)
    url: str = attrs.field(validator=url)
    tag: str = attrs.field(validator=text(128))
    chart_dir: str = attrs.field(default="charts", validator=_chart_dir)
    file: str = attrs.field(default="release.yaml", validator=output_file)
    renovate: Renovate | None = attrs.field(default=None, validator=optional(instance_of(Renovate)))


@attrs.frozen(kw_only=True, eq=False)
class HelmRelease(Record):
    """A Helm release (Flux `HelmRelease`) whose values may hold references to other records.

    Example:
        repo = HelmRepository("immich", url="https://immich-app.github.io/immich-charts")
        library = Volume("library", size="150Gi")
        HelmRelease("immich", source=repo, chart="immich", version="0.9.3",
                    values={"immich": {"persistence": {"library": {"existingClaim": library.claim}}}})
    """

    name: str = attrs.field(kw_only=False, validator=dns_label)
    source: HelmRepository | GitRepository = attrs.field()
    chart: str = attrs.field(validator=text(253))
    version: str | None = attrs.field(default=None)
    values: dict[str, Any] = attrs.field(factory=dict, validator=mapping, metadata=DATA)
    file: str = attrs.field(default="release.yaml", validator=output_file)
    # A reason to keep a chart's own persistence or database (the guideline forbids it otherwise).
    bundled_storage_reason: str | None = attrs.field(default=None, validator=optional(text(500)))
    renovate: Renovate | None = attrs.field(default=None, validator=optional(instance_of(Renovate)))

    @source.validator
    def _check_source(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, HelmRepository | GitRepository):
            fail(
                self,
                attribute,
                Mistake(
                    "must be a HelmRepository(...) or GitRepository(...) record",
                    got=f"{type(value).__name__} {value!r}",
                ),
            )

    @version.validator
    def _check_version(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(self.source, HelmRepository) and not isinstance(value, str):
            fail(
                self,
                attribute,
                Mistake(
                    "is required for a chart from a HelmRepository", instead="pin it, e.g. '1.2.6'"
                ),
            )
        if isinstance(self.source, GitRepository) and value is not None:
            fail(
                self,
                attribute,
                Mistake(
                    "must be left out for a chart from a GitRepository: "
                    "the GitRepository's 'tag' pins it"
                ),
            )
