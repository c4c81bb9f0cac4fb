"""`klaster new`: a commented apps.d file that builds as it is."""

from __future__ import annotations

from pathlib import Path

from klaster_build.errors import KlasterError
from klaster_build.validators import name_problem

PLAIN = '''"""{name}: describe what the app is for."""

from klaster_build.dsl import Container, Deployment, Ingress, Service

# One Deployment; pin the image to a full version (Renovate keeps it current).
{var} = Deployment(
    "{name}",
    containers=[
        Container(
            "{name}",
            image="nginx:1.27.3",
            ports={{"http": 80}},
            # mounts={{"/data": Volume("data", size="1Gi", tier="ssd").claim}},
            # env={{"API_TOKEN": VaultSecret("{name}-secret", path="{name}", keys=["api_token"]).key("api_token")}},
        )
    ],
)
service = Service("{name}", workload={var}, ports={{"http": 80}})
# HTTPS at {name}.<domain> through the ingress controller; ask the operator for the DNS name.
Ingress("{name}", backend=service, port="http")
'''

HELM = '''"""{name}: describe what the app is for."""

from klaster_build.dsl import ChartIngress, HelmRelease, HelmRepository, ingress_values

repo = HelmRepository("{repo}", url="{url}")
web = ChartIngress("{name}")
HelmRelease(
    "{name}",
    source=repo,
    chart="{chart}",
    version="{version}",
    values={{
        # Bring your own storage and database: Volume(...).claim, Postgres(...).app_secret.
        "ingress": ingress_values(web),
    }},
)
'''


class ScaffoldError(KlasterError, ValueError):
    """The app cannot be created (bad name, file exists); the message says why."""


def new_app(root: Path, name: str, helm: tuple[str, str, str] | None = None) -> Path:
    """Write apps.d/<name>.py; refuses to overwrite."""
    problem = name_problem(name)
    if problem:
        msg = f"app name {problem}"
        raise ScaffoldError(msg)
    target = root / "apps.d" / f"{name}.py"
    if target.exists():
        msg = f"{target.relative_to(root)} already exists; edit it or pick another name"
        raise ScaffoldError(msg)
    if helm is None:
        text = PLAIN.format(name=name, var=name.replace("-", "_"))
    else:
        url, chart, version = helm
        repo = chart if name_problem(chart) is None else name
        text = HELM.format(name=name, url=url, chart=chart, version=version, repo=repo)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target
