"""How a mounted thing becomes a pod volume: one table of every mountable type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from klaster_build.errors import DeclarationError
from klaster_build.records.storage import PersistentVolumeClaim
from klaster_build.records.workloads import ConfigFiles, ConfigMap, EmptyDir
from klaster_build.render_context import RenderContext
from klaster_build.values import resolve


def volume_source(source: Any, ctx: RenderContext) -> dict[str, Any]:
    """The volume source mapping (`persistentVolumeClaim: {...}`, `configMap: {...}`...)."""
    for klass in type(source).__mro__:
        if klass in _SOURCES:
            return _SOURCES[klass](source, ctx)
    msg = (
        f"cannot mount a {type(source).__name__}; mount a claim, ConfigMap, ConfigFiles or EmptyDir"
    )
    raise DeclarationError(msg)


def is_claim(source: Any) -> bool:
    """True when mounting `source` uses a ReadWriteOnce claim."""
    return isinstance(source, PersistentVolumeClaim)


def _empty_dir(source: EmptyDir, ctx: RenderContext) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if source.medium:
        spec["medium"] = source.medium
    if source.size:
        spec["sizeLimit"] = source.size
    return {"emptyDir": spec}


def _config_map(source: ConfigMap | ConfigFiles, ctx: RenderContext) -> dict[str, Any]:
    return {"configMap": {"name": resolve(source, ctx)}}


def _claim(claim: PersistentVolumeClaim, ctx: RenderContext) -> dict[str, Any]:
    return {"persistentVolumeClaim": {"claimName": claim.name}}


_SOURCES: dict[type, Callable[[Any, RenderContext], dict[str, Any]]] = {
    EmptyDir: _empty_dir,
    ConfigMap: _config_map,
    ConfigFiles: _config_map,
    PersistentVolumeClaim: _claim,
}
