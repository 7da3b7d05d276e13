"""The status bar on every screen: the central, the backlog, the last delivery, the
station clock and who is logged in.

:func:`describe_status` turns a :class:`prep.station.station.StationStatus` into the
texts (Qt-free, tested directly); :class:`StatusPresenter` asks the station for its
status on the ``status`` lane once a second; :class:`StatusBarView` draws it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QEvent
from PySide6.QtCore import QObject
from PySide6.QtCore import QSize
from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtGui import QPainter
from PySide6.QtGui import QPaintEvent
from PySide6.QtGui import QPalette
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QSizePolicy
from PySide6.QtWidgets import QStatusBar
from PySide6.QtWidgets import QWidget

from catd.taskman import TaskManager
from catd.taskman import describe_error
from prep.records import parse_time
from prep.station.accounts import Operator
from prep.station.errors import DISABLED_MESSAGE
from prep.station.formatting import local_time
from prep.station.formatting import size_label
from prep.station.station import Station
from prep.station.station import StationStatus
from prep.station.sync import FOUND_LIST
from prep.station.sync import FOUND_MDNS
from qtkit.polling import PollingPresenter
from qtkit.style import set_tone

REFRESH_MS = 1000
#: Narrower than this (a 1024 px screen), the status bar's secondary fields are short.
COMPACT_BELOW = 1200
COMPACT_OPERATOR = 240
QWIDGETSIZE_MAX = (1 << 24) - 1


class Health(enum.StrEnum):
    """Colour of the central indicator."""

    ONLINE = "ok"
    OFFLINE = "warn"
    BLOCKED = "error"
    UNKNOWN = "idle"
    TRAINING = "pending"  # blue: a practice station, no central at all


@dataclass(frozen=True)
class StatusLine:
    """The texts of the status bar."""

    health: Health
    central: str
    central_detail: str
    backlog: str
    last_sync: str
    #: Shorter sentences that still say what to do, for a narrow window (a state that
    #: needs action must never be cut to «El nodo central desha…»).
    short: tuple[str, ...] = ()

    @property
    def central_short(self) -> str:
        """The indicator in two or three words, for a narrow window (1024 px)."""
        return _SHORT[self.health] if self.health in _SHORT else self.central


#: What the indicator says when the whole sentence does not fit.
_SHORT = {Health.ONLINE: "En línea", Health.OFFLINE: "Sin conexión",
          Health.UNKNOWN: "Conectando…", Health.TRAINING: "CAPACITACIÓN"}


def describe_status(status: StationStatus) -> StatusLine:
    """What the status bar says about ``status``."""
    sync = status.sync
    if status.capacitacion:
        return StatusLine(Health.TRAINING, "CAPACITACIÓN: sin nodo central, nada se envía",
                          "Estación de práctica: sus registros se quedan en este equipo "
                          "para el puntaje del capacitador.",
                          f"Registros de práctica: {status.records}", "Último envío: —")
    if not status.enrolled:
        return StatusLine(Health.UNKNOWN, "Estación sin dar de alta", "", "Por enviar: —",
                          "Último envío: —")
    backlog = status.backlog_records
    pending = (f"Por enviar: {backlog} registro{'s' if backlog != 1 else ''} "
               f"({size_label(status.backlog_bytes)})" if backlog else "Por enviar: nada")
    last = (f"Último envío: {local_time(parse_time(status.last_receipt_at))}"
            if status.last_receipt_at else "Último envío: aún ninguno")
    if status.disabled or (sync is not None and sync.disabled):
        # The central refuses the station itself: no retry, no network fix will do.
        return StatusLine(Health.BLOCKED, "El nodo central deshabilitó este equipo: llame a "
                          "su coordinador", status.disabled or DISABLED_MESSAGE, pending, last,
                          ("Equipo deshabilitado: llame a su coordinador",
                           "Deshabilitado: llame al coordinador"))
    if status.blocked or (sync is not None and sync.blocked):
        why = status.blocked or (sync.last_error if sync is not None else "")
        return StatusLine(Health.BLOCKED, "Envío detenido: avise a su coordinador", why,
                          pending, last, ("Detenido: avise al coordinador",))
    if sync is None or not sync.running:
        return StatusLine(Health.UNKNOWN, "Nodo central: conectando…",
                          status.central_url or "", pending, last)
    how = ("encontrado por mDNS" if sync.found_via == FOUND_MDNS
           else "dirección configurada" if sync.found_via != FOUND_LIST
           else "nodo de esta estación" if sync.own_node
           else "otro nodo de la lista firmada: el de esta estación no responde")
    where = sync.central_url.removeprefix("https://")
    if sync.online:
        return StatusLine(Health.ONLINE, f"Nodo central en línea · {where} ({how})",
                          sync.bundle_error, pending, last)
    return StatusLine(Health.OFFLINE, "Sin conexión con el nodo central: los registros se "
                      "guardan aquí y se enviarán al reconectar",
                      sync.last_error or f"{where} ({how})", pending, last)


class StatusPresenter(PollingPresenter):
    """Polls the station's status off the GUI thread and ticks the clock."""

    status_did_change = Signal(object)  # StatusLine
    clock_did_tick = Signal(str)
    operator_did_change = Signal(str)

    def __init__(self, station: Station, tasks: TaskManager,
                 parent: QObject | None = None) -> None:
        super().__init__(REFRESH_MS, parent)
        self.station = station
        self.tasks = tasks

    def will_ask(self) -> None:
        # The clock ticks even while a slow disk holds the status request.
        self.clock_did_tick.emit(self.tr("Hora de la estación: {hora}").format(
            hora=local_time(self.clock())))

    def ask(self) -> None:
        self.tasks.run("status", self.station.status, self.answered, self.failed)

    def clock(self) -> datetime:
        return self.station.store.clock()

    def did_get(self, result: object) -> None:
        assert isinstance(result, StationStatus)
        self.status_did_change.emit(describe_status(result))

    def did_fail(self, error: BaseException) -> None:
        self.status_did_change.emit(StatusLine(
            Health.BLOCKED, self.tr("No se pudo leer el estado de la estación"),
            describe_error(error), "", ""))

    def set_operator(self, operator: Operator | None) -> None:
        self.operator_did_change.emit(
            self.tr("Operador: {name} ({role})").format(name=operator.name, role=operator.role)
            if operator is not None else self.tr("Sin sesión"))


class ElidedLabel(QLabel):
    """A label that shortens its text with "…" to the width it is given instead of
    widening the window (a long offline message must never push the screen past
    1366 px); the whole text stays in ``full_text`` and the tooltip."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.full_text = ""
        self.shorter: tuple[str, ...] = ()
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(120)
        self.setText(text)

    def setText(self, text: str, *shorter: str) -> None:
        """Show ``text``, or else the first of ``shorter`` that fits whole (a message
        cut in the middle of a word reads wrong: «Sin conexión con e»)."""
        self.full_text = text
        self.shorter = shorter
        self._elide()
        self.updateGeometry()  # the hint follows the whole text, not the shortened one

    def sizeHint(self) -> QSize:
        """Room for the whole text: a layout with space to spare shows it whole."""
        padding = self.width() - self.contentsRect().width() + 2 * self.margin()
        return QSize(self.fontMetrics().horizontalAdvance(self.full_text) + padding,
                     super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        """As narrow as its minimum width: the text is shortened instead."""
        return QSize(self.minimumWidth(), super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Draw the chosen text with the very font and rectangle it was measured with.
        QLabel's own painting, under the status bar's style sheet, drew it about 5 px to
        the right of where the metrics put it, cutting the last letter (issue 35)."""
        painter = QPainter(self)
        painter.setFont(self.font())
        self.style().drawItemText(painter, self.contentsRect().adjusted(
            self.margin(), 0, -self.margin(), 0), int(self.alignment()), self.palette(),
            self.isEnabled(), self.text(), QPalette.ColorRole.WindowText)

    def changeEvent(self, event: QEvent) -> None:
        """The style sheet reaches the label after ``setText`` (when it is polished):
        choose again with its real font and padding."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._elide()

    def text_width(self) -> int:
        """The pixels the text is drawn in: the style sheet's padding and border (2px
        10px in the status bar) and the label's margin are not (issue 35: measuring
        ``width()`` chose texts 20 px too wide and the last letter was cut)."""
        return max(self.contentsRect().width() - 2 * self.margin(), 0)

    def _elide(self) -> None:
        width = self.text_width()
        metrics = self.fontMetrics()
        candidates = (self.full_text, *self.shorter)
        shown = next((c for c in candidates if metrics.horizontalAdvance(c) <= width), None)
        if shown is None:
            shown = metrics.elidedText(candidates[-1], Qt.TextElideMode.ElideRight, width)
        super().setText(shown)


class StatusBarView(QStatusBar):
    """Five always-visible fields at the bottom of the window."""

    def __init__(self, presenter: StatusPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        self.setSizeGripEnabled(False)
        self.central = ElidedLabel(self.tr("Nodo central: conectando…"))
        self.central.setObjectName("statusCentral")
        self.central.setMinimumWidth(150)
        self.backlog = QLabel()
        self.last_sync = QLabel()
        self.clock = QLabel()
        # A long name must not push a 1024 px window wider: it is shortened, whole on hover.
        self.operator = ElidedLabel(self.tr("Sin sesión"))
        self.operator.setObjectName("statusOperator")
        self.operator.setSizePolicy(QSizePolicy.Policy.Preferred,
                                    QSizePolicy.Policy.Preferred)
        self.operator.setMinimumWidth(160)
        self.addWidget(self.central, 1)
        for label in (self.backlog, self.last_sync, self.clock, self.operator):
            self.addPermanentWidget(label)
        presenter.status_did_change.connect(self.show_status)
        self._clock = ""
        self._last_sync = ""
        presenter.clock_did_tick.connect(self.show_clock)
        presenter.operator_did_change.connect(self.show_operator)

    def show_status(self, line: StatusLine) -> None:
        head = line.central.split(": ")[0].split(" · ")[0]
        # A state that needs action keeps the action when shortened; the others keep
        # their first words.
        shorter = line.short or (head, line.central_short)
        self.central.setText("● " + line.central, *("● " + text for text in shorter))
        self.central.setToolTip(line.central_detail)
        set_tone(self.central, line.health.value, "health")
        self.backlog.setText(line.backlog)
        self._last_sync = line.last_sync
        self._show_compact()

    def show_clock(self, text: str) -> None:
        self._clock = text
        self._show_compact()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._show_compact()

    def _show_compact(self) -> None:
        """Below :data:`COMPACT_BELOW` px the clock and the last delivery say only
        their times (the words on hover): the indicator keeps the room to say what to
        do."""
        compact = self.width() < COMPACT_BELOW
        clock, last = self._clock, self._last_sync
        if compact:
            clock = clock.rpartition(": ")[2]
            last = last.replace(self.tr("Último envío: "), self.tr("Envío: "), 1)
        self.clock.setText(clock)
        self.clock.setToolTip(self._clock if compact else "")
        self.last_sync.setText(last)
        # A long name is shortened (whole on hover) before the indicator is.
        self.operator.setMaximumWidth(COMPACT_OPERATOR if compact else QWIDGETSIZE_MAX)

    def show_operator(self, text: str) -> None:
        """«Operador: Ana Acopio (acopiador)», or without «Operador:» when narrow."""
        self.operator.setText(text, text.removeprefix(self.tr("Operador: ")))
        self.operator.setToolTip(text)
