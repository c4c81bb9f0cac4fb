"""The loaded project: cluster settings, apps and records, in declaration order."""

from __future__ import annotations

import heapq
from pathlib import Path
from typing import TypeVar, cast

import attrs

from klaster_build.cluster import Cluster
from klaster_build.records.app import App
from klaster_build.records.base import Record

R = TypeVar("R", bound=Record)
# The project's layout: the settings file and the directory of app files.
KLASTERFILE = "klasterfile.py"
APPS_DIR = "apps.d"


@attrs.frozen
class Project:
    """What the loader returns and every later phase reads."""

    root: Path
    cluster: Cluster
    apps: dict[str, App]
    records: tuple[Record, ...]
    # (declaration position, record) per exact type, made on first use: every check and
    # emitter asks of_type; one index instead of a scan of every record per call.
    _by_type: dict[type, list[tuple[int, Record]]] = attrs.field(
        init=False, factory=dict, eq=False, repr=False
    )

    @property
    def out_dir(self) -> Path:
        """Where the generated tree lives."""
        return self.root / self.cluster.out_dir

    def of_type(self, kind: type[R]) -> list[R]:
        """The records of one type (or its subclasses), in declaration order."""
        if not self._by_type and self.records:
            for position, record in enumerate(self.records):
                self._by_type.setdefault(type(record), []).append((position, record))
        groups = [group for t, group in self._by_type.items() if issubclass(t, kind)]
        found = groups[0] if len(groups) == 1 else heapq.merge(*groups)
        return cast("list[R]", [record for _, record in found])
