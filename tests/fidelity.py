"""Compare the generated tree with the real repo's files, document by document."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from klaster_build.quantity import parse_quantity

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "klaster"
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")

Key = tuple[str, str, str]  # (kind, namespace, name); ("file", "", path) for OpenBao files


def normalise(value: Any) -> Any:
    """Quantities by value (`10Gi` == `10737418240`), numbers-as-strings kept, order-free dicts."""
    if isinstance(value, dict):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [normalise(v) for v in value]
        if items and all(isinstance(i, dict) and "name" in i for i in items):
            return sorted(
                items, key=lambda i: str(i["name"])
            )  # named entries: order carries no meaning
        return items
    if (isinstance(value, str) and _QUANTITY.match(value) and not value.isdigit()) or (
        isinstance(value, str) and value.isdigit() and len(value) > 6
    ):
        return ("quantity", parse_quantity(value))
    if isinstance(value, str):
        return value.rstrip()
    return value


def _documents(path: Path) -> list[dict[str, Any]]:
    try:
        return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    except yaml.YAMLError:
        return []


def k8s_documents(root: Path, relative_files: list[str]) -> dict[Key, dict[str, Any]]:
    """Kubernetes documents of the given files, keyed by (kind, namespace, name)."""
    found: dict[Key, dict[str, Any]] = {}
    for relative in relative_files:
        for doc in _documents(root / relative):
            if "kind" in doc and "metadata" in doc:
                meta = doc["metadata"]
                found[(doc["kind"], str(meta.get("namespace", "")), str(meta.get("name")))] = doc
    return found


def reference_files() -> list[str]:
    """The current era's files: the apps in apps/kustomization.yaml, infra's list, cluster/."""
    apps = yaml.safe_load((REFERENCE / "apps" / "kustomization.yaml").read_text())["resources"]
    files = []
    for app in apps:
        folder = REFERENCE / "apps" / app
        files += [
            p.relative_to(REFERENCE).as_posix()
            for p in sorted(folder.glob("*.yaml"))
            if p.name != "kustomization.yaml"
        ]
    infra = yaml.safe_load((REFERENCE / "infra" / "kustomization.yaml").read_text())["resources"]
    files += [f"infra/{p}" for p in infra if (REFERENCE / "infra" / p).exists()]
    files += ["cluster/apps.yaml", "cluster/infra.yaml"]
    return files


def vault_files(root: Path, prefix: str) -> dict[Key, Any]:
    """OpenBao policy and role files, keyed by path under vault/."""
    found: dict[Key, Any] = {}
    base = root / prefix
    for path in sorted(base.rglob("*")):
        relative = path.relative_to(base).as_posix()
        if (
            relative.startswith(
                ("policy/", "kubernetes-auth-roles/", "approles/", "kubernetes-se-roles/")
            )
            or relative == "kubernetes-config.yaml"
        ):
            if path.suffix == ".hcl":
                # A policy compares as its set of (path, capabilities): layout and order carry no meaning.
                rules = re.findall(
                    r'path\s+"([^"]+)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]', path.read_text()
                )
                found[("file", "", f"vault/{relative}")] = sorted(
                    (p, re.sub(r"\s", "", c)) for p, c in rules
                )
            elif path.suffix == ".yaml":
                docs = _documents(path)
                found[("file", "", f"vault/{relative}")] = docs[0] if docs else None
    return found


NEVER_PRUNED_KINDS = ("LVMVolume", "PersistentVolume")


def without_prune_guard(document: dict[str, Any]) -> dict[str, Any]:
    """The document without the `kustomize.toolkit.fluxcd.io/prune: disabled` klaster puts on
    every LVMVolume and PV (docs/data-safety.md); the real files predate it."""
    meta = dict(document.get("metadata") or {})
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if k != "kustomize.toolkit.fluxcd.io/prune"
    }
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return {**document, "metadata": meta}


def compare(generated_root: Path) -> dict[Key, str]:
    """Key -> 'same' | 'different' | 'missing' (real, not generated) | 'extra' (generated only)."""
    real = k8s_documents(REFERENCE, reference_files())
    real.update(vault_files(REFERENCE, "vault"))
    generated_files = [
        p.relative_to(generated_root).as_posix()
        for p in sorted(generated_root.rglob("*.yaml"))
        if "/vault/" not in f"/{p.relative_to(generated_root).as_posix()}"
        and "configs/" not in p.relative_to(generated_root).as_posix().split("apps/")[-1][:8]
    ]
    generated = {
        key: without_prune_guard(doc) if key[0] in NEVER_PRUNED_KINDS else doc
        for key, doc in k8s_documents(generated_root, generated_files).items()
    }
    generated.update(vault_files(generated_root, "vault"))
    result: dict[Key, str] = {}
    for key in sorted(set(real) | set(generated)):
        if key not in generated:
            result[key] = "missing"
        elif key not in real:
            result[key] = "extra"
        else:
            result[key] = (
                "same" if normalise(real[key]) == normalise(generated[key]) else "different"
            )
    return result
