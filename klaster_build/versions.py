"""Pinned versions: every image, chart version and git tag is a full version or a digest.

The renovate family says which fields of which records are versions, so the pinning check and the
Renovate config both come from one table. A `Renovate(...)` setting next to the version gives a
package its own versioning scheme (which also tells the pinning check the tag is complete) or
automerge.
"""

from __future__ import annotations

import re

import attrs

from klaster_build.errors import Mistake
from klaster_build.validators import instance_of, optional, text

FLOATING = frozenset(
    {
        "latest",
        "stable",
        "current",
        "main",
        "master",
        "edge",
        "nightly",
        "dev",
        "develop",
        "rolling",
        "head",
        "lts",
        "release",
        "beta",
        "alpha",
        "canary",
        "next",
        "unstable",
        "testing",
    }
)
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
# `1`, `1.2`, `v1`, `v1.2`, optionally with a variant word (`1-alpine`, `3.23-alpine`); a suffix
# with digits is a build number (`v197-vulkan-b8202`) and pins.
_SLIDING = re.compile(r"^v?\d+(\.\d+)?(-[A-Za-z]+)*$")
# `2.10`, `v24.11-alpine`: a complete version in projects that release two-part versions.
_TWO_PART = re.compile(r"^(v?)\d+\.\d+((?:-[A-Za-z]+)*)$")


@attrs.frozen(kw_only=True)
class Renovate:
    """Per-package Renovate settings, declared next to the version they govern.

    Example:
        Deployment("llama-swap", containers=[Container(
            "llama-swap",
            image="ghcr.io/mostlygeek/llama-swap:v197-vulkan-b8202",
            renovate=Renovate(versioning=r"regex:^v(?<major>\\d+)-vulkan-b(?<patch>\\d+)$", automerge=True),
        )])
    """

    versioning: str | None = attrs.field(default=None, validator=optional(text(500)))
    automerge: bool = attrs.field(default=False, validator=instance_of(bool))


@attrs.frozen
class Version:
    """One pinned version found in a record: what Renovate must track, and where."""

    datasource: str  # docker | helm | git-tags
    package: str  # image repository, chart name, or git URL
    current: str  # the tag / version (without digest)
    digest: str | None
    registry: str | None  # the Helm repository URL for charts
    renovate: Renovate | None
    field: str  # the record field that holds it, for messages


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """`repo[:tag][@sha256:...]` -> (repo, tag, digest)."""
    digest = None
    if "@" in image:
        image, digest = image.split("@", 1)
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # no tag: the colon belonged to a registry port
        return image, None, digest
    return name, tag, digest


def pin_problem(
    value: str, what: str, example: str, renovate: Renovate | None = None, digest: str | None = None
) -> Mistake | None:
    """Why `value` is not a pinned version, with what to write instead; None when it is pinned.
    `what` names the record's version field ("Deployment 'web' image 'nginx'")."""
    if digest is not None:
        if _DIGEST.fullmatch("@" + digest):
            return None
        return Mistake(
            f"digest {digest!r} is not a sha256 digest (@sha256:<64 hex digits>)", record=what
        )
    pin = f"pin a full version such as {example!r}, or a digest as the last resort"
    if not value:
        return Mistake("has no version", record=what, instead=pin)
    if value.lower() in FLOATING:
        return Mistake(
            f"{value!r} is a floating tag that never changes name", record=what, instead=pin
        )
    if renovate is not None and renovate.versioning:
        return None  # the package declares its own scheme; its tags are complete in it
    if _SLIDING.fullmatch(value) or not re.search(r"\d", value):
        two_part = _TWO_PART.fullmatch(value)
        if two_part:
            scheme = f"regex:^{two_part[1]}(?<major>\\d+)\\.(?<minor>\\d+){two_part[2]}$"
            pin += (
                f"; if the project releases two-part versions and {value!r} is a complete one, "
                f"say so with renovate=Renovate(versioning={scheme!r})"
            )
        return Mistake(f"{value!r} slides to newer releases", record=what, instead=pin)
    return None


def image_version(image: str, renovate: Renovate | None, field: str) -> Version:
    """A docker image as a Version."""
    repository, tag, digest = split_image(image)
    return Version("docker", repository, tag or "", digest, None, renovate, field)
