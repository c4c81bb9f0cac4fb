"""openwebui: chat UI over llama, with Authentik SSO."""

from klaster_build.dsl import (
    OIDC,
    HelmRelease,
    HelmRepository,
    Ingress,
    Plain,
    Port,
    Service,
    Volume,
    ref,
)

sso = OIDC("open-web-ui", redirect_paths=["/oauth/oidc/callback"])
data = Volume(size="10Gi", tier="hdd", file="pvc.yaml")
pipelines = Volume("pipelines", size="1Gi", tier="hdd", file="pvc-pipelines.yaml")
llama = ref("llama/Service/llama")
kokoro = ref("llama/Service/kokoro")
llama_api = f"http://{llama.host}:11434/v1"

web = Service(
    "openwebui-web",
    selector={
        "app.kubernetes.io/component": "open-webui",
        "app.kubernetes.io/instance": "openwebui",
    },
    ports=[Port("http", 80, target=8080)],
    file="ingress.yaml",
)
site = Ingress("openwebui", backend=web, port="http", streaming=True, upload_limit="0")


def env(**values: object) -> list[dict[str, object]]:
    """Helm extraEnvVars entries from keyword arguments, in order."""
    return [{"name": name, "value": value} for name, value in values.items()]


repo = HelmRepository("open-webui", url="https://open-webui.github.io/helm-charts")
HelmRelease(
    "openwebui",
    source=repo,
    chart="open-webui",
    version="16.5.0",
    values={
        "ingress": {"enabled": False},
        "persistence": {"enabled": True, "existingClaim": data.claim},
        "enableOpenaiApi": True,
        "openaiBaseApiUrl": llama_api,
        "ollama": {"enabled": False},
        "pipelines": {
            "enabled": True,
            "persistence": {"enabled": True, "existingClaim": pipelines.claim},
        },
        "terminals": {"enabled": True},
        "extraEnvVars": [
            *env(WEBUI_URL=f"https://{site.fqdn}"),
            {"name": "OAUTH_CLIENT_ID", "valueFrom": sso.client_id},
            {"name": "OAUTH_CLIENT_SECRET", "valueFrom": sso.client_secret},
            *env(
                OAUTH_PROVIDER_NAME="authentik",
                OPENID_PROVIDER_URL=sso.discovery_url,
                OPENID_REDIRECT_URI=f"https://{site.fqdn}/oauth/oidc/callback",
                ENABLE_OAUTH_SIGNUP="true",
                ENABLE_LOGIN_FORM="false",
                OAUTH_MERGE_ACCOUNTS_BY_EMAIL="true",
                ENABLE_OAUTH_ROLE_MANAGEMENT="true",
                OAUTH_ROLES_CLAIM="groups",
                OAUTH_ADMIN_ROLES="Admins",
                OAUTH_ALLOWED_ROLES="Users",
                OAUTH_AUTO_REDIRECT="true",
                AUDIO_STT_ENGINE="openai",
                AUDIO_STT_OPENAI_API_BASE_URL=llama_api,
                # llama-swap ignores the key (the proxy in front of it checks its own).
                AUDIO_STT_OPENAI_API_KEY=Plain("ignored"),
                AUDIO_STT_MODEL="parakeet-tdt_ctc-1.1b",
                AUDIO_TTS_ENGINE="openai",
                AUDIO_TTS_OPENAI_API_BASE_URL=f"http://{kokoro.host}:8880/v1",
                AUDIO_TTS_OPENAI_API_KEY=Plain("ignored"),
                AUDIO_TTS_MODEL="kokoro",
                AUDIO_TTS_VOICE="af_heart",
                ENABLE_IMAGE_GENERATION="true",
                IMAGE_GENERATION_ENGINE="openai",
                IMAGES_OPENAI_API_BASE_URL=llama_api,
                IMAGES_OPENAI_API_KEY=Plain("ignored"),
                IMAGE_GENERATION_MODEL="flux2-klein-4b:Q4_K_M",
                IMAGE_SIZE="512x512",
                ENABLE_IMAGE_EDIT="true",
                IMAGE_EDIT_ENGINE="openai",
                IMAGES_EDIT_OPENAI_API_BASE_URL=llama_api,
                IMAGES_EDIT_OPENAI_API_KEY=Plain("ignored"),
                IMAGE_EDIT_MODEL="flux2-klein-4b:Q4_K_M",
                IMAGE_EDIT_SIZE="512x512",
            ),
        ],
    },
)
