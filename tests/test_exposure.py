"""Exposure family: Ingress, LoadBalancer, privileged devices, Talos exemptions, infra, Flux entry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import KLASTERFILE, ProjectDir
from hypothesis import given
from hypothesis import strategies as st

from klaster_build import engine
from klaster_build.errors import ProblemsFound

REAL = Path(__file__).resolve().parents[2] / "shared" / "reference" / "klaster"
needs_reference = pytest.mark.skipif(
    not REAL.is_dir(), reason="../shared/reference is not beside the checkout"
)


def _docs(project: ProjectDir, relative: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(project.file(relative)) if d]


def _with_talos(project: ProjectDir, base: str = KLASTERFILE) -> None:
    text = base.replace(
        "from klaster_build.dsl import Cluster,",
        "from klaster_build.dsl import TalosSettings, Cluster,",
    ).replace(
        "    intervals=",
        '    talos=TalosSettings(cluster_name="homelab", endpoint="https://kube-api.example.org:6443",'
        ' base_patches=["talos/patches/controlplane.patch", "talos/patches/openebs.patch"],'
        ' node_patches={"node1": "talos/patches/node1.patch"}),\n    intervals=',
    )
    (project.root / "klasterfile.py").write_text(text)
    patches = project.root / "talos" / "patches"
    patches.mkdir(parents=True, exist_ok=True)
    for name in ("controlplane", "openebs", "node1"):
        (patches / f"{name}.patch").write_text("machine: {}\n")


LLAMA = """\
from klaster_build.dsl import Container, Deployment, HostDevice, Ingress, Service

swap = Deployment("llama-swap", containers=[Container("llama-swap", image="ghcr.io/mostlygeek/llama-swap:v197-vulkan-b8202",
    ports={"http": 8080}, devices=[HostDevice("/dev/kfd", "CharDevice"), HostDevice("/dev/dri", "Directory")])])
proxy = Service("llama-proxy", workload=swap, ports={"http": 80})
Ingress("llama", backend=proxy, port="http", streaming=True,
        annotations={"acme.cert-manager.io/http01-edit-in-place": "true"}, sso_reason="an API")
"""


@needs_reference
def test_ingress_equals_the_real_llama_ingress(project: ProjectDir, run) -> None:
    """Streaming preset, class, issuer, host and TLS secret reproduce apps/llama/ingress.yaml."""
    _with_talos(
        project,
        KLASTERFILE.replace("example.org", "lumpiasty.xyz").replace(
            'ingress_class="nginx"', 'ingress_class="nginx-ingress"'
        ),
    )
    project.app("llama", LLAMA)
    code, _, err = run("build")
    assert code == 0, err
    assert _docs(project, "out/apps/llama/ingress.yaml") == [
        d for d in yaml.safe_load_all((REAL / "apps/llama/ingress.yaml").read_text()) if d
    ]


def test_privileged_devices_patch_and_makefile(project: ProjectDir, run) -> None:
    """Host devices make the pod privileged, add hostPath volumes, a Talos patch and the Makefile target."""
    _with_talos(project)
    project.app("llama", LLAMA)
    code, _, err = run("build")
    assert code == 0, err
    deployment = next(d for d in _docs(project, "out/apps/llama/deployment.yaml"))
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert pod["containers"][0]["securityContext"] == {"privileged": True}
    assert pod["containers"][0]["volumeMounts"] == [
        {"mountPath": "/dev/kfd", "name": "kfd"},
        {"mountPath": "/dev/dri", "name": "dri"},
    ]
    assert pod["volumes"] == [
        {"name": "kfd", "hostPath": {"path": "/dev/kfd", "type": "CharDevice"}},
        {"name": "dri", "hostPath": {"path": "/dev/dri", "type": "Directory"}},
    ]
    patch = yaml.safe_load(project.file("out/talos/patches/llama.patch"))
    real_shape = {
        "cluster": {
            "apiServer": {
                "admissionControl": [
                    {
                        "name": "PodSecurity",
                        "configuration": {
                            "apiVersion": "pod-security.admission.config.k8s.io/v1beta1",
                            "kind": "PodSecurityConfiguration",
                            "exemptions": {"namespaces": ["llama"]},
                        },
                    }
                ]
            }
        }
    }
    assert patch == real_shape
    makefile = project.file("out/Makefile")
    order = [
        line.split("@")[1].rstrip(" \\")
        for line in makefile.splitlines()
        if "--config-patch @" in line and "controlplane -o" not in line
    ][:4]
    assert order == [
        "talos/patches/controlplane.patch",
        "talos/patches/openebs.patch",
        "out/talos/patches/llama.patch",
        "talos/patches/node1.patch",
    ]
    assert "\t\thomelab https://kube-api.example.org:6443\n" in makefile
    assert "\ttalosctl config endpoint kube-api.example.org\n" in makefile


def test_privileged_pod_without_talos_settings_is_an_error(
    project: ProjectDir, run, no_color
) -> None:
    """Without TalosSettings nobody can exempt the namespace: the build says where to add them."""
    project.app("llama", LLAMA)
    code, _, err = run("build")
    assert code == 2
    assert err.startswith(
        "apps.d/llama.py:3: error: privileged pods need a PodSecurity exemption in the Talos config; add talos=TalosSettings(...)"
    )


@needs_reference
def test_load_balancer_equals_the_real_teamspeak_service(project: ProjectDir, run) -> None:
    """UDP+TCP LoadBalancer, Local policy, dual-stack: apps/ispeak3/service.yaml; its public
    ports are the router's port forwards."""
    project.app(
        "ispeak3",
        """\
        from klaster_build.dsl import Container, LoadBalancer, Port, StatefulSet

        ts = StatefulSet("teamspeak3", containers=[Container("teamspeak3", image="teamspeak:3.13.7")])
        LoadBalancer("teamspeak3", workload=ts, ports=[Port("voice", 9987, "UDP", public=True), Port("filetransfer", 30033, public=True)])
        """,
    )
    assert run("build")[0] == 0
    generated = _docs(project, "out/apps/ispeak3/service.yaml")
    assert generated == [yaml.safe_load((REAL / "apps/ispeak3/service.yaml").read_text())]
    forwards = json.loads(project.file("out/router/port-forwards.json"))
    assert forwards == {
        "port_forwards": [
            {
                "name": "ispeak3-teamspeak3-voice",
                "namespace": "ispeak3",
                "service": "teamspeak3",
                "port": 9987,
                "protocol": "udp",
            },
            {
                "name": "ispeak3-teamspeak3-filetransfer",
                "namespace": "ispeak3",
                "service": "teamspeak3",
                "port": 30033,
                "protocol": "tcp",
            },
        ]
    }


def test_http_through_a_load_balancer_points_to_ingress(project: ProjectDir, run, no_color) -> None:
    """An HTTP port on a LoadBalancer is an error naming Ingress, unless allowed with a reason."""
    source = (
        "from klaster_build.dsl import Container, Deployment, LoadBalancer, Port\n"
        "Deployment('web', containers=[Container('web', image='nginx:1.27.3')])\n"
        "LoadBalancer('web', selector={'app': 'web'}, ports=[Port('http', 80)]{allow})\n"
    )
    project.app("web", source.replace("{allow}", ""))
    code, _, err = run("build")
    assert code == 2
    assert (
        "apps.d/web.py:3: error: LoadBalancer 'web' exposes port http (80/TCP), which looks like HTTP; expose HTTP with Ingress(...) instead"
        in err
    )
    project.app("web", source.replace("{allow}", ", http_reason='ACME http-01 for a device'"))
    assert run("build")[0] == 0


def test_chart_ingress_values_and_host_uniqueness(project: ProjectDir, run, no_color) -> None:
    """ingress_values renders the kaneo chart block; two claims of one host are an error."""
    project.app(
        "kaneo",
        """\
        from klaster_build.dsl import ChartIngress, GitRepository, HelmRelease, ingress_values

        web = ChartIngress("kaneo", sso_reason="its own login")
        git = GitRepository("kaneo", url="https://github.com/usekaneo/kaneo.git", tag="v2.29.3")
        HelmRelease("kaneo", source=git, chart="./charts/kaneo", values={"ingress": ingress_values(web, service="kaneo", port=5173)})
        """,
    )
    assert run("build")[0] == 0
    values = _docs(project, "out/apps/kaneo/release.yaml")[1]["spec"]["values"]["ingress"]
    assert values == {
        "enabled": True,
        "className": "nginx",
        "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
        "hosts": [
            {
                "host": "kaneo.example.org",
                "paths": [{"path": "/", "pathType": "Prefix", "service": "kaneo", "port": 5173}],
            }
        ],
        "tls": [{"secretName": "kaneo-ingress", "hosts": ["kaneo.example.org"]}],
    }
    project.app(
        "other",
        "from klaster_build.dsl import ChartIngress\nChartIngress('x', host='kaneo', sso_reason='public')\n",
    )
    code, _, err = run("build")
    assert code == 2
    assert (
        "apps.d/other.py:2: error: host 'kaneo.example.org' is already served by kaneo/ChartIngress/kaneo (apps.d/kaneo.py:3)"
        in err
    )


def test_infra_component_storage_classes_and_flux_entry(project: ProjectDir, run) -> None:
    """Infra files, StorageClasses from tiers and the Flux Kustomizations with dependsOn."""
    project.app(
        "infra",
        """\
        from klaster_build.dsl import App, InfraComponent

        App(infra=True)
        InfraComponent("cloudnative-pg", namespace="cnpg-system", repository="cnpg", release="cnpg",
                       url="https://cloudnative-pg.github.io/charts", chart="cloudnative-pg", version="0.28.1",
                       provides=["postgresql.cnpg.io"])
        InfraComponent("openebs", namespace="openebs", url="https://openebs.github.io/openebs",
                       chart="openebs", version="4.4.0", provides=["local.openebs.io"])
        """,
    )
    project.app("kaneo", "from klaster_build.dsl import Postgres\nPostgres('kaneo-db')\n")
    assert run("build")[0] == 0
    namespace, repo, release = _docs(project, "out/infra/controllers/cloudnative-pg.yaml")
    assert namespace == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "cnpg-system"},
    }
    assert repo["metadata"] == {"name": "cnpg", "namespace": "cnpg-system"}
    assert release["spec"]["chart"]["spec"]["sourceRef"] == {
        "kind": "HelmRepository",
        "name": "cnpg",
        "namespace": "cnpg-system",
    }
    assert yaml.safe_load(project.file("out/infra/controllers/kustomization.yaml"))[
        "resources"
    ] == ["cloudnative-pg.yaml", "openebs.yaml"]
    assert yaml.safe_load(project.file("out/infra/configs/kustomization.yaml"))["resources"] == [
        "lvmpv-hdd-sc.yaml",
        "lvmpv-ssd-sc.yaml",
    ]
    (sc,) = _docs(project, "out/infra/configs/lvmpv-ssd-sc.yaml")
    assert sc["parameters"] == {
        "storage": "lvm",
        "volgroup": "vg-ssd",
        "fsType": "btrfs",
        "shared": "yes",
    }
    (apps,) = _docs(project, "out/cluster/apps.yaml")
    assert apps["spec"]["path"] == "./out/apps"
    assert apps["spec"]["dependsOn"] == [{"name": "infra-configs"}]
    assert not (project.out / "apps" / "infra").exists()


def _project(root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    (root / "apps.d").mkdir(parents=True)
    text = KLASTERFILE.replace(
        "from klaster_build.dsl import Cluster,",
        "from klaster_build.dsl import TalosSettings, Cluster,",
    ).replace(
        "    intervals=",
        '    talos=TalosSettings(cluster_name="c", endpoint="https://api.example.org:6443", base_patches=[]),\n    intervals=',
    )
    (root / "klasterfile.py").write_text(text)


APPS = st.lists(
    st.tuples(
        st.from_regex(r"[a-z]{1,6}", fullmatch=True),
        st.booleans(),
        st.sampled_from([None, "shared", "own"]),
        st.lists(
            st.sampled_from(
                [
                    ("voice", 9987, "UDP"),
                    ("game", 27015, "UDP"),
                    ("ssh", 22, "TCP"),
                    ("http", 80, "TCP"),
                    ("web", 8443, "TCP"),
                ]
            ),
            max_size=2,
            unique=True,
        ),
    ),
    min_size=1,
    max_size=5,
    unique_by=lambda a: a[0],
).map(sorted)


@given(apps=APPS)
def test_exposure_properties(scratch: Path, apps) -> None:
    """Privileged => exempted => in the Makefile; hosts unique; HTTP never through a bare LB."""
    root = scratch / "p"
    _project(root)
    expect_errors: set[str] = set()
    for name, privileged, host, ports in apps:
        lines = [
            "from klaster_build.dsl import ChartIngress, Container, Deployment, HostDevice, LoadBalancer, Port"
        ]
        devices = "[HostDevice('/dev/dri', 'Directory')]" if privileged else "[]"
        lines.append(
            f"d = Deployment('w', containers=[Container('w', image='example.org/w:1.0.0', devices={devices})])"
        )
        if host:
            lines.append(
                f"ChartIngress('web', host={'shared' if host == 'shared' else name!r}, forward_auth=True)"
            )
            if host == "shared" and any(a[2] == "shared" for a in apps if a[0] != name):
                expect_errors.add("is already served by")
        if ports:
            lines.append(
                f"LoadBalancer('{name}-lb', workload=d, ports=[{', '.join(f'Port({n!r}, {p}, {pr!r})' for n, p, pr in ports)}])"
            )
            if any(n in ("http", "web") for n, _, _ in ports):
                expect_errors.add("looks like HTTP")
        (root / "apps.d" / f"{name}.py").write_text("\n".join(lines) + "\n")
    if expect_errors:
        with pytest.raises(ProblemsFound) as caught:
            engine.build(root)
        messages = " ".join(p.message for p in caught.value.problems)
        assert all(e in messages for e in expect_errors)
        return
    assert engine.build(root).status == 0
    makefile = (root / "out" / "Makefile").read_text()
    for name, privileged, _, _ in apps:
        patch = root / "out" / "talos" / "patches" / f"{name}.patch"
        assert patch.exists() == privileged
        assert (f"@out/talos/patches/{name}.patch" in makefile) == privileged


LB_APP = """\
from klaster_build.dsl import Container, LoadBalancer, Port, StatefulSet

ts = StatefulSet("game", containers=[Container("game", image="example.org/game:1.0.0")])
LoadBalancer("game", workload=ts, ports=[{ports}])
"""


def _todo(run) -> list[str]:
    code, out, _ = run("todo")
    assert code == 0
    return out.splitlines()


def _service_spec(project: ProjectDir) -> dict:
    return _docs(project, "out/apps/game/service.yaml")[0]["spec"]


def test_load_balancer_ports_are_lan_only_unless_public(project: ProjectDir, run) -> None:
    """A LAN-only LoadBalancer is IPv4-only (no IPv6 address, which would be reachable from the
    Internet), has no port forward and no DNS step unless named; a public one is dual-stack with
    its IPv4 forwards and a DNS step."""
    project.app(
        "game", LB_APP.replace("{ports}", "Port('voice', 9987, 'UDP'), Port('rcon', 27020)")
    )
    assert run("build")[0] == 0
    spec = _service_spec(project)
    assert (spec["ipFamilyPolicy"], spec["ipFamilies"]) == ("SingleStack", ["IPv4"])
    assert not (project.out / "router" / "port-forwards.json").exists()
    todo = _todo(run)
    assert not any("[port-forward]" in line or "[dns]" in line for line in todo)

    project.app(
        "game",
        LB_APP.replace("{ports}", "Port('voice', 9987, 'UDP'), Port('rcon', 27020)").replace(
            "ports=[", "dns_name='play', ports=["
        ),
    )
    assert run("build")[0] == 0
    assert [line.split("] ", 1)[1] for line in _todo(run) if "[dns]" in line] == [
        "Create DNS name play.example.org for LoadBalancer game/game "
        "(its address is known once Flux applied it)"
    ]

    project.app(
        "game",
        LB_APP.replace(
            "{ports}", "Port('voice', 9987, 'UDP', public=True), Port('rcon', 27020, public=True)"
        ),
    )
    assert run("build")[0] == 0
    spec = _service_spec(project)
    assert spec["ipFamilyPolicy"] == "PreferDualStack"
    assert "ipFamilies" not in spec
    forwards = json.loads(project.file("out/router/port-forwards.json"))["port_forwards"]
    assert [(f["port"], f["protocol"]) for f in forwards] == [(9987, "udp"), (27020, "tcp")]
    todo = _todo(run)
    assert {line.split("] ", 1)[1] for line in todo if "[port-forward]" in line} == {
        "Forward IPv4 UDP port 9987 on the router to LoadBalancer game/game "
        "(see out/router/port-forwards.json)",
        "Forward IPv4 TCP port 27020 on the router to LoadBalancer game/game "
        "(see out/router/port-forwards.json)",
    }
    assert any("Create DNS name game.example.org for LoadBalancer game/game" in x for x in todo)


def test_public_over_ipv6_only(project: ProjectDir, run) -> None:
    """forward_ipv4=False: dual-stack as declared, no IPv4 forward, still a DNS step."""
    project.app(
        "game",
        LB_APP.replace("{ports}", "Port('voice', 9987, 'UDP', public=True)").replace(
            "ports=[", "family_policy='RequireDualStack', forward_ipv4=False, ports=["
        ),
    )
    assert run("build")[0] == 0
    assert _service_spec(project)["ipFamilyPolicy"] == "RequireDualStack"
    assert not (project.out / "router" / "port-forwards.json").exists()
    todo = _todo(run)
    assert not any("[port-forward]" in line for line in todo)
    assert any("Create DNS name game.example.org" in line for line in todo)


@pytest.mark.parametrize(
    ("ports", "message"),
    [
        (
            "Port('voice', 9987, 'UDP', public=True), Port('rcon', 27020)",
            "LoadBalancer 'game' mixes LAN-only ports ['rcon'] with public ports ['voice']; a "
            "Service's ports share its addresses, and an IPv6 address is reachable from the "
            "Internet: declare two LoadBalancers, one with the public ports and one with the "
            "LAN-only ports",
        ),
        (
            "family_policy='PreferDualStack', ports=[Port('rcon', 27020)",
            "LoadBalancer 'game': family_policy='PreferDualStack' gives its LAN-only ports "
            "['rcon'] an IPv6 address, which is reachable from the Internet; drop family_policy= "
            "(a LAN-only LoadBalancer is IPv4-only), or declare the ports Port(..., public=True)",
        ),
        (
            "forward_ipv4=False, ports=[Port('rcon', 27020)",
            "LoadBalancer 'game': forward_ipv4=False makes public ports reachable over IPv6 only; "
            "it needs public ports on a dual-stack LoadBalancer (Port(..., public=True), no "
            "family_policy='SingleStack'), or drop forward_ipv4=False",
        ),
    ],
)
def test_lan_only_cannot_leak_to_ipv6(
    project: ProjectDir, run, no_color, ports: str, message: str
) -> None:
    """A LoadBalancer whose LAN-only ports would get a public IPv6 address is refused at its
    line, and nothing is written."""
    text = LB_APP.replace(
        "ports=[{ports}]", "{ports}]" if "ports=[" in ports else "ports=[{ports}]"
    )
    project.app("game", text.replace("{ports}", ports))
    before = project.snapshot()
    code, _, err = run("build")
    assert code == 2
    assert err.splitlines()[0] == f"apps.d/game.py:4: error: {message}"
    assert project.snapshot() == before


def test_public_udp_amplifier_needs_a_reason(project: ProjectDir, run, no_color) -> None:
    """SSDP made public is a located error explaining reflection; LAN-only, TCP, or with a
    stated reason, it builds (and the reasoned one is forwarded)."""
    project.app("game", LB_APP.replace("{ports}", "Port('ssdp', 1900, 'UDP', public=True)"))
    before = project.snapshot()
    code, _, err = run("build")
    assert code == 2
    assert err.splitlines()[0] == (
        "apps.d/game.py:4: error: Port 'ssdp' (1900/UDP, SSDP) is a UDP amplifier: from the "
        "Internet, small requests with a forged source make it send much larger replies to a "
        "victim (reflection DDoS); keep it LAN-only (drop public=True), or give "
        "public_reason='<why it must be public and how replies are limited>'"
    )
    assert project.snapshot() == before
    for fine in ("Port('ssdp', 1900, 'UDP')", "Port('dns', 53, 'TCP', public=True)"):
        project.app("game", LB_APP.replace("{ports}", fine))
        assert run("build")[0] == 0, fine
    project.app(
        "game",
        LB_APP.replace(
            "{ports}",
            "Port('dns', 53, 'UDP', public=True, public_reason='authoritative only, response rate limiting on')",
        ),
    )
    assert run("build")[0] == 0
    forwards = json.loads(project.file("out/router/port-forwards.json"))["port_forwards"]
    assert [(f["port"], f["protocol"]) for f in forwards] == [(53, "udp")]


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        (
            "Port('voice', 9987, 'UDP', public_reason='players')",
            "Port 'voice': public_reason= says why a port is public; add public=True, or drop the reason",
        ),
        (
            "Service('s', selector={'app': 'x'}, ports=[Port('voice', 9987, 'UDP', public=True)])",
            "Service port 'voice' is public=True, but only a LoadBalancer's ports are forwarded "
            "from the Internet; declare it public on the LoadBalancer(...) and drop public=True here",
        ),
    ],
)
def test_public_means_a_load_balancer_port(declaration: str, message: str) -> None:
    """A reason without public=True, or public=True on a ClusterIP Service, is refused (a
    container may share the LoadBalancer's list of ports)."""
    from klaster_build import dsl
    from klaster_build.errors import DeclarationError
    from klaster_build.registry import session

    with session(app="a"), pytest.raises(DeclarationError) as caught:
        eval(declaration, vars(dsl))
    assert str(caught.value).startswith(message)


AMPLIFIER_PORTS = st.tuples(
    st.sampled_from([19, 53, 123, 161, 389, 1900, 3702, 5353, 11211, 9987, 25565, 30033]),
    st.sampled_from(["UDP", "TCP"]),
    st.booleans(),  # public
    st.booleans(),  # with a reason (when public)
)


@given(ports=st.lists(AMPLIFIER_PORTS, min_size=1, max_size=4, unique_by=lambda p: p[:2]))
def test_forwards_are_exactly_the_public_ports(scratch: Path, ports) -> None:
    """Port forwards list exactly the public ports; LAN-only and public ports on one
    LoadBalancer, or a public UDP amplifier without a reason, stop the build at its line."""
    from klaster_build.records.workloads import UDP_AMPLIFIERS

    root = scratch / "lb"
    _project(root)
    declared = []
    for index, (number, protocol, public, reason) in enumerate(ports):
        extra = ", public=True" if public else ""
        extra += ", public_reason='rate limited'" if public and reason else ""
        declared.append(f"Port('p{index}', {number}, {protocol!r}{extra})")
    (root / "apps.d" / "game.py").write_text(LB_APP.replace("{ports}", ", ".join(declared)))
    refused = any(
        public and not reason and protocol == "UDP" and number in UDP_AMPLIFIERS
        for number, protocol, public, reason in ports
    )
    if refused:
        with pytest.raises(ProblemsFound) as caught:
            engine.build(root)
        assert [str(p.origin) for p in caught.value.problems] == ["apps.d/game.py:4"]
        assert "is a UDP amplifier" in caught.value.problems[0].message
        return
    publics = {public for _, _, public, _ in ports}
    if len(publics) == 2:
        with pytest.raises(ProblemsFound) as caught:
            engine.build(root)
        assert [str(p.origin) for p in caught.value.problems] == ["apps.d/game.py:4"]
        assert "mixes LAN-only ports" in caught.value.problems[0].message
        return
    assert engine.build(root).status == 0
    forwards_file = root / "out" / "router" / "port-forwards.json"
    forwarded = (
        [(f["port"], f["protocol"]) for f in json.loads(forwards_file.read_text())["port_forwards"]]
        if forwards_file.exists()
        else []
    )
    assert forwarded == [(n, p.lower()) for n, p, public, _ in ports if public]
    # By construction: a LoadBalancer with a LAN-only port has no IPv6 address to be reached by.
    (service,) = yaml.safe_load_all((root / "out/apps/game/service.yaml").read_text())
    lan_only = not any(public for _, _, public, _ in ports)
    assert (service["spec"]["ipFamilyPolicy"] == "SingleStack") == lan_only
    assert service["spec"].get("ipFamilies") == (["IPv4"] if lan_only else None)


def test_the_repo_forwards_what_the_real_router_forwards() -> None:
    """The committed out/ forwards TeamSpeak's two ports only: the cluster ports of the real
    router's dst-nat rules (Lumpiasty/klaster ansible/roles/routeros/tasks/firewall.yml; gitea's
    SSH comes from its chart, which klaster does not model: docs/differences.md)."""
    from conftest import REPO

    forwards = json.loads((REPO / "out" / "router" / "port-forwards.json").read_text())
    assert [(f["service"], f["port"], f["protocol"]) for f in forwards["port_forwards"]] == [
        ("teamspeak3", 9987, "udp"),
        ("teamspeak3", 30033, "tcp"),
    ]


WEB_APP = """\
from klaster_build.dsl import Container, Deployment, Ingress, Service

app = Deployment("wiki", containers=[Container("wiki", image="example.org/wiki:1.0.0", ports={"http": 80})])
web = Service("wiki", workload=app, ports={"http": 80})
Ingress("wiki", backend=web, port="http"{extra})
"""

OUTPOST = "http://authentik-server.authentik.svc.cluster.local"


def test_forward_auth_puts_authentik_in_front(project: ProjectDir, run) -> None:
    """forward_auth=True: Authentik's nginx annotations (no snippet, which ingress-nginx refuses
    by default), the X-Forwarded-Host ConfigMap, the outpost's path on the host, and the step
    naming the Proxy provider to create."""
    project.app("wiki", WEB_APP.replace("{extra}", ", forward_auth=True"))
    assert run("build")[0] == 0
    ingress, config, service, outpost = [
        *_docs(project, "out/apps/wiki/ingress.yaml"),
        *_docs(project, "out/apps/wiki/outpost-wiki.yaml"),
    ]
    assert ingress["metadata"]["annotations"] == {
        "cert-manager.io/cluster-issuer": "letsencrypt",
        "nginx.ingress.kubernetes.io/auth-url": f"{OUTPOST}/outpost.goauthentik.io/auth/nginx",
        "nginx.ingress.kubernetes.io/auth-signin": "https://wiki.example.org/outpost.goauthentik.io/start?rd=$scheme://wiki.example.org$escaped_request_uri",
        "nginx.ingress.kubernetes.io/auth-response-headers": "Set-Cookie,X-authentik-username,X-authentik-groups,X-authentik-entitlements,X-authentik-email,X-authentik-name,X-authentik-uid",
        "nginx.ingress.kubernetes.io/auth-proxy-set-headers": "wiki/outpost-wiki",
    }
    assert not any("snippet" in key for key in ingress["metadata"]["annotations"])
    assert config == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "outpost-wiki", "namespace": "wiki"},
        "data": {"X-Forwarded-Host": "wiki.example.org"},
    }
    assert service["spec"] == {
        "type": "ExternalName",
        "externalName": "authentik-server.authentik.svc.cluster.local",
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
    }
    assert "annotations" not in outpost["metadata"]  # no auth loop, no second certificate
    assert outpost["spec"] == {
        "ingressClassName": "nginx",
        "rules": [
            {
                "host": "wiki.example.org",
                "http": {
                    "paths": [
                        {
                            "backend": {
                                "service": {"name": "outpost-wiki", "port": {"number": 80}}
                            },
                            "path": "/outpost.goauthentik.io",
                            "pathType": "Prefix",
                        }
                    ]
                },
            }
        ],
        "tls": [{"hosts": ["wiki.example.org"], "secretName": "wiki-ingress"}],
    }
    assert [line.split("] ", 1)[1] for line in _todo(run) if "[authentik]" in line] == [
        "Create an Authentik Proxy provider in 'Forward auth (single application)' mode with "
        f"external host https://wiki.example.org, its application, and add it to the outpost at {OUTPOST}"
    ]


def test_chart_ingress_forward_auth_goes_into_the_chart_values(project: ProjectDir, run) -> None:
    """A chart's Ingress gets the same annotations through ingress_values, and klaster writes
    the outpost's path beside the release."""
    project.app(
        "podinfo",
        """\
        from klaster_build.dsl import ChartIngress, HelmRelease, HelmRepository, ingress_values

        web = ChartIngress("podinfo", forward_auth=True)
        repo = HelmRepository("podinfo", url="https://stefanprodan.github.io/podinfo")
        HelmRelease("podinfo", source=repo, chart="podinfo", version="6.9.2", values={"ingress": ingress_values(web)})
        """,
    )
    assert run("build")[0] == 0
    release = next(
        d for d in _docs(project, "out/apps/podinfo/release.yaml") if d["kind"] == "HelmRelease"
    )
    annotations = release["spec"]["values"]["ingress"]["annotations"]
    assert (
        annotations["nginx.ingress.kubernetes.io/auth-proxy-set-headers"]
        == "podinfo/outpost-podinfo"
    )
    kinds = [d["kind"] for d in _docs(project, "out/apps/podinfo/outpost-podinfo.yaml")]
    assert kinds == ["ConfigMap", "Service", "Ingress"]


def test_a_host_without_single_sign_on_is_refused(project: ProjectDir, run, no_color) -> None:
    """No forward auth, no OIDC client in the app, no reason: a located error, nothing written;
    sso_reason= (or an OIDC client) builds it."""
    project.app("wiki", WEB_APP.replace("{extra}", ""))
    before = project.snapshot()
    code, _, err = run("build")
    assert code == 2
    assert err.splitlines()[0] == (
        "apps.d/wiki.py:5: error: Ingress 'wiki' serves https://wiki.example.org/ without single "
        "sign-on; put Authentik in front with forward_auth=True, give the app an OIDC(...) "
        "client, or say why it needs neither with sso_reason='<the app's own login, a public "
        "page, an API with its own tokens...>'"
    )
    assert project.snapshot() == before
    project.app("wiki", WEB_APP.replace("{extra}", ", sso_reason='a public read-only page'"))
    assert run("build")[0] == 0
    project.app(
        "wiki",
        WEB_APP.replace("Ingress, Service", "Ingress, OIDC, Service").replace("{extra}", "")
        + "OIDC()\n",
    )
    assert run("build")[0] == 0


def test_forward_auth_needs_the_outpost_and_no_reason(project: ProjectDir, run, no_color) -> None:
    """forward_auth=True on a klasterfile without authentik_outpost says what to add; with
    sso_reason= too it is a contradiction at the line."""
    from conftest import KLASTERFILE

    without = KLASTERFILE.replace(f'    authentik_outpost="{OUTPOST}",\n', "")
    assert without != KLASTERFILE
    (project.root / "klasterfile.py").write_text(without)
    project.app("wiki", WEB_APP.replace("{extra}", ", forward_auth=True"))
    code, _, err = run("build")
    assert code == 2
    assert err.splitlines()[0] == (
        "apps.d/wiki.py:5: error: Ingress 'wiki' has forward_auth=True, but the klasterfile names "
        "no Authentik outpost; add authentik_outpost='http://<outpost service>.<namespace>"
        ".svc.cluster.local[:port]' to the Cluster in klasterfile.py"
    )
    (project.root / "klasterfile.py").write_text(KLASTERFILE)
    project.app("wiki", WEB_APP.replace("{extra}", ", forward_auth=True, sso_reason='x'"))
    code, _, err = run("build")
    assert code == 2
    assert err.splitlines()[0] == (
        "apps.d/wiki.py:5: error: Ingress 'wiki': sso_reason= says why there is no single "
        "sign-on, but forward_auth=True adds it; drop one of them"
    )


def test_oidc_redirect_paths_give_the_full_redirect_uris(
    project: ProjectDir, run, no_color
) -> None:
    """The Authentik step lists https://<host><path> for each declared path; a path that is not
    one is refused at its line."""
    oidc_app = WEB_APP.replace("Ingress, Service", "Ingress, OIDC, Service").replace("{extra}", "")
    project.app(
        "wiki",
        oidc_app + "OIDC(redirect_paths=['/login/oidc/callback', '/api/auth/callback'])\n",
    )
    assert run("build")[0] == 0
    assert [line.split("] ", 1)[1] for line in _todo(run) if "[authentik]" in line] == [
        "Create the Authentik OAuth2/OIDC application 'wiki' (redirect URIs "
        "https://wiki.example.org/login/oidc/callback, https://wiki.example.org/api/auth/callback) "
        "and store its client_id and client_secret at secret/authentik/wiki"
    ]
    project.app("wiki", oidc_app + "OIDC(redirect_paths=['login/callback'])\n")
    code, _, err = run("build")
    assert code == 2
    assert err.splitlines()[0] == (
        "apps.d/wiki.py:6: error: OIDC 'redirect_paths' are URL paths on the app's host such as "
        "'/oauth/oidc/callback', got 'login/callback'"
    )
