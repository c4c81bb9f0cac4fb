"""The DSL's naming table: how every record and value spells its arguments.

One table, enforced on every class apps.d can import (tests/test_naming.py), shown by
`klaster explain`. The rules:
- A record's only positional argument is its `name` (the name part of its address); records
  without a name of their own (App, Manifest, VaultAccess, PrivilegedNamespace, InfraConfig,
  VaultFile) take keywords only.
- A name adopted from an existing cluster is `<thing>_name=`: `lv_name=` (an LV, on Volume and
  Postgres alike), `claim_name=`.
- A waiver is a reason in words: `reason=` on a record that is itself the exception
  (PrivilegedNamespace, VaultPolicy, Plain), `<thing>_reason=` next to the setting it excuses
  (`host_reason=`, `http_reason=`, `bundled_storage_reason=`). Never `allow_*=` or `external_*=`.
- The output file of a record is `file=`.
- Value objects (not records) may take the positionals listed in VALUE_POSITIONALS.
"""

from __future__ import annotations

import attrs

# Value objects whose positional arguments are part of the table (everything else: keywords).
VALUE_POSITIONALS: dict[str, tuple[str, ...]] = {
    "ChartService": ("name", "port"),
    "Container": ("name",),
    "HostDevice": ("path", "type"),
    "Mount": ("source",),
    "Plain": ("text", "reason"),
    "Port": ("name", "number", "protocol"),
    "SecretKey": ("secret", "key"),
}
_RECORD_POSITIONALS = ((), ("name",))
_FORBIDDEN_PREFIXES = ("allow_", "external_")
_RENAMED = {"volume_name": "lv_name", "purpose": "name", "slug": "name"}


def arguments(cls: type) -> list[attrs.Attribute]:  # type: ignore[type-arg]
    """The arguments a user passes to `cls` (origin and app are filled in by klaster)."""
    return [f for f in attrs.fields(cls) if f.init and f.name not in ("origin", "app")]


def naming_problems(cls: type, *, is_record: bool) -> list[str]:
    """How `cls` breaks the naming table (empty when it follows it)."""
    fields = arguments(cls)
    positional = tuple(str(f.alias) for f in fields if not f.kw_only)
    allowed = (
        _RECORD_POSITIONALS if is_record else ((), ("name",), VALUE_POSITIONALS.get(cls.__name__))
    )
    problems = []
    if positional not in allowed:
        problems.append(f"{cls.__name__} takes {positional} positionally; allowed: {allowed}")
    for field in fields:
        name = str(field.alias)
        if "reason" in name and name != "reason" and not name.endswith("_reason"):
            problems.append(f"{cls.__name__}.{name}: a waiver is `reason` or `<thing>_reason`")
        if name.startswith(_FORBIDDEN_PREFIXES):
            problems.append(f"{cls.__name__}.{name}: say why with `<thing>_reason=` instead")
        if name in _RENAMED:
            problems.append(f"{cls.__name__}.{name}: the table spells it `{_RENAMED[name]}`")
    return problems
