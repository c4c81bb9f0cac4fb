"""Container probes, security contexts and the host network: rendered as Kubernetes spells them,
checked when declared, and exempting the namespace exactly when the baseline Pod Security
Standard (which Talos enforces) would refuse the pods."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from conftest import ProjectDir, one_located_error
from hypothesis import given
from hypothesis import strategies as st
from test_exposure import _project

from klaster_build.cli import main
from klaster_build.records.pods import BASELINE_CAPABILITIES, CAPABILITIES


def _pod(project: ProjectDir, app: str, file: str = "deployment.yaml") -> dict:
    (document,) = [d for d in yaml.safe_load_all(project.file(f"out/apps/{app}/{file}")) if d]
    return document["spec"]["template"]["spec"]


def test_probes_render_each_action_with_the_timings_given(project: ProjectDir, run) -> None:
    """http_get, tcp and exec, by port name or number; only the given timings are written."""
    project.app(
        "web",
        """\
        from klaster_build.dsl import *

        Deployment("web", containers=[Container("web", image="nginx:1.27.3", ports={"http": 80},
            readiness=Probe(http_get="/ready", port="http", period=5),
            liveness=Probe(tcp=True, port=80, initial_delay=30, timeout=2, failure_threshold=4),
            startup=Probe(exec=["cat", "/tmp/started"], period=1, failure_threshold=60))])
        """,
    )
    code, _, err = run("build")
    assert code == 0, err
    container = _pod(project, "web")["containers"][0]
    assert container["readinessProbe"] == {
        "httpGet": {"path": "/ready", "port": "http"},
        "periodSeconds": 5,
    }
    assert container["livenessProbe"] == {
        "tcpSocket": {"port": 80},
        "initialDelaySeconds": 30,
        "timeoutSeconds": 2,
        "failureThreshold": 4,
    }
    assert container["startupProbe"] == {
        "exec": {"command": ["cat", "/tmp/started"]},
        "periodSeconds": 1,
        "failureThreshold": 60,
    }
    assert list(container)[-3:] == ["readinessProbe", "livenessProbe", "startupProbe"]


def test_security_contexts_of_pod_and_container(project: ProjectDir, run) -> None:
    """Pod and container settings under their Kubernetes names; unset ones are left out."""
    project.app(
        "static",
        """\
        from klaster_build.dsl import *

        Deployment("static",
            security_context=PodSecurityContext(run_as_user=101, run_as_group=101, fs_group=101,
                                                run_as_non_root=True),
            init_containers=[Container("init", image="busybox:1.37.0",
                                       security_context=SecurityContext(run_as_user=0))],
            containers=[Container("nginx", image="nginxinc/nginx-unprivileged:1.29.1",
                security_context=SecurityContext(read_only_root_filesystem=True,
                    privilege_escalation=False, add_capabilities=["NET_BIND_SERVICE"],
                    drop_capabilities=["ALL"]))])
        """,
    )
    code, _, err = run("build")
    assert code == 0, err
    pod = _pod(project, "static")
    assert pod["securityContext"] == {
        "runAsUser": 101,
        "runAsGroup": 101,
        "runAsNonRoot": True,
        "fsGroup": 101,
    }
    assert pod["initContainers"][0]["securityContext"] == {"runAsUser": 0}
    assert pod["containers"][0]["securityContext"] == {
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
    }
    assert not (project.out / "talos").exists()  # NET_BIND_SERVICE is within baseline


def test_host_devices_and_a_privileged_context_render_one_security_context(
    project: ProjectDir, run
) -> None:
    """A device's implied privilege merges with the declared settings."""
    project.app(
        "gpu",
        """\
        from klaster_build.dsl import *

        Deployment("gpu", containers=[Container("gpu", image="jellyfin/jellyfin:10.10.7",
            devices=[HostDevice("/dev/dri", "Directory")],
            security_context=SecurityContext(run_as_user=1000))])
        """,
    )
    (project.root / "klasterfile.py").unlink()
    _project_files(project.root)
    code, _, err = run("build")
    assert code == 0, err
    assert _pod(project, "gpu")["containers"][0]["securityContext"] == {
        "runAsUser": 1000,
        "privileged": True,
    }


def _project_files(root: Path) -> None:
    """The klasterfile with Talos settings, keeping the apps."""
    apps = {p.name: p.read_text() for p in (root / "apps.d").glob("*.py")}
    _project(root)
    for name, text in apps.items():
        (root / "apps.d" / name).write_text(text)


CONTAINER = st.fixed_dictionaries(
    {},
    optional={
        "privileged": st.sampled_from([True, False, None]),
        "add": st.lists(st.sampled_from(sorted(CAPABILITIES - {"ALL"})), max_size=2, unique=True),
    },
)


@given(
    containers=st.lists(CONTAINER, min_size=1, max_size=3),
    host_network=st.booleans(),
    kind=st.sampled_from(["Deployment", "DaemonSet", "Job"]),
)
def test_the_namespace_is_exempted_exactly_when_baseline_would_refuse_the_pods(
    scratch: Path, containers: list[dict], host_network: bool, kind: str
) -> None:
    """A privileged container, a capability baseline does not allow, or the host network: the
    app's Talos patch is written and listed in the Makefile; anything else: neither."""
    root = scratch / "exempt"
    if root.exists():
        shutil.rmtree(root)
    _project(root)
    declared = []
    for index, container in enumerate(containers):
        security = []
        if container.get("privileged") is not None:
            security.append(f"privileged={container['privileged']}")
        if container.get("add"):
            security.append(f"add_capabilities={container['add']!r}")
        context = f", security_context=SecurityContext({', '.join(security)})" if security else ""
        declared.append(f"Container('c{index}', image='busybox:1.37.0'{context})")
    (root / "apps.d" / "app.py").write_text(
        "from klaster_build.dsl import *\n"
        f"{kind}('w', host_network={host_network}, containers=[{', '.join(declared)}])\n"
    )
    assert main(["-C", str(root), "build"]) == 0
    refused = host_network or any(
        c.get("privileged") or set(c.get("add", ())) - BASELINE_CAPABILITIES for c in containers
    )
    assert (root / "out" / "talos" / "patches" / "app.patch").exists() == refused
    assert ("out/talos/patches/app.patch" in (root / "out" / "Makefile").read_text()) == refused


HEAD = "from klaster_build.dsl import *\n"
C = "Container('c', image='x/y:1.0.0', ports={'http': 80}"
BAD = [
    (
        "probe-port-not-declared",
        f"{C}, readiness=Probe(http_get='/', port='web'))\n",
        "Container 'c' readiness probe uses port 'web', which the container does not declare; its ports: ['http'] (or give a number)",
    ),
    (
        "probe-two-actions",
        "Probe(http_get='/', tcp=True, port=80)\n",
        "Probe needs exactly one of http_get='/path', tcp=True or exec=['cmd', ...], got http_get, tcp",
    ),
    (
        "probe-no-action",
        "Probe(port=80)\n",
        "Probe needs exactly one of http_get='/path', tcp=True or exec=['cmd', ...], got none",
    ),
    (
        "probe-without-port",
        "Probe(http_get='/health')\n",
        "Probe with http_get= needs port= (a port name of the container, or a number)",
    ),
    (
        "probe-path-without-slash",
        "Probe(http_get='health', port=80)\n",
        "Probe 'http_get' is the path to GET and starts with '/', got 'health'",
    ),
    (
        "probe-exec-with-port",
        "Probe(exec=['true'], port=80)\n",
        "Probe with exec= runs a command and takes no port; drop port=",
    ),
    (
        "probe-zero-period",
        "Probe(tcp=True, port=80, period=0)\n",
        "Probe 'period' must be a whole number larger than 0, got 0",
    ),
    (
        "probe-as-dict",
        f"{C}, liveness={{'httpGet': {{'path': '/'}}}})\n",
        "Container 'liveness' must be Probe(...), got dict",
    ),
    (
        "probe-in-extra",
        f"{C}, extra={{'livenessProbe': {{}}}})\n",
        "Container 'extra' must not set 'livenessProbe': write liveness=Probe(...) instead",
    ),
    (
        "security-context-in-extra",
        f"{C}, extra={{'securityContext': {{'privileged': True}}}})\n",
        "Container 'extra' must not set 'securityContext': write security_context=SecurityContext(...) instead",
    ),
    (
        "pod-security-context-on-a-container",
        f"{C}, security_context=PodSecurityContext(fs_group=1))\n",
        "Container 'security_context' must be SecurityContext(...), got PodSecurityContext",
    ),
    (
        "capability-with-prefix",
        "SecurityContext(add_capabilities=['CAP_NET_ADMIN'])\n",
        "SecurityContext 'add_capabilities': 'CAP_NET_ADMIN' is not a Linux capability; write 'NET_ADMIN'",
    ),
    (
        "non-root-as-root",
        "PodSecurityContext(run_as_user=0, run_as_non_root=True)\n",
        "PodSecurityContext: run_as_non_root=True with run_as_user=0 never starts (user 0 is root); give a non-zero run_as_user",
    ),
    (
        "privileged-without-escalation",
        "SecurityContext(privileged=True, privilege_escalation=False)\n",
        "SecurityContext: a privileged container can always escalate privileges",
    ),
    (
        "devices-but-not-privileged",
        "Container('c', image='x/y:1.0.0', devices=[HostDevice('/dev/dri', 'Directory')], security_context=SecurityContext(privileged=False))\n",
        "Container 'c': host devices need a privileged container; drop privileged=False or devices=",
    ),
    (
        "host-pid",
        "Deployment('d', pod_extra={'hostPID': True}, containers=[Container('c', image='x/y:1.0.0')])\n",
        "Deployment 'pod_extra' must not set 'hostPID': klaster does not share the host's process or IPC namespace with pods",
    ),
    (
        "service-account-in-pod-extra",
        "Deployment('d', pod_extra={'serviceAccountName': 'x'}, containers=[Container('c', image='x/y:1.0.0')])\n",
        "Deployment 'pod_extra' must not set 'serviceAccountName': write service_account=ServiceAccount(...) instead",
    ),
]


@pytest.mark.parametrize(("case", "source", "expected"), BAD, ids=[c[0] for c in BAD])
def test_bad_pod_settings_are_one_located_error(
    project: ProjectDir, run, no_color, case: str, source: str, expected: str
) -> None:
    """Exit 2 at the declaring line, what to write instead, nothing written."""
    err = one_located_error(project, run, HEAD + source)
    assert err.startswith(f"apps.d/x.py:2: error: {expected}"), err
