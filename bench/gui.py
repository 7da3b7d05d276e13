"""Benchmark: the CATD workstation's responsiveness (issue 5), offscreen Qt.

Prints one JSON object:

- ``acopio_p95_ms`` (target ≤ 100): from the reader's suffix key to the acopio recorded
  in the station store and drawn on the acopio screen (printer excluded), p95 over
  ``--actas`` scans through the real wedge detector, presenter, ``db`` worker and view.
- ``cold_start_s`` (target ≤ 3): from starting ``python3 -m catd`` to its login window
  on screen (median of 3 starts), on an enrolled station with a full CATD's catalog.
- ``next_acta_p95_ms`` (target ≤ 150): from the key that saves a capture (Enter on the
  last field) to the next acta's image and empty form on the captura screen, p95 over
  ``--capturas`` actas leased ahead (``bench/work_demo.py``: 200 dpi scans), each typed
  by key events first (not timed), as an operator would.

The station is enrolled "by hand" (identity and a bundle signed with a throwaway central
key, as the central would send it), so no central or network is needed; the sync agent
of the cold-start process talks only to 127.0.0.1:9, where nothing listens.

    python3 -m bench.gui [--actas 300] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from prep.bundle import Bundle  # noqa: E402
from prep.bundle import BundleCatalog  # noqa: E402
from prep.bundle import BundleOperator  # noqa: E402
from prep.bundle import sign_bundle  # noqa: E402
from prep.catalog import Catalog  # noqa: E402
from prep.catalog import catalog_files  # noqa: E402
from prep.catalog import files_digest  # noqa: E402
from prep.catalog import generate_catalog  # noqa: E402
from prep.catalog import write_catalog  # noqa: E402
from prep.crypto import SigningKey  # noqa: E402
from prep.passwords import hash_password  # noqa: E402
from prep.station.accounts import Operator  # noqa: E402
from prep.station.accounts import save_bundle  # noqa: E402
from prep.station.station import Station  # noqa: E402
from prep.station.store import Clock  # noqa: E402
from prep.station.store import StationIdentity  # noqa: E402
from prep.station.store import key_path  # noqa: E402
from prep.station.store import system_clock  # noqa: E402
from prep.station.tls import pem_fingerprint  # noqa: E402

DEMO_PASSWORD = "acopio-distrito-07"
DEMO_OPERATORS = (("op-07-ana-acopio", "Ana Acopio", "acopiador"),
                  ("op-07-jorge-ramirez", "Jorge Ramírez", "acopiador"),
                  ("op-07-lucia-mendez", "Lucía Méndez", "coordinador"))
NOWHERE = "https://127.0.0.1:9"
"""Nothing listens on the discard port: a sync agent pointed here fails at once."""


def _self_signed_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "prep-central")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def demo_station(data_dir: Path, scale: float = 1.0, clock: Clock = system_clock,
                 central_url: str = NOWHERE) -> tuple[Station, Catalog]:
    """A CATD 07 station holding a bundle (catalog of ``scale``, three accounts with
    :data:`DEMO_PASSWORD`) signed by a throwaway central key."""
    station = Station.open(data_dir, clock)
    central = SigningKey.generate()
    pem = _self_signed_pem()
    station_id = "catd-07-5f3a91"
    station.key(create=True)
    station.store.save_identity(StationIdentity(
        station_id=station_id, role="catd", sitio="07", node="central-iecm",
        central_url=central_url, central_key=central.public, cert_pem=pem,
        cert_sha256=pem_fingerprint(pem), key_path=key_path(data_dir)))
    catalog = generate_catalog(2027, scale)
    with tempfile.TemporaryDirectory(prefix="catalogo-") as tmp:
        write_catalog(catalog, Path(tmp))
        files = catalog_files(Path(tmp))
    operators = tuple(BundleOperator(op_id, name, role, "07", True,
                                     hash_password(DEMO_PASSWORD))
                      for op_id, name, role in DEMO_OPERATORS)
    bundle = Bundle(station_id, "07", "central-iecm", 1,
                    BundleCatalog(1, files_digest(files), files), operators,
                    dt.datetime.now(dt.UTC))
    save_bundle(station.store, sign_bundle(central, bundle))
    return station, catalog


def acopio_latencies(actas: int, scale: float) -> list[float]:
    """Milliseconds from the suffix key to the acopio recorded and drawn, per scan."""
    from PySide6.QtCore import QEvent
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication

    from catd.acopio.presenter import AcopioPresenter
    from catd.acopio.view import AcopioView
    from catd.collector import GarbageCollector
    from catd.taskman import TaskManager
    from catd.theme import apply_theme
    from catd.wedge import WedgeDetector

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    apply_theme(app)
    collector = GarbageCollector()
    with tempfile.TemporaryDirectory(prefix="bench-gui-") as tmp:
        station, catalog = demo_station(Path(tmp) / "station", scale)
        tasks = TaskManager()
        detector = WedgeDetector()
        detector.install(app)
        op_id, name, role = DEMO_OPERATORS[0]
        presenter = AcopioPresenter(station, Operator(op_id, name, role, "07"), tasks, None)
        view = AcopioView(presenter, detector)
        view.resize(1366, 740)
        view.show()
        presenter.start()
        _spin(app, lambda: presenter.ready)
        done: list[float] = []
        presenter.acopio_did_record.connect(lambda _: done.append(time.perf_counter()))
        here = [a for a in catalog.iter_actas() if a.casilla.distrito_id == 7][:actas]
        latencies: list[float] = []
        for acta in here:
            target = QApplication.focusWidget() or view.entry
            for ch in acta.clave:
                app.sendEvent(target, QKeyEvent(QEvent.Type.KeyPress, ord(ch),
                                                Qt.KeyboardModifier.NoModifier, ch))
            started = time.perf_counter()
            app.sendEvent(target, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Return,
                                            Qt.KeyboardModifier.NoModifier, "\r"))
            _spin(app, lambda: len(done) == len(latencies) + 1)
            app.processEvents()  # the repaint of the new state
            latencies.append((time.perf_counter() - started) * 1000)
            if view.panel.clave.text() != acta.clave:
                raise RuntimeError(f"the screen shows {view.panel.clave.text()}, not "
                                   f"{acta.clave}")
        tasks.shutdown()
        detector.uninstall(app)
        view.close()
        station.close()
    collector.stop()
    return latencies


def next_acta_latencies(capturas: int, scale: float) -> list[float]:
    """Milliseconds from saving a capture to the next acta's image and form on screen."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from bench.work_demo import lease_work
    from bench.work_demo import written_values
    from catd.captura.presenter import CapturaPresenter
    from catd.captura.view import CapturaView
    from catd.taskman import TaskManager
    from catd.theme import apply_theme

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    apply_theme(app)
    with tempfile.TemporaryDirectory(prefix="bench-gui-") as tmp:
        station, catalog = demo_station(Path(tmp) / "station", scale)
        here = [a for a in catalog.iter_actas() if a.casilla.distrito_id == 7][:capturas + 1]
        operator = Operator("op-07-carlos-ruiz", "Carlos Ruiz", "capturista", "07")
        lease_work(station, operator.id, here)
        tasks = TaskManager()
        presenter = CapturaPresenter(station, operator, tasks, refill_ms=3_600_000)
        view = CapturaView(presenter)
        view.resize(1366, 740)
        view.show()
        _spin(app, lambda: view.shown is not None and view.image.has_image)
        latencies = []
        for acta in here[:capturas]:
            _spin(app, lambda: tasks.pending == 0)  # the operator types for seconds
            assert view.shown is not None and view.shown.item.clave_acta == acta.clave
            valores = written_values(acta)
            for edit in view.form.edits[:-1]:
                QTest.keyClicks(edit, str(valores[edit.campo]))
            last = view.form.edits[-1]
            last.setFocus()
            QTest.keyClicks(last, str(valores[last.campo]))
            started = time.perf_counter()
            QTest.keyClick(last, Qt.Key.Key_Return)
            _spin(app, lambda a=acta: view.shown is not None and view.image.has_image
                  and view.shown.item.clave_acta != a.clave)
            app.processEvents()  # the repaint of the new acta
            latencies.append((time.perf_counter() - started) * 1000)
        _spin(app, lambda: tasks.pending == 0)
        view.hide()
        tasks.shutdown()
        station.close()
    return latencies


def _spin(app: object, until: Callable[[], bool], timeout: float = 30.0) -> None:
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    assert isinstance(app, QApplication)
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError("the workstation did not answer")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)


def cold_start_seconds(scale: float, runs: int = 3) -> float:
    """Median seconds from ``python3 -m catd`` to its first window on screen."""
    with tempfile.TemporaryDirectory(prefix="bench-gui-") as tmp:
        data_dir = Path(tmp) / "station"
        demo_station(data_dir, scale)[0].close()
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "catd", "--data-dir", str(data_dir),
                                   "--sin-mdns", "--report-shown"], cwd=REPO, env=env,
                                  capture_output=True, text=True, timeout=60, check=False)
            elapsed = time.perf_counter() - started
            if done.returncode != 0 or "shown" not in done.stdout:
                raise RuntimeError(f"catd did not start:\n{done.stderr}")
            times.append(elapsed)
    return statistics.median(times)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actas", type=int, default=300, help="scans to time")
    parser.add_argument("--scale", type=float, default=1.0, help="catalog scale")
    parser.add_argument("--capturas", type=int, default=40, help="captures to time")
    args = parser.parse_args()
    next_latencies = next_acta_latencies(args.capturas, args.scale)
    latencies = acopio_latencies(args.actas, args.scale)
    result = {
        "next_acta_p95_ms": round(p95(next_latencies), 1),
        "next_acta_median_ms": round(statistics.median(next_latencies), 1),
        "acopio_p95_ms": round(p95(latencies), 1),
        "acopio_median_ms": round(statistics.median(latencies), 1),
        "acopio_scans": len(latencies),
        "cold_start_s": round(cold_start_seconds(args.scale), 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                   f"{platform.python_version()}",
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.gui", main))
