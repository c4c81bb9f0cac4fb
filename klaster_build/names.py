"""Kubernetes name rules, and the check that every name in the rendered documents follows them.

The rules are the API server's own (kubernetes/kubernetes, staging/src/k8s.io/apimachinery is
published as kubernetes/apimachinery):
- apimachinery pkg/util/validation/validation.go: IsDNS1123Label (at most 63 of
  `[a-z0-9]([-a-z0-9]*[a-z0-9])?`), IsDNS1123Subdomain (at most 253, such labels joined by '.'),
  IsDNS1035Label (a DNS-1123 label that starts with a letter), IsValidPortName (IANA_SVC_NAME:
  at most 15 of `[-a-z0-9]`, at least one letter, no '-' first, last or twice in a row).
- apimachinery pkg/api/validate/content (IsLabelValue, IsLabelKey): label values are at most 63
  of `(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?`; keys are such a name with an optional
  DNS-subdomain prefix and '/'.
- kubernetes pkg/apis/core/validation/validation.go: ValidateServiceName = NameIsDNS1035Label,
  ValidateNamespaceName = a DNS-1123 label; pod volume names and container names are DNS-1123
  labels (validateVolumes, validateContainerCommon); container port names IsValidPortName
  (validateContainerPorts); Service port names DNS-1123 labels (validateServicePort).
- kubernetes pkg/apis/apps/validation/validation.go: ValidateStatefulSetName = NameIsDNSLabel.
- kubernetes pkg/apis/rbac/validation/validation.go: ValidateRBACName = IsValidPathSegmentName
  (not '.' or '..', no '/' or '%').
- Every other object, custom resources included, has a DNS-1123 subdomain name
  (NameIsDNSSubdomain; apiextensions-apiserver validates custom resources with it).
Operators add their own:
- CloudNativePG refuses a Cluster whose name is not an RFC 1035 label of at most 50 characters,
  because it derives `<name>-rw`, `<name>-1`... from it (cloudnative-pg
  internal/webhook/v1/cluster_webhook.go, validateName).
- OpenEBS lvm-localpv names the LV after the LVMVolume (`lvcreate -n <name> <volGroup>`,
  openebs/lvm-localpv pkg/lvm/lvm_util.go, buildLVMCreateArgs). Device-mapper calls the LV's
  device `<vg>-<lv>` with every '-' in either doubled (lvm2 lib/misc/lvm-string.c) and refuses a
  name of DM_NAME_LEN (128) characters or more (libdm, _dm_task_set_name).

Go's regexp `$` matches only at the end of the text, Python's also before a final newline: every
rule here is applied with `fullmatch`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import attrs

from klaster_build.errors import Mistake


@attrs.frozen
class NameRule:
    """One naming rule: what it is called, its pattern and its length limit. The one place a
    name is judged, when declared (validators.dns_label...) and in rendered documents alike."""

    title: str  # "an RFC 1035 label"
    spelled: str  # the pattern in words
    pattern: re.Pattern[str]
    max_length: int | None = None
    lower_case: bool = True  # the rule allows lower-case letters only (suggest a fix)

    def problem(self, value: object) -> Mistake | None:
        """What is wrong with `value` and what to write instead; None when it follows the rule."""
        if not isinstance(value, str):
            return Mistake("must be a string", got=f"{type(value).__name__} {value!r}")
        if not value:
            return Mistake("must not be empty", instead=f"write {self.title}: {self.spelled}")
        if self.max_length is not None and len(value) > self.max_length:
            return Mistake(
                f"must be at most {self.max_length} characters ({self.title})",
                got=f"{len(value)} ({shown(value)})",
                instead=f"shorten it by {len(value) - self.max_length}",
            )
        if self.pattern.fullmatch(value):
            return None
        instead = ""
        if self.lower_case:
            suggestion = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", value.lower())).strip("-")
            if suggestion and self.pattern.fullmatch(suggestion):
                instead = f"e.g. {suggestion!r}"
            elif suggestion[:1].isdigit():
                instead = "start it with a letter"
        return Mistake(f"must be {self.title} ({self.spelled})", got=repr(value), instead=instead)


def shown(value: Any) -> str:
    """A value as a message shows it: its repr, long text cut to its start."""
    if isinstance(value, str) and len(value) > 40:
        return repr(value[:32] + "...")
    return repr(value)


_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
DNS_LABEL = NameRule(
    "a DNS-1123 name",
    "lower-case letters, digits and '-', starting and ending with a letter or digit",
    re.compile(_LABEL),
    63,
)
DNS_SUBDOMAIN = NameRule(
    "a DNS-1123 name",
    "lower-case letters, digits, '-' and '.', each part starting and ending with a letter or digit",
    re.compile(rf"{_LABEL}(?:\.{_LABEL})*"),
    253,
)
RFC1035_LABEL = NameRule(
    "an RFC 1035 label",
    "lower-case letters, digits and '-', starting with a letter and ending with a letter or digit",
    re.compile(r"[a-z](?:[-a-z0-9]*[a-z0-9])?"),
    63,
)
PORT_NAME = NameRule(
    "an IANA service name",
    "lower-case letters, digits and '-', at least one letter, no '-' at either end or twice in a row",
    re.compile(r"(?=[-a-z0-9]*[a-z])[a-z0-9]+(?:-[a-z0-9]+)*"),
    15,
)
CNPG_CLUSTER = NameRule(
    "a CloudNativePG cluster name",
    "an RFC 1035 label; CloudNativePG derives <name>-rw, <name>-app, <name>-1... from it",
    RFC1035_LABEL.pattern,
    50,
)
RBAC_NAME = NameRule(
    "an RBAC name", "anything but '.' or '..', without '/' or '%'", re.compile(r"(?!\.\.?\Z)[^/%]+")
)
_LABEL_NAME = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?")
LABEL_VALUE = NameRule(
    "a label value",
    "letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
    _LABEL_NAME,
    63,
    lower_case=False,
)


def label_key_problem(key: object) -> Mistake | None:
    """What is wrong with a label key (`[prefix/]name`); None when it is valid."""
    if not isinstance(key, str):
        return Mistake("must be a string", got=f"{type(key).__name__} {key!r}")
    prefix, _, name = key.rpartition("/")
    if prefix and (problem := DNS_SUBDOMAIN.problem(prefix)):
        return problem.about(f"prefix {prefix!r}")
    if len(name) > 63 or not _LABEL_NAME.fullmatch(name):
        return Mistake(
            "must be at most 63 letters, digits, '-', '_' and '.' (starting and ending with a "
            "letter or digit), with an optional DNS-subdomain prefix and '/'",
            got=shown(key),
        )
    return None


# metadata.name rules by (API group, kind); every other kind has a DNS-1123 subdomain name.
_NAME_RULES: dict[tuple[str, str], NameRule] = {
    ("", "Namespace"): DNS_LABEL,
    ("", "Service"): RFC1035_LABEL,
    ("apps", "StatefulSet"): DNS_LABEL,
    ("postgresql.cnpg.io", "Cluster"): CNPG_CLUSTER,
}
_RBAC_GROUP = "rbac.authorization.k8s.io"
# Where the pod template of a workload kind sits (a Pod is its own template).
_POD_TEMPLATES: dict[tuple[str, str], tuple[str, ...]] = {
    ("apps", "Deployment"): ("spec", "template"),
    ("apps", "StatefulSet"): ("spec", "template"),
    ("apps", "DaemonSet"): ("spec", "template"),
    ("apps", "ReplicaSet"): ("spec", "template"),
    ("batch", "Job"): ("spec", "template"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template"),
    ("", "Pod"): (),
}
DM_NAME_LEN = 128  # libdm: device-mapper names are shorter than this


def api_group(document: dict[str, Any]) -> str:
    """The API group of a document: `apps` for apps/v1, "" for the core group (v1)."""
    group, _, _ = str(document.get("apiVersion", "")).rpartition("/")
    return group


def name_rule(group: str, kind: str) -> NameRule:
    """The rule metadata.name of an object of this kind follows."""
    if group == _RBAC_GROUP:
        return RBAC_NAME
    return _NAME_RULES.get((group, kind), DNS_SUBDOMAIN)


def _at(document: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        document = document.get(key) if isinstance(document, dict) else None
    return document


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _labels(where: str, labels: Any) -> Iterator[tuple[str, Mistake | None]]:
    if isinstance(labels, dict):
        for key, value in labels.items():
            yield f"{where} key", label_key_problem(key)
            yield f"{where} {key!r}", None if value == "" else LABEL_VALUE.problem(value)


def pod_template_labels(document: dict[str, Any]) -> dict[str, Any] | None:
    """The labels a workload document gives its pods; None for other kinds."""
    path = _POD_TEMPLATES.get((api_group(document), str(document.get("kind"))))
    if path is None:
        return None
    labels = _at(document, (*path, "metadata", "labels"))
    return labels if isinstance(labels, dict) else {}


def _pod_names(template: Any) -> Iterator[tuple[str, Mistake | None]]:
    yield from _labels("pod label", _at(template, ("metadata", "labels")))
    spec = _at(template, ("spec",))
    for field in ("initContainers", "containers"):
        for container in _items(_at(spec, (field,))):
            name = container.get("name")
            yield "container name", DNS_LABEL.problem(name)
            for port in _items(container.get("ports")):
                if "name" in port:
                    where = f"container {name!r} port name"
                    yield where, PORT_NAME.problem(port["name"])
    for volume in _items(_at(spec, ("volumes",))):
        yield "pod volume name", DNS_LABEL.problem(volume.get("name"))


def _service_names(document: dict[str, Any]) -> Iterator[tuple[str, Mistake | None]]:
    yield from _labels("selector", _at(document, ("spec", "selector")))
    for port in _items(_at(document, ("spec", "ports"))):
        if "name" in port:
            yield "port name", DNS_LABEL.problem(port["name"])
        target = port.get("targetPort")
        if isinstance(target, str):
            yield "targetPort", PORT_NAME.problem(target)


def _lv_name(document: dict[str, Any], name: str) -> Iterator[tuple[str, Mistake | None]]:
    group = _at(document, ("spec", "volGroup"))
    device = f"{str(group).replace('-', '--')}-{name.replace('-', '--')}"
    if len(device) >= DM_NAME_LEN:
        over = len(device) - DM_NAME_LEN + 1
        yield (
            "name",
            Mistake(
                f"(the LV name) makes the device-mapper name <volume group>-<LV name>, every '-' "
                f"doubled, {len(device)} characters; device-mapper takes at most {DM_NAME_LEN - 1}",
                got=shown(name),
                instead=f"shorten the LV name by {over}",
            ),
        )


def document_name_problems(document: dict[str, Any]) -> Iterator[Mistake]:
    """What is wrong with the names in one Kubernetes document, each naming the field."""
    kind = str(document.get("kind"))
    group = api_group(document)
    meta = document.get("metadata")
    if not isinstance(meta, dict):  # not an API object (a kustomize Kustomization)
        return
    name = meta.get("name")
    found: list[tuple[str, Mistake | None]] = [("name", name_rule(group, kind).problem(name))]
    found += _labels("label", meta.get("labels"))
    template = _POD_TEMPLATES.get((group, kind))
    if template is not None:
        found += _labels("selector", _at(document, ("spec", "selector", "matchLabels")))
        found += _pod_names(_at(document, template))
    elif (group, kind) == ("", "Service"):
        found += _service_names(document)
    elif (group, kind) == ("local.openebs.io", "LVMVolume") and isinstance(name, str):
        found += _lv_name(document, name)
    for where, problem in found:
        if problem is not None:
            # A custom resource's kind alone can mislead (CloudNativePG's `Cluster`).
            named = f"{kind} ({group})" if "." in group and ".k8s.io" not in group else kind
            subject = named if where == "name" else f"{named} {shown(name)}:"
            yield problem.about(f"{subject} {where}")


def qualified_host(host: str | None, name: str, domain: str) -> str:
    """A declared host (a full name, or a label under `domain`), else `<name>.<domain>`."""
    if host is None:
        return f"{name}.{domain}"
    if "." in host:
        return host
    return f"{host}.{domain}"
