"""One headless station of the soak test (``bench/soak.py``), in its own process:
``python -m bench.soak_station CONFIG.json``.

It drives the real station services (:class:`prep.station.station.Station`: SQLite
store, blob store, outbox and the background sync agent) over its own data directory,
making records without pause: an acopio for each acta of the distritos its CATD
receives, then the acta's image (a small random PNG, so every image is a new blob),
and once every acta is in, re-scans (an image record that ``replaces`` the previous
one). Everything resumes after a ``SIGKILL``: what is already recorded is read back
from SQLite.

Control files in the config's ``ctl_dir`` (the soak writes them; this process reads):

- ``clock_offset``: seconds (a float) added to the station's clock: the clock the
  station stamps its records with and sends in ``X-Prep-Clock``
  (:meth:`Station.open`'s ``clock``). The soak's clock jump; missing = 0.
- ``quiet``: stop making records (the drain), keep syncing.

It writes ``estado.json`` there (counts; ``ready`` once enrolled and syncing). SIGTERM
stops it after delivering what it can (up to a minute).
"""

from __future__ import annotations

import io
import json
import logging
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from PIL import Image
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from prep.logsetup import setup_logging
from prep.records import Kind
from prep.station.errors import StationError
from prep.station.errors import StationStorageError
from prep.station.models import RecordRow
from prep.station.station import Station
from prep.station.store import system_clock
from prep.station.sync import SyncOptions

log = logging.getLogger("bench.soak_station")

SYNC = SyncOptions(backoff_base=0.2, backoff_cap=2.0, poll_interval=1.0,
                   heartbeat_interval=10.0, request_timeout=15.0, locate_after=10**6,
                   bundle_interval=15.0, gather_seconds=0.5)
#: A random gray PNG of this size is ≈19 KB: several TCP segments, so a reset after a
#: few KiB lands in the middle of its upload.
IMAGE_SIZE = (160, 120)
REPORT_SECONDS = 2.0


class OffsetClock:
    """The system clock plus the offset in a file, re-read at most every 0.2 s."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0.0
        self._read_at = 0.0
        self._lock = threading.Lock()

    def offset(self) -> float:
        now = time.monotonic()
        with self._lock:
            if now - self._read_at > 0.2:
                self._read_at = now
                try:
                    self._offset = float(self.path.read_text(encoding="ascii").strip() or 0)
                except (OSError, ValueError):
                    self._offset = 0.0
            return self._offset

    def __call__(self) -> datetime:
        return system_clock() + timedelta(seconds=self.offset())


def random_png(rng: random.Random) -> bytes:
    image = Image.frombytes("L", IMAGE_SIZE, rng.randbytes(IMAGE_SIZE[0] * IMAGE_SIZE[1]))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


class SoakStation:
    def __init__(self, config: dict[str, Any], stopping: threading.Event) -> None:
        self.config = config
        self.data_dir = Path(config["data_dir"])
        self.ctl = Path(config["ctl_dir"])
        self.stopping = stopping
        self.interval = float(config["interval"])
        self.counts: Counter[str] = Counter()
        self.rng = random.Random(f"{config['seed']}:{config['name']}:{os.getpid()}")
        self.station = Station.open(self.data_dir, clock=OffsetClock(self.ctl / "clock_offset"))
        self.claves: list[str] = []
        self.registered: set[str] = set()
        self.last_image: dict[str, str] = {}  # clave → id of its latest image record
        self.last_report = 0.0

    def start(self) -> None:
        if self.station.identity is None:
            self.station.enroll(self.config["url"], self.config["code"],
                                self.config["cert_sha256"], hostname=self.config["name"])
        catalog = self.station.catalog()
        catd, catds = int(self.config["catd"]), int(self.config["catds"])
        self.claves = sorted(a.clave for a in catalog.iter_actas()
                             if (a.casilla.distrito_id - 1) % catds + 1 == catd)
        with self.station.store.read() as session:
            rows = session.execute(select(RecordRow.clave_acta, RecordRow.kind, RecordRow.id)
                                   .order_by(RecordRow.seq)).all()
        for clave, kind, record_id in rows:
            if clave is None:
                continue  # a heartbeat
            if kind == Kind.ACOPIO.value:
                self.registered.add(clave)
            elif kind == Kind.IMAGEN.value:
                self.last_image[clave] = record_id
        self.station.start_sync(SYNC)
        self.report(ready=True)

    def quiet(self) -> bool:
        return (self.ctl / "quiet").exists()

    def step(self) -> None:
        pending = [c for c in self.claves if c not in self.registered]
        unimaged = [c for c in self.registered if c not in self.last_image]
        if unimaged:
            clave = unimaged[0]
            record = self.station.imagen(clave, random_png(self.rng), "image/png",
                                         self.config["digitalizador"])
            self.last_image[clave] = record.id
            self.counts["imagen"] += 1
        elif pending:
            clave = pending[0]
            self.station.acopio(clave, self.config["acopiador"])
            self.registered.add(clave)
            self.counts["acopio"] += 1
        elif self.last_image:
            clave = self.rng.choice(sorted(self.last_image))
            record = self.station.imagen(clave, random_png(self.rng), "image/png",
                                         self.config["digitalizador"],
                                         replaces=self.last_image[clave])
            self.last_image[clave] = record.id
            self.counts["reescaneo"] += 1

    def run(self) -> None:
        while not self.stopping.is_set():
            if not self.quiet():
                try:
                    self.step()
                except StationStorageError:
                    self.counts["disco_lleno"] += 1  # «vuelva a intentarlo»: nothing stored
                except OperationalError:
                    self.counts["base_ocupada"] += 1
                except StationError as exc:
                    self.counts["errores"] += 1
                    log.error("%s: %s", self.config["name"], exc)
            if time.monotonic() - self.last_report > REPORT_SECONDS:
                self.report()
            self.stopping.wait(self.interval)

    def report(self, ready: bool = False, final: bool | None = None) -> None:
        self.last_report = time.monotonic()
        state: dict[str, Any] = {"pid": os.getpid(), "ready": True, "counts": self.counts,
                                 "final": final}
        try:
            tmp = self.ctl / "estado.json.tmp"
            tmp.write_text(json.dumps(state), encoding="utf-8")
            os.replace(tmp, self.ctl / "estado.json")
        except OSError:
            pass

    def shutdown(self) -> None:
        self.station.stop_sync()
        drained = self.station.sync_until_drained(60.0, SYNC)
        self.report(final=drained)
        self.station.close()


def main(argv: list[str]) -> int:
    setup_logging(logging.WARNING, sys.stderr)
    config = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    stopping = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    station = SoakStation(config, stopping)
    station.start()
    station.run()
    station.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
