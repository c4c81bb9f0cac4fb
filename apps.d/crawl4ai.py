"""crawl4ai: web scraper used by other apps (openwebui research tools)."""

from klaster_build.dsl import Container, Deployment, EmptyDir, Mount, Probe, Service, VaultSecret

api = VaultSecret("crawl4ai-secret", path="crawl4ai")

crawler = Deployment(
    "crawl4ai",
    containers=[
        Container(
            "crawl4ai",
            # The real repo runs :latest; the guideline wants a pinned version.
            image="unclecode/crawl4ai:0.7.4",
            image_pull_policy="IfNotPresent",
            env={"CRAWL4AI_API_TOKEN": api.key("api_token"), "MAX_CONCURRENT_TASKS": "5"},
            ports={"http": 11235},
            mounts={"/dev/shm": Mount(EmptyDir(medium="Memory", size="1Gi"), name="dshm")},
            resources={
                "requests": {"cpu": "500m", "memory": "1Gi"},
                "limits": {"cpu": "2", "memory": "4Gi"},
            },
            readiness=Probe(
                http_get="/health",
                port="http",
                initial_delay=10,
                period=10,
                timeout=3,
                failure_threshold=6,
            ),
            liveness=Probe(
                http_get="/health",
                port="http",
                initial_delay=30,
                period=15,
                timeout=3,
                failure_threshold=6,
            ),
        )
    ],
)
Service("crawl4ai", workload=crawler, ports={"http": 11235})
