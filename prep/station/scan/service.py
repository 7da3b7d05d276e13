"""Digitalización: an acta's scanned image becomes an ``imagen`` record of its acta.

:class:`DigitalizacionService` checks the image (:mod:`.quality`), reads its QR and
resolves it against the catalog of the station's bundle (:class:`prep.qr.ActaCodec`),
and stores the **original bytes** with :meth:`prep.station.Station.imagen`. Decisions:

- **No acopio at this station yet**: the image is stored anyway and the result says so
  (``sin_acopio``). The paper is physically here and a scan must never be lost to an
  acopiador's slip; the acopiador is asked to register it, and the central sees both
  records whatever their order. The same holds for an acta registered *sin acta* here
  (a contradiction a coordinator must look at: the message says so).
- **Re-scan**: a new image of an acta that already has one at this station is a new
  record whose ``replaces`` names the latest earlier image record; nothing is edited.
  The very same bytes again (the same file dropped twice, or re-processed after a crash
  between storing and moving it) record nothing new and count as done.
- **Manual association**: when the QR cannot be read (or is not an acta's QR), the
  operator types the CLAVE_ACTA; it must name a catalog acta, every other quality check
  still applies, and a QR that names *another* acta refuses the association. Asking the
  operator to confirm is the screen's job; the service is called once confirmed.

Every result carries a Spanish message; ``retry`` marks failures worth trying again
with the same file (disk full, no catalog yet) as opposed to a bad image.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam
from sqlalchemy import select

from prep.catalog.model import TIPOS_CASILLA
from prep.catalog.model import Acta
from prep.qr import ActaCodec
from prep.qr import CodeRejected
from prep.records import Kind
from prep.records import Record
from prep.station.errors import NoCatalogError
from prep.station.errors import StationError
from prep.station.errors import StationStorageError
from prep.station.models import RecordRow
from prep.station.scan.hotfolder import Disposition
from prep.station.scan.hotfolder import HotFileResult
from prep.station.scan.hotfolder import HotFolder
from prep.station.scan.hotfolder import HotFolderOptions
from prep.station.scan.hotfolder import HotFolderOutcome
from prep.station.scan.quality import DEFAULT_POLICY
from prep.station.scan.quality import Motivo
from prep.station.scan.quality import QualityPolicy
from prep.station.scan.quality import QualityReport
from prep.station.scan.quality import check_image
from prep.station.station import Station

log = logging.getLogger("prep.station.scan")

#: Quality problems a manual association overrides: the operator read the clave.
MANUAL_OVERRIDES = frozenset({Motivo.SIN_QR, Motivo.QR_NO_ES_ACTA})


@dataclass(frozen=True)
class DigitalizacionResult:
    """The outcome of one image. ``motivo``: ``guardada``, ``reemplazo``, ``ya_guardada``,
    a :class:`~prep.station.scan.quality.Motivo` value, ``clave_no_valida``,
    ``sin_catalogo`` or ``no_guardada``."""

    ok: bool
    motivo: str
    mensaje: str
    acta: Acta | None = None
    record: Record | None = None
    replaces: str | None = None
    sin_acopio: bool = False
    retry: bool = False
    quality: QualityReport | None = None
    manual: bool = False

    @property
    def clave_acta(self) -> str | None:
        return self.acta.clave if self.acta is not None else None


@dataclass(frozen=True)
class _Previous:
    record_id: str
    sha256: str | None


class DigitalizacionService:
    """Digitalización at one station for one operator (``operator`` may be changed at a
    shift change). Methods block for a few tens of milliseconds (decoding, an fsync):
    a GUI calls them from a worker."""

    def __init__(self, station: Station, operator: str, *,
                 policy: QualityPolicy = DEFAULT_POLICY, origen: str = "CATD",
                 digitalizacion: str = "Escáner") -> None:
        self.station = station
        self.operator = operator
        self.policy = policy
        self.origen = origen
        self.digitalizacion = digitalizacion
        self._codec: ActaCodec | None = None

    def codec(self) -> ActaCodec:
        """The codec over the bundle's current catalog (:class:`NoCatalogError` before
        the first bundle)."""
        catalog = self.station.catalog()
        if self._codec is None or self._codec.catalog is not catalog:
            self._codec = ActaCodec(catalog)
        return self._codec

    def check(self, data: bytes, expected_clave: str | None = None) -> QualityReport:
        """The quality report of an image, its QR resolved against the catalog."""
        return check_image(data, policy=self.policy, codec=self.codec(),
                           expected_clave=expected_clave)

    def digitalizar(self, data: bytes, expected_clave: str | None = None) -> DigitalizacionResult:
        """Store ``data`` as the image of the acta its QR names (with ``expected_clave``,
        only if it names that acta: a re-scan the operator asked for)."""
        try:
            report = self.check(data, expected_clave)
        except NoCatalogError as exc:
            return DigitalizacionResult(False, "sin_catalogo", str(exc), retry=True)
        if not report.ok:
            if report.problems[0].motivo is Motivo.ACTA_DE_CAPACITACION:
                # The station's audit trail (its log, kept with the station's data).
                log.warning("evento=acta_de_capacitacion_rechazada operador=%s "
                            "sha256=%s: imagen de un acta de práctica fuera del modo de "
                            "capacitación; no se guardó", self.operator,
                            hashlib.sha256(data).hexdigest())
            return _rejected(report)
        assert report.acta is not None and report.media_type is not None
        return self._store(report.acta, data, report.media_type, report, manual=False)

    def asociar_manual(self, data: bytes, clave_escrita: str) -> DigitalizacionResult:
        """Store ``data`` as the image of the acta the operator typed, for an image
        whose QR cannot be read (already confirmed by the operator)."""
        try:
            codec = self.codec()
        except NoCatalogError as exc:
            return DigitalizacionResult(False, "sin_catalogo", str(exc), retry=True)
        try:
            acta = codec.decode(clave_escrita)
        except CodeRejected as exc:
            return DigitalizacionResult(False, "clave_no_valida", exc.mensaje, manual=True)
        report = check_image(data, policy=self.policy, codec=codec, expected_clave=acta.clave)
        blocking = [p for p in report.problems if p.motivo not in MANUAL_OVERRIDES]
        if blocking:
            return DigitalizacionResult(False, blocking[0].motivo.value,
                                        " ".join(p.mensaje for p in blocking), acta,
                                        quality=report, manual=True)
        assert report.media_type is not None
        return self._store(acta, data, report.media_type, report, manual=True)

    # hot folder ------------------------------------------------------------------

    def handle_file(self, name: str, data: bytes) -> HotFolderOutcome:
        """The hot folder's handler: store by QR, or say why not."""
        result = self.digitalizar(data)
        if result.ok:
            disposition = Disposition.PROCESADA
        elif result.retry:
            disposition = Disposition.REINTENTAR
        else:
            disposition = Disposition.RECHAZADA
        return HotFolderOutcome(disposition, f"{name}: {result.mensaje}", result)

    def hot_folder(self, directory: Path,
                   on_result: Callable[[HotFileResult], None] | None = None,
                   options: HotFolderOptions | None = None) -> HotFolder:
        """A hot folder over ``directory`` feeding this service (not started); each
        result's ``detail`` is the :class:`DigitalizacionResult`."""
        return HotFolder(directory, self.handle_file, on_result,
                         options or HotFolderOptions(max_bytes=self.policy.max_bytes))

    # ------------------------------------------------------------------------------

    def _store(self, acta: Acta, data: bytes, media_type: str, report: QualityReport,
               manual: bool) -> DigitalizacionResult:
        clave = acta.clave
        previous, kinds = self._history(clave)
        if previous is not None and previous.sha256 == hashlib.sha256(data).hexdigest():
            return DigitalizacionResult(
                True, "ya_guardada", f"Esta imagen ya estaba guardada para el acta {clave}; "
                "no se registró de nuevo.", acta, quality=report, manual=manual)
        try:
            record = self.station.imagen(clave, data, media_type, self.operator, self.origen,
                                         self.digitalizacion,
                                         replaces=previous.record_id if previous else None)
        except StationStorageError as exc:
            return DigitalizacionResult(False, "no_guardada", str(exc), acta, retry=True,
                                        quality=report, manual=manual)
        except StationError as exc:
            return DigitalizacionResult(False, "no_guardada", str(exc), acta, quality=report,
                                        manual=manual)
        sin_acopio = Kind.ACOPIO.value not in kinds
        parts = [f"Imagen del acta {clave} guardada ({_describe(acta)})."]
        if previous is not None:
            parts.append("Reemplaza a la imagen anterior de esta acta.")
        if Kind.SIN_ACTA.value in kinds and sin_acopio:
            parts.append("Atención: esta acta se registró como «sin acta» en esta estación; "
                         "avise al coordinador.")
        elif sin_acopio:
            parts.append("Atención: el acta no tiene acopio registrado en esta estación; "
                         "avise al acopiador para que la registre.")
        log.info("imagen %s stored as record %s (replaces %s, manual %s)", clave, record.id,
                 previous.record_id if previous else None, manual)
        return DigitalizacionResult(True, "reemplazo" if previous else "guardada",
                                    " ".join(parts), acta, record,
                                    previous.record_id if previous else None, sin_acopio,
                                    quality=report, manual=manual)

    def _history(self, clave: str) -> tuple[_Previous | None, list[str]]:
        """The acta's latest image record here (if any) and the kinds of all its
        records here, in order (one read)."""
        with self.station.store.query_one() as conn:
            rows = conn.execute(_HISTORY, {"clave": clave}).all()
        images = [r for r in rows if r.kind == Kind.IMAGEN.value]
        previous = _Previous(images[-1].id, images[-1].blob_sha256) if images else None
        return previous, [r.kind for r in rows]


_HISTORY = (select(RecordRow.id, RecordRow.kind, RecordRow.blob_sha256)
            .where(RecordRow.clave_acta == bindparam("clave")).order_by(RecordRow.seq))


def _rejected(report: QualityReport) -> DigitalizacionResult:
    first = report.problems[0]
    return DigitalizacionResult(False, first.motivo.value, report.mensaje, report.acta,
                                quality=report)


def _describe(acta: Acta) -> str:
    c = acta.casilla
    tipo = TIPOS_CASILLA.get(c.tipo, c.tipo).lower()
    ext = f" ext. {c.ext_contigua:02d}" if c.ext_contigua else ""
    return (f"{acta.eleccion.nombre.capitalize()}, distrito {c.distrito_id:02d}, sección "
            f"{c.seccion:04d}, casilla {tipo} {c.id_casilla:02d}{ext}")
