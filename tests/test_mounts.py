"""Secrets and ConfigMaps mounted as files, what may be mounted, and restarts on secret change."""

from __future__ import annotations

import yaml
from conftest import ProjectDir

MOUNTED = """\
from klaster_build.dsl import ConfigFiles, Container, Deployment, Mount, VaultSecret

tls = VaultSecret("broker-tls", path="broker", keys=["tls.crt", "tls.key"])
api = VaultSecret("broker-api", path="broker-api", keys=["token"])
config = ConfigFiles("broker-config", files={"broker.conf": "listener 8883\\n"})
Deployment("broker", containers=[Container("broker", image="eclipse-mosquitto:2.0.22",
    env={"API_TOKEN": api.key("token")},
    mounts={
        "/etc/tls": Mount(tls, items={"tls.crt": "server.crt", "tls.key": "private/server.key"}, read_only=True),
        "/etc/broker": Mount(config, items={"broker.conf": "mosquitto.conf"}),
    })])
"""


def _docs(project: ProjectDir, relative: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(project.file(relative)) if d]


def test_vault_secret_and_config_mounted_as_files_restart_their_readers(
    project: ProjectDir, run
) -> None:
    """A VaultSecret mounts as a `secret` volume with the picked keys as files; every workload
    that mounts or reads a VaultSecret is a rollout-restart target of its VaultStaticSecret."""
    project.app("broker", MOUNTED)
    code, _, err = run("build")
    assert code == 0, err
    (deployment,) = _docs(project, "out/apps/broker/deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    assert {
        "name": "broker-tls",
        "secret": {
            "secretName": "broker-tls",
            "items": [
                {"key": "tls.crt", "path": "server.crt"},
                {"key": "tls.key", "path": "private/server.key"},
            ],
        },
    } in pod["volumes"]
    assert {
        "name": "broker-config",
        "configMap": {
            "name": "broker-config",
            "items": [{"key": "broker.conf", "path": "mosquitto.conf"}],
        },
    } in pod["volumes"]
    assert {"name": "broker-tls", "mountPath": "/etc/tls", "readOnly": True} in pod["containers"][
        0
    ]["volumeMounts"]
    secrets = {
        d["metadata"]["name"]: d["spec"]
        for d in _docs(project, "out/apps/broker/secret.yaml")
        if d["kind"] == "VaultStaticSecret"
    }
    for name in ("broker-tls", "broker-api"):  # mounted, read through env
        assert secrets[name]["rolloutRestartTargets"] == [{"kind": "Deployment", "name": "broker"}]


def test_unread_secret_has_no_restart_targets(project: ProjectDir, run) -> None:
    """A secret only a chart reads names no target (klaster cannot name the chart's workloads)."""
    project.app(
        "a",
        """\
        from klaster_build.dsl import VaultSecret

        VaultSecret("s", path="a", keys=["k"])
        """,
    )
    assert run("build")[0] == 0
    (static,) = [
        d for d in _docs(project, "out/apps/a/secret.yaml") if d["kind"] == "VaultStaticSecret"
    ]
    assert "rolloutRestartTargets" not in static["spec"]


def test_mount_mistakes_are_located(project: ProjectDir, run, no_color) -> None:
    """What cannot be mounted, items of a claim, unknown keys and one volume mounted with two
    choices of items are errors at the workload's line that say what to write instead."""
    project.app(
        "a",
        """\
        from klaster_build.dsl import Container, Deployment, Mount, VaultSecret, Volume

        tls = VaultSecret("tls", path="a", keys=["tls.crt"])
        data = Volume("data", size="1Gi")
        Deployment("d", containers=[Container("d", image="nginx:1.27.3", mounts={
            "/host": "/var/lib/host",
            "/data": Mount(data.claim, items={"x": "y"}),
            "/tls": Mount(tls, items={"tls.key": "k"}),
            "/tls2": Mount(tls, items={"tls.crt": "c"}),
        })])
        """,
    )
    code, _, err = run("build")
    assert code == 2
    where = "apps.d/a.py:5: error: Deployment 'd' container 'd' mount"
    assert (
        f"{where} /host cannot mount a str; mount one of Certificate, ConfigFiles, ConfigMap, EmptyDir, PersistentVolumeClaim, VaultSecret"
        in err
    )
    assert (
        f"{where} /data: a PersistentVolumeClaim has no keys to pick with items=; leave items out"
        in err
    )
    assert (
        f"{where} /tls picks keys ['tls.key'] that VaultSecret 'tls' does not declare; it has ['tls.crt']"
        in err
    )
    assert (
        f"{where} /tls2 mounts volume 'tls' again with other items; give this Mount its own name="
        in err
    )


def test_mount_items_must_be_relative_files(project: ProjectDir, run, no_color) -> None:
    """An absolute item path is refused at the argument's line."""
    project.app(
        "a",
        """\
        from klaster_build.dsl import ConfigFiles, Mount

        config = ConfigFiles("c", files={"a": "b"})
        Mount(config,
              items={"a": "/etc/a"})
        """,
    )
    code, _, err = run("build")
    assert code == 2
    assert (
        "apps.d/a.py:5: error: Mount 'items' path '/etc/a' for key 'a' must be a relative file "
        "path such as 'tls.crt'"
    ) in err
