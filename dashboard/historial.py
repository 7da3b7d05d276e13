"""The «Historial» page (issue 29): one acta's history by its CLAVE_ACTA, with the CATD,
the station and the operator of each step, which the public history never names.

Ctrl+H puts the keyboard in the key field (its text chosen, so typing replaces it);
Intro asks; Tab goes to the list. The page only shows and forwards: the key is checked
and read by the controller (:meth:`DashboardController.lookup_acta`, off the GUI
thread), from :mod:`central.controlroom.historial_acta`.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QWidget

from central.controlroom.historial_acta import HistorialActa
from central.controlroom.historial_acta import Paso
from dashboard import theme
from dashboard.stations import site_name
from dashboard.tables import Cell
from dashboard.tables import Row
from dashboard.tables import Table
from dashboard.tables import text
from dashboard.views import label
from dashboard.views import titled_page
from qtkit.style import set_tone

EVENTOS = {
    "acopio": "Acopio", "sin_acta": "Sin acta", "imagen": "Digitalización",
    "captura": "Captura", "verificacion": "Verificación",
    "cotejo_coincide": "Cotejo: coincide", "cotejo_diferencia": "Cotejo: diferencia",
    "publicada": "Publicada", "correccion_publicada": "Corrección publicada"}
ESTADOS = {"esperada": "esperada", "acopiada": "acopiada", "sin_acta": "sin acta",
           "digitalizada": "digitalizada", "captura_1": "en primera captura",
           "captura_2": "en segunda captura", "captura_3": "en tercera captura",
           "verificacion": "en verificación", "validada": "validada",
           "redigitalizacion": "esperando otra imagen",
           "fuera_de_catalogo": "fuera de catálogo"}
NODO_CENTRAL = "Nodo central"


class HistorialView(QWidget):
    """A CLAVE_ACTA field and the acta's steps: hour, event, detail, site, station,
    operator. ``lookup_requested(text)``: the coordinator pressed Intro (or «Buscar»)."""

    HEADERS = ("Hora", "Evento", "Detalle", "Sitio", "Equipo", "Operador")
    lookup_requested = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        layout, self.summary = titled_page(self, "Historial de un acta", wrap=True)
        self.summary.setText("Cada paso del acta que el nodo central aceptó, con quién lo "
                             "hizo y en qué equipo (el historial público no los nombra).")
        row = QHBoxLayout()
        row.addWidget(label("CLAVE_ACTA:"))
        self.clave = QLineEdit()
        self.clave.setPlaceholderText("p. ej. 090123B010001 · Intro: buscar")
        self.clave.setMaxLength(40)
        self.clave.setClearButtonEnabled(True)
        self.clave.setAccessibleName("Clave del acta")
        self.clave.returnPressed.connect(self.request)
        row.addWidget(self.clave, 1)
        self.buscar = QPushButton("Buscar")
        self.buscar.setAutoDefault(False)
        self.buscar.clicked.connect(self.request)
        row.addWidget(self.buscar)
        layout.addLayout(row)
        self.message = label("", "muted")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.table = Table(self.HEADERS, "Escriba la clave de un acta (Ctrl+H) y pulse "
                           "Intro para ver su historial.", stretch=2, wrap=True)
        layout.addWidget(self.table, 1)
        self.busy = False

    def focus_clave(self) -> None:
        """The keyboard in the key field, its text chosen (typing replaces it)."""
        self.clave.setFocus()
        self.clave.selectAll()

    def request(self) -> None:
        if self.busy:
            return
        self.busy = True
        self.buscar.setEnabled(False)
        self._say("Buscando…", None)
        self.lookup_requested.emit(self.clave.text())

    def show_historial(self, historial: HistorialActa) -> None:
        """Show ``historial``'s steps (oldest first) and what the acta is now."""
        self._done()
        self.table.set_rows([_row(i, p) for i, p in enumerate(historial.pasos)])
        estado = ESTADOS.get(historial.estado, historial.estado)
        fuera = "" if historial.en_catalogo else " (fuera de catálogo)"
        self._say(f"Acta {historial.clave}{fuera}: {estado}; "
                  f"{theme.plural(len(historial.pasos), 'paso')}. Leído a las "
                  f"{theme.local(historial.leido_at)} (Cd. de México).", "ok")

    def show_error(self, message: str) -> None:
        """Say why there is no history (a malformed or unknown key, no database); the
        list is emptied, so no other acta's history is mistaken for this one."""
        self._done()
        self.table.set_rows([])
        self._say(message, "error")
        self.focus_clave()

    def _done(self) -> None:
        self.busy = False
        self.buscar.setEnabled(True)

    def _say(self, message: str, tone: str | None) -> None:
        self.message.setText(message)
        set_tone(self.message, tone or "")


def _row(i: int, p: Paso) -> Row:
    central = p.evento in ("publicada", "correccion_publicada")
    sitio = NODO_CENTRAL if central else (site_name(p.sitio) if p.sitio else "—")
    operador = p.nombre or p.operador or ("—" if not central else "")
    return Row(i, [
        Cell(theme.local(p.at, True), i,
             tip=f"Recibido en el nodo central: {theme.local(p.recibido, True)}"
             if p.recibido else None),
        text(_evento(p)), text(p.detalle, tip=p.detalle or None), text(sitio),
        text(p.estacion or ("—" if not central else "")),
        text(operador, tip=p.operador if p.nombre else None)])


def _evento(p: Paso) -> str:
    nombre = EVENTOS.get(p.evento, p.evento)
    if p.evento in ("captura", "verificacion"):
        return f"{nombre} · ronda {p.ronda}, lugar {p.slot}"
    if p.evento == "imagen" and p.slot is not None:
        return f"{nombre} · imagen {p.slot}"
    if p.evento == "cotejo_diferencia" and p.ronda is not None:
        return f"{nombre} · abre la ronda {p.ronda}"
    return nombre
