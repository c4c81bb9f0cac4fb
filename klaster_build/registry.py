"""The loading session: which file is being loaded and the records it declared.

Records register themselves on construction, but only inside a session (a ContextVar), so
constructing a record in a unit test or a REPL has no side effects.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import attrs


@attrs.define
class Registry:
    """Records in declaration order, and the app whose file is loading."""

    # Records and the klasterfile's Cluster settings, typed loosely: records.base and cluster
    # build on this module (they register themselves), never the other way round.
    records: list[Any] = attrs.Factory(list)
    current_app: str | None = None
    clusters: list[Any] = attrs.Factory(list)

    def add(self, record: Any) -> None:
        """Register one record (called from Record.__attrs_post_init__)."""
        self.records.append(record)


_ACTIVE: ContextVar[Registry | None] = ContextVar("klaster_registry", default=None)


def active() -> Registry | None:
    """The session records register into, if any."""
    return _ACTIVE.get()


@contextmanager
def session(registry: Registry | None = None, *, app: str | None = None) -> Iterator[Registry]:
    """Collect every record constructed inside the block into `registry`."""
    registry = registry if registry is not None else Registry()
    previous_app = registry.current_app
    if app is not None:
        registry.current_app = app
    token = _ACTIVE.set(registry)
    try:
        yield registry
    finally:
        _ACTIVE.reset(token)
        registry.current_app = previous_app


def current_app() -> str:
    """The app (apps.d file stem) being loaded; '' outside an app file."""
    registry = _ACTIVE.get()
    if registry is None or registry.current_app is None:
        return ""
    return registry.current_app
