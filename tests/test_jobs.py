"""Job, CronJob and DaemonSet: the real repo's Renovate CronJob, one pod template for every
workload, cron schedules checked like Kubernetes does, and the host network's exemption."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from conftest import ProjectDir, one_located_error
from hypothesis import given
from hypothesis import strategies as st
from test_exposure import _with_talos

from klaster_build.engine import load
from klaster_build.errors import DeclarationError
from klaster_build.graph import build_graph
from klaster_build.records.jobs import CRON_FIELDS, CRON_MACROS, cron_schedule

REAL = Path(__file__).resolve().parents[2] / "shared" / "reference" / "klaster" / "apps"

RENOVATE = """\
from klaster_build.dsl import *

config = ConfigMap("renovate-config", data={"RENOVATE_PLATFORM": "gitea"})
CronJob("renovate", schedule="@daily", containers=[Container("renovate",
        image="renovate/renovate:42.84.1-full",
        extra={"envFrom": [{"secretRef": {"name": "renovate-gitea-token"}},
                           {"configMapRef": {"name": config}}]})])
"""


def _docs(project: ProjectDir, relative: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(project.file(relative)) if d]


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/reference is not beside the checkout")
def test_cronjob_equals_the_real_renovate_cronjob(project: ProjectDir, run) -> None:
    """The real repo's CronJob, plus the `app` label klaster gives every workload's pods."""
    project.app("renovate", RENOVATE)
    code, _, err = run("build")
    assert code == 0, err
    (cronjob,) = _docs(project, "out/apps/renovate/cronjob.yaml")
    (real,) = yaml.safe_load_all((REAL / "renovate" / "cronjob.yaml").read_text())
    expected = copy.deepcopy(real)
    expected["spec"]["jobTemplate"]["spec"]["template"]["metadata"] = {
        "labels": {"app": "renovate"}
    }
    assert cronjob == expected
    listed = yaml.safe_load(project.file("out/apps/renovate/kustomization.yaml"))["resources"]
    assert listed == ["namespace.yaml", "configmap.yaml", "cronjob.yaml"]


def test_job_is_replaced_by_flux_and_shares_the_pod_template(project: ProjectDir, run) -> None:
    """A Job's pods get what a Deployment's get (volumes from mounts, the service account,
    probes, security context), plus its restart policy; Flux may replace it."""
    project.app(
        "migrate",
        """\
        from klaster_build.dsl import *

        data = Volume("data", size="1Gi", tier="ssd")
        runner = ServiceAccount("migrator")
        pod = dict(service_account=runner, security_context=PodSecurityContext(fs_group=1000),
                   containers=[Container("migrate", image="ghcr.io/example/migrate:1.4.0",
                                         mounts={"/data": data.claim},
                                         security_context=SecurityContext(run_as_user=1000))])
        Job("migrate", backoff_limit=2, restart_policy="OnFailure", **pod)
        Deployment("server", **pod)
        """,
    )
    code, _, err = run("build")
    assert code == 0, err
    (job,) = _docs(project, "out/apps/migrate/job.yaml")
    (deployment,) = _docs(project, "out/apps/migrate/deployment.yaml")
    assert job["apiVersion"] == "batch/v1"
    assert job["metadata"] == {
        "name": "migrate",
        "namespace": "migrate",
        "annotations": {"kustomize.toolkit.fluxcd.io/force": "enabled"},
    }
    assert job["spec"]["backoffLimit"] == 2
    job_pod = job["spec"]["template"]["spec"]
    assert job_pod.pop("restartPolicy") == "OnFailure"
    assert job_pod == deployment["spec"]["template"]["spec"]
    assert job_pod["serviceAccountName"] == "migrator"
    assert job_pod["securityContext"] == {"fsGroup": 1000}
    assert job_pod["containers"][0]["securityContext"] == {"runAsUser": 1000}
    assert job_pod["volumes"] == [
        {
            "name": "migrate-data-lvmssd",
            "persistentVolumeClaim": {"claimName": "migrate-data-lvmssd"},
        }
    ]
    graph = build_graph(load(project.root))
    edges = {(a.address, b.address) for a, b, _ in graph.edges}
    assert ("migrate/ServiceAccount/migrator", "migrate/Job/migrate") in edges
    assert ("migrate/PersistentVolumeClaim/migrate-data-lvmssd", "migrate/Job/migrate") in edges


def test_daemonset_document_and_its_service(project: ProjectDir, run) -> None:
    """apps/v1 DaemonSet without replicas; a Service selects its pods."""
    project.app(
        "exporter",
        """\
        from klaster_build.dsl import *

        agent = DaemonSet("node-exporter", containers=[Container("node-exporter",
                          image="quay.io/prometheus/node-exporter:v1.9.1", ports={"metrics": 9100},
                          liveness=Probe(http_get="/", port="metrics"))])
        Service("node-exporter", workload=agent, ports={"metrics": 9100})
        """,
    )
    code, _, err = run("build")
    assert code == 0, err
    (daemonset,) = _docs(project, "out/apps/exporter/daemonset.yaml")
    assert daemonset == {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "node-exporter", "namespace": "exporter"},
        "spec": {
            "selector": {"matchLabels": {"app": "node-exporter"}},
            "template": {
                "metadata": {"labels": {"app": "node-exporter"}},
                "spec": {
                    "containers": [
                        {
                            "name": "node-exporter",
                            "image": "quay.io/prometheus/node-exporter:v1.9.1",
                            "ports": [
                                {"name": "metrics", "containerPort": 9100, "protocol": "TCP"}
                            ],
                            "livenessProbe": {"httpGet": {"path": "/", "port": "metrics"}},
                        }
                    ]
                },
            },
        },
    }
    (service,) = _docs(project, "out/apps/exporter/service.yaml")
    assert service["spec"]["selector"] == {"app": "node-exporter"}


def test_host_network_needs_the_namespace_exemption(project: ProjectDir, run, no_color) -> None:
    """hostNetwork breaks the baseline PodSecurity level: an error without Talos settings, the
    namespace's exemption patch with them."""
    project.app(
        "exporter",
        """\
        from klaster_build.dsl import *

        DaemonSet("node-exporter", host_network=True, containers=[Container("node-exporter",
                  image="quay.io/prometheus/node-exporter:v1.9.1")])
        """,
    )
    code, _, err = run("build")
    assert code == 2
    assert err.startswith(
        "apps.d/exporter.py:3: error: privileged pods need a PodSecurity exemption in the Talos config"
    )
    _with_talos(project)
    code, _, err = run("build")
    assert code == 0, err
    patch = yaml.safe_load(project.file("out/talos/patches/exporter.patch"))
    exemptions = patch["cluster"]["apiServer"]["admissionControl"][0]["configuration"]["exemptions"]
    assert exemptions == {"namespaces": ["exporter"]}
    (daemonset,) = _docs(project, "out/apps/exporter/daemonset.yaml")
    assert daemonset["spec"]["template"]["spec"]["hostNetwork"] is True


def _accepts(schedule: str) -> str | None:
    """None when the schedule is accepted, else the error."""

    class CronJob:  # what the message names
        pass

    try:
        cron_schedule(CronJob(), None, schedule)  # type: ignore[arg-type]
    except DeclarationError as error:
        return str(error)
    return None


def _field(low: int, high: int, names: tuple[str, ...]) -> st.SearchStrategy[str]:
    value = st.integers(low, high)
    named = st.sampled_from(names) if names else value.map(str)
    return st.one_of(
        st.just("*"),
        value.map(str),
        named.map(str),
        st.tuples(value, value).map(lambda t: f"{min(t)}-{max(t)}"),
        st.tuples(value, st.integers(1, 30)).map(lambda t: f"{t[0]}-{high}/{t[1]}"),
        st.integers(1, 30).map(lambda step: f"*/{step}"),
        st.lists(value, min_size=2, max_size=4).map(lambda v: ",".join(map(str, v))),
    )


SCHEDULES = st.tuples(*(_field(low, high, names) for _, low, high, names in CRON_FIELDS)).map(
    " ".join
)


@given(schedule=SCHEDULES)
def test_every_well_formed_schedule_is_accepted(schedule: str) -> None:
    """Values, names, ranges, steps and lists within each field's range."""
    assert _accepts(schedule) is None


@given(
    schedule=SCHEDULES,
    position=st.integers(0, 4),
    excess=st.integers(1, 100),
)
def test_a_value_out_of_range_names_its_field(schedule: str, position: int, excess: int) -> None:
    """A number above a field's highest value is refused, and the message names the field."""
    name, _, high, names = CRON_FIELDS[position]
    fields = schedule.split()
    # Day of week 7 is Sunday: the first refused value is 8.
    fields[position] = str(high + excess + (1 if names and names[0] == "SUN" else 0))
    error = _accepts(" ".join(fields))
    assert error is not None
    assert f"the {name} field" in error and "out of range" in error


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        ("0 3 * *", "has 4 fields, not 5"),
        ("0 0 3 * * *", "has 6 fields, not 5"),
        ("@nightly", "'@nightly' is not one of @annually, @daily"),
        ("60 * * * *", "the minute field '60' is out of range: minute is 0-59"),
        ("* * 0 * *", "the day of month field '0' is out of range: day of month is 1-31"),
        ("* * * FOO * ", "the month field 'FOO' is out of range: month is 1-12 or JAN-DEC"),
        ("5-1 * * * *", "the minute field '5-1' has a range that ends before it starts"),
        ("*/0 * * * *", "the minute field '*/0' has a step of 0"),
        ("*/x * * * *", "the minute field '*/x' is not a value, range"),
        ("1-5/0 * * * *", "the minute field '1-5/0' has a step of 0"),
    ],
)
def test_bad_schedules_say_what_is_wrong(schedule: str, problem: str) -> None:
    """Each mistake is named, with the shape of a schedule."""
    error = _accepts(schedule)
    assert error is not None and problem in error, error
    assert "a schedule is 'minute hour day-of-month month day-of-week'" in error


def test_macros_and_names_are_accepted() -> None:
    """Kubernetes' shorthands, month and day names in any case, day of week 7 (Sunday)."""
    for schedule in [*sorted(CRON_MACROS), "0 9 * jan-mar MON-FRI", "30 2 1,15 * 7", "0 */6 ? * *"]:
        assert _accepts(schedule) is None, schedule


def test_cronjob_schedule_error_is_located(project: ProjectDir, run, no_color) -> None:
    """The line of the CronJob, the field, and a valid example."""
    project.app(
        "nightly",
        """\
        from klaster_build.dsl import *

        CronJob("cleanup", schedule="0 25 * * *",
                containers=[Container("cleanup", image="busybox:1.37.0")])
        """,
    )
    code, _, err = run("build")
    assert code == 2
    assert err.startswith(
        "apps.d/nightly.py:3: error: CronJob 'schedule' '0 25 * * *': the hour field '25' is out "
        "of range: hour is 0-23; a schedule is 'minute hour day-of-month month day-of-week', "
        "e.g. '0 3 * * *' (03:00 daily) or '@daily'"
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "Job('j', replicas=2, containers=[Container('c', image='x/y:1.0.0')])",
            "Job has no argument 'replicas'",
        ),
        (
            f"CronJob('{'c' * 53}', schedule='@daily', containers=[Container('c', image='x/y:1.0.0')])",
            "CronJob 'name' is 53 characters; a CronJob's name has at most 52 (each Job it starts adds 11): shorten it by 1",
        ),
        (
            "Job('j', restart_policy='Always', containers=[Container('c', image='x/y:1.0.0')])",
            "Job 'restart_policy' must be one of ['Never', 'OnFailure'], got 'Always'",
        ),
        (
            "Service('s', workload=Job('j', containers=[Container('c', image='x/y:1.0.0')]))",
            "Service 'workload' must be a Deployment, StatefulSet or DaemonSet, got Job",
        ),
        (
            "DaemonSet('d', pod_extra={'hostNetwork': True}, containers=[Container('c', image='x/y:1.0.0')])",
            "DaemonSet 'pod_extra' must not set 'hostNetwork': write host_network=True instead",
        ),
        (
            "Job('j', pod_extra={'restartPolicy': 'Never'}, containers=[Container('c', image='x/y:1.0.0')])",
            "Job 'pod_extra' must not set 'restartPolicy': write restart_policy= of a Job or CronJob instead",
        ),
    ],
)
def test_wrong_workload_arguments(
    project: ProjectDir, run, no_color, source: str, expected: str
) -> None:
    """Arguments a kind does not have, or values it cannot take, are one located error."""
    err = one_located_error(project, run, f"from klaster_build.dsl import *\n{source}\n")
    assert err.startswith(f"apps.d/x.py:2: error: {expected}"), err
