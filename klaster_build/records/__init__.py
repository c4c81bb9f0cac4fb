"""Record families. RECORD_TYPES is the explicit list of what apps.d files can declare."""

from klaster_build.records.app import App
from klaster_build.records.base import AddressRef, Record, Ref, ref
from klaster_build.records.helm import GitRepository, HelmRelease, HelmRepository
from klaster_build.records.manifest import Manifest
from klaster_build.records.workloads import (
    ConfigFiles,
    ConfigMap,
    Container,
    Deployment,
    EmptyDir,
    Mount,
    Port,
    SecretKey,
    Service,
    StatefulSet,
)

RECORD_TYPES: tuple[type[Record], ...] = (
    App,
    ConfigFiles,
    ConfigMap,
    Deployment,
    GitRepository,
    HelmRelease,
    HelmRepository,
    Manifest,
    Service,
    StatefulSet,
)

__all__ = [
    "RECORD_TYPES",
    "AddressRef",
    "App",
    "ConfigFiles",
    "ConfigMap",
    "Container",
    "Deployment",
    "EmptyDir",
    "GitRepository",
    "HelmRelease",
    "HelmRepository",
    "Manifest",
    "Mount",
    "Port",
    "Record",
    "Ref",
    "SecretKey",
    "Service",
    "StatefulSet",
    "ref",
]
