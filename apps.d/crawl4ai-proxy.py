"""crawl4ai-proxy: a small proxy in front of crawl4ai, in crawl4ai's namespace."""

from klaster_build.dsl import App, Container, Deployment, Service, ref

App(namespace="crawl4ai")

proxy = Deployment(
    "crawl4ai-proxy",
    containers=[
        Container(
            "crawl4ai-proxy",
            image="gitea.lumpiasty.xyz/lumpiasty/crawl4ai-proxy-fit:v1.0.0",
            ports={"http": 8000},
            env={
                "CRAWL4AI_ENDPOINT": f"http://{ref('crawl4ai/service/crawl4ai').host}:11235/crawl"
            },
        )
    ],
)
Service("crawl4ai-proxy", workload=proxy, ports={"http": 8000})
