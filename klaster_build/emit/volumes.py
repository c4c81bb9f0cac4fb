"""How a mounted thing becomes a pod volume: each family declares what of its records a container
may mount (`Family.mounts`); these are the core ones."""

from __future__ import annotations

from typing import Any

from klaster_build.errors import DeclarationError, Mistake
from klaster_build.family import Mountable
from klaster_build.records.storage import PersistentVolumeClaim
from klaster_build.records.workloads import ConfigFiles, ConfigMap, EmptyDir
from klaster_build.refs import AddressRef
from klaster_build.render_context import RenderContext
from klaster_build.values import resolve


def volume_source(
    source: Any, ctx: RenderContext, items: dict[str, str] | None = None
) -> dict[str, Any]:
    """The volume source mapping (`persistentVolumeClaim: {...}`, `secret: {...}`...), with
    `items` (key -> file path) when the mount picks keys as files."""
    if isinstance(source, AddressRef):  # another file's record (same namespace: checked)
        source = ctx.resolve_address(source)
    mountable = ctx.catalog.mountable(type(source))
    if mountable is None:  # refused with its line by checks.mount_problems before rendering
        raise DeclarationError(
            Mistake(
                f"cannot mount a {type(source).__name__}",
                instead=f"mount one of {ctx.catalog.mountable_names()}",
            )
        )
    volume = mountable.volume(source, ctx)
    if items:
        (spec,) = volume.values()
        spec["items"] = [{"key": key, "path": path} for key, path in items.items()]
    return volume


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


MOUNTS: dict[type, Mountable] = {
    EmptyDir: Mountable(_empty_dir),
    ConfigMap: Mountable(_config_map, items=True),
    ConfigFiles: Mountable(_config_map, items=True),
}
