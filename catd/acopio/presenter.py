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
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime

from PySide6.QtCore import QObject
from PySide6.QtCore import Signal

from catd.acopio.paquete import Paquete
from catd.acopio.paquete import PaqueteShown
from catd.acopio.paquete import describe_paquete
from catd.acopio.paquete import next_traslado
from catd.taskman import TaskManager
from catd.taskman import describe_error
from prep.catalog import Acta
from prep.catalog import Casilla
from prep.paquete import TipoDocumento
from prep.paquete import Traslado
from prep.paquete import traslado_de_casilla
from prep.qr import CodeRejected
from prep.qr import Motivo
from prep.qr import is_acta_code
from prep.qr import printable_code
from prep.records import Kind
from prep.records import Record
from prep.rules import CausaSinActa
from prep.station.accounts import Operator
from prep.station.acopio import CAUSAS_DE_CASILLA
from prep.station.acopio import CAUSAS_SIN_ACTA
from prep.station.acopio import AcopioService
from prep.station.acopio import AcopioState
from prep.station.acopio import SinActaCasilla
from prep.station.acopio import Tally
from prep.station.acopio import causa_label
from prep.station.errors import StationInputError
from prep.station.formatting import eleccion_label
from prep.station.formatting import local_time
from prep.station.ledger import Arrival
from prep.station.printing import AcopioTicket
from prep.station.printing import Printer
from prep.station.printing import PrinterError
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
    #: What was registered is the whole casilla of ``acta`` (every election), not one acta.
    casilla_entera: bool = False


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
    paquete_did_change = Signal(object)  # PaqueteShown

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
        self.paquete = Paquete()

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
        causa = causa_label(arrival.causa)
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
        traslado, documento = self._para_acopio(acta)
        self._run_acopio(service, acta,
                         lambda: service.acopio(acta, operator, traslado, documento),
                         self.tr("Registro {seq} guardado en la estación."),
                         traslado, documento)

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
        traslado, documento = self._para_acopio(acta)
        self._run_acopio(service, acta,
                         lambda: service.acopio_tras_sin_acta(acta, arrival, operator,
                                                              traslado, documento),
                         self.tr("Se corrigió el sin acta: el acta quedó registrada en "
                                 "acopio (registro {seq})."), traslado, documento)

    def _run_acopio(self, service: AcopioService, acta: Acta, write: Callable[[], Record],
                    saved: str, traslado: Traslado | None, documento: TipoDocumento) -> None:
        """Record an acopio on the ``db`` lane, show it, print its ticket (``saved``:
        the message, with ``{seq}``; ``traslado`` and ``documento``: what it records of
        the paquete, said under the message)."""
        elegido = self.paquete if traslado is not None and \
            self.paquete.casilla == acta.casilla.clave else None

        def done(record: Record) -> None:
            self._shift.pending.discard(acta.clave)
            self._arrived(acta.clave, Arrival(Kind.ACOPIO.value, record.at, record.id))
            message = saved.format(seq=record.seq) + "\n" + describe_paquete(
                traslado, elegido, documento)
            self._show(Shown(Tone.OK, self.tr("Acopiada a las {hora}").format(
                hora=local_time(record.at)), message, acta))
            self.acopio_did_record.emit(acta.clave)
            self._print(service.ticket(acta, record, self.operator.name))

        def failed(error: BaseException) -> None:
            self._shift.pending.discard(acta.clave)
            if documento is not TipoDocumento.ACTA_PREP:  # not recorded: still to use
                self._set_paquete(replace(self.paquete, documento=documento))
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
        ``sin_acta_did_finish`` (for the form) and to the big panel. A cause about the
        casilla (:data:`CAUSAS_DE_CASILLA`) is registered for all its actas at once,
        named by any of their CLAVE_ACTA or by the CLAVE_CASILLA."""
        service = self.service
        if service is None:
            self.sin_acta_did_finish.emit(False, self.tr("El catálogo aún se está cargando."))
            return
        text = clave_text[:MAX_TYPED_CHARS + 1]
        casilla = service.casilla(text) if causa in CAUSAS_DE_CASILLA else None
        if casilla is not None:
            self._register_sin_acta_casilla(service, casilla, causa)
            return
        try:
            acta = service.identify(text)
        except CodeRejected as rejected:
            self.sin_acta_did_finish.emit(False, rejected.mensaje)
            return
        if causa in CAUSAS_DE_CASILLA:
            self._register_sin_acta_casilla(service, acta.casilla, causa)
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

    def _register_sin_acta_casilla(self, service: AcopioService, casilla: Casilla,
                                   causa: CausaSinActa) -> None:
        """Every acta of ``casilla`` not registered here yet, sin acta for ``causa``."""
        if service.distrito is not None and casilla.distrito_id != service.distrito:
            self.sin_acta_did_finish.emit(False, self.tr(
                "La casilla {casilla} pertenece al distrito {d:02d}, no al de este CATD: no "
                "se registró. Avise al coordinador.").format(casilla=casilla.clave,
                                                             d=casilla.distrito_id))
            return
        claves = [a.clave for a in service.actas_de(casilla)]
        if any(c in self._shift.pending for c in claves):
            self.sin_acta_did_finish.emit(False, self.tr(
                "Un acta de la casilla {casilla} se está registrando; espere un momento y "
                "vuelva a intentarlo.").format(casilla=casilla.clave))
            return
        operator, arrivals = self.operator.id, dict(self.state.arrivals)
        self._shift.pending.update(claves)

        def done(result: SinActaCasilla) -> None:
            self._shift.pending.difference_update(claves)
            for acta, record in result.registradas:
                self._arrived(acta.clave, Arrival(Kind.SIN_ACTA.value, record.at, record.id,
                                                  causa.value))
            self._show_sin_acta_casilla(result)

        def failed(error: BaseException) -> None:
            self._shift.pending.difference_update(claves)
            self.sin_acta_did_finish.emit(False, describe_error(error))
        self.tasks.run("db", lambda: service.sin_acta_casilla(casilla, causa, operator,
                                                              arrivals), done, failed)

    def _show_sin_acta_casilla(self, result: SinActaCasilla) -> None:
        """The whole outcome in the big panel; a short one under the form (it must fit
        the form's column at 1024×768)."""
        casilla, causa = result.casilla.clave, CAUSAS_SIN_ACTA[result.causa]
        ya = "; ".join(f"{eleccion_label(acta.eleccion)}: {como}"
                       for acta, como in result.ya_registradas)
        if not result.registradas:
            message = self.tr("No se registró nada: todas las actas de la casilla {casilla} "
                              "ya estaban registradas ({ya}).").format(casilla=casilla, ya=ya)
            shown = result.ya_registradas[0][0] if result.ya_registradas else None
            self._show(Shown(Tone.WARN, self.tr("Casilla ya registrada"), message, shown,
                             casilla_entera=True))
            self.sin_acta_did_finish.emit(False, self.tr(
                "No se registró nada: la casilla {casilla} ya estaba registrada (vea el "
                "panel).").format(casilla=casilla))
            return
        actas = ", ".join(eleccion_label(a.eleccion) for a, _ in result.registradas)
        seqs = [str(r.seq) for _, r in result.registradas]
        registros = self.tr("registro {n}").format(n=seqs[0]) if len(seqs) == 1 else \
            self.tr("registros {a} y {b}").format(a=", ".join(seqs[:-1]), b=seqs[-1])
        message = self.tr("{causa}, casilla {casilla}: {actas} ({registros}).").format(
            causa=causa, casilla=casilla, actas=actas, registros=registros)
        n = len(result.registradas)
        form = self.tr("Sin acta registrada: {causa}, casilla {casilla}, {n}.").format(
            causa=causa, casilla=casilla,
            n=self.tr("1 acta") if n == 1 else self.tr("{n} actas").format(n=n))
        if ya:
            message += " " + self.tr("Ya estaban registradas y no se cambiaron: {ya}.").format(
                ya=ya)
            k = len(result.ya_registradas)
            form = form[:-1] + (self.tr("; 1 ya estaba registrada: vea el panel.") if k == 1
                                else self.tr("; {k} ya estaban registradas: vea el panel.")
                                .format(k=k))
        first_acta, first = result.registradas[0]
        self._show(Shown(Tone.WARN if ya else Tone.OK, self.tr("Sin acta · {hora}").format(
            hora=local_time(first.at)), message, first_acta, casilla_entera=True))
        self.sin_acta_did_finish.emit(True, form)

    # the paquete: traslado (F3) and documento (F4) ----------------------------------

    def cycle_traslado(self) -> None:
        """F3: the next mechanism for the paquete in hand, back to each casilla's
        catalog default after the last. It holds for the actas of the next casilla
        read (the paquete), then goes back to the catalog's."""
        self._set_paquete(replace(self.paquete, traslado=next_traslado(self.paquete.traslado),
                                  casilla=None))

    def toggle_documento(self) -> None:
        """F4: the next acta read is another copy of the acta de escrutinio y cómputo
        (its Acta PREP is missing), or back to the Acta PREP."""
        otro = TipoDocumento.COPIA_AEC if self.paquete.documento is TipoDocumento.ACTA_PREP \
            else TipoDocumento.ACTA_PREP
        self._set_paquete(replace(self.paquete, documento=otro))

    def _para_acopio(self, acta: Acta) -> tuple[Traslado | None, TipoDocumento]:
        """What an acopio of ``acta`` records of its paquete; the document chosen is
        used once, the traslado chosen binds to this acta's casilla (an acta of another
        casilla goes back to the catalog's)."""
        paquete = self.paquete
        clave = acta.casilla.clave
        if paquete.traslado is not None and paquete.casilla not in (None, clave):
            paquete = replace(paquete, traslado=None, casilla=None)
        default = traslado_de_casilla(acta.casilla)
        traslado = default
        if default is not None and paquete.traslado is not None:
            traslado, paquete = paquete.traslado, replace(paquete, casilla=clave)
        documento = paquete.documento
        self._set_paquete(replace(paquete, documento=TipoDocumento.ACTA_PREP))
        return traslado, documento

    def _set_paquete(self, paquete: Paquete) -> None:
        if paquete != self.paquete:
            self.paquete = paquete
            self.paquete_did_change.emit(self.paquete_shown())

    def paquete_shown(self) -> PaqueteShown:
        return PaqueteShown.of(self.paquete)

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
