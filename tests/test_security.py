"""No secret values in out/, least-privilege policies under fuzzing, hostPath only for devices."""

from __future__ import annotations

import re

import yaml
from conftest import REPO
from hypothesis import given
from hypothesis import strategies as st

from klaster_build.emit.vault import _CREDENTIAL as CREDENTIAL

PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
# Values deliberately public (marked Plain(...) in apps.d): a placeholder key llama-swap ignores.
PUBLIC_PLACEHOLDERS = {"ignored"}


def test_generated_tree_holds_no_secret_values() -> None:
    """Scan every generated file: no private keys; credential-named env values are placeholders."""
    for path in sorted((REPO / "out").rglob("*")):
        if path.is_file():
            assert not PRIVATE_KEY.search(path.read_text(errors="replace")), path
    documents = [
        d for p in (REPO / "out").rglob("*.yaml") for d in yaml.safe_load_all(p.read_text()) if d
    ]
    literal = {
        entry["value"]
        for document in documents
        for entry in _env_entries(document)
        if CREDENTIAL.search(entry["name"])
    }
    assert literal <= PUBLIC_PLACEHOLDERS, literal


def _env_entries(value: object) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    if isinstance(value, dict):
        if isinstance(value.get("name"), str) and isinstance(value.get("value"), str):
            found.append(value)  # type: ignore[arg-type]
        for item in value.values():
            found.extend(_env_entries(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_env_entries(item))
    return found


def test_host_paths_only_for_declared_devices() -> None:
    """Every hostPath volume in out/ is a /dev device of a privileged container."""
    for path in (REPO / "out" / "apps").rglob("*.yaml"):
        for document in yaml.safe_load_all(path.read_text()):
            pod = (
                (document or {}).get("spec", {}).get("template", {}).get("spec", {})
                if isinstance(document, dict)
                else {}
            )
            for volume in pod.get("volumes", []):
                if "hostPath" in volume:
                    assert volume["hostPath"]["path"].startswith("/dev/"), path
                    assert any(
                        c.get("securityContext", {}).get("privileged") for c in pod["containers"]
                    ), path


@given(
    paths=st.lists(
        st.from_regex(r"[a-z]{1,8}(/[a-z]{1,8})?", fullmatch=True),
        min_size=1,
        max_size=6,
        unique=True,
    )
)
def test_policies_grant_exactly_read_on_read_paths(paths: list[str]) -> None:
    """Under random secret sets, the derived policy grants read on exactly the paths read."""
    from klaster_build.emit.vault import hcl_policy, policy_grants
    from klaster_build.records.vault import VaultSecret, VaultStaticSecret, expand_secrets
    from klaster_build.registry import session

    with session(app="fuzz") as registry:
        declared = [VaultSecret(f"s{i}", path=p) for i, p in enumerate(paths)]
        for secret in declared:
            assert list(expand_secrets(secret, registry.records)) == []
    secrets = [r for r in registry.records if isinstance(r, VaultStaticSecret)]
    policy = secrets[0].auth.role.policies[0]
    grants = policy_grants(policy, "secret", secrets)
    assert grants == {f"secret/data/{p}": ("read",) for p in sorted(paths)}
    text = hcl_policy(grants)
    assert text.count('capabilities = ["read"]') == len(paths)
    assert "update" not in text and "create" not in text
