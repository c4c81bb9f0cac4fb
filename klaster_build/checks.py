"""The check phase: families' invariants over the records, then the rules every rendered output
must follow. Checks return problems; they never raise."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from klaster_build.data import SecretKey
from klaster_build.emit.outputs import Declared, Output, identity
from klaster_build.errors import KlasterError, Mistake, Problem
from klaster_build.invocation import command
from klaster_build.names import api_group, document_name_problems, pod_template_labels
from klaster_build.records.base import Record
from klaster_build.records.helm import HelmRelease
from klaster_build.records.workloads import Mount, Workload
from klaster_build.refs import MARK, AddressRef, Ref, follow
from klaster_build.values import record_references

if TYPE_CHECKING:
    from klaster_build.family import Catalog
    from klaster_build.graph import ProjectGraph
    from klaster_build.operator import OperatorStep
    from klaster_build.project import Project


def unknown_records(project: Project, catalog: Catalog) -> list[Problem]:
    """Records of a type no family lists: klaster would not know how to render them."""
    return [
        Problem(
            record.origin,
            Mistake(
                "is not a record type klaster builds",
                record=type(record).__name__,
                instead=f"declare records from klaster_build.dsl (see `{command('explain')}`)",
            ),
        )
        for record in project.records
        if not catalog.knows(record)
    ]


def run_checks(
    project: Project, graph: ProjectGraph, catalog: Catalog, steps: Sequence[OperatorStep]
) -> list[Problem]:
    """Every problem every family's invariants find (over the records, and over the operator
    `steps` they need), sorted by place."""
    found = [problem for check in catalog.checks for problem in check(project, graph)]
    found += [problem for check in catalog.step_checks for problem in check(project, steps)]
    return sorted(
        [
            *found,
            *mount_problems(project, graph, catalog),
            *namespace_problems(project, graph, catalog),
        ]
    )


def _followed(reference: Any, by_address: dict[str, Record]) -> Any:
    """What an address reference (`ref("app/Kind/name")...`) stands for; anything else as it
    is. An address that does not resolve is None: the graph reports it, with its line."""
    if not isinstance(reference, AddressRef):
        return reference
    try:
        return follow(by_address[reference.address], reference.parts)
    except (KeyError, AttributeError, TypeError, KlasterError):
        return None


def _read_by_name(reference: Any, by_address: dict[str, Record], catalog: Catalog) -> Record | None:
    """The record whose namespaced object `reference` reads by name, if it reads one (its
    family says which records and reference parts name such an object: `read_by_name`)."""
    value = _followed(reference, by_address)
    if isinstance(value, SecretKey):
        value = value.secret
    target, part = (value.target, value.part) if isinstance(value, Ref) else (value, "name")
    return (
        target if isinstance(target, Record) and catalog.reads_by_name(type(target), part) else None
    )


def namespace_problems(
    project: Project, graph: ProjectGraph, catalog: Catalog
) -> Iterator[Problem]:
    """A pod or chart reading a Secret, ConfigMap or claim of another namespace never starts:
    Kubernetes resolves those names in the pod's own namespace. A Service's address is a DNS
    name and crosses namespaces."""
    placed = catalog.placed(project)
    by_address = graph.by_address

    def namespace(record: Record) -> str:
        return placed.get(record) or project.apps[record.app].namespace_name

    for consumer in [*project.of_type(Workload), *project.of_type(HelmRelease)]:
        for _, reference in record_references(consumer):
            target = _read_by_name(reference, by_address, catalog)
            if target is None or namespace(target) == namespace(consumer):
                continue
            here, there = namespace(consumer), namespace(target)
            yield Problem.at(
                consumer,
                Mistake(
                    f"(namespace {here!r}) reads {type(target).__name__} "
                    f"{target.record_name!r} of namespace {there!r} ({target.origin}), but a pod "
                    "reads Secrets, ConfigMaps and claims only from its own namespace: it would "
                    "never start",
                    record=consumer.described,
                    instead=f"share the namespace (App(namespace={there!r}) in this file), or "
                    "give this app its own copy (its own VaultSecret on the same OpenBao path); "
                    "a Service address (.host) may cross namespaces",
                ),
            )


def mount_problems(project: Project, graph: ProjectGraph, catalog: Catalog) -> Iterator[Problem]:
    """Every mount is of something a family declares mountable; `items` pick declared keys of a
    ConfigMap or Secret, and one volume is mounted with one choice of items."""
    by_address = graph.by_address
    for workload in project.of_type(Workload):
        chosen: dict[str, dict[str, str]] = {}
        for container in (*workload.init_containers, *workload.containers):
            for path, mounted in container.mounts.items():
                source = _followed(
                    mounted.source if isinstance(mounted, Mount) else mounted, by_address
                )
                if source is None:
                    continue  # an address that resolves to nothing: the graph says so
                items = mounted.items if isinstance(mounted, Mount) else {}
                where = f"{type(workload).__name__} {workload.record_name!r} container {container.name!r} mount {path}"
                mountable = catalog.mountable(type(source))
                if mountable is None:
                    yield Problem.at(
                        workload,
                        Mistake(
                            f"cannot mount a {type(source).__name__}",
                            record=where,
                            instead=f"mount one of {catalog.mountable_names()}",
                        ),
                    )
                    continue
                if items and not mountable.items:
                    yield Problem.at(
                        workload,
                        Mistake(
                            f"a {type(source).__name__} has no keys to pick with items=",
                            record=f"{where}:",
                            instead="leave items out",
                        ),
                    )
                keys = sorted(
                    getattr(source, "secret_keys", None)
                    or getattr(source, "files", None)
                    or getattr(source, "data", None)
                    or ()
                )
                unknown = sorted(set(items) - set(keys)) if keys else []
                if unknown:
                    yield Problem.at(
                        workload,
                        Mistake(
                            f"picks keys {unknown} that {type(source).__name__} "
                            f"{getattr(source, 'record_name', '')!r} does not declare",
                            record=where,
                            instead=f"it has {keys}",
                        ),
                    )
                name = (mounted.name if isinstance(mounted, Mount) else None) or getattr(
                    source, "record_name", None
                )
                if name is not None and chosen.setdefault(name, items) != items:
                    yield Problem.at(
                        workload,
                        Mistake(
                            f"mounts volume {name!r} again with other items",
                            record=where,
                            instead="give this Mount its own name= (one pod volume per choice "
                            "of items)",
                        ),
                    )


# API groups of objects that make no pods, or only pods whose labels their own document holds.
# Anything else (a HelmRelease, an operator's resource) may make pods klaster cannot see.
_KNOWN_POD_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "policy",
        "autoscaling",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "cert-manager.io",
        "local.openebs.io",
        "secrets.hashicorp.com",
        "source.toolkit.fluxcd.io",
    }
)
# Labels controllers add to the pods they make (pod-template-hash, the StatefulSet pod name...):
# a selector may use them, and no document holds them.
_CONTROLLER_LABELS = frozenset(
    {
        "pod-template-hash",
        "controller-revision-hash",
        "statefulset.kubernetes.io/pod-name",
        "apps.kubernetes.io/pod-index",
        "job-name",
        "controller-uid",
        "batch.kubernetes.io/job-name",
        "batch.kubernetes.io/controller-uid",
        "batch.kubernetes.io/job-completion-index",
    }
)


def _spelled(labels: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in labels.items()) or "(none)"


def unmatched_selectors(by_path: dict[str, list[Output]]) -> Iterator[Problem]:
    """A Service whose selector matches no pod of its namespace (a typo, or the wrong workload's
    labels) would route nowhere. Namespaces where something klaster cannot see may make pods
    (a Helm chart, an operator) are left alone."""
    pods: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = defaultdict(list)
    unseen: set[str] = set()
    services: list[tuple[str, dict[str, Any], Output]] = []
    for outputs in by_path.values():
        for output in outputs:
            document = output.document
            if not isinstance(document, dict) or not isinstance(document.get("metadata"), dict):
                continue
            namespace = str(document["metadata"].get("namespace", ""))
            labels = pod_template_labels(document)
            if labels is not None:
                pods[namespace].append((labels, document))
            elif api_group(document) not in _KNOWN_POD_GROUPS:
                unseen.add(namespace)
            elif document.get("kind") == "Service" and api_group(document) == "":
                services.append((namespace, document, output))
    for namespace, service, output in services:
        selector = (service.get("spec") or {}).get("selector")
        if not isinstance(selector, dict) or namespace in unseen:
            continue
        wanted = {k: v for k, v in selector.items() if k not in _CONTROLLER_LABELS}
        if not wanted or any(
            all(labels.get(k) == v for k, v in wanted.items()) for labels, _ in pods[namespace]
        ):
            continue
        present = "; ".join(
            f"{_spelled(labels)} ({workload['kind']} {workload['metadata'].get('name')})"
            for labels, workload in pods[namespace]
        )
        yield Problem(
            output.record.origin,
            Mistake(
                f"selects pods labelled {_spelled(wanted)}, but no pod in namespace "
                f"{namespace!r} has those labels",
                record=f"Service {service['metadata'].get('name')!r}",
                instead=(
                    f"its pods are labelled {present}: select one of them, or give workload="
                    if present
                    else "the namespace has no pods: declare the workload, or give workload="
                ),
            ),
        )


def name_problems(by_path: dict[str, list[Output]]) -> Iterator[Problem]:
    """Every name in the rendered Kubernetes documents checked against its rule, located at the
    line that declared the document (names derived from a declared one are checked too)."""
    for outputs in by_path.values():
        for output in outputs:
            document = output.document
            if isinstance(document, dict) and "kind" in document and "apiVersion" in document:
                for mistake in document_name_problems(document):
                    yield Problem(output.record.origin, mistake)


def _holds_marker(value: Any) -> bool:
    if isinstance(value, str):
        return MARK in value
    if isinstance(value, dict):
        return any(_holds_marker(k) or _holds_marker(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_marker(item) for item in value)
    return False


def unresolved_references(by_path: dict[str, list[Output]]) -> Iterator[Problem]:
    """No reference marker ever reaches out/ (the YAML writer would escape it into a string the
    cluster takes literally): rendering resolves every field, and this holds it."""
    for path, outputs in sorted(by_path.items()):
        for output in outputs:
            parts = [output.document, output.text, output.fragment]
            # repr (C speed) shows a NUL as \x00; only then walk the values to be sure.
            if "\\x00" in repr(parts) and _holds_marker(parts):
                yield Problem(
                    output.record.origin,
                    Mistake(
                        "would hold a reference klaster did not resolve",
                        record=f"out/{path}",
                        instead="this is a klaster bug, nothing was written: please report it "
                        "with this apps.d line",
                    ),
                )


def output_problems(by_path: dict[str, list[Output]], catalog: Catalog) -> list[Problem]:
    """What is wrong with the rendered outputs as a whole: two records generating the same
    (kind, namespace, name), one whole file written by two records, a name Kubernetes (or the
    operator that reads it) refuses, a Service selecting no pod, or a custom resource whose CRD
    nothing applies before it."""
    problems: list[Problem] = [
        *unresolved_references(by_path),
        *name_problems(by_path),
        *unmatched_selectors(by_path),
        *(problem for check in catalog.output_checks for problem in check(by_path)),
    ]
    seen: dict[tuple[str, str, str], Declared] = {}
    for path, outputs in by_path.items():
        if len(outputs) > 1 and any(o.text is not None for o in outputs):
            places = ", ".join(str(o.record.origin) for o in outputs)
            problems.append(
                Problem(
                    outputs[1].record.origin,
                    Mistake(
                        f"is written by more than one record ({places})",
                        record=f"out/{path}",
                        instead="rename one",
                    ),
                )
            )
        for output in outputs:
            if output.document is None or "name" not in output.document.get("metadata", {}):
                continue
            found = identity(output.document)
            other = seen.setdefault(found, output.record)
            if other is not output.record:
                kind, namespace, name = found
                problems.append(
                    Problem(
                        output.record.origin,
                        Mistake(
                            f"in namespace {namespace!r} is also generated by {other.origin}",
                            record=f"{kind} {name!r}",
                            instead="names must be unique",
                        ),
                    )
                )
    return sorted(problems)
