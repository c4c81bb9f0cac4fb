"""Walking and resolving values that may hold references (Helm values, env, free text)."""

from __future__ import annotations

from typing import Any, Protocol

import attrs

from klaster_build.data import Plain, SecretKey
from klaster_build.records.base import Record
from klaster_build.refs import MARK, MARKER, AddressRef, ClusterRef, Ref, marked

Reference = Record | Ref | AddressRef | ClusterRef


class Resolving(Protocol):
    """What resolving a reference asks of the render context (render_context.RenderContext;
    a protocol, so this module builds on no renderer)."""

    def reference_value(self, reference: Ref) -> Any: ...

    def resolve_address(self, reference: AddressRef) -> Any: ...

    def cluster_value(self, reference: ClusterRef) -> Any: ...


def references_in(value: Any) -> list[Reference]:
    """Every record or reference inside `value` (dicts, sequences, value objects, f-strings)."""
    found: list[Reference] = []
    stack = [value]
    while stack:  # iterative: values can be deep, and this runs for every field of every record
        item = stack.pop()
        kind = type(item)
        if kind is str:
            if MARK in item:
                found.extend(marked(int(m[1])) for m in MARKER.finditer(item))
        elif kind in _ATOMS:
            continue
        elif kind is dict:
            stack.extend(item.values())
            stack.extend(k for k in item if type(k) is not str or MARK in k)
        elif kind is list or kind is tuple:
            stack.extend(item)
        elif isinstance(item, Record | Ref | AddressRef | ClusterRef):
            found.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
            stack.extend(item)
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif attrs.has(kind):  # value objects inside records (Container, SecretKey...)
            stack.extend(getattr(item, name) for name in _field_names(kind))
    return found


_ATOMS = frozenset({int, float, bool, type(None)})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = tuple(
            f.name
            for f in attrs.fields(kind)
            if f.name not in ("origin", "app") and not f.metadata.get("no_edges")
        )
        _FIELD_NAMES[kind] = names
    return names


def record_references(record: Record) -> list[tuple[str, Reference]]:
    """(field name, reference) for every reference in the record's own fields."""
    found: list[tuple[str, Reference]] = []
    for name in _field_names(type(record)):
        value = getattr(record, name)
        kind = type(value)
        # Most fields are names, numbers and flags: skip the walk for those (every record).
        if (kind is str and MARK not in value) or kind in _ATOMS:
            continue
        found.extend((name, reference) for reference in references_in(value))
    return found


def as_text(value: Any) -> str:
    """A resolved value inside text: a list (`cluster.pod_cidrs`) comma-separated."""
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def resolve(value: Any, ctx: Resolving) -> Any:
    """`value` with every reference replaced by its concrete value (plain data for YAML)."""
    kind = type(value)  # exact-type fast paths first: this runs for every value of every record
    if kind is str:
        if MARK in value:
            return MARKER.sub(lambda m: as_text(resolve(marked(int(m[1])), ctx)), value)
        return value
    if kind in _ATOMS:
        return value
    if kind is dict:
        return {resolve(k, ctx): resolve(v, ctx) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [resolve(item, ctx) for item in value]
    if isinstance(value, Record):
        return value.record_name
    if isinstance(value, Plain):
        return value.text
    if isinstance(value, Ref):
        return resolve(ctx.reference_value(value), ctx)
    if isinstance(value, AddressRef):
        return resolve(ctx.resolve_address(value), ctx)
    if isinstance(value, ClusterRef):
        return ctx.cluster_value(value)
    if isinstance(value, SecretKey):
        return {"secretKeyRef": {"name": resolve(value.secret, ctx), "key": value.key}}
    if isinstance(value, str):
        if MARK in value:
            return MARKER.sub(lambda m: as_text(resolve(marked(int(m[1])), ctx)), value)
        return value
    if isinstance(value, dict):
        return {resolve(k, ctx): resolve(v, ctx) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(item, ctx) for item in value]
    return value
