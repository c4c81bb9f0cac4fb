"""Walking and resolving values that may hold references (Helm values, env, free text)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import attrs

from klaster_build.records.base import MARK, AddressRef, Record, Ref, marked

if TYPE_CHECKING:
    from klaster_build.render_context import RenderContext

_MARKER = re.compile(f"{MARK}([0-9]+){MARK}")
Reference = Record | Ref | AddressRef


def references_in(value: Any) -> Iterator[Reference]:
    """Every record or reference inside `value`, depth first, in field order."""
    if isinstance(value, Record | Ref | AddressRef):
        yield value
    elif isinstance(value, str):
        if MARK in value:
            for match in _MARKER.finditer(value):
                yield marked(int(match[1]))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from references_in(key)
            yield from references_in(item)
    elif isinstance(value, list | tuple | frozenset | set):
        for item in value:
            yield from references_in(item)
    elif attrs.has(type(value)):  # value objects inside records (Container, SecretKey...)
        for field in attrs.fields(type(value)):
            yield from references_in(getattr(value, field.name))


def record_references(record: Record) -> Iterator[tuple[str, Reference]]:
    """(field name, reference) for every reference in the record's own fields."""
    for field in attrs.fields(type(record)):
        if field.name in ("origin", "app") or field.metadata.get("no_edges"):
            continue
        for reference in references_in(getattr(record, field.name)):
            yield field.name, reference


def resolve(value: Any, ctx: RenderContext) -> Any:
    """`value` with every reference replaced by its concrete value (plain data for YAML)."""
    if isinstance(value, Record):
        return value.record_name
    if isinstance(value, Ref):
        return resolve(value.resolve(ctx), ctx)
    if isinstance(value, AddressRef):
        return resolve(ctx.resolve_address(value), ctx)
    if isinstance(value, str):
        if MARK in value:
            return _MARKER.sub(lambda m: str(resolve(marked(int(m[1])), ctx)), value)
        return value
    if isinstance(value, dict):
        return {resolve(k, ctx): resolve(v, ctx) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(item, ctx) for item in value]
    return value
