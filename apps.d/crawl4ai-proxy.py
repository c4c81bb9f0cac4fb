"""crawl4ai-proxy: adapts crawl4ai to the fit API; lives in crawl4ai's namespace."""

from klaster_build.dsl import App, Container, Deployment, Probe, Service, ref

App(namespace="crawl4ai")

crawl4ai = ref("crawl4ai/Service/crawl4ai")
proxy = Deployment(
    "crawl4ai-proxy",
    containers=[
        Container(
            "crawl4ai-proxy",
            # Built by the repo's CI, which pushes only :latest; pin the build's version tag.
            image="gitea.lumpiasty.xyz/lumpiasty/crawl4ai-proxy-fit:1.0.0",
            image_pull_policy="IfNotPresent",
            env={
                "LISTEN_PORT": "8000",
                "CRAWL4AI_ENDPOINT": f"http://{crawl4ai.host}:11235/crawl",
            },
            ports={"http": 8000},
            resources={
                "requests": {"cpu": "25m", "memory": "32Mi"},
                "limits": {"cpu": "200m", "memory": "128Mi"},
            },
            readiness=Probe(
                tcp=True, port="http", initial_delay=3, period=10, timeout=2, failure_threshold=6
            ),
            liveness=Probe(
                tcp=True, port="http", initial_delay=10, period=15, timeout=2, failure_threshold=6
            ),
        )
    ],
)
Service("crawl4ai-proxy", workload=proxy, ports={"http": 8000})
