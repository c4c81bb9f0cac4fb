"""What apps.d files and klasterfile.py import: `from klaster_build.dsl import *`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from klaster_build.cluster import (
    Cluster,
    Intervals,
    Node,
    StorageTier,
    TalosSettings,
    VaultSettings,
)
from klaster_build.data import Plain, SecretKey
from klaster_build.errors import DeclarationError
from klaster_build.records.app import App, Namespace
from klaster_build.records.certificates import Certificate
from klaster_build.records.exposure import (
    ChartIngress,
    ChartService,
    Ingress,
    LoadBalancer,
    PrivilegedNamespace,
    ingress_values,
)
from klaster_build.records.helm import GitRepository, HelmRelease, HelmRepository
from klaster_build.records.infra import GitCrds, InfraComponent, InfraConfig
from klaster_build.records.jobs import CronJob, Job
from klaster_build.records.manifest import Manifest
from klaster_build.records.pods import PodSecurityContext, Probe, SecurityContext
from klaster_build.records.rbac import (
    ClusterRole,
    ClusterRoleBinding,
    Role,
    RoleBinding,
    Rule,
    ServiceAccount,
)
from klaster_build.records.retirement import RetiredApp, RetiredVolume
from klaster_build.records.storage import Postgres, Volume
from klaster_build.records.vault import (
    OIDC,
    VaultAccess,
    VaultFile,
    VaultPolicy,
    VaultRole,
    VaultSecret,
)
from klaster_build.records.workloads import (
    ConfigFiles,
    ConfigMap,
    Container,
    DaemonSet,
    Deployment,
    EmptyDir,
    HostDevice,
    Mount,
    Port,
    Service,
    StatefulSet,
)
from klaster_build.refs import cluster, ref
from klaster_build.versions import Renovate

MAX_READ_BYTES = 1 << 20


def read_yaml(path: str) -> list[Any]:
    """The YAML documents of a file next to the calling apps.d file (for raw manifests)."""
    import yaml

    caller = Path(sys._getframe(1).f_code.co_filename).resolve().parent
    text = _read_from(caller, path)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C reader when PyYAML has it
    try:
        return [d for d in yaml.load_all(text, Loader=loader) if d is not None]
    except yaml.YAMLError as error:
        msg = f"read_yaml({path!r}): not valid YAML: {error}"
        raise DeclarationError(msg) from error


def read(path: str) -> str:
    """The text of a file next to the calling apps.d file (e.g. `read("llama/config.yaml")`).

    The path must stay inside the caller's directory.
    """
    return _read_from(Path(sys._getframe(1).f_code.co_filename).resolve().parent, path)


def _read_from(caller: Path, path: str) -> str:
    target = (caller / path).resolve()
    if caller not in target.parents:
        msg = f"read({path!r}) must name a file inside {caller.name}/, without '..'"
        raise DeclarationError(msg)
    try:
        data = target.read_bytes()
    except OSError as error:
        msg = f"read({path!r}): {error.strerror or error}; the path is relative to {caller.name}/"
        raise DeclarationError(msg) from error
    if len(data) > MAX_READ_BYTES:
        msg = f"read({path!r}): file is {len(data)} bytes; config files are limited to 1 MiB"
        raise DeclarationError(msg)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        msg = f"read({path!r}): file is not UTF-8 text"
        raise DeclarationError(msg) from error


__all__ = [
    "OIDC",
    "App",
    "Certificate",
    "ChartIngress",
    "ChartService",
    "Cluster",
    "ClusterRole",
    "ClusterRoleBinding",
    "ConfigFiles",
    "ConfigMap",
    "Container",
    "CronJob",
    "DaemonSet",
    "Deployment",
    "EmptyDir",
    "GitCrds",
    "GitRepository",
    "HelmRelease",
    "HelmRepository",
    "HostDevice",
    "InfraComponent",
    "InfraConfig",
    "Ingress",
    "Intervals",
    "Job",
    "LoadBalancer",
    "Manifest",
    "Mount",
    "Namespace",
    "Node",
    "Plain",
    "PodSecurityContext",
    "Port",
    "Postgres",
    "PrivilegedNamespace",
    "Probe",
    "Renovate",
    "RetiredApp",
    "RetiredVolume",
    "Role",
    "RoleBinding",
    "Rule",
    "SecretKey",
    "SecurityContext",
    "Service",
    "ServiceAccount",
    "StatefulSet",
    "StorageTier",
    "TalosSettings",
    "VaultAccess",
    "VaultFile",
    "VaultPolicy",
    "VaultRole",
    "VaultSecret",
    "VaultSettings",
    "Volume",
    "cluster",
    "ingress_values",
    "read",
    "read_yaml",
    "ref",
]
