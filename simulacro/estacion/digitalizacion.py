"""The virtual digitalizador: renders each acta's image as the scanner would and drops
it into the hot folder watched by the real
:class:`~prep.station.scan.service.DigitalizacionService`; scans again what was
rejected (typing the CLAVE_ACTA the third time) and what a capturista found unreadable.
"""

from __future__ import annotations

import heapq
import logging
import os
import random
import shutil
import subprocess
import time
from typing import Any

from prep.catalog import Acta
from prep.sintetico.acta_image import ActaImageOptions
from prep.sintetico.acta_image import render_acta_image
from prep.station.scan.hotfolder import Disposition
from prep.station.scan.hotfolder import HotFileResult
from prep.station.scan.hotfolder import HotFolderOptions
from prep.station.scan.quality import QualityPolicy
from prep.station.scan.service import DigitalizacionResult
from prep.station.scan.service import DigitalizacionService
from prep.values import Valor
from prep.values import parse_valor
from simulacro.estacion.base import PAPEL_ESCANEADO
from simulacro.estacion.base import EstacionBase
from simulacro.proceso import listdir

log = logging.getLogger("simulacro.estacion")

#: The folder is looked at every half second, as the workstation does (at 0.2 s the 33
#: idle folders were 165 listings a second through the drain).
HOT = HotFolderOptions(stable_seconds=0.0, poll_seconds=0.5, unreadable_grace_seconds=2.0,
                       retry_seconds=1.0)
#: Between looks for capturistas' unreadable-image notices (wall seconds).
AVISOS_SECONDS = 1.0


class Digitalizacion(EstacionBase):
    """The digitalizador's part of the station."""

    def digitalizador(self) -> None:
        operator = self.config["operadores"]["digitalizador"]
        policy = QualityPolicy(min_dpi=float(self.config["dpi"]) * 0.9)
        self.service = DigitalizacionService(self.station, operator, policy=policy)
        folder = self.service.hot_folder(self.hot_dir, self._scanned, HOT)
        folder.start()
        ilegibles = set(self.config["ilegibles"])
        next_look = 0.0
        try:
            if self.papel is not None:
                self._escanear_papel(self.papel)
                self.stop.wait()  # the hot folder goes on with the pages until the end
            while not self.stop.is_set():
                due = self._due_scans()
                for clave, attempt in due:
                    self._scan(clave, attempt)
                if ilegibles and time.monotonic() >= next_look:
                    # One listing a second, not a file lookup per acta ten times a second.
                    next_look = time.monotonic() + AVISOS_SECONDS
                    for clave in sorted(ilegibles & set(listdir(self.avisos))):
                        # a capturista found it unreadable
                        ilegibles.discard(clave)
                        self._scan(clave, 5)
                        self.bump("incidente_reescaneo_por_ilegible")
                if not due:
                    self._wait_for_scans()
        finally:
            folder.stop()

    def _escanear_papel(self, papel: dict[str, Any]) -> None:
        """A paper night: once the acopio of the stack is done, the digitalizador scans
        the printed actas, that is the CATD's PDF rendered page by page by ``pdftoppm``
        (gray, at the night's resolution, the control sheet left out), each page written
        aside and then moved into the hot folder, as scanner software does. Done once:
        after a restart the marker file says the stack went through."""
        marker = self.data_dir / PAPEL_ESCANEADO
        if marker.exists():
            return
        while self.pending_arrivals > 0 and not self.stop.is_set():
            self.stop.wait(0.2)
        if self.stop.is_set():
            return
        aside = self.data_dir / "papel.tmp"
        shutil.rmtree(aside, ignore_errors=True)
        aside.mkdir()
        try:
            subprocess.run(["pdftoppm", "-r", str(int(self.config["dpi"])), "-gray", "-png",
                            "-f", str(int(papel["primera"])), str(papel["pdf"]),
                            str(aside / f"{self.name}-hoja")], check=True, timeout=1800,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        except (OSError, subprocess.SubprocessError) as exc:
            detalle = getattr(exc, "stderr", None) or str(exc)
            self.fail(f"no se pudieron escanear las actas impresas de {papel['pdf']} "
                      f"(pdftoppm): {detalle.strip()[-300:]}")
            return
        self.hot_dir.mkdir(parents=True, exist_ok=True)
        for hoja in sorted(aside.iterdir()):
            os.replace(hoja, self.hot_dir / hoja.name)
            self.bump("hojas")
        aside.rmdir()
        marker.touch()

    def _wait_for_scans(self) -> None:
        """Sleep until the next scan is due, one is queued, or AVISOS_SECONDS have passed
        (the capturistas' notices): 33 idle digitalizadores looking ten times a second
        were hundreds of wake-ups a second through the drain."""
        with self.lock:
            head = self.scan_queue[0][0] if self.scan_queue else None
            self.scan_queued.clear()  # under the lock: a push after this sets it again
        if self.stop.is_set():  # shutdown() set both just before the clear
            return
        left = AVISOS_SECONDS if head is None else (head - self.minute()) * 60.0 / self.speed
        self.scan_queued.wait(min(max(left, 0.01), AVISOS_SECONDS))

    def _due_scans(self) -> list[tuple[str, int]]:
        now = self.minute()
        with self.lock:
            due: list[tuple[float, str, int]] = []
            while self.scan_queue and self.scan_queue[0][0] <= now:
                due.append(heapq.heappop(self.scan_queue))
        return [(clave, attempt) for _, clave, attempt in due]

    def _scan(self, clave: str, attempt: int) -> None:
        """Render the acta as the scanner would and drop it into the hot folder (written
        under a temporary name, then renamed, as scanner software does)."""
        if attempt == 0 and clave in self.escaneadas:
            return  # scanned before a restart (a first scan is due once per run)
        assert self.catalog is not None
        acta = self.catalog.acta(clave)
        if acta is None:
            self.fail(f"{clave} no está en el catálogo de la estación")
            return
        data = self.render(acta, clave, attempt, photo=False)
        name = f"{clave}_{attempt}.jpg"
        tmp = self.hot_dir / f".{name}.tmp"
        self.hot_dir.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, self.hot_dir / name)
        self.bump("escaneos")

    def render(self, acta: Acta, clave: str, attempt: int, photo: bool) -> bytes:
        rng = random.Random(f"{clave}:{attempt}:{photo}")
        valores = _valores(self.verdad.get(clave, {}))
        options = ActaImageOptions(dpi=int(self.config["dpi"]), photo=photo,
                                   skew_degrees=0.0 if attempt >= 2 else rng.uniform(-1.5, 1.5),
                                   jpeg_quality=70, seed=rng.randrange(2**31))
        started = time.thread_time()  # CPU, not wall: dozens of stations share 2 cores
        data = render_acta_image(acta, valores, options, self.catalog)
        with self.lock:
            self.render_seconds += time.thread_time() - started
        return data

    def _scanned(self, result: HotFileResult) -> None:
        detail = result.detail
        if result.disposition is Disposition.PROCESADA:
            motivo = detail.motivo if isinstance(detail, DigitalizacionResult) else ""
            self.bump({"reemplazo": "incidente_reescaneo", "ya_guardada": "ya_guardadas"}
                      .get(motivo, "imagenes"))
            return
        if result.disposition is Disposition.RECHAZADA and self.papel is not None:
            # A printed page the station refuses (the fuera de catálogo sheets): the
            # digitalizador sets it aside; the night counts them against the expected.
            log.warning("%s: hoja rechazada %s: %s", self.name, result.name, result.mensaje)
            self.bump("hojas_rechazadas")
            return
        if result.disposition is Disposition.RECHAZADA:
            # The digitalizador looks at the reason and scans again, straighter; the
            # third time they type the CLAVE_ACTA (manual association).
            clave, _, rest = result.name.partition("_")
            attempt = int(rest.split(".")[0] or 0) + 1 if rest[:1].isdigit() else 9
            self.bump("rechazadas")
            if attempt < 3:
                with self.lock:
                    heapq.heappush(self.scan_queue, (self.minute(), clave, attempt))
                    self.scan_queued.set()
            else:
                self._manual(clave, attempt)

    def _manual(self, clave: str, attempt: int) -> None:
        assert self.catalog is not None
        acta = self.catalog.acta(clave)
        if acta is None:
            return
        outcome = self.service.asociar_manual(self.render(acta, clave, attempt, False), clave)
        self.bump("asociacion_manual" if outcome.ok else "rechazadas")
        if not outcome.ok:
            self.fail(f"{clave}: imagen rechazada tres veces ({outcome.mensaje})")

def _valores(verdad: dict[str, str]) -> dict[str, Valor]:
    return {c: parse_valor(v) for c, v in verdad.items()}
