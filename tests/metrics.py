"""Reading /metrics in tests: the samples of one scrape, by name and labels."""

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "test-metrics-token"


def scrape(client, settings) -> dict[tuple[str, frozenset], float]:
    """One authorised scrape of /metrics: ``{(sample name, frozenset of label items): value}``."""
    settings.METRICS_TOKEN = TOKEN
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def sample(samples: dict, name: str, **labels) -> float:
    """The value of one sample (0 when the scrape does not hold it yet: counters appear on first use)."""
    return samples.get((name, frozenset(labels.items())), 0.0)
