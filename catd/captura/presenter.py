"""The captura screen's presenter (and, through :class:`WorkPresenter`, the
verificación's): leased actas in, records out.

The operator's leases live in the station store (:class:`prep.station.work.WorkQueue`).
The presenter keeps the list of ready actas in memory and decodes the images of the
next ones ahead of time on the ``db`` lane, so submitting an acta shows the next one at
once: the record is written on ``db`` while the next acta is already on screen, and a
refill (renewals, more leases, images) runs on ``net`` in the background, now and every
few seconds. Nothing here blocks the GUI thread.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass

from PySide6.QtCore import QObject
from PySide6.QtCore import QTimer
from PySide6.QtCore import Signal
from PySide6.QtGui import QImage

from catd.imageview import decode_image
from catd.taskman import TaskManager
from catd.taskman import describe_error
from prep.catalog import Catalog
from prep.records import Record
from prep.station.accounts import Operator
from prep.station.captura import MAX_MOTIVO
from prep.station.captura import ActaInfo
from prep.station.captura import Comparacion
from prep.station.captura import FieldSpec
from prep.station.captura import compare
from prep.station.captura import describe_item
from prep.station.captura import field_specs
from prep.station.captura import read_form
from prep.station.errors import NoCatalogError
from prep.station.errors import StationError
from prep.station.station import Station
from prep.station.work import RefillOutcome
from prep.station.work import WorkError
from prep.station.work import WorkItem
from prep.station.work import WorkQueue

log = logging.getLogger("catd.captura")

PRELOAD = 3
"""Actas whose image is decoded ahead of the one on screen."""
REFILL_MS = 5000
"""How often the queue is topped up while the screen is open."""


@dataclass(frozen=True)
class Notice:
    """What the screen says when there is no acta to work on, and what to do."""

    tone: str  # a theme tone: pending, idle, warn, error
    title: str
    message: str


@dataclass(frozen=True)
class Shown:
    """The acta on screen."""

    item: WorkItem
    info: ActaInfo
    specs: tuple[FieldSpec, ...]
    image: QImage | None
    image_error: str  # why the image cannot be shown ("" if it can, or is loading)
    comparaciones: tuple[Comparacion, ...] = ()


@dataclass(frozen=True)
class QueueRow:
    """One acta held by the operator (the list beside the verification)."""

    clave_acta: str
    eleccion: str
    casilla: str
    diferencias: int
    current: bool


@dataclass(frozen=True)
class _Decoded:
    image: QImage | None
    error: str


def _release_and_close(queue: WorkQueue) -> bool:
    """Tell the central about the actas given back, then end the queue's session."""
    try:
        return queue.send_releases()
    finally:
        queue.close()


def _describe(error: BaseException) -> str:
    if isinstance(error, WorkError | StationError):
        return str(error)
    return describe_error(error)


class WorkPresenter(QObject):
    """One operator's leased work of one kind (captura here; verificación subclasses)."""

    KIND = "captura"
    PREFETCH = 3
    VERBO = "capturar"

    shown_did_change = Signal(object)  # Shown | Notice
    image_did_load = Signal(str, object, str)  # lease id, QImage | None, error
    form_did_reject = Signal(str, str)  # campo to focus ("" for none), Spanish message
    feedback_did_change = Signal(str, str)  # tone, Spanish message about the last acta
    queue_did_change = Signal(str, str, object)  # tone, Spanish status, [QueueRow]
    work_did_finish = Signal(str, str)  # clave_acta, "captura"/"verificacion"/"ilegible"

    def __init__(self, station: Station, operator: Operator, tasks: TaskManager,
                 parent: QObject | None = None, refill_ms: int = REFILL_MS) -> None:
        super().__init__(parent)
        self.station = station
        self.operator = operator
        self.tasks = tasks
        self.queue = WorkQueue(station, operator.id, self.KIND, self.PREFETCH)
        self.catalog: Catalog | None = None
        self.items: list[WorkItem] = []
        self.current: WorkItem | None = None
        self.done = 0
        self.started = False
        self.online: bool | None = None
        self._finished: set[str] = set()  # submitted here (or given back): never shown again
        self._decoded: dict[str, _Decoded] = {}
        self._decoding: set[str] = set()
        self._refilling = False
        self._reloading = False
        self._reload_again = False
        self._queue_text = ""
        self._queue_tone = "pending"
        self._refused = ""
        from prep.capacitacion.estacion import TrainingStation
        self.practice = isinstance(station, TrainingStation)  # nothing is ever sent
        self._timer = QTimer(self)
        self._timer.setInterval(refill_ms)
        self._timer.timeout.connect(self.refill)

    # life ----------------------------------------------------------------------------

    def start(self) -> None:
        """Load what this operator already holds and ask the central for more."""
        if self.started:
            return
        self.started = True
        self._finished.clear()
        self.shown_did_change.emit(Notice("pending", self.tr("Buscando actas…"), self.tr(
            "Se revisan las actas descargadas y se piden más al nodo central.")))

        def load() -> tuple[Catalog | None, list[WorkItem]]:
            try:
                catalog: Catalog | None = self.station.catalog()
            except NoCatalogError:
                catalog = None
            return catalog, self.queue.pending()
        self.tasks.run("db", load, self._did_load, self._did_fail_to_load)
        self._timer.start()

    def stop(self) -> None:
        """The operator leaves (logout, screen closed): give every held acta back, so
        the central hands it to someone else at once instead of after the lease time."""
        if not self.started:
            return
        self.started = False
        self._timer.stop()
        self.current = None
        self.items = []
        self._decoded.clear()
        queue, tasks = self.queue, self.tasks
        # The callbacks refer to nothing of this presenter: it may be gone by then.
        def tell_central(_: None) -> None:
            tasks.run("net", lambda: _release_and_close(queue), lambda _: None,
                      lambda exc: log.warning("releases not sent: %s", exc))
        tasks.run("db", queue.release_all, tell_central)
        log.info("%s: %s gave back the held actas", self.KIND, self.operator.id)

    def _did_load(self, loaded: tuple[Catalog | None, list[WorkItem]]) -> None:
        if not self.started:
            return
        self.catalog, items = loaded
        self._set_items(items)
        self.refill()

    def _did_fail_to_load(self, error: BaseException) -> None:
        if self.started:
            self.shown_did_change.emit(Notice("error", self.tr("No se pueden leer las actas "
                                                               "de esta estación"),
                                              _describe(error)))

    # the queue -----------------------------------------------------------------------

    def refill(self) -> None:
        """Top the queue up from the central (``net`` lane); one refill at a time."""
        if not self.started or self._refilling:
            return
        self._refilling = True
        self.tasks.run("net", self.queue.refill, self._did_refill, self._did_fail_to_refill)

    def _did_refill(self, outcome: RefillOutcome) -> None:
        self._refilling = False
        if not self.started:
            return
        self.online = outcome.online
        self._refused = ""
        self._queue_tone = "ok" if outcome.online else "warn"
        self._queue_text = outcome.message
        self._reload()

    def _did_fail_to_refill(self, error: BaseException) -> None:
        self._refilling = False
        if not self.started:
            return
        log.warning("%s refill failed: %s", self.KIND, error)
        self._refused = _describe(error)
        self._queue_tone = "error"
        self._queue_text = self._refused
        self._reload()

    def _reload(self) -> None:
        if self._reloading:
            self._reload_again = True
            return
        self._reloading = True
        self.tasks.run("db", self.queue.pending, self._did_reload, self._did_fail_to_reload)

    def _did_reload(self, items: list[WorkItem]) -> None:
        self._reloading = False
        if not self.started:
            return
        if self._reload_again:
            self._reload_again = False
            self._reload()
        self._set_items(items)

    def _did_fail_to_reload(self, error: BaseException) -> None:
        self._reloading = False
        if self.started:
            self.feedback_did_change.emit("error", _describe(error))

    def _set_items(self, items: list[WorkItem]) -> None:
        self.items = [i for i in items if i.lease_id not in self._finished]
        if self.current is None:
            self._show_next()
        else:
            self._preload()
            self._emit_queue()

    def ahead(self) -> list[WorkItem]:
        """The actas still to do, the one on screen first."""
        rest = [i for i in self.items if i.lease_id not in self._finished]
        if self.current is not None and self.current in rest:
            rest.remove(self.current)
            rest.insert(0, self.current)
        return rest

    def _show_next(self) -> None:
        ahead = [i for i in self.items if i.lease_id not in self._finished]
        self.current = ahead[0] if ahead else None
        if self.current is None:
            self.shown_did_change.emit(self._empty_notice())
        else:
            self.shown_did_change.emit(self._shown(self.current))
        self._preload()
        self._emit_queue()

    def _shown(self, item: WorkItem) -> Shown:
        decoded = self._decoded.get(item.lease_id)
        specs = field_specs(self.catalog, item)
        return Shown(item, describe_item(self.catalog, item), specs,
                     decoded.image if decoded else None, decoded.error if decoded else "",
                     compare(specs, item) if item.kind == "verificacion" else ())

    def _empty_notice(self) -> Notice:
        verbo = self.VERBO
        if self._refused:
            return Notice("error", self.tr("El nodo central no entrega actas"), self.tr(
                "{motivo} Mientras tanto no hay actas que {verbo} en esta estación.")
                .format(motivo=self._refused, verbo=verbo))
        if self.online is False:
            return Notice("warn", self.tr("Sin conexión con el nodo central"), self.tr(
                "No hay actas descargadas en esta estación. Revise que el cable de red "
                "esté conectado o avise a soporte técnico. En cuanto vuelva la conexión "
                "las actas aparecerán aquí solas; no necesita cerrar la sesión."))
        if self.online is None:
            return Notice("pending", self.tr("Buscando actas…"), self.tr(
                "Se piden actas al nodo central; un momento."))
        return Notice("idle", self.tr("No hay actas por {verbo} en este momento").format(
            verbo=verbo), self.tr(
            "Las actas aparecen aquí en cuanto están listas. Esta pantalla vuelve a "
            "buscar cada {s} segundos; también puede buscar ahora con F5. Si la espera "
            "se alarga, avise a su coordinador.").format(s=self._timer.interval() // 1000))

    def _emit_queue(self) -> None:
        rows = []
        for item in self.ahead():
            info = describe_item(self.catalog, item)
            rows.append(QueueRow(item.clave_acta, info.eleccion,
                                 f"{info.seccion} {info.casilla}", len(item.diferencias),
                                 item is self.current))
        text = self._queue_text or self.tr("Buscando actas…")
        self.queue_did_change.emit(self._queue_tone, text, rows)

    # images --------------------------------------------------------------------------

    def _preload(self) -> None:
        ahead = self.ahead()[:PRELOAD]
        keep = {i.lease_id for i in ahead}
        for lease_id in list(self._decoded):
            if lease_id not in keep:
                del self._decoded[lease_id]
        for item in ahead:
            if item.lease_id in self._decoded or item.lease_id in self._decoding:
                continue
            self._decoding.add(item.lease_id)
            self.tasks.run("db", functools.partial(self._decode, item),
                           functools.partial(self._did_decode, item),
                           functools.partial(self._did_fail_to_decode, item))

    def _decode(self, item: WorkItem) -> QImage | None:
        return decode_image(self.queue.image(item))  # a worker: read and decode

    def _did_decode(self, item: WorkItem, image: QImage | None) -> None:
        error = "" if image is not None else self.tr(
            "La imagen de esta acta no se puede mostrar (el archivo está dañado o no es "
            "una imagen). Márquela como imagen ilegible con F2 para que se vuelva a "
            "digitalizar.")
        self._store_decoded(item, _Decoded(image, error))

    def _did_fail_to_decode(self, item: WorkItem, error: BaseException) -> None:
        # The detail is for support (the log); the operator reads what to do.
        log.warning("image of %s unreadable", item.clave_acta, exc_info=error)
        self._store_decoded(item, _Decoded(None, self.tr(
            "No se pudo leer la imagen de esta acta en la estación. Márquela como imagen "
            "ilegible con F2 y avise a soporte técnico.")))

    def _store_decoded(self, item: WorkItem, decoded: _Decoded) -> None:
        self._decoding.discard(item.lease_id)
        if not self.started:
            return
        self._decoded[item.lease_id] = decoded
        if item is self.current or (self.current is not None
                                    and self.current.lease_id == item.lease_id):
            self.image_did_load.emit(item.lease_id, decoded.image, decoded.error)

    # work ----------------------------------------------------------------------------

    def submit(self, texts: Mapping[str, str], motivo: str = "") -> bool:
        """Record the values typed for the acta on screen; the next acta shows at once.
        Returns whether the form was accepted."""
        item = self.current
        if item is None:
            return False
        valores, faltan = read_form(item.campos, texts)
        if faltan:
            labels = {s.campo: s.label for s in field_specs(self.catalog, item)}
            self.form_did_reject.emit(faltan[0], self.tr(
                "Falta capturar: {campos}. Escriba el número; I si es ilegible, S si no "
                "tiene dato.").format(campos=", ".join(labels.get(c, c) for c in faltan[:4])
                                      + ("…" if len(faltan) > 4 else "")))
            return False
        saved = (self.tr("Acta {clave} guardada en esta estación de práctica (no se envía).")
                 if self.practice else
                 self.tr("Acta {clave} guardada; se enviará al nodo central.")).format(
            clave=item.clave_acta)
        self._finish(item, lambda: self.queue.submit(item, valores, motivo), self.KIND, saved)
        return True

    def ilegible(self, motivo: str) -> bool:
        """The image on screen cannot be captured: back to digitalización."""
        item = self.current
        motivo = motivo.strip()
        if item is None:
            return False
        if not motivo or len(motivo) > MAX_MOTIVO:
            self.form_did_reject.emit("", self.tr(
                "Escriba o elija por qué la imagen es ilegible (hasta {n} caracteres).")
                .format(n=MAX_MOTIVO))
            return False
        self._finish(item, lambda: self.queue.ilegible(item, motivo), "ilegible", self.tr(
            "Acta {clave} enviada a digitalizar de nuevo ({motivo}).").format(
                clave=item.clave_acta, motivo=motivo))
        return True

    def skip_unavailable(self) -> None:
        """Show the next acta (after an error made the one on screen unusable)."""
        if self.current is not None:
            self._finished.add(self.current.lease_id)
        self._show_next()

    def _finish(self, item: WorkItem, work: Callable[[], Record], what: str,
                done_text: str) -> None:
        self._finished.add(item.lease_id)
        self.tasks.run("db", work, lambda _: self._did_finish(item, what, done_text),
                       lambda error: self._did_fail_to_finish(item, error))
        self._show_next()  # from memory: the record is written meanwhile
        self.refill()

    def _did_finish(self, item: WorkItem, what: str, text: str) -> None:
        self.done += 1
        log.info("%s %s of %s recorded", self.operator.id, what, item.clave_acta)
        if self.started:
            self.feedback_did_change.emit("ok", text)
            self.work_did_finish.emit(item.clave_acta, what)

    def _did_fail_to_finish(self, item: WorkItem, error: BaseException) -> None:
        log.warning("%s of %s not recorded: %s", self.KIND, item.clave_acta, error)
        if not self.started:
            return
        held = not (isinstance(error, WorkError) and "ya no está asignada" in str(error))
        if held:  # still leased to this operator: it comes back to be done again
            self._finished.discard(item.lease_id)
            self._reload()
        self.feedback_did_change.emit("error", self.tr(
            "No se guardó el acta {clave}: {motivo}{despues}").format(
                clave=item.clave_acta, motivo=_describe(error),
                despues=self.tr(" Volverá a aparecer para {verbo}la de nuevo.").format(
                    verbo=self.VERBO) if held else ""))


class CapturaPresenter(WorkPresenter):
    """The capturista's queue: blind captures, never another operator's values."""
