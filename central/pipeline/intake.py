"""PREP Casilla intake: acta photos taken at the polling stations enter the pipeline at
the central (``prep central import-casilla DIR [--watch]``, ``docs/ccv.md``).

Each file is an acta image whose acta is named by its QR (decoded from the image) or,
when the photo lost it, by a CLAVE_ACTA in the file name. An accepted file becomes an
``imagen`` record (ORIGEN ``CASILLA``, DIGITALIZACION ``Móvil``, its SHA-256, the intake
time) of the central's own intake station, a station like any other: enrolled once
with its own Ed25519 key, its records signed, chained and applied by the very ingest
the stations' batches go through. So the acta pipeline, the rebuild and the audit see
nothing special: a photo and a CATD scan of the same acta are two images of one acta,
processed once (``docs/pipeline.md``).

A rejected file (not an image, truncated, not the type its extension says, anything
pasted after the image's end, no or unknown acta, the same bytes again) is moved to
``DIR/rechazadas/`` (the quarantine) with ``<name>.motivo.txt`` saying why, and raises an
anomaly ``casilla_rechazada``; nothing is silently dropped. Accepted files go to
``DIR/procesadas/``. The whole-image check is :func:`prep.image_check.verify_image`, the
one the stations' hot folder and the blob upload make; the folder never follows a
symbolic link (:mod:`prep.station.scan.hotfolder`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
from collections.abc import AsyncIterator
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import exists
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.audit.anomalies import add_anomaly
from central.catalog.catalog_store import current as current_catalog
from central.db.actas import ActaImage
from central.db.blobs import BlobStore
from central.db.blobs import NotAnImage
from central.node.config import DataDir
from central.node.config import Identity
from central.node.errors import Refused
from central.pipeline.ingest import Ingestor
from central.pipeline.ingest import read_cursor
from central.stations.enrollment import Site
from central.stations.enrollment import create_code
from central.stations.enrollment import enroll
from prep.catalog import Catalog
from prep.crypto import SigningKey
from prep.image_check import declared_by_name
from prep.logsetup import fields
from prep.protocol import make_batch
from prep.qr import ActaCodec
from prep.records import Kind
from prep.records import new_record
from prep.station.scan.hotfolder import Disposition
from prep.station.scan.hotfolder import HotFileResult
from prep.station.scan.hotfolder import HotFolder
from prep.station.scan.hotfolder import HotFolderOptions
from prep.station.scan.hotfolder import HotFolderOutcome
from prep.station.scan.hotfolder import readable
from prep.station.scan.quality import Motivo
from prep.station.scan.quality import QualityPolicy
from prep.station.scan.quality import check_image

log = logging.getLogger("central.intake")

ANOMALY = "casilla_rechazada"
#: The intake's own rejection reasons; the rest are the image check's (:class:`Motivo`).
#: Every reason is declared, with its Spanish name, in prep/casilla_rechazos.toml.
ACTA_DESCONOCIDA = "acta_desconocida"
DUPLICADO = "duplicado"
NO_ES_IMAGEN = "no_es_imagen"  # a hot-folder refusal that named no reason
HOSTNAME = "import-casilla"
ACTOR = "prep central import-casilla"
#: Photos carry no scanner resolution and are taken at any angle: what matters is that
#: the image decodes, is not blank and its QR (or file name) names a catalog acta.
PHOTO_POLICY = QualityPolicy(min_dpi=0.0, max_skew_degrees=45.0, scanner=False,
                             again="pida al CAE que envíe de nuevo la fotografía del acta "
                                   "desde PREP Casilla")
_CLAVE_IN_NAME = re.compile(r"(?<![0-9A-Z])(\d{6}[A-Z]\d{6})(?![0-9A-Z])")
_MOTIVOS_QR = frozenset({Motivo.SIN_QR, Motivo.QR_NO_ES_ACTA})
_MEDIA = {"image/jpeg", "image/png"}


@dataclass
class IntakeCounts:
    """What an import did, by outcome (``rechazadas`` by reason id)."""

    recibidas: int = 0
    aceptadas: int = 0
    rechazadas: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"recibidas": self.recibidas, "aceptadas": self.aceptadas,
                "rechazadas": dict(sorted(self.rechazadas.items())),
                "total_rechazadas": sum(self.rechazadas.values())}


@dataclass(frozen=True)
class _Rejection:
    motivo: str
    sha256: str | None = None


class CasillaIntake:
    """Turns PREP Casilla photos into signed image records of the intake station."""

    def __init__(self, engine: Engine, data_dir: DataDir, identity: Identity,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine = engine
        self.data_dir = data_dir
        self.blobs = BlobStore(data_dir.blobs, engine=engine)  # replicated too (0018)
        self.ingestor = Ingestor(engine, identity, self.blobs)
        self.clock = clock
        self.counts = IntakeCounts()
        self._station: tuple[str, SigningKey] | None = None
        self._catalog: tuple[int, Catalog, ActaCodec] | None = None

    # the intake station ---------------------------------------------------------------

    def station(self) -> tuple[str, SigningKey]:
        """The intake station's id and key, enrolled on first use (kept in the data
        directory, the key readable by the central's user only)."""
        if self._station is None:
            state, key_path = self._paths()
            if state.exists() and key_path.exists():
                station_id = str(json.loads(state.read_text("utf-8"))["station_id"])
                self._station = (station_id, SigningKey.load(key_path))
            else:
                # A key without its state is from an attempt that died before enrolling
                # finished: that station (if any) is never used; enroll a fresh one.
                key_path.unlink(missing_ok=True)
                key = SigningKey.generate()
                code = create_code(self.engine, Site.of(None, "ccv"), actor=ACTOR,
                                   ttl=timedelta(minutes=5))
                enrolled = enroll(self.engine, code, key.public.raw(), HOSTNAME,
                                  intake=True)
                key_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                key.save(key_path)
                tmp = state.with_suffix(".tmp")
                tmp.write_text(json.dumps({"station_id": enrolled.station_id}), "utf-8")
                os.replace(tmp, state)
                self._station = (enrolled.station_id, key)
        return self._station

    def _paths(self) -> tuple[Path, Path]:
        base = self.data_dir.root / "casilla"
        return base / "estacion.json", base / "estacion.key"

    # files ----------------------------------------------------------------------------

    def handle(self, name: str, data: bytes) -> HotFolderOutcome:
        """Accept or reject one file (the hot folder's handler)."""
        self.counts.recibidas += 1
        catalog = self._current_catalog()
        if catalog is None:
            return HotFolderOutcome(Disposition.REINTENTAR, "El nodo central aún no tiene "
                                    "catálogo: cárguelo con «prep central catalog load».")
        _, cat, codec = catalog
        report = check_image(data, policy=PHOTO_POLICY, codec=codec,
                             declared=declared_by_name(name))
        sha256 = hashlib.sha256(data).hexdigest()
        problems = [p for p in report.problems if p.motivo not in _MOTIVOS_QR]
        if problems:
            return _reject(problems[0].motivo.value, problems[0].mensaje, sha256)
        if report.media_type not in _MEDIA:
            return _reject(Motivo.TIPO_NO_ADMITIDO.value, "Solo se reciben fotografías JPEG o PNG.",
                           sha256)
        clave = report.acta.clave if report.acta is not None else _clave_in_name(name, cat)
        if clave is None:
            reason = ("La fotografía no tiene un código QR legible ni una CLAVE_ACTA del "
                      "catálogo en el nombre del archivo: renómbrela con la CLAVE_ACTA "
                      "(13 caracteres) o tome otra fotografía.")
            return _reject(Motivo.SIN_QR.value if not report.qr_texts else ACTA_DESCONOCIDA,
                           reason, sha256)
        if self._already_have(sha256):
            return _reject(DUPLICADO, "Esta misma imagen (mismos bytes) ya se había "
                           "recibido; no se registra dos veces.", sha256)
        try:
            self._store(sha256, data, clave, report.media_type or "image/jpeg")
        except NotAnImage as exc:  # the same check as above: only if it changed meanwhile
            return _reject(exc.motivo, exc.mensaje, sha256)
        except Refused as exc:
            log.error("intake batch refused: %s", exc)
            return HotFolderOutcome(Disposition.REINTENTAR, f"El nodo central no aceptó el "
                                    f"registro de la imagen ({exc}); se reintentará.")
        self.counts.aceptadas += 1
        log.info("acta %s recibida de PREP Casilla (%s)", clave, sha256[:12],
                 extra=fields(acta=clave, station=self.station()[0]))
        return HotFolderOutcome(Disposition.PROCESADA, f"Acta {clave} recibida de la "
                                f"casilla ({sha256[:12]}…).", clave)

    def report(self, result: HotFileResult) -> None:
        """Every rejection, including files the hot folder refused before the handler
        (not an image, truncated, too large), is counted and raises an anomaly."""
        if result.disposition is not Disposition.RECHAZADA:
            return
        detail = result.detail
        if isinstance(detail, _Rejection):
            motivo, sha256 = detail.motivo, detail.sha256
        else:
            motivo = getattr(getattr(detail, "motivo", None), "value", NO_ES_IMAGEN)
            self.counts.recibidas += 1  # the handler never saw it
            sha256 = None
        self.counts.rechazadas[motivo] = self.counts.rechazadas.get(motivo, 0) + 1
        with Session(self.engine) as session, session.begin():
            add_anomaly(session, ANOMALY, self.station()[0], {
                "archivo": result.shown_name, "motivo": motivo, "mensaje": result.mensaje,
                "sha256": sha256,
                "cuarentena": readable(str(result.path)) if result.path is not None
                else None})
        log.warning("casilla file %s rejected: %s", result.shown_name, motivo)

    def folder(self, directory: Path, options: HotFolderOptions | None = None,
               on_result: Callable[[HotFileResult], None] | None = None) -> HotFolder:
        """A hot folder over ``directory`` feeding this intake."""
        def reported(result: HotFileResult) -> None:
            self.report(result)
            if on_result is not None:
                on_result(result)
        return HotFolder(directory, self.handle, reported,
                         replace(options or HotFolderOptions(), policy=PHOTO_POLICY))

    def import_dir(self, directory: Path) -> IntakeCounts:
        """Take every file in ``directory`` once (they are complete already)."""
        folder = self.folder(directory, HotFolderOptions(stable_seconds=0.0,
                                                         unreadable_grace_seconds=0.0,
                                                         retry_seconds=3600.0))
        folder.poll()  # first sight of each file
        folder.poll()  # taken
        return self.counts

    # internals ------------------------------------------------------------------------

    def _current_catalog(self) -> tuple[int, Catalog, ActaCodec] | None:
        with Session(self.engine) as session:
            current = current_catalog(session)
        if current is None:
            return None
        version, catalog = current
        if self._catalog is None or self._catalog[0] != version:
            self._catalog = (version, catalog, ActaCodec(catalog))
        return self._catalog

    def _already_have(self, sha256: str) -> bool:
        # Every image record of an acta (catalog or not) is in acta_images, written in
        # the transaction that stores it: an index lookup, not a scan of the records.
        with Session(self.engine) as session:
            return bool(session.scalar(select(exists().where(ActaImage.sha256 == sha256))))

    def _store(self, sha256: str, data: bytes, clave: str, media_type: str) -> None:
        station_id, key = self.station()
        asyncio.run(self.blobs.receive(sha256, _one_chunk(data), media_type))
        cursor = read_cursor(self.engine, station_id)
        record = new_record(station_id, cursor.last_seq + 1, Kind.IMAGEN, ACTOR, {
            "clave_acta": clave, "sha256": sha256, "bytes": len(data),
            "media_type": media_type, "origen": "CASILLA", "digitalizacion": "Móvil"},
            at=self.clock())
        _, body = make_batch(key, station_id, cursor.last_batch + 1, cursor.last_sha256,
                             [record])
        self.ingestor.ingest(body, self.clock())


def _reject(motivo: str, mensaje: str, sha256: str | None) -> HotFolderOutcome:
    return HotFolderOutcome(Disposition.RECHAZADA, mensaje, _Rejection(motivo, sha256))


def _clave_in_name(name: str, catalog: Catalog) -> str | None:
    for match in _CLAVE_IN_NAME.finditer(Path(name).stem.upper()):
        if catalog.acta(match.group(1)) is not None:
            return match.group(1)
    return None


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data
