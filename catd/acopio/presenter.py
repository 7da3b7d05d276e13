"""The acopio screen's presenter: codes in, records and what to show out.

It decides everything the screen shows (a passive view draws :class:`Shown`,
:class:`Counters` and printer notes) and sends every store write and every print job
to a worker lane. A code is resolved against the catalog on the GUI thread (an
in-memory lookup); the acopio itself is recorded on the ``db`` lane and the ticket is
printed afterwards on the ``print`` lane, so a jammed printer never delays the next
scan. Codes read while the catalog is still loading (the first second after login) wait
in order and are registered as soon as it is ready.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from PySide6.QtCore import QObject, Signal

from catd.acopio.service import CAUSAS_SIN_ACTA, AcopioService, AcopioState, Arrival, Tally
from catd.formatting import eleccion_label, local_time
from catd.taskman import TaskManager, describe_error
from prep.catalog import Acta
from prep.qr import CodeRejected, Motivo, is_acta_code, printable_code
from prep.records import Kind, Record
from prep.rules import CausaSinActa
from prep.station.accounts import Operator
from prep.station.errors import StationInputError
from prep.station.printing import AcopioTicket, Printer, PrinterError
from prep.station.station import Station

log = logging.getLogger("catd.acopio")

MAX_TYPED_CHARS = 256
"""Longer input is not an acta code (the codec says so); keep the field bounded."""
MAX_WAITING = 100
"""Codes kept while the catalog loads (it takes about a second; a reader is faster)."""
#: Rejections whose code, well formed, names no catalog acta: offered fuera de catálogo.
#: (A QR whose distrito or tipo de acta disagrees names a catalog acta: not offered.)
_FUERA_OFFERED = frozenset({Motivo.FUERA_DE_CATALOGO, Motivo.OTRA_ENTIDAD,
                            Motivo.ELECCION_DESCONOCIDA})


class Tone(enum.StrEnum):
    """How the screen colours what it shows."""

    IDLE = "idle"
    PENDING = "pending"
    OK = "ok"
    WARN = "warn"
    ERROR = "error"


class Source(enum.StrEnum):
    SCAN = "lector"
    TYPED = "teclado"


@dataclass(frozen=True)
class Shown:
    """What the big panel shows after a code (or before the first)."""

    tone: Tone
    headline: str
    message: str = ""
    acta: Acta | None = None
    #: The code to register *fuera de catálogo* when the panel offers it.
    codigo_fuera: str | None = None
    #: The elección the rejected code named, when it named a known one.
    eleccion_fuera: str | None = None
    #: The acta (shown) is registered sin acta here and can be corrected to an acopio.
    sin_acta_corregible: bool = False


@dataclass(frozen=True)
class Counters:
    """The counters column: this operator's shift and the CATD's tallies."""

    turno: int
    turno_desde: datetime
    tallies: tuple[Tally, ...]
    fuera_de_catalogo: int


@dataclass
class _Shift:
    since: datetime
    records: int = 0
    pending: set[str] = field(default_factory=set)


class AcopioPresenter(QObject):
    """Turns scans and typed codes into acopio records for one logged-in operator."""

    shown_did_change = Signal(object)  # Shown
    counters_did_change = Signal(object)  # Counters
    printer_did_report = Signal(object, str)  # Tone, message
    acopio_did_record = Signal(str)  # clave_acta, once recorded and shown
    sin_acta_did_finish = Signal(bool, str)  # recorded?, message for the sin acta form

    def __init__(self, station: Station, operator: Operator, tasks: TaskManager,
                 printer: Printer | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.station = station
        self.operator = operator
        self.tasks = tasks
        self.printer = printer
        self.service: AcopioService | None = None
        self.state = AcopioState()
        self.shown = Shown(Tone.IDLE, self.tr("Listo para recibir actas"),
                           self.tr("Escanee el código QR del acta o escriba su CLAVE_ACTA."))
        self._shift = _Shift(station.store.clock())
        self._last_ticket: AcopioTicket | None = None
        self._waiting: list[tuple[str, Source]] = []

    # start -------------------------------------------------------------------------

    def start(self) -> None:
        """Load the catalog and what arrived so far (worker)."""
        self._show(Shown(Tone.PENDING, self.tr("Cargando el catálogo…")))

        def load() -> tuple[AcopioService, AcopioState]:
            service = AcopioService.open(self.station)
            return service, service.load_state()
        self.tasks.run("db", load, self._did_load, self._did_fail_to_load)

    def _did_load(self, loaded: tuple[AcopioService, AcopioState]) -> None:
        self.service, self.state = loaded
        self._show(Shown(Tone.IDLE, self.tr("Listo para recibir actas"),
                         self.tr("Escanee el código QR del acta o escriba su CLAVE_ACTA.")))
        self._emit_counters()
        waiting, self._waiting = self._waiting, []
        for text, source in waiting:  # each shows its outcome; the last one stays
            self._handle(text, source)

    def _did_fail_to_load(self, error: BaseException) -> None:
        lost, self._waiting = len(self._waiting), []
        message = describe_error(error)
        if lost:
            message += " " + (self.tr("El acta leída mientras tanto NO se registró.") if lost == 1
                              else self.tr("Las {n} actas leídas mientras tanto NO se "
                                           "registraron.").format(n=lost))
        self._show(Shown(Tone.ERROR, self.tr("No se puede hacer acopio todavía"), message))

    @property
    def ready(self) -> bool:
        return self.service is not None

    # codes -------------------------------------------------------------------------

    def handle_scan(self, text: str) -> None:
        """Text from the reader (the wedge detector)."""
        self._handle(text, Source.SCAN)

    def handle_typed(self, text: str) -> None:
        """A CLAVE_ACTA typed in the manual field."""
        self._handle(text[:MAX_TYPED_CHARS + 1], Source.TYPED)

    def _handle(self, text: str, source: Source) -> None:
        service = self.service
        if service is None:
            self._wait_for_catalog(text, source)
            return
        try:
            acta = service.identify(text)
        except CodeRejected as rejected:
            self._show_rejected(text, rejected)
            return
        log.info("code read (%s): %s", source.value, acta.clave)
        if self._warn_if_arrived(acta, offer_correction=True):
            return
        if service.is_foreign(acta):
            self._show(Shown(Tone.WARN, self.tr("El acta es de otro distrito"), self.tr(
                "La casilla {casilla} pertenece al distrito {d:02d}, no al de este CATD. "
                "Apártela y avise al coordinador; no se registró.").format(
                    casilla=acta.casilla.clave, d=acta.casilla.distrito_id), acta))
            return
        self._record_acopio(service, acta)

    def _wait_for_catalog(self, text: str, source: Source) -> None:
        """Keep a code read before the catalog is ready; it is registered on load."""
        if len(self._waiting) >= MAX_WAITING:
            self._show(Shown(Tone.ERROR, self.tr("Espere un momento"), self.tr(
                "El catálogo aún se está cargando y ya hay {n} actas esperando: esta NO se "
                "registró; vuelva a escanearla en unos segundos.").format(n=MAX_WAITING)))
            return
        self._waiting.append((text, source))
        n = len(self._waiting)
        self._show(Shown(Tone.PENDING, self.tr("Cargando el catálogo…"), (
            self.tr("Se leyó 1 acta: se registrará en cuanto el catálogo esté listo (unos "
                    "segundos). No la vuelva a escanear.") if n == 1 else
            self.tr("Se leyeron {n} actas: se registrarán en cuanto el catálogo esté listo "
                    "(unos segundos). No las vuelva a escanear.").format(n=n))))

    def _warn_if_arrived(self, acta: Acta, offer_correction: bool = False) -> bool:
        if acta.clave in self._shift.pending:
            self._show(Shown(Tone.WARN, self.tr("Esta acta se está registrando"), self.tr(
                "El acta ya se leyó hace un instante; no se registró de nuevo."), acta))
            return True
        arrival = self.state.arrivals.get(acta.clave)
        if arrival is None:
            return False
        hora = local_time(arrival.at)
        if arrival.kind == Kind.ACOPIO.value:
            self._show(Shown(Tone.WARN, self.tr("Acta ya recibida"), self.tr(
                "Esta acta ya se registró en acopio a las {hora}. No se registró de nuevo; "
                "entréguela a digitalización si aún no se digitalizó.").format(hora=hora),
                acta))
            return True
        causa = _causa_label(arrival.causa)
        if not offer_correction:
            self._show(Shown(Tone.WARN, self.tr("Registrada como sin acta"), self.tr(
                "Esta acta ya se registró como sin acta ({causa}) a las {hora}; no se "
                "registró de nuevo.").format(causa=causa, hora=hora), acta))
            return True
        self._show(Shown(Tone.WARN, self.tr("Registrada como sin acta"), self.tr(
            "Se registró como sin acta ({causa}) a las {hora}: su acopio NO está "
            "registrado. Si el acta sí llegó, presione F7 para registrar su acopio en lugar "
            "del sin acta.").format(causa=causa, hora=hora),
            acta, sin_acta_corregible=True))
        return True

    def _show_rejected(self, text: str, rejected: CodeRejected) -> None:
        codigo = rejected.clave_leida or printable_code(text)
        eleccion = None
        if rejected.clave_leida is not None and self.service is not None:
            codigo_eleccion = rejected.clave_leida[-2:]
            if codigo_eleccion in self.service.catalog.eleccion_por_codigo:
                eleccion = codigo_eleccion
        headline = {
            Motivo.FUERA_DE_CATALOGO: self.tr("El acta no está en el catálogo"),
            Motivo.OTRA_ENTIDAD: self.tr("El acta es de otra entidad"),
            Motivo.ILEGIBLE: self.tr("Código ilegible"),
            Motivo.VACIO: self.tr("Código ilegible"),
            Motivo.DEMASIADO_LARGO: self.tr("Código ilegible"),
        }.get(rejected.motivo, self.tr("El código no corresponde a un acta"))
        # Only a well-formed acta code may become a fuera-de-catálogo acta; a misread
        # is only explained (scan again or type the clave).
        offer = (codigo if rejected.motivo in _FUERA_OFFERED and is_acta_code(codigo)
                 else None)
        self._show(Shown(Tone.ERROR, headline, rejected.mensaje, None, offer, eleccion))

    def _record_acopio(self, service: AcopioService, acta: Acta) -> None:
        self._shift.pending.add(acta.clave)
        self._show(Shown(Tone.PENDING, self.tr("Registrando…"), "", acta))
        operator = self.operator.id
        self._run_acopio(service, acta, lambda: service.acopio(acta, operator),
                         self.tr("Registro {seq} guardado en la estación."))

    def correct_sin_acta(self) -> None:
        """The acta shown, registered sin acta here, arrived after all: record its
        acopio in place of the sin acta (F7 on the screen)."""
        service, shown = self.service, self.shown
        if service is None or not shown.sin_acta_corregible or shown.acta is None:
            return
        acta = shown.acta
        arrival = self.state.arrivals.get(acta.clave)
        if arrival is None or arrival.kind != Kind.SIN_ACTA.value \
                or acta.clave in self._shift.pending:
            return
        self._shift.pending.add(acta.clave)
        self._show(Shown(Tone.PENDING, self.tr("Registrando…"), "", acta))
        operator = self.operator.id
        self._run_acopio(service, acta,
                         lambda: service.acopio_tras_sin_acta(acta, arrival, operator),
                         self.tr("Se corrigió el sin acta: el acta quedó registrada en "
                                 "acopio (registro {seq})."))

    def _run_acopio(self, service: AcopioService, acta: Acta, write: Callable[[], Record],
                    saved: str) -> None:
        """Record an acopio on the ``db`` lane, show it, print its ticket (``saved``:
        the message, with ``{seq}``)."""
        def done(record: Record) -> None:
            self._shift.pending.discard(acta.clave)
            self._arrived(acta.clave, Arrival(Kind.ACOPIO.value, record.at, record.id))
            self._show(Shown(Tone.OK, self.tr("Acopiada a las {hora}").format(
                hora=local_time(record.at)), saved.format(seq=record.seq), acta))
            self.acopio_did_record.emit(acta.clave)
            self._print(service.ticket(acta, record, self.operator.name))

        def failed(error: BaseException) -> None:
            self._shift.pending.discard(acta.clave)
            # The store's guard refuses a second acopio made elsewhere (another program).
            tone = Tone.WARN if isinstance(error, StationInputError) else Tone.ERROR
            self._show(Shown(tone, self.tr("No se registró el acopio"),
                             describe_error(error), acta))
        self.tasks.run("db", write, done, failed)

    # fuera de catálogo and sin acta -------------------------------------------------

    def register_fuera_de_catalogo(self, eleccion: str) -> None:
        """Register the code on the panel as *fuera de catálogo* for ``eleccion``
        (an elección code, or ``""`` when nobody can tell)."""
        service, codigo = self.service, self.shown.codigo_fuera
        if service is None or codigo is None or not is_acta_code(codigo):
            return
        earlier = self.state.fuera_de_catalogo.get(codigo)
        if earlier is not None:
            self._show(Shown(Tone.WARN, self.tr("Ya registrada fuera de catálogo"), self.tr(
                "El código {codigo} ya se registró fuera de catálogo a las {hora}; no se "
                "registró de nuevo.").format(codigo=codigo, hora=local_time(earlier))))
            return
        operator = self.operator.id

        def done(record: Record) -> None:
            self.state.fuera_de_catalogo[codigo] = record.at
            self._shift.records += 1
            self._show(Shown(Tone.OK, self.tr("Registrada fuera de catálogo"), self.tr(
                "El código {codigo} quedó registrado a las {hora} (registro {seq}). Entregue "
                "el acta al coordinador.").format(codigo=codigo, hora=local_time(record.at),
                                                  seq=record.seq)))
            self._emit_counters()

        def failed(error: BaseException) -> None:
            self._show(Shown(Tone.ERROR, self.tr("No se registró fuera de catálogo"),
                             describe_error(error), None, codigo, self.shown.eleccion_fuera))
        self.tasks.run("db", lambda: service.fuera_de_catalogo(codigo, eleccion, operator),
                       done, failed)

    def register_sin_acta(self, clave_text: str, causa: CausaSinActa) -> None:
        """A package that came without its acta; the outcome goes to
        ``sin_acta_did_finish`` (for the form) and to the big panel."""
        service = self.service
        if service is None:
            self.sin_acta_did_finish.emit(False, self.tr("El catálogo aún se está cargando."))
            return
        try:
            acta = service.identify(clave_text[:MAX_TYPED_CHARS + 1])
        except CodeRejected as rejected:
            self.sin_acta_did_finish.emit(False, rejected.mensaje)
            return
        if self._warn_if_arrived(acta):
            self.sin_acta_did_finish.emit(False, self.shown.message)
            return
        operator = self.operator.id
        self._shift.pending.add(acta.clave)

        def done(record: Record) -> None:
            self._shift.pending.discard(acta.clave)
            self._arrived(acta.clave, Arrival(Kind.SIN_ACTA.value, record.at, record.id,
                                              causa.value))
            message = self.tr("Sin acta registrada: {causa} (registro {seq}).").format(
                causa=CAUSAS_SIN_ACTA[causa], seq=record.seq)
            self._show(Shown(Tone.OK, self.tr("Sin acta · {hora}").format(
                hora=local_time(record.at)), message, acta))
            self.sin_acta_did_finish.emit(True, message)

        def failed(error: BaseException) -> None:
            self._shift.pending.discard(acta.clave)
            self.sin_acta_did_finish.emit(False, describe_error(error))
        self.tasks.run("db", lambda: service.sin_acta(acta, causa, operator), done, failed)

    # printing ----------------------------------------------------------------------

    def reprint(self) -> None:
        """Print the last ticket again (after the operator fixed the printer)."""
        if self._last_ticket is not None:
            self._print(self._last_ticket)

    def _print(self, ticket: AcopioTicket) -> None:
        self._last_ticket = ticket
        printer = self.printer
        if printer is None:
            return

        def done(_: None) -> None:
            self.printer_did_report.emit(Tone.OK, self.tr("Etiqueta de {clave} impresa.")
                                         .format(clave=ticket.clave_acta))

        def failed(error: BaseException) -> None:
            why = str(error) if isinstance(error, PrinterError) else describe_error(error)
            log.warning("ticket for %s not printed: %s", ticket.clave_acta, error)
            self.printer_did_report.emit(Tone.ERROR, self.tr(
                "No se imprimió la etiqueta de {clave}: {why} El acopio SÍ quedó registrado: "
                "siga recibiendo actas (F9 reimprime).").format(clave=ticket.clave_acta,
                                                                why=why))
        self.tasks.run("print", lambda: printer.print_acopio(ticket), done, failed)

    # state -------------------------------------------------------------------------

    def _arrived(self, clave: str, arrival: Arrival) -> None:
        self.state.arrivals[clave] = arrival
        self._shift.records += 1
        self._emit_counters()

    def counters(self) -> Counters:
        tallies = self.service.tallies(self.state) if self.service is not None else []
        return Counters(self._shift.records, self._shift.since, tuple(tallies),
                        len(self.state.fuera_de_catalogo))

    def _emit_counters(self) -> None:
        self.counters_did_change.emit(self.counters())

    def _show(self, shown: Shown) -> None:
        self.shown = shown
        self.shown_did_change.emit(shown)

    def elecciones(self) -> list[tuple[str, str]]:
        """(code, label) of the catalog's elecciones, for the forms."""
        if self.service is None:
            return []
        return [(e.codigo, eleccion_label(e)) for e in self.service.catalog.elecciones]


def _causa_label(causa: str | None) -> str:
    """A sin acta cause as the operator reads it."""
    for known, label in CAUSAS_SIN_ACTA.items():
        if known.value == causa:
            return label.lower()
    return causa or "causa no registrada"
