"""What a difusor's metrics say while the origin misbehaves (issue 68): a corte signed by
another key is refused and counted by its reason, the corte served stays, and the lag
behind the signed index shows it (one corte, five minutes); once the origin serves a
good corte again the lag is back to zero. The end-to-end scrape of a real ``prep difusor
run --metrics-port`` is in tests/central/test_metrics.py."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from difusor.config import Config
from difusor.metricas import REGISTRY
from difusor.seguir import consultar
from prep.corte.anexo import TZ
from prep.crypto import SigningKey
from tests.difusor.cortes import Publicacion


def _metric(name: str, **labels: str) -> float:
    found = REGISTRY.get_sample_value(name, labels)
    assert found is not None, name
    return found


def test_a_refused_corte_is_counted_and_the_lag_shows(
        publicacion: Publicacion, config: Config, datos: Path) -> None:
    primero = publicacion.corte()
    assert consultar(config, datos).ok
    assert _metric("prep_difusor_lag_cortes") == 0
    served_at = datetime.strptime(primero.name, "%Y%m%d_%H%M").replace(tzinfo=TZ)
    assert _metric("prep_difusor_corte_served_timestamp_seconds") == served_at.timestamp()
    refused_before = _metric("prep_difusor_rejections_total", reason="rechazo")
    failed_before = _metric("prep_difusor_polls_total", outcome="failed")
    published_before = _metric("prep_difusor_cortes_published_total")

    segundo = publicacion.corte()  # five minutes later, signed by someone else
    publicacion.refirmar(segundo, SigningKey.generate())
    assert not consultar(config, datos).ok
    assert _metric("prep_difusor_rejections_total", reason="rechazo") == refused_before + 1
    assert _metric("prep_difusor_polls_total", outcome="failed") == failed_before + 1
    assert _metric("prep_difusor_lag_cortes") == 1
    assert _metric("prep_difusor_lag_seconds") == 300
    assert _metric("prep_difusor_corte_served_timestamp_seconds") == served_at.timestamp()

    publicacion.refirmar(segundo)  # the institute's signature again
    assert consultar(config, datos).ok
    assert _metric("prep_difusor_cortes_published_total") == published_before + 1
    assert _metric("prep_difusor_lag_cortes") == 0
    assert _metric("prep_difusor_lag_seconds") == 0
