"""`klaster new`: a commented apps.d file that builds as it is, from one of a few templates."""

from __future__ import annotations

import string
import textwrap
from pathlib import Path

import attrs

from klaster_build.errors import Mistake, UserError
from klaster_build.names import CNPG_CLUSTER, DNS_LABEL, RFC1035_LABEL, NameRule


def _served(imports: str, declarations: str, image: str, port: int, settings: str) -> str:
    """An app of one Deployment with its Service and an HTTPS Ingress; `settings` are the
    container's arguments after its ports."""
    return f'''"""$name: describe what the app is for."""

from klaster_build.dsl import {imports}

{textwrap.dedent(declarations).strip()}
app = Deployment(
    "$name",
    containers=[
        Container(
            "$name",
            image="{image}",
            ports={{"http": {port}}},
{textwrap.indent(textwrap.dedent(settings).strip(), " " * 12)}
        )
    ],
)
service = Service("$service", workload=app, ports={{"http": {port}}})
# HTTPS at $name.<domain> through the ingress controller, with a cert-manager certificate,
# behind Authentik's sign-in (forward auth; an app with its own OIDC login uses OIDC(...)).
Ingress("$name", backend=service, port="http", forward_auth=True)
'''


WEB = _served(
    "Container, Deployment, Ingress, Service, Volume",
    """
    # Persistent data: an LVM volume, its PersistentVolume and the claim $name-data-lvmhdd.
    data = Volume("data", size="1Gi", tier="hdd")
    # The app's image: replace nginx with yours, pinned to a full version (Renovate updates it).
    """,
    "nginx:1.27.3",
    80,
    """
    # A claim is ReadWriteOnce, so the Deployment's strategy becomes Recreate.
    mounts={"/usr/share/nginx/html": data.claim},
    # Secrets come from OpenBao, never from this file:
    # env={"API_TOKEN": VaultSecret("$name-secret", path="$name", keys=["api_token"]).key("api_token")},
    """,
)

DATABASE = _served(
    "Container, Deployment, Ingress, Postgres, Service, Volume",
    """
    # A CloudNativePG database on its own LVM volume (ssd); CloudNativePG writes the credentials
    # to the Secret $db-app (keys uri, host, user, password, dbname...).
    db = Postgres("$db", size="1Gi")
    data = Volume("data", size="1Gi", tier="hdd")
    # The app's image: replace nginx with yours, pinned to a full version (Renovate updates it).
    """,
    "nginx:1.27.3",
    80,
    """
    mounts={"/data": data.claim},
    # References, never copied names: each is an edge of 'klaster graph $name'.
    env={
        "DATABASE_URL": db.secret_key("uri"),
        "DATABASE_PASSWORD": db.secret_key("password"),
        "DATABASE_HOST": db.host,
    },
    """,
)

HELM = '''"""$name: describe what the app is for."""

from klaster_build.dsl import ChartIngress, HelmRelease, HelmRepository, ingress_values

# The chart's repository; the chart's version is pinned below (Renovate updates it).
repo = HelmRepository("$repo", url="$url")
# HTTPS at $name.<domain>: the chart makes the Ingress, klaster fills in class, host, TLS and
# Authentik's sign-in in front (forward auth; an app with its own OIDC login uses OIDC(...)).
web = ChartIngress("$name", forward_auth=True)
HelmRelease(
    "$name",
    source=repo,
    chart="$chart",
    version="$version",
    values={
        # Charts differ: compare with the chart's values.yaml ('klaster explain ingress_values').
        "ingress": ingress_values(web),
        # Bring your own storage and database instead of the chart's: a Volume(...).claim as its
        # existingClaim, a Postgres(...).app_secret as its database secret.
    },
)
'''

GPU = _served(
    "Container, Deployment, HostDevice, Ingress, Service, Volume",
    """
    config = Volume("config", size="1Gi", tier="ssd")
    # A GPU media server as the example: replace the image with yours, pinned to a full version.
    """,
    "jellyfin/jellyfin:10.10.7",
    8096,
    """
    mounts={"/config": config.claim},
    # The GPU's render nodes (Intel/AMD); ROCm also needs HostDevice("/dev/kfd").
    # Host devices make the container privileged, so klaster writes the namespace's
    # PodSecurity exemption (out/talos/patches/$name.patch) and a Talos step in
    # 'klaster todo'. Privileged pods from a chart: PrivilegedNamespace(reason="why").
    devices=[HostDevice("/dev/dri", "Directory")],
    """,
)

TEMPLATES = {"web": WEB, "database": DATABASE, "helm": HELM, "gpu": GPU}


@attrs.frozen
class Chart:
    """The Helm chart the helm template installs."""

    url: str
    name: str
    version: str


# The helm template's chart unless `--helm URL CHART VERSION` names one: podinfo, whose
# `ingress:` values have the shape `ingress_values` writes by default.
EXAMPLE_CHART = Chart("https://stefanprodan.github.io/podinfo", "podinfo", "6.9.1")


def _fitted(name: str, rule: NameRule, prefix: str) -> str:
    """`name` when `rule` takes it, else `<prefix>-<name>` cut to the rule's length: an app name
    may start with a digit, a Service's or a database's may not."""
    if rule.problem(name) is None:
        return name
    return f"{prefix}-{name}"[: rule.max_length].rstrip("-")


class ScaffoldError(UserError, ValueError):
    """The app cannot be created (bad name, file exists); the message says why."""


def new_app(root: Path, name: str, template: str = "web", chart: Chart | None = None) -> Path:
    """Write apps.d/<name>.py from `template`; refuses to overwrite."""
    problem = DNS_LABEL.problem(name)
    if problem:
        raise ScaffoldError(problem.about("app name"))
    if template not in TEMPLATES:
        raise ScaffoldError(
            Mistake(
                f"no template {template!r}", instead=f"the templates are {', '.join(TEMPLATES)}"
            )
        )
    if chart is not None and template != "helm":
        raise ScaffoldError(
            Mistake(
                f"goes with --template helm, not --template {template}",
                record="--helm URL CHART VERSION",
            )
        )
    target = root / "apps.d" / f"{name}.py"
    if target.exists():
        raise ScaffoldError(
            Mistake(
                "already exists",
                record=str(target.relative_to(root)),
                instead="edit it or pick another name",
            )
        )
    chart = chart or EXAMPLE_CHART
    text = string.Template(TEMPLATES[template]).substitute(
        name=name,
        service=_fitted(name, RFC1035_LABEL, "web"),
        db=_fitted(f"{name}-db", CNPG_CLUSTER, "db"),
        url=chart.url,
        chart=chart.name,
        version=chart.version,
        repo=chart.name if DNS_LABEL.problem(chart.name) is None else name,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target
