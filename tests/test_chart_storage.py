"""What charts really do with storage and credentials: refused unless the values point at
klaster's own claims and secrets (or a reason is given)."""

from __future__ import annotations

import pytest
from conftest import ProjectDir

RELEASE = """\
from klaster_build.dsl import *
data = Volume("data")
token = VaultSecret("chart-secret", path="chart", keys=["token"])
repo = HelmRepository("charts", url="https://charts.example.org")
HelmRelease("chart", source=repo, chart="chart", version="1.2.3", values={values}{extra})
Deployment("user", containers=[Container("user", image="nginx:1.27.3", mounts={{"/d": data.claim}})])
"""


def _build(project: ProjectDir, run, values: str, extra: str = "") -> tuple[int, str]:
    project.app("chart", RELEASE.format(values=values, extra=extra))
    code, _, err = run("build")
    return code, err


@pytest.mark.parametrize(
    ("values", "finding"),
    [
        (
            '{"server": {"persistence": {"enabled": True}}}',
            "server.persistence.enabled: true without one of klaster's claims",
        ),
        ('{"redis": {"enabled": True}}', "redis.enabled: true without one of klaster's claims"),
        (
            '{"nextcloud": {"internalDatabase": {"enabled": True}}}',
            "nextcloud.internalDatabase.enabled: true (a bundled database",
        ),
        (
            '{"mariadb": {"enabled": True, "primary": {"persistence": {"existingClaim": data.claim}}}}',
            "mariadb.enabled: true (a bundled database",
        ),
        (
            '{"persistence": {"data": {"storageClass": "local-path"}}}',
            "persistence.data.storageClass: local-path",
        ),
    ],
)
def test_chart_made_storage_is_refused(
    project: ProjectDir, run, no_color, values: str, finding: str
) -> None:
    code, err = _build(project, run, values)
    assert code == 2
    assert f"apps.d/chart.py:5: error: HelmRelease 'chart' values set {finding}" in err
    code, err = _build(project, run, values, extra=', bundled_storage_reason="scratch data only"')
    assert code == 0, err


@pytest.mark.parametrize(
    "values",
    [
        '{"server": {"persistence": {"enabled": True, "existingClaim": data.claim}}}',
        '{"valkey": {"enabled": True, "primary": {"persistence": {"enabled": True, "existingClaim": data.claim}}}}',
        '{"persistence": {"enabled": True, "create": False, "claimName": data.claim}}',
        '{"redis": {"enabled": False}, "persistence": {"enabled": False}}',
    ],
)
def test_storage_on_klasters_claims_builds(project: ProjectDir, run, no_color, values: str) -> None:
    code, err = _build(project, run, values)
    assert code == 0, err


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ('{"adminPassword": "hunter22"}', "adminPassword"),
        ('{"auth": {"token": "abc123def"}}', "auth.token"),
        ('{"s3": {"secretKey": "AKIAsecret"}}', "s3.secretKey"),
        ('{"oidc": {"client-secret": "x9y8z7"}}', "oidc.client-secret"),
    ],
)
def test_literal_credentials_under_any_key_are_refused(
    project: ProjectDir, run, no_color, values: str, where: str
) -> None:
    code, err = _build(project, run, values)
    assert code == 2
    assert f"HelmRelease 'chart' values {where} hold a literal credential" in err
    assert "Plain('...', reason='...')" in err


def test_names_of_secrets_and_references_are_not_credentials(
    project: ProjectDir, run, no_color
) -> None:
    values = (
        '{"auth": {"existingSecret": "chart-secret", "usersExistingSecret": "users", '
        '"secretName": "chart-secret", "passwordKey": "password", "token": token.key("token"), '
        '"adminPassword": Plain("changeme-on-first-login", reason="the chart forces a reset"), '
        '"passwordMinLength": 8, "showPasswordHint": False}}'
    )
    code, err = _build(project, run, values)
    assert code == 0, err
