"""llama: llama-swap inference (GPU, privileged), kokoro TTS, and the API-key proxy in front."""

from klaster_build.dsl import (
    ConfigFiles,
    ConfigMap,
    Container,
    Deployment,
    HostDevice,
    Ingress,
    Mount,
    Port,
    Renovate,
    Service,
    VaultAccess,
    VaultSecret,
    Volume,
    read,
)

access = VaultAccess(
    service_account="llama-proxy", auth="llama", role="llama-proxy", policy="ollama"
)
api_key = VaultSecret("llama-api-key", path="ollama", access=access)
openrouter = VaultSecret(
    "llama-openrouter",
    path="openrouter",
    access=access,
    templates={"OPENROUTER_API_KEY": '{{ get .Secrets "API_KEY" }}'},
)

models = Volume("models", size="200Gi", tier="ssd", file="pvc-ssd.yaml")
config = ConfigFiles("llama-swap", files={"config.yaml": read("llama/config.yaml")})
swap = Deployment(
    "llama-swap",
    containers=[
        Container(
            "llama-swap",
            image="ghcr.io/mostlygeek/llama-swap:v197-vulkan-b8202",
            renovate=Renovate(
                versioning=r"regex:^v(?<major>[0-9]+)-vulkan-b(?<patch>[0-9]+)$", automerge=True
            ),
            image_pull_policy="IfNotPresent",
            command=["/app/llama-swap"],
            args=["--config=/config/config.yaml", "--watch-config"],
            ports={"http": 8080},
            env={"OPENROUTER_API_KEY": openrouter.key("OPENROUTER_API_KEY")},
            mounts={
                "/root/.cache": Mount(models.claim, name="models"),
                "/config": Mount(config, name="config"),
            },
            devices=[HostDevice("/dev/kfd", "CharDevice"), HostDevice("/dev/dri", "Directory")],
        )
    ],
)
llama = Service(
    "llama", workload=swap, ports=[Port("http", 11434, target=8080)], file="deployment.yaml"
)

kokoro = Deployment(
    "kokoro",
    strategy="Recreate",
    file="kokoro.yaml",
    containers=[
        Container(
            "kokoro",
            image="ghcr.io/remsky/kokoro-fastapi-cpu:v0.3.0",
            ports={"http": 8880},
            resources={"requests": {"memory": "2Gi", "cpu": "500m"}, "limits": {"memory": "6Gi"}},
        )
    ],
)
Service("kokoro", workload=kokoro, ports={"http": 8880}, file="kokoro.yaml")

caddyfile = ConfigMap(
    "llama-proxy-config",
    file="auth-proxy.yaml",
    data={
        "Caddyfile": read("llama/Caddyfile").replace("{upstream}", f"{llama}:{llama.port('http')}")
    },
)
proxy = Deployment(
    "llama-proxy",
    file="auth-proxy.yaml",
    labels={"app.kubernetes.io/name": "llama-proxy"},
    containers=[
        Container(
            "caddy",
            image="caddy:2.11.4-alpine",
            image_pull_policy="IfNotPresent",
            mounts={"/etc/caddy": Mount(caddyfile, name="proxy-config")},
            env={"API_KEY": api_key.key("API_KEY")},
        )
    ],
)
proxy_service = Service("llama-proxy", workload=proxy, ports={"http": 80}, file="auth-proxy.yaml")
Ingress(
    "llama",
    backend=proxy_service,
    port="http",
    streaming=True,
    annotations={"acme.cert-manager.io/http01-edit-in-place": "true"},
    sso_reason="an API for programs: the caddy proxy checks its API key",
)
