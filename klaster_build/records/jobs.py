"""Workloads that run to completion: Job (once) and CronJob (on a schedule)."""

from __future__ import annotations

import re
from typing import Any

import attrs

from klaster_build.errors import DeclarationError, Mistake
from klaster_build.records.workloads import Workload
from klaster_build.validators import non_negative_int, one_of, optional, output_file, text

# The fields of a cron schedule: name, lowest and highest value, names allowed instead of numbers.
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 6, _DAYS),
)
# The shorthands Kubernetes accepts besides five fields (kubernetes.io/docs/concepts/workloads/
# controllers/cron-jobs/#schedule-syntax).
CRON_MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
_CRON_EXAMPLE = (
    "'minute hour day-of-month month day-of-week', e.g. '0 3 * * *' (03:00 daily) or '@daily'"
)
CRONJOB_NAME_MAX = 52
_RANGE = re.compile(r"^(?P<start>[^-/]+)(-(?P<end>[^-/]+))?(/(?P<step>[0-9]+))?$")


def _cron_value(text_value: str, low: int, high: int, names: tuple[str, ...]) -> int | None:
    """A number or name in range; None when it is neither."""
    if text_value.isdigit():
        number = int(text_value)
        # Day of week 7 is Sunday, as in cron.
        if low <= number <= high or (names == _DAYS and number == 7):
            return number
        return None
    upper = text_value.upper()
    if upper in names:
        return names.index(upper) + (low if names == _MONTHS else 0)
    return None


def cron_field_problem(
    field: str, name: str, low: int, high: int, names: tuple[str, ...]
) -> str | None:
    """Why one field of a schedule is wrong, or None when it is right."""
    for part in field.split(","):
        whole, _, step = part.partition("/")
        if whole in ("*", "?") and (not step or step.isdigit()):
            if step and int(step) == 0:
                return f"the {name} field {field!r} has a step of 0"
            continue
        match = _RANGE.match(part)
        if match is None:
            return (
                f"the {name} field {field!r} is not a value, range (1-5), list (1,3) or step (*/15)"
            )
        start = _cron_value(match["start"], low, high, names)
        end = _cron_value(match["end"], low, high, names) if match["end"] else start
        shown = f"{low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
        if start is None or end is None:
            return f"the {name} field {field!r} is out of range: {name} is {shown}"
        if end < start:
            return f"the {name} field {field!r} has a range that ends before it starts"
        if match["step"] is not None and int(match["step"]) == 0:
            return f"the {name} field {field!r} has a step of 0"
    return None


def cron_schedule(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """A cron schedule Kubernetes accepts: five fields or one of the @ shorthands."""
    text(128)(inst, attribute, value)
    if value in CRON_MACROS:
        return
    fields = value.split()
    problem: str | None
    if len(fields) != 5:
        problem = f"has {len(fields)} fields, not 5"
        if value.startswith("@"):
            problem = f"{value!r} is not one of {', '.join(sorted(CRON_MACROS))}"
    else:
        problem = next(
            (
                found
                for field, (name, low, high, names) in zip(fields, CRON_FIELDS, strict=True)
                if (found := cron_field_problem(field, name, low, high, names))
            ),
            None,
        )
    if problem:
        raise DeclarationError(
            Mistake(
                f"{value!r}: {problem}",
                record=type(inst).__name__,
                field="schedule",
                instead=f"a schedule is {_CRON_EXAMPLE}",
            )
        )


@attrs.frozen(kw_only=True, eq=False)
class Batch(Workload):
    """What Job and CronJob share: pods that run to completion."""

    # Never: a failed pod is kept (its logs too) and a new one started; OnFailure: restart in place.
    restart_policy: str = attrs.field(default="Never", validator=one_of({"Never", "OnFailure"}))
    # Retries before the Job counts as failed (Kubernetes' default 6 when None).
    backoff_limit: int | None = attrs.field(default=None, validator=optional(non_negative_int))


@attrs.frozen(kw_only=True, eq=False)
class Job(Batch):
    """Pods that run to completion once (a migration, a bootstrap step).

    A Job's pod template cannot be changed in the cluster, so klaster marks it for Flux to
    replace (`kustomize.toolkit.fluxcd.io/force: enabled`): a changed Job (a new image) runs again.

    Example:
        Job("migrate", backoff_limit=2, containers=[Container("migrate",
            image="ghcr.io/example/migrate:1.4.0", args=["up"])])
    """

    file: str = attrs.field(default="job.yaml", validator=output_file)


@attrs.frozen(kw_only=True, eq=False)
class CronJob(Batch):
    """A Job started on a schedule (`schedule="0 3 * * *"` or `"@daily"`); by default a run is
    skipped while the previous one still runs (`concurrency_policy="Forbid"`).

    Example:
        CronJob("renovate", schedule="@daily", containers=[Container("renovate",
                image="renovate/renovate:42.84.1-full")])
    """

    schedule: str = attrs.field(validator=cron_schedule)
    concurrency_policy: str = attrs.field(
        default="Forbid", validator=one_of({"Allow", "Forbid", "Replace"})
    )
    file: str = attrs.field(default="cronjob.yaml", validator=output_file)

    def __attrs_post_init__(self) -> None:
        # The controller names each Job `<name>-<11 characters>` within 63, so the API server
        # refuses a longer name (kubernetes pkg/apis/batch/validation/validation.go,
        # ValidateCronJobCreate: DNS1035LabelMaxLength-11).
        if len(self.name) > CRONJOB_NAME_MAX:
            raise DeclarationError(
                Mistake(
                    f"is {len(self.name)} characters",
                    record="CronJob",
                    field="name",
                    instead=f"a CronJob's name has at most {CRONJOB_NAME_MAX} (each Job it starts "
                    f"adds 11): shorten it by {len(self.name) - CRONJOB_NAME_MAX}",
                )
            )
        super().__attrs_post_init__()
