"""What a difusor's metrics say while the origin misbehaves (issue 68): a corte signed by
another key is refused and counted by its reason, the corte served stays, and the lag
behind the signed index shows it (one corte, five minutes); once the origin serves a
good corte again the lag is back to zero. The end-to-end scrape of a real ``prep difusor
run --metrics-port`` is in tests/central/node/test_metrics.py."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from central.publication.feed import INDICE
from difusor.config import Config
from difusor.metricas import REGISTRY
from difusor.seguir import consultar
from prep.corte.anexo import TZ
from prep.crypto import SigningKey
from tests.difusor.cortes import KEY
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


def test_a_stale_index_sets_the_up_to_date_gauge_a_monitor_alerts_on(
        publicacion: Publicacion, config: Config, datos: Path) -> None:
    """Issue 62: a validly signed index older than twice the corte period is not
    «al día»: ``prep_difusor_up_to_date`` drops to 0 and the refusal is counted as
    ``desactualizado``; a current index brings it back to 1."""
    publicacion.corte()
    assert consultar(config, datos).ok
    assert _metric("prep_difusor_up_to_date") == 1
    stale_before = _metric("prep_difusor_rejections_total", reason="desactualizado")
    indice = json.loads((publicacion.path / INDICE).read_bytes())
    indice["generado"] = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    data = json.dumps(indice).encode()
    publicacion.poner_indice((data, KEY.sign(data)))
    hecho = consultar(replace(config, periodo=5), datos)
    assert not hecho.ok and "desactualizado" in hecho.mensaje
    assert _metric("prep_difusor_up_to_date") == 0
    assert _metric("prep_difusor_rejections_total", reason="desactualizado") == \
        stale_before + 1
    generado = datetime.fromisoformat(indice["generado"]).timestamp()
    assert _metric("prep_difusor_index_generated_timestamp_seconds") == generado
    publicacion.corte()
    assert consultar(replace(config, periodo=5), datos).ok
    assert _metric("prep_difusor_up_to_date") == 1
