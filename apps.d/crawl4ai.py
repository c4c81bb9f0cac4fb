"""crawl4ai: web scraper used by other apps."""

from klaster_build.dsl import Container, Deployment, EmptyDir, Service

crawler = Deployment(
    "crawl4ai",
    containers=[
        Container(
            "crawl4ai",
            image="unclecode/crawl4ai:0.7.4",
            ports={"http": 11235},
            mounts={"/dev/shm": EmptyDir(medium="Memory", size="1Gi")},
        )
    ],
)
Service("crawl4ai", workload=crawler, ports={"http": 11235})
