"""Job and CronJob documents; their pods come from the one pod template of every workload."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from klaster_build.emit.outputs import Output, app_object
from klaster_build.emit.pods import pod_template
from klaster_build.family import Family
from klaster_build.records.jobs import Batch, CronJob, Job
from klaster_build.render_context import RenderContext

# Flux replaces an object carrying this when an update fails on an immutable field, as a Job's
# pod template is (fluxcd/kustomize-controller@docs/spec/v1/kustomizations.md; fluxcd.io/flux/
# use-cases/running-jobs): a changed Job is recreated, and so runs again.
FLUX_FORCE = {"kustomize.toolkit.fluxcd.io/force": "enabled"}


def job_spec(batch: Batch, ctx: RenderContext) -> dict[str, Any]:
    """The Job spec a Job or a CronJob's jobTemplate holds."""
    spec: dict[str, Any] = {}
    if batch.backoff_limit is not None:
        spec["backoffLimit"] = batch.backoff_limit
    template = pod_template(batch, ctx)
    template["spec"]["restartPolicy"] = batch.restart_policy
    spec["template"] = template
    return spec


def emit_job(job: Job, ctx: RenderContext) -> Iterator[Output]:
    """batch/v1 Job, replaced by Flux when it changes."""
    yield app_object(
        job,
        ctx,
        "batch/v1",
        "Job",
        {
            "spec": job_spec(job, ctx),
        },
        annotations=dict(FLUX_FORCE),
    )


def emit_cronjob(cronjob: CronJob, ctx: RenderContext) -> Iterator[Output]:
    """batch/v1 CronJob (its spec can change in place: no replacement needed)."""
    yield app_object(
        cronjob,
        ctx,
        "batch/v1",
        "CronJob",
        {
            "spec": {
                "schedule": cronjob.schedule,
                "concurrencyPolicy": cronjob.concurrency_policy,
                "jobTemplate": {"spec": job_spec(cronjob, ctx)},
            },
        },
    )


FAMILY = Family(
    "jobs",
    exports=(
        CronJob,
        Job,
    ),
    records=(Job, CronJob),
    emitters={Job: emit_job, CronJob: emit_cronjob},
)
