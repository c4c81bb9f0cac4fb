"""The families klaster builds with: an explicit tuple (no discovery, nothing registered on
import). A record type is known to klaster when one of these families lists it."""

from klaster_build.emit import (
    certificates,
    core,
    exposure,
    infra,
    jobs,
    rbac,
    renovate,
    retirement,
    storage,
    vault,
)
from klaster_build.family import Catalog, Family

FAMILIES: tuple[Family, ...] = (
    core.FAMILY,
    jobs.FAMILY,
    rbac.FAMILY,
    storage.FAMILY,
    exposure.FAMILY,
    certificates.FAMILY,
    vault.FAMILY,
    infra.FAMILY,
    renovate.FAMILY,
    retirement.FAMILY,
)
CATALOG = Catalog(FAMILIES)
