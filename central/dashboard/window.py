"""The dashboard's main window: a banner for the connection's state, the pages in tabs,
the coordinators' actions in a menu, and keyboard shortcuts for all of it.

Shortcuts: F5 refresh now; Ctrl+1…6 the pages; Alt+E the elección; Ctrl+Intro
acknowledge the selected anomaly; Ctrl+Shift+A enrollment code; Ctrl+Shift+O operator;
Ctrl+Shift+C corte now; Ctrl+Q quit.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from central.dashboard import theme
from central.dashboard.actions import Coordinator
from central.dashboard.charts import ThroughputView
from central.dashboard.controller import DashboardController
from central.dashboard.dialogs import EnrollmentCodeDialog, OperatorDialog
from central.dashboard.views import (
    AnomaliasView,
    CapturistasView,
    CortesView,
    EstacionesView,
    ResumenView,
)
from central.operators import OperatorInfo

PAGES = ("Resumen", "Ritmo", "Estaciones", "Anomalías", "Capturistas", "Cortes")


class DashboardWindow(QMainWindow):
    """The control room's window over a :class:`DashboardController`."""

    def __init__(self, controller: DashboardController) -> None:
        super().__init__()
        self.controller = controller
        self.setWindowTitle("PREP · Tablero de la sala de control")
        self.resize(1440, 860)
        central = QWidget()
        central.setObjectName("page")
        outer = QVBoxLayout(central)
        outer.setContentsMargins(10, 8, 10, 4)
        outer.setSpacing(6)
        self.banner = QFrame()
        self.banner.setObjectName("banner")
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.setContentsMargins(12, 6, 12, 6)
        self.banner_text = QLabel("")
        self.banner_text.setWordWrap(True)
        banner_layout.addWidget(self.banner_text, 1)
        outer.addWidget(self.banner)
        self.resumen = ResumenView()
        self.ritmo = ThroughputView()
        self.estaciones = EstacionesView()
        self.anomalias = AnomaliasView()
        self.capturistas = CapturistasView()
        self.cortes = CortesView()
        self.tabs = QTabWidget()
        for widget, title in zip((self.resumen, self.ritmo, self.estaciones, self.anomalias,
                                  self.capturistas, self.cortes), PAGES, strict=True):
            self.tabs.addTab(widget, title)
        self.loading = QLabel("Cargando datos del nodo central…")
        self.loading.setObjectName("empty")
        self.loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.loading.setWordWrap(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.loading)
        self.stack.addWidget(self.tabs)
        outer.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.live = QLabel("")
        self.statusBar().addWidget(self.live, 1)
        self.acting = QLabel("")
        self.statusBar().addPermanentWidget(self.acting)
        self._menus()
        self.anomalias.set_can_act(controller.can_act)
        self.anomalias.ack_requested.connect(self._ack)
        controller.overview_did_load.connect(self._show_overview)
        controller.state_did_change.connect(self._show_state)
        controller.action_did_finish.connect(self._action_done)
        controller.action_did_fail.connect(self._action_failed)
        self._show_state()

    def _menus(self) -> None:
        view = self.menuBar().addMenu("&Ver")
        refresh = QAction("Actualizar ahora", self)
        refresh.setShortcut(QKeySequence(Qt.Key.Key_F5))
        refresh.triggered.connect(self.controller.request_refresh)
        view.addAction(refresh)
        view.addSeparator()
        for i, title in enumerate(PAGES):
            action = QAction(title, self)
            action.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            action.triggered.connect(lambda _c=False, i=i: self.tabs.setCurrentIndex(i))
            view.addAction(action)
        view.addSeparator()
        quit_action = QAction("Salir", self)
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(self.close)
        view.addAction(quit_action)
        acciones = self.menuBar().addMenu("&Acciones")
        enabled = self.controller.can_act
        tip = "" if enabled else "Requiere --acciones-dsn (la conexión del nodo central)."
        for title, keys, slot in (("Código de alta de una estación…", "Ctrl+Shift+A",
                                   self.enrollment_code),
                                  ("Operador nuevo…", "Ctrl+Shift+O", self.new_operator),
                                  ("Corte ahora…", "Ctrl+Shift+C", self.corte_now)):
            action = QAction(title, self)
            action.setShortcut(QKeySequence(keys))
            action.setEnabled(enabled)
            action.setStatusTip(tip)
            action.triggered.connect(slot)
            acciones.addAction(action)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            ack = QShortcut(QKeySequence(keys), self)
            ack.activated.connect(self.anomalias.request_ack)
        combo = QShortcut(QKeySequence("Alt+E"), self)
        combo.activated.connect(self._focus_eleccion)

    def _focus_eleccion(self) -> None:
        self.tabs.setCurrentWidget(self.resumen)
        self.resumen.eleccion.setFocus()
        self.resumen.eleccion.showPopup()

    # --- what the controller says -----------------------------------------------------

    def _show_overview(self) -> None:
        ov = self.controller.overview
        if ov is None:
            return
        for page in (self.resumen, self.ritmo, self.estaciones, self.anomalias,
                     self.capturistas, self.cortes):
            page.show_overview(ov)
        pending = ov.pending_anomalies
        self.tabs.setTabText(PAGES.index("Anomalías"),
                             f"Anomalías ({pending})" if pending else "Anomalías")
        behind = len(ov.behind())
        self.tabs.setTabText(0, f"Resumen ({behind} rezagados)" if behind else "Resumen")
        self.stack.setCurrentWidget(self.tabs)
        self._show_state()

    def _show_state(self) -> None:
        c = self.controller
        ov = c.overview
        if c.state == "error":
            text = (f"No se pudo leer la base de datos: {c.message}. Se reintenta cada 5 s "
                    "(F5: ahora).")
            self._banner("error", text + (" Lo que se ve es de la última lectura."
                                          if ov else ""))
            if ov is None:
                self.loading.setText(text)
        elif c.state == "sin_aviso":
            self._banner("warn", f"{c.message or 'Sin avisos en vivo.'} Los datos se "
                         "actualizan con F5 mientras vuelve la conexión.")
        elif c.state == "cargando":
            self._banner("live", "Cargando datos del nodo central…")
        else:
            self.banner.hide()
        if ov is not None:
            vivo = "● En vivo" if c.state == "en_vivo" else "○ Sin avisos en vivo"
            self.live.setText(f"{vivo} · datos de las {theme.local(ov.taken_at)} "
                              f"(hora de la Ciudad de México) · catálogo "
                              f"v{ov.catalog_version}")
        self.acting.setText("Acciones habilitadas" if c.can_act else
                            "Solo lectura (sin --acciones-dsn)")

    def _banner(self, tone: str, text: str) -> None:
        self.banner.setProperty("tone", tone)
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)
        self.banner_text.setText(text)
        self.banner.show()

    # --- actions ----------------------------------------------------------------------

    def _ack(self, anomaly_id: int) -> None:
        note = self.anomalias.note.text()
        self.controller.act(lambda c: c.ack(anomaly_id, note))
        self.anomalias.acknowledged()

    def enrollment_code(self) -> None:
        dialog = EnrollmentCodeDialog(self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        catd, role, hours = dialog.choice()
        lugar = "el CCV" if catd is None else f"el CATD {catd:02d}"

        def work(c: Coordinator) -> str:
            code = c.enrollment_code(catd, role, hours)
            return (f"Código de alta para {lugar} (válido {hours:g} h, un solo uso):\n\n"
                    f"{code}\n\nNo se volverá a mostrar.")
        self.controller.act(work)

    def new_operator(self) -> None:
        dialog = OperatorDialog(self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        name, role, sitio, password = dialog.values()
        self.controller.act(lambda c: _operator_message(c.operator(name, role, sitio,
                                                                   password)))

    def corte_now(self) -> None:
        answer = QMessageBox.question(self, "Corte ahora", "¿Hacer y publicar un corte "
                                      "ahora? Quedará en la bitácora como corte a pedido.")
        if answer == QMessageBox.StandardButton.Yes:
            self.acting.setText("Haciendo el corte…")
            self.controller.act(lambda c: c.corte())

    def _action_done(self, message: str) -> None:
        self._show_state()
        if "\n" in message:  # something to copy (a code): a dialog, not a status line
            box = QMessageBox(QMessageBox.Icon.Information, "Hecho", message,
                              QMessageBox.StandardButton.Ok, self)
            box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            box.open()
        else:
            self.statusBar().showMessage(message, 10_000)

    def _action_failed(self, message: str) -> None:
        self._show_state()
        QMessageBox(QMessageBox.Icon.Warning, "No se pudo", message,
                    QMessageBox.StandardButton.Ok, self).open()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.controller.close()
        super().closeEvent(event)


def _operator_message(info: OperatorInfo) -> str:
    return f"Operador {info.name} dado de alta como {info.role} en {info.sitio}: {info.id}."
