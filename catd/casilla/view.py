"""The PREP Casilla screen (a CCV station's): photos received and refused (and why),
actas waiting for capture and validated, as :class:`IntakePresenter` reads them."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QHideEvent
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QGridLayout
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QHeaderView
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QTableWidgetItem
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from catd.casilla.presenter import IntakePresenter
from prep.casilla_rechazos import nombre
from prep.casilla_rechazos import rechazos
from prep.records import parse_time
from prep.station.ccv import IntakeCounts
from prep.station.formatting import local_time
from qtkit.widgets import named_label
from qtkit.widgets import read_only_table

#: Spanish names of the rejection reasons, as declared once in prep/casilla_rechazos.toml.
MOTIVOS = {r.motivo: r.nombre for r in rechazos().values()}


class _Figure(QFrame):
    def __init__(self, caption: str) -> None:
        super().__init__()
        self.setObjectName("card")
        layout = QVBoxLayout(self)
        self.value = named_label("—", "bigNumber")
        label = QLabel(caption)
        label.setWordWrap(True)
        layout.addWidget(self.value)
        layout.addWidget(label)


class IntakePanel(QWidget):
    """The numbers, big; the refusals by reason in a table; when they were read."""

    def __init__(self, presenter: IntakePresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.presenter = presenter
        title = named_label(self.tr("Recepción de PREP Casilla"), "screenTitle")
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
        self.table = read_only_table([self.tr("Motivo de rechazo"), self.tr("Fotografías")])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(1, 140)
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
        rejected_title = named_label(self.tr("Fotografías rechazadas, por motivo"), "sectionTitle")
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
            self.table.setItem(n, 0, QTableWidgetItem(nombre(motivo)))
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
