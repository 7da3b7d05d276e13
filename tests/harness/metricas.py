"""Scraping a program's Prometheus endpoint in tests, parsed by the client library's own
parser (never by hand)."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from collections.abc import Mapping

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from tests.harness.espera import esperar

Scrape = Mapping[str, Metric]


def scrape(url: str) -> dict[str, Metric]:
    """Every metric family the endpoint answers, by name (counters without ``_total``)."""
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode("utf-8")
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(families: Scrape, sample: str, **labels: str) -> float | None:
    """The value of the one sample named ``sample`` with exactly ``labels`` (None: none)."""
    for family in families.values():
        for s in family.samples:
            if s.name == sample and s.labels == labels:
                return float(s.value)
    return None


def samples(families: Scrape, sample: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample named ``sample``, by its labels."""
    return {tuple(sorted(s.labels.items())): float(s.value)
            for family in families.values() for s in family.samples if s.name == sample}


def wait_for(check: Callable[[], bool], seconds: float = 120.0, what: str = "") -> None:
    """Poll ``check`` until true; fail after a generous bound (:func:`esperar`)."""
    esperar(check, seconds, what)
