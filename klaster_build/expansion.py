"""The expansion phase: what an app's declarations imply, made once its whole file has loaded.

A record's constructor reads only its own arguments; a default that depends on the rest of the
app (the access chain its secrets share) is made here, by the families' expanders, so the order
of declarations in a file does not matter and a record built outside a build has no side effects.
"""

from __future__ import annotations

import attrs

from klaster_build.errors import Problem, ProblemsFound
from klaster_build.family import Catalog
from klaster_build.project import Project
from klaster_build.records.base import Record
from klaster_build.registry import Registry, session


def expand(project: Project, catalog: Catalog) -> Project:
    """The project with what each record implies right after it (where its constructor used to
    put it, so out/ keeps its order); raise ProblemsFound when declarations cannot be expanded."""
    by_app: dict[str, list[Record]] = {}
    for record in project.records:
        by_app.setdefault(record.app, []).append(record)
    records: list[Record] = []
    problems: list[Problem] = []
    for app, declared in by_app.items():
        app_records = list(declared)  # then what expansion made, as it is made
        for record in declared:
            # What an expander constructs registers into this session, as a file's records do.
            with session(Registry(), app=app) as made:
                for expander in catalog.expanders:
                    before = len(made.records)
                    problems.extend(expander(record, app_records))
                    app_records += made.records[before:]
            records += [record, *made.records]
    if problems:
        raise ProblemsFound(problems)
    return attrs.evolve(project, records=tuple(records))
