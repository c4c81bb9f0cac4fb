"""Kubernetes name rules on every generated name, cluster-scoped Manifests, Service selectors."""

from __future__ import annotations

import string

import attrs
import pytest
import yaml
from conftest import ProjectDir
from hypothesis import example, given
from hypothesis import strategies as st

from klaster_build.errors import DeclarationError
from klaster_build.names import (
    DNS_LABEL,
    DNS_SUBDOMAIN,
    PORT_NAME,
    RFC1035_LABEL,
    document_name_problems,
)
from klaster_build.records.manifest import CLUSTER_SCOPED
from klaster_build.validators import dns_label, dns_subdomain

# The rules as kubernetes/apimachinery pkg/util/validation/validation.go states them in words,
# written without regular expressions so they check the patterns independently.
LOWER_ALNUM = set(string.ascii_lowercase + string.digits)


def is_label_shaped(value: str) -> bool:
    return (
        len(value) > 0
        and set(value) <= LOWER_ALNUM | {"-"}
        and value[0] in LOWER_ALNUM
        and value[-1] in LOWER_ALNUM
    )


def is_dns1123_label(value: str) -> bool:
    return len(value) <= 63 and is_label_shaped(value)


def is_rfc1035_label(value: str) -> bool:
    return is_dns1123_label(value) and value[0] in string.ascii_lowercase


def is_dns1123_subdomain(value: str) -> bool:
    # Only the whole name is limited (253); its parts are not limited to 63 each.
    return len(value) <= 253 and all(is_label_shaped(part) for part in value.split("."))


def is_iana_port_name(value: str) -> bool:
    return (
        0 < len(value) <= 15
        and set(value) <= LOWER_ALNUM | {"-"}
        and any(c in string.ascii_lowercase for c in value)
        and "--" not in value
        and not value.startswith("-")
        and not value.endswith("-")
    )


NAMEISH = st.text(alphabet="abz09-.\nA_", max_size=70) | st.from_regex(
    r"[a-z0-9-]{1,70}", fullmatch=True
)
RULES = [
    (DNS_LABEL, is_dns1123_label),
    (RFC1035_LABEL, is_rfc1035_label),
    (DNS_SUBDOMAIN, is_dns1123_subdomain),
    (PORT_NAME, is_iana_port_name),
]


@pytest.mark.parametrize(("rule", "reference"), RULES, ids=[r[0].title for r in RULES])
@given(value=NAMEISH)
@example(value="web\n")
@example(value="1abc")
@example(value="a" * 64)
@example(value="a--b")
def test_rules_accept_exactly_what_kubernetes_accepts(rule, reference, value: str) -> None:
    """Each rule accepts a name exactly when the API server's rule does: a trailing newline,
    a leading digit (RFC 1035), 64 characters, a double '-' (port names) are all refused."""
    assert (rule.problem(value) is None) == reference(value)


@attrs.frozen
class _Named:
    label: str = attrs.field(validator=dns_label)
    subdomain: str = attrs.field(validator=dns_subdomain)


@given(value=NAMEISH)
def test_declared_names_follow_the_same_rules(value: str) -> None:
    """A declared name is judged by the very rule rendered names are, and refused with that
    rule's own message, said of the record and argument."""
    for field, rule, reference in (
        ("label", DNS_LABEL, is_dns1123_label),
        ("subdomain", DNS_SUBDOMAIN, is_dns1123_subdomain),
    ):
        given = {"label": "a", "subdomain": "a", field: value}
        problem = rule.problem(value)
        assert (problem is None) == reference(value)
        if problem is None:
            _Named(**given)
        else:
            with pytest.raises(DeclarationError) as refused:
                _Named(**given)
            assert str(refused.value) == f"_Named {field!r} {problem}"


@given(value=NAMEISH)
def test_every_refusal_says_what_to_write(value: str) -> None:
    """A refused name's message names the rule; a suggested spelling follows the rule."""
    problem = DNS_LABEL.problem(value)
    if problem is None:
        return
    assert "DNS-1123 name" in str(problem) or "must not be empty" in problem.wrong
    if problem.instead.startswith("e.g. "):
        suggestion = problem.instead.removeprefix("e.g. ")
        assert DNS_LABEL.problem(yaml.safe_load(suggestion)) is None


def test_derived_and_nested_names_are_checked_per_kind() -> None:
    """metadata.name per kind, labels, container, volume and port names, the LV name."""
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "x" * 64}},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "Web",
                            "ports": [{"name": "http-metrics-port", "containerPort": 1}],
                        }
                    ],
                    "volumes": [{"name": "data.lvm"}],
                },
            },
        },
    }
    problems = [str(p) for p in document_name_problems(deployment)]
    assert problems == [
        "Deployment 'web': label 'app' must be at most 63 characters (a label value), got 64 ('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'); shorten it by 1",
        "Deployment 'web': container name must be a DNS-1123 name (lower-case letters, digits and '-', starting and ending with a letter or digit), got 'Web'; e.g. 'web'",
        "Deployment 'web': container 'Web' port name must be at most 15 characters (an IANA service name), got 17 ('http-metrics-port'); shorten it by 2",
        "Deployment 'web': pod volume name must be a DNS-1123 name (lower-case letters, digits and '-', starting and ending with a letter or digit), got 'data.lvm'; e.g. 'data-lvm'",
    ]
    statefulset = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "a.b"}}
    assert [p.record for p in document_name_problems(statefulset)] == ["StatefulSet name"]
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "system:node-reader"},
    }
    assert list(document_name_problems(role)) == []
    volume = {
        "apiVersion": "local.openebs.io/v1alpha1",
        "kind": "LVMVolume",
        "metadata": {"name": "a-" * 40 + "a"},
        "spec": {"volGroup": "openebs-hdd"},
    }
    (problem,) = document_name_problems(volume)
    assert "doubled, 134 characters; device-mapper takes at most 127" in problem.wrong
    assert problem.instead == "shorten the LV name by 7"


def _build(project: ProjectDir, run, source: str) -> tuple[int, str]:
    project.app("web", source)
    code, _, err = run("build")
    return code, err


def test_a_manifest_deployment_is_checked_like_a_declared_one(
    project: ProjectDir, run, no_color
) -> None:
    """Names inside a raw Manifest are checked too, at the Manifest's line."""
    code, err = _build(
        project,
        run,
        """\
        from klaster_build.dsl import Manifest
        Manifest(body={"apiVersion": "v1", "kind": "Service", "metadata": {"name": "2fa"},
                       "spec": {"ports": [{"name": "http", "port": 80}]}})
        """,
    )
    assert code == 2
    assert err.startswith(
        "apps.d/web.py:2: error: Service name must be an RFC 1035 label (lower-case letters, "
        "digits and '-', starting with a letter and ending with a letter or digit), got '2fa'; "
        "start it with a letter"
    )


def test_a_claim_name_too_long_for_a_pod_volume_is_refused(
    project: ProjectDir, run, no_color
) -> None:
    """A claim's name becomes the pod volume's name, which is a DNS-1123 label (63)."""
    code, err = _build(
        project,
        run,
        f"""\
        from klaster_build.dsl import Container, Deployment, Volume
        data = Volume("data", claim_name="{"c" * 70}")
        Deployment("web", containers=[Container("web", image="nginx:1.27.3", mounts={{"/d": data.claim}})])
        """,
    )
    assert code == 2
    assert err.startswith(
        "apps.d/web.py:3: error: Deployment 'web': pod volume name must be at most 63 characters "
        "(a DNS-1123 name), got 70 ('cccccccccccccccccccccccccccccccc...'); shorten it by 7"
    )


MANIFEST = """\
from klaster_build.dsl import Manifest
Manifest(body={{"apiVersion": "{api}", "kind": "{kind}", "metadata": {{"name": "x"}}}}{extra})
"""


@pytest.mark.parametrize(("group", "kind"), sorted(CLUSTER_SCOPED))
def test_cluster_scoped_kinds_never_get_a_namespace(
    project: ProjectDir, run, group: str, kind: str
) -> None:
    """Kubernetes' own cluster-wide kinds need no flag: the document has no namespace."""
    api = f"{group}/v1" if group else "v1"
    code, err = _build(project, run, MANIFEST.format(api=api, kind=kind, extra=""))
    assert code == 0, err
    (document,) = yaml.safe_load_all(project.file("out/apps/web/manifests.yaml"))
    assert document["metadata"] == {"name": "x"}


@pytest.mark.parametrize(
    ("api", "kind", "extra", "namespaced"),
    [
        ("policy/v1", "PodDisruptionBudget", "", True),
        ("example.org/v1", "Widget", "", True),
        ("example.org/v1", "ClusterWidget", ", cluster_scoped=True", False),
        ("example.org/v1", "Widget", ", cluster_scoped=False", True),
    ],
)
def test_other_kinds_get_the_app_namespace_unless_declared_cluster_scoped(
    project: ProjectDir, run, api: str, kind: str, extra: str, namespaced: bool
) -> None:
    """Namespaced and unknown kinds go in the app's namespace; `cluster_scoped=True` opts out."""
    assert _build(project, run, MANIFEST.format(api=api, kind=kind, extra=extra))[0] == 0
    (document,) = yaml.safe_load_all(project.file("out/apps/web/manifests.yaml"))
    assert ("namespace" in document["metadata"]) == namespaced


SELECTING = """\
from klaster_build.dsl import Container, Deployment, HelmRelease, HelmRepository, Service
Deployment("web", labels={{"app.kubernetes.io/name": "web", "tier": "front"}},
           containers=[Container("web", image="nginx:1.27.3")])
Service("web", selector={selector}, ports={{"http": 80}})
{chart}"""
CHART = """\
repo = HelmRepository("r", url="https://example.org/charts")
HelmRelease("c", source=repo, chart="c", version="1.0.0")
"""


@pytest.mark.parametrize(
    ("selector", "builds"),
    [
        ({"app.kubernetes.io/name": "web"}, True),
        ({"app.kubernetes.io/name": "web", "tier": "front"}, True),
        ({"app.kubernetes.io/name": "web", "statefulset.kubernetes.io/pod-name": "web-0"}, True),
        ({"app.kubernetes.io/name": "wbe"}, False),
        ({"app.kubernetes.io/name": "web", "tier": "back"}, False),
    ],
)
def test_a_selector_must_match_a_pod_of_its_namespace(
    project: ProjectDir, run, no_color, selector: dict[str, str], builds: bool
) -> None:
    """A Service selecting no pod is an error naming the labels the namespace's pods have."""
    code, err = _build(project, run, SELECTING.format(selector=selector, chart=""))
    assert (code == 0) == builds, err
    if not builds:
        assert err.startswith("apps.d/web.py:4: error: Service 'web' selects pods labelled ")
        assert (
            "but no pod in namespace 'web' has those labels; its pods are labelled "
            "app.kubernetes.io/name=web, tier=front (Deployment web): select one of them, or give workload="
        ) in err


def test_a_selector_may_name_pods_of_a_chart(project: ProjectDir, run) -> None:
    """Pods a Helm chart makes are not klaster's to see: a selector beside a chart is trusted."""
    code, err = _build(
        project, run, SELECTING.format(selector={"app.kubernetes.io/name": "c"}, chart=CHART)
    )
    assert code == 0, err
