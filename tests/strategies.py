"""Hypothesis strategies: whole app sets written as apps.d sources.

Apps refer to records of apps drawn before them (acyclic by construction); a test that wants a
cycle adds one back-reference explicitly.
"""

from __future__ import annotations

import attrs
from hypothesis import strategies as st

NAMES = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?", fullmatch=True)


@attrs.frozen
class ServiceSpec:
    """One Deployment + Service pair, with references to earlier services."""

    name: str
    port: int
    refs: tuple[str, ...]  # addresses of earlier services


@attrs.frozen
class AppSpec:
    """One apps.d file."""

    name: str
    services: tuple[ServiceSpec, ...]

    def source(self, back_ref: str | None = None) -> str:
        """The apps.d source; `back_ref` adds a ConfigMap referring to that address."""
        lines = ["from klaster_build.dsl import ConfigMap, Container, Deployment, Service, ref", ""]
        for index, service in enumerate(self.services):
            env = ", ".join(
                f'"PEER_{i}": f"http://{{ref({address!r}).host}}"'
                for i, address in enumerate(service.refs)
            )
            lines.append(
                f"d{index} = Deployment({service.name!r}, containers=[Container({service.name!r}, "
                f"image='example.org/{service.name}:1.0.{service.port}', ports={{'http': {service.port}}}, "
                f"env={{{env}}})])"
            )
            lines.append(
                f"Service({service.name!r}, workload=d{index}, ports={{'http': {service.port}}})"
            )
        if back_ref:
            lines.append(f"ConfigMap('loop', data={{'peer': ref({back_ref!r})}})")
        return "\n".join(lines) + "\n"


@st.composite
def app_sets(draw: st.DrawFn, min_apps: int = 1, max_apps: int = 5) -> list[AppSpec]:
    """A list of apps with unique names; each service may refer to services of earlier apps."""
    app_names = draw(st.lists(NAMES, min_size=min_apps, max_size=max_apps, unique=True))
    earlier: list[str] = []
    apps = []
    for app_name in sorted(app_names):
        service_names = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
        services = []
        for service_name in service_names:
            refs = (
                tuple(draw(st.lists(st.sampled_from(earlier), max_size=2, unique=True)))
                if earlier
                else ()
            )
            services.append(ServiceSpec(service_name, draw(st.integers(1, 65535)), refs))
        apps.append(AppSpec(app_name, tuple(services)))
        earlier.extend(f"{app_name}/Service/{s.name}" for s in services)
    return apps
