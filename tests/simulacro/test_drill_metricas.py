"""A NOC scrapes the central during a real drill (issue 68): ``prep simulacro
--metrics-port 0`` prints the central's Prometheus URL, a scraper polls it all night,
and its last scrape agrees with the drill's own counts (``simulacro.json``)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]
# A stuck drill's bound, not a measure (simulacro/espera.py bounds its own waits).
DRILL_BOUND_S = 3600
pytestmark = pytest.mark.timeout(DRILL_BOUND_S + 300)
_URL = re.compile(r"Métricas de Prometheus del nodo central: (\S+)")


class _Scraper(threading.Thread):
    """Scrapes ``url`` every second until told to stop, keeping the last good body."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.ultimo = ""
        self.buenos = 0
        self.alto = threading.Event()

    def run(self) -> None:
        while not self.alto.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=30) as answer:
                    self.ultimo = answer.read().decode("utf-8")
                    self.buenos += 1
            except OSError:
                pass  # the central restarting (an incident) or gone at the end
            self.alto.wait(1.0)


def _valores(texto: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for familia in text_string_to_metric_families(texto):
        for muestra in familia.samples:
            out.setdefault(muestra.name, []).append((muestra.labels, muestra.value))
    return out


def test_a_scrape_during_the_drill_agrees_with_its_counts() -> None:
    base = Path(tempfile.mkdtemp(prefix="prep-drill-metricas-"))
    base.chmod(0o755)
    out = base / "sim"
    scraper: _Scraper | None = None
    try:
        lineas = []
        with subprocess.Popen(
                [sys.executable, "-m", "prep", "simulacro", "--scale", "0.01", "--seed", "7",
                 "--metrics-port", "0", "--out", str(out)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                cwd=REPO) as drill:
            assert drill.stdout is not None
            for linea in drill.stdout:
                lineas.append(linea)
                match = _URL.search(linea)
                if match and scraper is None:
                    scraper = _Scraper(match.group(1))
                    scraper.start()
            drill.wait(timeout=DRILL_BOUND_S)
        salida = "".join(lineas)
        assert drill.returncode == 0, salida[-4000:]
        assert scraper is not None, "the drill did not print its metrics URL:\n" + salida
        scraper.alto.set()
        scraper.join(timeout=60)
        assert scraper.buenos >= 3, "fewer than three scrapes answered during the night"
        m = _valores(scraper.ultimo)
        informe = json.loads((out / "simulacro.json").read_text(encoding="utf-8"))

        assert m["prep_simulacro"][0][1] == 1
        assert m["prep_database_up"][0][1] == 1
        # Every catalog acta, in some state; at most those the drill published.
        assert sum(v for _, v in m["prep_actas"]) == informe["actas"]
        assert 0 < m["prep_actas_published"][0][1] <= informe["actas"]
        # PREP Casilla's photos accepted: the drill's own count.
        assert m["prep_casilla_images_total"][0][1] == informe["fotos_casilla"]
        # Its stations (three CATD and the CCV), each seen, none left with a backlog
        # the last scrape would call lost.
        estaciones = {labels["station"] for labels, _ in m["prep_station_enabled"]}
        assert len(estaciones) >= 4
        # Its cortes: every corte the last scrape counts is one the drill published.
        publicados = m["prep_cortes_published_total"][0][1]
        assert 1 <= publicados <= len(informe["cortes"]), (publicados, informe["cortes"])
        assert m["prep_audit_events_total"][0][1] > 0
    finally:
        if scraper is not None:
            scraper.alto.set()
        shutil.rmtree(base, ignore_errors=True)
