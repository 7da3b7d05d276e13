"""The CCV's PREP Casilla panel: photos received and refused (and why), actas waiting
for capture and validated, refreshed every few seconds from the central
(``GET /v1/ccv/intake``) on the network lane, never on the GUI thread."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from catd.taskman import TaskManager, describe_error
from prep.records import parse_time
from prep.station.ccv import IntakeCounts, fetch_intake
from prep.station.formatting import local_time
from prep.station.station import Station

log = logging.getLogger("ccv.panel")

REFRESH_MS = 5000

#: Spanish names of the rejection reasons (``docs/ccv.md``).
MOTIVOS = {
    "tipo_no_admitido": "No es una fotografía JPEG o PNG",
    "incompleta": "Archivo cortado (incompleto)",
    "no_decodifica": "Archivo dañado",
    "vacia": "Archivo vacío",
    "demasiado_grande": "Archivo demasiado grande",
    "en_blanco": "Imagen en blanco",
    "negra": "Imagen negra",
    "sin_qr": "Sin QR legible ni CLAVE_ACTA en el nombre",
    "acta_desconocida": "QR de un acta que no está en el catálogo",
    "qr_varias_actas": "QR de varias actas",
    "duplicado": "Imagen repetida (mismos bytes)",
    "tipo_no_coincide": "El contenido no corresponde a la extensión del archivo",
    "datos_anexos": "Archivo con datos añadidos después de la imagen",
    "enlace_simbolico": "Enlace simbólico (no se sigue)",
    "resolucion_baja": "Resolución demasiado baja",
    "inclinada": "Acta demasiado inclinada",
    "qr_no_es_acta": "QR que no es de un acta",
    "qr_otra_acta": "QR de otra acta",
}


class IntakePresenter(QObject):
    """Asks the central for the intake counts while the panel is on screen."""

    counts_did_arrive = Signal(object)  # IntakeCounts
    refresh_did_fail = Signal(str)

    def __init__(self, station: Station, tasks: TaskManager,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.station = station
        self.tasks = tasks
        self._asking = False
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    def start(self) -> None:
        self._timer.start()
        self.refresh()

    def stop(self) -> None:
        self._timer.stop()

    def refresh(self) -> None:
        """One request at a time: a slow central never piles requests up."""
        if self._asking:
            return
        self._asking = True
        station = self.station
        self.tasks.run("net", lambda: fetch_intake(station), self._arrived, self._failed)

    def _arrived(self, counts: IntakeCounts) -> None:
        self._asking = False
        self.counts_did_arrive.emit(counts)

    def _failed(self, error: BaseException) -> None:
        self._asking = False
        log.info("intake counts unavailable: %s", error)
        self.refresh_did_fail.emit(describe_error(error))


class _Figure(QFrame):
    def __init__(self, caption: str) -> None:
        super().__init__()
        self.setObjectName("card")
        layout = QVBoxLayout(self)
        self.value = QLabel("—")
        self.value.setObjectName("bigNumber")
        self.value.setStyleSheet("font-size: 34px; font-weight: 700;")
        label = QLabel(caption)
        label.setWordWrap(True)
        layout.addWidget(self.value)
        layout.addWidget(label)


class IntakePanel(QWidget):
    """The numbers, big; the refusals by reason in a table; when they were read."""

    def __init__(self, presenter: IntakePresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.presenter = presenter
        title = QLabel(self.tr("Recepción de PREP Casilla"))
        title.setObjectName("screenTitle")
        title.setStyleSheet("font-size: 22px; font-weight: 700;")
        self.figures = {key: _Figure(self.tr(caption)) for key, caption in (
            ("recibidas", "fotografías recibidas"),
            ("aceptadas", "actas con fotografía"),
            ("total_rechazadas", "fotografías rechazadas (en cuarentena)"),
            ("en_captura", "actas esperando captura o verificación"),
            ("validadas", "actas validadas"),
            ("redigitalizacion", "actas con imagen ilegible"),
        )}
        grid = QGridLayout()
        for n, figure in enumerate(self.figures.values()):
            grid.addWidget(figure, n // 3, n % 3)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels([self.tr("Motivo de rechazo"),
                                              self.tr("Fotografías")])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(1, 140)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.state = QLabel(self.tr("Consultando al nodo central…"))
        self.empty = QLabel(self.tr("Ninguna fotografía rechazada."))
        hint = QLabel(self.tr(
            "Las fotografías rechazadas quedan en la carpeta «rechazadas» del directorio de "
            "recepción, cada una con un archivo .motivo.txt. Pida a la casilla otra "
            "fotografía, o renombre el archivo con la CLAVE_ACTA si el QR no se lee, y "
            "vuelva a colocarlo en el directorio de recepción."))
        hint.setWordWrap(True)
        hint.setAlignment(Qt.AlignmentFlag.AlignTop)
        rejected_title = QLabel(self.tr("Fotografías rechazadas, por motivo"))
        rejected_title.setStyleSheet("font-size: 16px; font-weight: 600;")
        top = QHBoxLayout()
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.state)
        bottom = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(rejected_title)
        left.addWidget(self.table, 1)
        left.addWidget(self.empty)
        bottom.addLayout(left, 3)
        bottom.addWidget(hint, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(grid)
        layout.addLayout(bottom, 1)
        presenter.counts_did_arrive.connect(self.show_counts)
        presenter.refresh_did_fail.connect(self.show_failure)

    def show_counts(self, counts: IntakeCounts) -> None:
        for key, figure in self.figures.items():
            figure.value.setText(f"{getattr(counts, key):,}")
        rows = sorted(counts.rechazadas.items(), key=lambda kv: (-kv[1], kv[0]))
        self.table.setRowCount(len(rows))
        for n, (motivo, count) in enumerate(rows):
            self.table.setItem(n, 0, QTableWidgetItem(MOTIVOS.get(motivo, motivo)))
            number = QTableWidgetItem(f"{count:,}")
            number.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(n, 1, number)
        self.empty.setVisible(not rows)
        self.state.setText(self.tr("Actualizado a las {hora}").format(
            hora=local_time(parse_time(counts.at))))
        self.state.setProperty("health", "online")

    def show_failure(self, message: str) -> None:
        self.state.setText(self.tr("No se pudo actualizar: {m} Se reintentará en unos "
                                   "segundos.").format(m=message))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.presenter.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self.presenter.stop()
        super().hideEvent(event)
