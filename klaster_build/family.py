"""A family of records and everything klaster does with them, as one explicit value.

The engine is given a tuple of families (`families.FAMILIES`); nothing registers itself on
import, so what a build does is what that tuple lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from klaster_build.emit.outputs import Output
    from klaster_build.errors import Problem
    from klaster_build.graph import ProjectGraph
    from klaster_build.operator import OperatorStep
    from klaster_build.project import Project
    from klaster_build.records.base import Record

# The second argument of emitters, indexers, resolvers and volume makers is the render
# context (render_context.RenderContext), typed loosely here: the context holds the Catalog,
# so this module cannot name it without an import cycle.
Emitter = Callable[[Any, Any], Iterable["Output"]]
Check = Callable[["Project", "ProjectGraph"], Iterable["Problem"]]
# The expansion phase (expansion.py): construct what one record implies, given every record of
# its app (declared, then made so far); what it constructs joins the app right after the record.
Expander = Callable[["Record", Sequence["Record"]], Iterable["Problem"]]
StepSource = Callable[["Project", "ProjectGraph"], Iterable["OperatorStep"]]
# A rule over the operator steps every family's records need (a RetiredApp must not clean up
# what a declared app still uses).
StepCheck = Callable[["Project", Sequence["OperatorStep"]], Iterable["Problem"]]
Documents = dict[str, list[dict[str, Any]]]


@attrs.frozen
class Removal:
    """What a build takes away from out/, for the checks that refuse to lose something."""

    # Judged against the tree the cluster runs (baseline.py: out/ at git HEAD, else on disk).
    documents: Documents  # YAML documents of the files it rewrites or drops, as they were
    deleted: frozenset[str]  # the files it drops (project-relative paths)
    dropped_steps: frozenset[str]  # keys of operator steps out/ needed and the build does not
    previous_steps: frozenset[str] = frozenset()  # every step key the previous manifest lists
    source: str = "out/"  # what the previous tree is, for messages


# Problems with dropping what `Removal` lists (data, leftovers the user must retire first).
RemovalCheck = Callable[["Project", Removal], Iterable["Problem"]]
# Families that own files outside app directories (infra/, renovate.json...) turn the outputs of
# the whole cluster into those files.
Indexer = Callable[[dict[str, list["Output"]], Any], Iterable["Output"]]
# The value of a reference `Ref(record, part)`, computed when rendering.
Resolver = Callable[[Any, Any], Any]
# Records a family places in a namespace other than their app's (an infra controller's secret
# chain lives in the controller's namespace) -> that namespace.
Placement = Callable[["Project"], Mapping[Any, str]]
# A rule over the whole rendered tree (path -> outputs), e.g. a custom resource's CRD applied
# before it.
OutputCheck = Callable[[dict[str, list["Output"]]], Iterable["Problem"]]


@attrs.frozen
class Mountable:
    """How a record mounted in a container becomes a pod volume source (`{"secret": {...}}`);
    `items`: whether a `Mount(..., items={key: path})` may pick keys of it as files."""

    volume: Callable[[Any, Any], dict[str, Any]]
    items: bool = False


@attrs.frozen
class Family:
    """Record types, and how they are rendered, checked and handed over to the operator."""

    name: str
    records: tuple[type[Record], ...] = ()  # every type of the family a record can have
    # What apps.d files may import from klaster_build.dsl: the family's user-facing records,
    # value objects and helpers (dsl.py exports every family's, so a new family needs no edit
    # there).
    exports: tuple[Any, ...] = ()
    emitters: Mapping[type, Emitter] = attrs.field(factory=dict)
    references: Mapping[tuple[type, str], Resolver] = attrs.field(factory=dict)
    mounts: Mapping[type, Mountable] = attrs.field(factory=dict)  # what containers may mount
    # (record type, reference part) naming an object pods read by name from their own namespace
    # only (a Secret, ConfigMap or claim); part "name" is the record itself, given as a value.
    read_by_name: frozenset[tuple[type, str]] = frozenset()
    placements: tuple[Placement, ...] = ()
    expanders: tuple[Expander, ...] = ()
    checks: tuple[Check, ...] = ()
    steps: tuple[StepSource, ...] = ()
    step_checks: tuple[StepCheck, ...] = ()
    removals: tuple[RemovalCheck, ...] = ()
    indexers: tuple[Indexer, ...] = ()
    output_checks: tuple[OutputCheck, ...] = ()


def _by_class(table: Mapping[type, Any], kind: type) -> Any:
    for klass in kind.__mro__:
        if klass in table:
            return table[klass]
    return None


@attrs.frozen
class Catalog:
    """The families a build uses, merged: what each phase looks up."""

    families: tuple[Family, ...]
    record_types: frozenset[type] = attrs.field(init=False)
    emitters: dict[type, Emitter] = attrs.field(init=False)
    references: dict[tuple[type, str], Resolver] = attrs.field(init=False)
    mounts: dict[type, Mountable] = attrs.field(init=False)
    read_by_name: frozenset[tuple[type, str]] = attrs.field(init=False)
    # Every family's, in the families' order.
    placements: tuple[Placement, ...] = attrs.field(init=False)
    expanders: tuple[Expander, ...] = attrs.field(init=False)
    checks: tuple[Check, ...] = attrs.field(init=False)
    steps: tuple[StepSource, ...] = attrs.field(init=False)
    step_checks: tuple[StepCheck, ...] = attrs.field(init=False)
    removals: tuple[RemovalCheck, ...] = attrs.field(init=False)
    indexers: tuple[Indexer, ...] = attrs.field(init=False)
    output_checks: tuple[OutputCheck, ...] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        merged: dict[str, Any] = {
            "record_types": frozenset(t for f in self.families for t in f.records),
            "read_by_name": frozenset(r for f in self.families for r in f.read_by_name),
        }
        for table in ("emitters", "references", "mounts"):
            merged[table] = {k: v for f in self.families for k, v in getattr(f, table).items()}
        for hooks in (
            "placements",
            "expanders",
            "checks",
            "steps",
            "step_checks",
            "removals",
            "indexers",
            "output_checks",
        ):
            merged[hooks] = tuple(h for f in self.families for h in getattr(f, hooks))
        for name, value in merged.items():
            object.__setattr__(self, name, value)

    def knows(self, record: Record) -> bool:
        """Whether a family declares the record's exact type."""
        return type(record) in self.record_types

    def emitter_for(self, kind: type) -> Emitter | None:
        """The emitter of a record type, looked up along its base classes."""
        return _by_class(self.emitters, kind)  # type: ignore[no-any-return]

    def mountable(self, kind: type) -> Mountable | None:
        """How a mounted value of `kind` becomes a volume, looked up along its base classes."""
        return _by_class(self.mounts, kind)  # type: ignore[no-any-return]

    def mountable_names(self) -> str:
        """The types containers may mount, for messages."""
        return ", ".join(sorted(kind.__name__ for kind in self.mounts))

    def reads_by_name(self, kind: type, part: str) -> bool:
        """Whether `Ref(record of kind, part)` (part "name": the record) names an object pods
        read by name from their own namespace, looked up along the base classes."""
        return any((klass, part) in self.read_by_name for klass in kind.__mro__)

    def placed(self, project: Project) -> dict[Any, str]:
        """Records the families place outside their app's namespace -> their namespace."""
        return {record: ns for place in self.placements for record, ns in place(project).items()}

    def resolver_for(self, kind: type, part: str) -> Resolver | None:
        """How `Ref(record of kind, part)` is computed, looked up along the base classes."""
        for klass in kind.__mro__:
            found = self.references.get((klass, part))
            if found is not None:
                return found
        return None
