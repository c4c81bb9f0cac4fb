"""Retired volumes and apps: a build that drops an LV or a removed app's leftovers without them
is refused, the declarations are checked, and `klaster todo` lists the manual clean-up.

What really happens to what a build drops is in docs/upstream.md; the design in
docs/data-safety.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from klaster_build.emit.outputs import LVM_NAMESPACE, NEVER_PRUNED, PRUNE_ANNOTATION
from klaster_build.errors import Mistake, Problem, did_you_mean
from klaster_build.family import Family, Removal
from klaster_build.graph import ProjectGraph
from klaster_build.invocation import command
from klaster_build.operator import OperatorStep, step_subject
from klaster_build.origin import Origin
from klaster_build.project import APPS_DIR, Project
from klaster_build.records.app import App
from klaster_build.records.infra import InfraConfig
from klaster_build.records.manifest import Manifest
from klaster_build.records.retirement import (
    REASON_PLACEHOLDER,
    RETIREMENT_RECORDS,
    RetiredApp,
    RetiredVolume,
)
from klaster_build.records.storage import LVMVolume

# Operator step categories that are work outside the cluster (their key is `<category>:<what>`),
# the RetiredApp field listing them, and how the refusal names them.
LEFTOVERS = {
    "secret": ("vault_paths", "OpenBao path"),
    "authentik": ("oidc", "Authentik application"),
    "dns": ("hosts", "DNS name"),
    "port-forward": ("port_forwards", "router port forward"),
}


def _app_directory(path: str, out_dir: str) -> str | None:
    """The app whose out/apps/<app>/ directory holds `path` (project-relative), if any."""
    prefix = f"{out_dir}/apps/"
    app, slash, _ = path.removeprefix(prefix).partition("/")
    return app if path.startswith(prefix) and slash else None


def _source(app: str | None) -> Origin:
    # Records write only into their own app's directory: out/apps/<app>/ came from its file.
    return Origin(f"{APPS_DIR}/{app}.py" if app else APPS_DIR, 1)


def _declaration(kind: str, name: str, **lists: list[str]) -> str:
    """A ready-to-paste declaration (JSON quoting is Python's for strings and lists)."""
    listed = "".join(f", {field}={json.dumps(values)}" for field, values in lists.items() if values)
    return f"{kind}({json.dumps(name)}, reason={json.dumps(REASON_PLACEHOLDER)}{listed})"


def declared_lvs(project: Project) -> dict[str, Origin]:
    """Every LV apps.d declares, typed (Volume, Postgres) or as a raw LVMVolume document
    (Manifest, InfraConfig), with the line that declares it."""
    declared = {lv.name: lv.origin for lv in project.of_type(LVMVolume)}
    raw = [(m.origin, [m.body]) for m in project.of_type(Manifest)]
    raw += [(c.origin, list(c.documents)) for c in project.of_type(InfraConfig)]
    for origin, documents in raw:
        for document in documents:
            name = (document.get("metadata") or {}).get("name")
            if document.get("kind") == "LVMVolume" and isinstance(name, str):
                declared.setdefault(name, origin)
    return declared


def _lv_names(documents: Iterable[list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """The LVMVolume documents among `documents`, by name."""
    return {
        name: document
        for docs in documents
        for document in docs
        if document.get("kind") == "LVMVolume"
        and isinstance(name := (document.get("metadata") or {}).get("name"), str)
    }


def refuse_unretired_volumes(project: Project, removal: Removal) -> Iterator[Problem]:
    """An LV the previous tree has that apps.d neither declares nor retires: dropping it loses
    its data."""
    kept = set(declared_lvs(project))
    kept |= {retired.name for retired in project.of_type(RetiredVolume)}
    out_dir = project.cluster.out_dir
    for path, documents in sorted(removal.documents.items()):
        for document in documents:
            meta = document.get("metadata") or {}
            name = meta.get("name")
            if document.get("kind") != "LVMVolume" or not isinstance(name, str) or name in kept:
                continue
            spec = document.get("spec") or {}
            annotations = meta.get("annotations") or {}
            if annotations.get(PRUNE_ANNOTATION) == NEVER_PRUNED[PRUNE_ANNOTATION]:
                fate = (
                    "Once Flux has applied out/ as it is, it leaves the LVMVolume and "
                    f"PersistentVolume in the cluster ({PRUNE_ANNOTATION}: disabled) and the LV "
                    "on disk, but nothing in apps.d would say so any more."
                )
            else:
                fate = (
                    f"out/ has it without {PRUNE_ANNOTATION}: disabled, so Flux would prune its "
                    "LVMVolume object, and the OpenEBS node agent then wipes and lvremoves the LV: "
                    "the data is gone before anyone can back it up. Back it up before pushing a "
                    "build without it, or first push out/ built with it still declared (which "
                    "adds the annotation) and let Flux apply that."
                )
            yield Problem(
                _source(_app_directory(path, out_dir)),
                Mistake(
                    f"({spec.get('capacity', '?')}) is in {path} ({removal.source}) but apps.d "
                    f"no longer declares it. {fate} To keep it, declare it again (Volume(..., "
                    f"lv_name={json.dumps(name)}) or Postgres(..., lv_name={json.dumps(name)}) "
                    "adopts it). To delete it, retire it in any apps.d file; "
                    f"`{command('todo')}` then lists how to back it up and delete it:\n    "
                    f"{_declaration('RetiredVolume', name)}",
                    record=f"LV {spec.get('volGroup', '?')}/{name}",
                ),
            )


def refuse_unknown_retirements(project: Project, removal: Removal) -> Iterator[Problem]:
    """A RetiredVolume or RetiredApp must name what the previous tree drops now, or what an
    earlier build retired (its clean-up step is in the previous manifest): anything else is a
    typo, and todo would send the operator after the wrong name."""
    dropped_lvs = set(_lv_names(removal.documents.values()))
    out_dir = project.cluster.out_dir
    dropped_apps = {
        name
        for path in removal.deleted
        if (name := _app_directory(path, out_dir))
        and path == f"{out_dir}/apps/{name}/kustomization.yaml"
    }
    for retired in project.of_type(RetiredVolume):
        if (
            retired.name in dropped_lvs
            or f"retired-volume:{retired.name}" in removal.previous_steps
        ):
            continue
        known = sorted(dropped_lvs | set(declared_lvs(project)))
        yield Problem.at(
            retired,
            Mistake(
                f"names no LV that {removal.source} has or that an earlier build "
                f"retired{_suggested(retired.name, known)}",
                record=retired.described,
                instead="check the name (the refusal that asked for it printed the declaration), "
                "or delete the declaration if its clean-up is done",
            ),
        )
    for app in project.of_type(RetiredApp):
        if app.name in dropped_apps or f"retired-app:{app.name}" in removal.previous_steps:
            continue
        known = sorted(dropped_apps | set(project.apps))
        yield Problem.at(
            app,
            Mistake(
                f"names no app that {removal.source} has or that an earlier build "
                f"retired{_suggested(app.name, known)}",
                record=app.described,
                instead="check the name (the apps.d file stem of the removed app), or delete the "
                "declaration if its clean-up is done",
            ),
        )


def _suggested(name: str, known: list[str]) -> str:
    hint = did_you_mean(name, known, most=3)
    return f" ({hint})" if hint else ""


def _strings(value: Any) -> Iterator[str]:
    """Every string in a document, recursively."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _url_host(text: str) -> str | None:
    """The host of a URL string; None for anything else."""
    try:
        return urlsplit(text).hostname if "://" in text else None
    except ValueError:  # not a URL after all
        return None


def _accounted(
    category: str, subject: str, app: str, documents: list[dict[str, Any]], domain: str
) -> bool:
    """Whether the removed `app`'s documents account for the leftover `category:subject`."""
    strings = {s for document in documents for s in _strings(document)}
    if category == "secret":  # a VaultStaticSecret read the path
        return any(
            d.get("kind") == "VaultStaticSecret" and (d.get("spec") or {}).get("path") == subject
            for d in documents
        )
    if category == "authentik":  # a URL names the application, or the app read its own client
        return any(f"/application/o/{subject}/" in s for s in strings) or (
            subject == app and f"authentik/{app}" in strings
        )
    balancers = [
        d.get("metadata") or {}
        for d in documents
        if d.get("kind") == "Service" and (d.get("spec") or {}).get("type") == "LoadBalancer"
    ]
    if category == "dns":  # a host or URL it served, or a LoadBalancer's default name
        return (
            subject in strings
            or any(_url_host(s) == subject for s in strings)
            or any(f"{meta.get('name')}.{domain}" == subject for meta in balancers)
        )
    if category == "port-forward":  # namespace/service/protocol/port of its LoadBalancer
        return any(
            subject.startswith(f"{meta.get('namespace')}/{meta.get('name')}/") for meta in balancers
        )
    return False


def leftovers(
    app: str, documents: list[dict[str, Any]], dropped_steps: Iterable[str], domain: str
) -> dict[str, list[str]]:
    """The operator steps outside the cluster that a build dropped and the removed `app`'s
    documents (as out/ had them) account for, by RetiredApp field."""
    found: dict[str, list[str]] = {field: [] for field, _ in LEFTOVERS.values()}
    for key in sorted(dropped_steps):
        category, subject = step_subject(key)
        if category in LEFTOVERS and _accounted(category, subject, app, documents, domain):
            found[LEFTOVERS[category][0]].append(subject)
    return found


def refuse_unretired_apps(project: Project, removal: Removal) -> Iterator[Problem]:
    """A removed app whose leftovers outside the cluster no RetiredApp lists: they would be
    forgotten (no build, check or todo mentions them again)."""
    out_dir = project.cluster.out_dir
    retired = {record.name for record in project.of_type(RetiredApp)}
    removed = sorted(
        app
        for path in removal.deleted
        if (app := _app_directory(path, out_dir))
        and path == f"{out_dir}/apps/{app}/kustomization.yaml"
    )
    for app in removed:
        if app in retired:
            continue
        documents = [
            d
            for path, docs in removal.documents.items()
            if _app_directory(path, out_dir) == app
            for d in docs
        ]
        found = leftovers(app, documents, removal.dropped_steps, project.cluster.domain)
        if not any(found.values()):
            continue
        listed = "; ".join(
            f"{what} {', '.join(found[field])}"
            for field, what in LEFTOVERS.values()
            if found[field]
        )
        yield Problem(
            _source(app),
            Mistake(
                "is removed from apps.d, but what it needed outside the cluster stays: "
                f"{listed}. Flux removes the app's objects; nothing removes these. Retire the app "
                f"in any apps.d file; `{command('todo')}` then lists their clean-up until you "
                f"delete the declaration:\n    {_declaration('RetiredApp', app, **found)}",
                record=f"app {app!r}",
            ),
        )


def check_retirements(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """Retire only what is gone: no LV, app or leftover that apps.d still declares."""
    apps = project.of_type(RetiredApp)
    lvs = declared_lvs(project)
    for retired in project.of_type(RetiredVolume):
        declared_at = lvs.get(retired.name)
        if declared_at is not None:
            yield Problem.at(
                retired,
                Mistake(
                    f"names an LV that {declared_at} still declares",
                    record=retired.described,
                    instead="remove the RetiredVolume, or that declaration if the LV is to go",
                ),
            )
    declaring = {r.app for r in project.records if not isinstance(r, (App, *RETIREMENT_RECORDS))}
    for app in apps:
        if app.name in declaring:
            yield Problem.at(
                app,
                Mistake(
                    f"names an app that {APPS_DIR}/{app.name}.py still declares",
                    record=app.described,
                    instead="remove the RetiredApp, or delete that file (or keep only retirement "
                    "records in it) if the app is to go",
                ),
            )


def refuse_retiring_what_is_needed(
    project: Project, steps: Sequence[OperatorStep]
) -> Iterator[Problem]:
    """A RetiredApp listing a leftover (an OpenBao path, a DNS name...) that a declared record
    still needs: its clean-up step would delete what an app uses. Every family's operator
    steps say what is needed."""
    needed = {
        ":".join(step_subject(step.key)): step for step in steps if step.category in LEFTOVERS
    }
    for app in project.of_type(RetiredApp):
        for category, (field, what) in LEFTOVERS.items():
            for subject in getattr(app, field):
                step = needed.get(f"{category}:{subject}")
                if step is not None:
                    yield Problem.at(
                        app,
                        Mistake(
                            f"lists {what} {subject!r}, which {step.origin} still needs",
                            record=app.described,
                            instead=f"remove it from {field}=",
                        ),
                    )


def retirement_steps(project: Project, graph: ProjectGraph) -> Iterator[OperatorStep]:
    """The manual clean-up of every retired LV and app, listed until the declaration goes."""
    kv = project.cluster.vault.kv_mount
    nodes = project.cluster.node_names
    # One node: it is there. More: the LV's own node, which its LVMVolume records.
    where_lv = (
        f"on node {nodes[0]}"
        if len(nodes) == 1
        else "on the node its LVMVolume's spec.ownerNodeID names"
    )
    for volume in project.of_type(RetiredVolume):
        name, where = volume.name, f"RetiredVolume at {volume.origin}"
        yield OperatorStep(
            90,
            "retired",
            f"retired-volume-backup:{name}",
            f"Back up LV {name} ({where}): {where_lv} it is /dev/<volGroup>/{name}, "
            f"volGroup from `kubectl -n {LVM_NAMESPACE} get lvmvolume {name} "
            "-o jsonpath='{.spec.volGroup}'`",
            {"lv": name, "node": nodes[0] if len(nodes) == 1 else None},
            volume.origin,
        )
        yield OperatorStep(
            91,
            "retired",
            f"retired-volume:{name}",
            f"Delete LV {name} ({where}) once backed up: `kubectl -n {LVM_NAMESPACE} delete "
            f"lvmvolume {name}` (the OpenEBS node agent then wipes and lvremoves it) and "
            f"`kubectl delete pv {name}`; then delete the RetiredVolume",
            {"lv": name},
            volume.origin,
        )
    for app in project.of_type(RetiredApp):
        where = f"RetiredApp {app.name!r} at {app.origin}"
        for path in app.vault_paths:
            yield OperatorStep(
                92,
                "retired",
                f"retired-secret:{path}",
                f"Delete {kv}/{path} from OpenBao once nothing needs its values "
                f"(`bao kv metadata delete -mount={kv} {path}` removes every version; {where})",
                {"mount": kv, "path": path},
                app.origin,
            )
        for slug in app.oidc:
            yield OperatorStep(
                93,
                "retired",
                f"retired-authentik:{slug}",
                f"Delete the Authentik application {slug!r} and its OAuth2/OpenID provider ({where})",
                {"slug": slug},
                app.origin,
            )
        for host in app.hosts:
            yield OperatorStep(
                94,
                "retired",
                f"retired-dns:{host}",
                f"Delete the DNS name {host} ({where})",
                {"host": host},
                app.origin,
            )
        for forward in app.port_forwards:
            namespace, service, protocol, port = forward.split("/")
            yield OperatorStep(
                95,
                "retired",
                f"retired-port-forward:{forward}",
                f"Remove the router's IPv4 {protocol} port {port} forward to LoadBalancer "
                f"{namespace}/{service} ({where})",
                {"namespace": namespace, "service": service, "protocol": protocol, "port": port},
                app.origin,
            )
        yield OperatorStep(
            96,
            "retired",
            f"retired-app:{app.name}",
            f"Delete the RetiredApp {app.name!r} declaration ({app.origin}) once the steps above are done",
            {"app": app.name},
            app.origin,
        )


FAMILY = Family(
    "retirement",
    exports=(
        RetiredApp,
        RetiredVolume,
    ),
    records=RETIREMENT_RECORDS,
    checks=(check_retirements,),
    steps=(retirement_steps,),
    removals=(
        refuse_unretired_volumes,
        refuse_unretired_apps,
        refuse_unknown_retirements,
    ),
    step_checks=(refuse_retiring_what_is_needed,),
)
