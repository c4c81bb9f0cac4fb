"""Versions: the pinning invariant, and the Renovate config that keeps apps.d current.

Renovate's own managers read YAML; klaster's versions live in Python. So klaster writes
`renovate.json` at the project root with regex managers over `apps.d/*.py` (derived from the
records that declare versions), ignores out/ (rebuilt by a post-upgrade task instead), and adds
the per-package rules declared next to each version.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from klaster_build.emit.outputs import Output
from klaster_build.errors import Problem
from klaster_build.family import Family
from klaster_build.graph import ProjectGraph
from klaster_build.project import APPS_DIR, Project
from klaster_build.records.base import Record
from klaster_build.records.helm import GitRepository, HelmRelease, HelmRepository
from klaster_build.records.infra import InfraComponent
from klaster_build.records.storage import Postgres
from klaster_build.records.workloads import Workload
from klaster_build.render_context import RenderContext
from klaster_build.versions import Version, image_version, pin_problem

SCHEMA = "https://docs.renovatebot.com/renovate-schema.json"
REBUILD_COMMAND = "./dev build"


def _workload_versions(workload: Workload) -> Iterator[Version]:
    for container in workload.containers:
        yield image_version(
            container.image, container.renovate, f"container {container.name!r} image"
        )


def _postgres_versions(db: Postgres) -> Iterator[Version]:
    if db.image is not None:
        yield image_version(db.image, db.renovate, "image")


def _release_versions(release: HelmRelease) -> Iterator[Version]:
    if isinstance(release.source, HelmRepository):
        yield Version(
            "helm",
            release.chart,
            release.version or "",
            None,
            release.source.url,
            release.renovate,
            "chart version",
        )


def _git_versions(repo: GitRepository) -> Iterator[Version]:
    yield Version("git-tags", repo.url, repo.tag, None, None, repo.renovate, "tag")


def _infra_versions(component: InfraComponent) -> Iterator[Version]:
    yield Version(
        "helm",
        component.chart,
        component.version,
        None,
        component.url,
        component.renovate,
        "chart version",
    )


# Which fields of which records are versions (looked up along the record's base classes).
_VERSIONS: dict[type, Callable[[Any], Iterator[Version]]] = {
    Workload: _workload_versions,
    Postgres: _postgres_versions,
    HelmRelease: _release_versions,
    GitRepository: _git_versions,
    InfraComponent: _infra_versions,
}


def versions_of(record: object) -> Iterator[Version]:
    """The versions a record declares."""
    for klass in type(record).__mro__:
        if klass in _VERSIONS:
            yield from _VERSIONS[klass](record)
            return


def _example(version: Version) -> str:
    return {"docker": f"{version.package}:1.2.3", "helm": "1.2.3", "git-tags": "v1.2.3"}[
        version.datasource
    ]


def check_pinned(project: Project, graph: ProjectGraph) -> Iterator[Problem]:
    """Every image, chart version and git tag is a full version or a digest."""
    for record in project.records:
        for version in versions_of(record):
            what = f"{type(record).__name__} {record.record_name!r} {version.field}"
            if version.datasource == "docker":
                what += f" {version.package!r}"
            problem = pin_problem(
                version.current, what, _example(version), version.renovate, version.digest
            )
            if problem:
                yield Problem.at(record, problem)


def managers(records: list[Record]) -> list[dict[str, Any]]:
    """Regex managers over apps.d/*.py: one for images, one per chart and git repository."""
    files = [f"/^{re.escape(APPS_DIR)}/[^/]+\\.py$/"]
    result: list[dict[str, Any]] = [
        {
            "customType": "regex",
            "description": 'container images declared in apps.d (image="repo:tag[@digest]")',
            "managerFilePatterns": files,
            "matchStrings": [
                'image\\s*=\\s*"(?<depName>[^"\\s:@]+(:[0-9]+)?(/[^"\\s:@]+)*):(?<currentValue>[^"\\s@]+)(@(?<currentDigest>sha256:[a-f0-9]{64}))?"'
            ],
            "datasourceTemplate": "docker",
        }
    ]
    seen: set[tuple[str, str, str]] = set()
    for record in records:
        for version in versions_of(record):
            key = (version.datasource, version.package, version.registry or "")
            if version.datasource == "docker" or key in seen:
                continue
            seen.add(key)
            origin_file = f"/^{re.escape(record.origin.path)}$/"
            if version.datasource == "helm":
                chart = re.escape(version.package)
                result.append(
                    {
                        "customType": "regex",
                        "description": f"chart {version.package} from {version.registry}",
                        "managerFilePatterns": [origin_file],
                        "matchStrings": [
                            f'chart\\s*=\\s*"{chart}"[^)]*?version\\s*=\\s*"(?<currentValue>[^"]+)"',
                            f'version\\s*=\\s*"(?<currentValue>[^"]+)"[^)]*?chart\\s*=\\s*"{chart}"',
                        ],
                        "datasourceTemplate": "helm",
                        "depNameTemplate": version.package,
                        "registryUrlTemplate": version.registry,
                    }
                )
            else:
                url = re.escape(version.package)
                result.append(
                    {
                        "customType": "regex",
                        "description": f"git tags of {version.package}",
                        "managerFilePatterns": [origin_file],
                        "matchStrings": [
                            f'url\\s*=\\s*"{url}"[^)]*?tag\\s*=\\s*"(?<currentValue>[^"]+)"'
                        ],
                        "datasourceTemplate": "git-tags",
                        "depNameTemplate": version.package,
                    }
                )
    return result


def package_rules(records: list[Record]) -> list[dict[str, Any]]:
    """The guideline's global rule, then the per-package settings declared in apps.d."""
    rules: list[dict[str, Any]] = [
        {
            "description": "patch updates merge themselves (guideline)",
            "matchUpdateTypes": ["patch"],
            "automerge": True,
            "automergeType": "pr",
            "platformAutomerge": True,
        }
    ]
    seen: set[str] = set()
    for record in records:
        for version in versions_of(record):
            settings = version.renovate
            if settings is None or version.package in seen:
                continue
            seen.add(version.package)
            rule: dict[str, Any] = {
                "description": f"declared at {record.origin}",
                "matchDatasources": [version.datasource],
                "matchPackageNames": [version.package],
            }
            if settings.versioning:
                rule["versioning"] = settings.versioning
            if settings.automerge:
                rule.update({"automerge": True, "automergeType": "pr", "platformAutomerge": True})
            rules.append(rule)
    return rules


def renovate_config(records: list[Record], out_dir: str) -> dict[str, Any]:
    """The whole renovate.json."""
    return {
        "$schema": SCHEMA,
        "description": [
            "Generated by klaster from apps.d/*.py; do not edit: change apps.d and run 'klaster build'.",
            f"Versions live in apps.d; {out_dir}/ is rebuilt by the post-upgrade task, never edited by Renovate.",
        ],
        # custom.regex: the versions of apps.d/*.py; kubernetes: images in raw manifests under
        # apps.d (its patterns are empty by default); woodpecker: CI step images (.woodpecker/).
        "enabledManagers": ["custom.regex", "kubernetes", "woodpecker"],
        "kubernetes": {"managerFilePatterns": [f"/^{re.escape(APPS_DIR)}/.+\\.ya?ml$/"]},
        "ignorePaths": [f"{out_dir}/**"],
        "prHourlyLimit": 9,
        "customManagers": managers(records),
        "packageRules": package_rules(records),
        "postUpgradeTasks": {
            "commands": [REBUILD_COMMAND],
            "fileFilters": [f"{out_dir}/**", "renovate.json"],
            "executionMode": "branch",
        },
    }


def renovate_index(by_path: dict[str, list[Output]], ctx: RenderContext) -> Iterator[Output]:
    """/renovate.json at the project root."""
    records = ctx.records()
    text = json.dumps(renovate_config(records, ctx.cluster.out_dir), indent=2) + "\n"
    yield Output("/renovate.json", ctx.cluster, text=text, header=False)


FAMILY = Family(
    "renovate",
    checks=(check_pinned,),
    indexers=(renovate_index,),
)
