"""The dashboard's pages. Each page shows an :class:`Overview` and forwards intent; the
numbers and the rules (phases, *behind*, online) come from :mod:`central.controlroom.overview`.
"""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox
from PySide6.QtWidgets import QComboBox
from PySide6.QtWidgets import QFrame
from PySide6.QtWidgets import QGridLayout
from PySide6.QtWidgets import QHBoxLayout
from PySide6.QtWidgets import QLabel
from PySide6.QtWidgets import QLineEdit
from PySide6.QtWidgets import QPushButton
from PySide6.QtWidgets import QVBoxLayout
from PySide6.QtWidgets import QWidget

from central.controlroom.anomaly_text import anomaly_label
from central.controlroom.anomaly_text import describe
from central.controlroom.overview import PHASE_LABELS
from central.controlroom.overview import PHASES
from central.controlroom.overview import AnomalyRow
from central.controlroom.overview import Overview
from central.controlroom.overview import SiteRow
from central.controlroom.overview import StationRow
from central.controlroom.overview import operator_sites
from dashboard import theme
from dashboard.stations import CCV
from dashboard.stations import StationLine
from dashboard.stations import expected_sites
from dashboard.stations import site_name
from dashboard.stations import sites_without_station
from dashboard.stations import station_lines
from dashboard.tables import Cell
from dashboard.tables import Row
from dashboard.tables import Table
from dashboard.tables import number
from dashboard.tables import text
from qtkit.widgets import vbox

SITUACION = {"al_dia": ("Al día", "ok"), "rezagado": ("Rezagado", "warn"),
             "muy_rezagado": ("Muy rezagado", "error"), "sin_actas": ("Sin actas", None),
             "ccv": ("", None)}
def page(owner: QWidget) -> QVBoxLayout:
    """A page of the dashboard filling ``owner``: the layout to put its parts in."""
    widget = QWidget()
    widget.setObjectName("page")
    layout = vbox(widget, (14, 12, 14, 12), 10)
    outer = vbox(owner)
    outer.addWidget(widget)
    return layout


def page_with_bar(owner: QWidget, title: str) -> tuple[QVBoxLayout, QHBoxLayout]:
    """A :func:`page` whose first line is ``title`` and, on the right, a bar for the
    page's controls: the page's layout and that bar."""
    layout = page(owner)
    bar = QHBoxLayout()
    bar.addWidget(label(title, "title"))
    bar.addStretch(1)
    layout.addLayout(bar)
    return layout, bar


def titled_page(owner: QWidget, title: str, wrap: bool = False) -> tuple[QVBoxLayout, QLabel]:
    """A :func:`page` opening with ``title`` and a muted summary line under it (``wrap``:
    a long one wraps): the page's layout and that summary."""
    layout = page(owner)
    layout.addWidget(label(title, "title"))
    summary = label("", "muted")
    summary.setWordWrap(wrap)
    layout.addWidget(summary)
    return layout, summary


def label(value: str, name: str | None = None) -> QLabel:
    widget = QLabel(value)
    if name:
        widget.setObjectName(name)
    return widget


class KpiCard(QFrame):
    """One phase of the state: how many actas and what share of the esperadas."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.setObjectName("card")
        layout = vbox(self, (14, 10, 14, 10), 2)
        self.title = label(title, "cardLabel")
        self.value = label("—", "cardValue")
        self.share = label(" ", "cardPct")
        for widget in (self.title, self.value, self.share):
            layout.addWidget(widget)

    def show_value(self, value: int, share: float | None) -> None:
        self.value.setText(theme.num(value))
        self.share.setText(theme.pct(share) if share is not None else " ")


class ResumenView(QWidget):
    """The 33 CATD and the CCV at a glance, with the state's totals on top."""

    # Each phase is one column, "count (share)", sorted by count: fourteen columns did
    # not fit a 1024-pixel screen.
    HEADERS = ("CATD", "Cabecera", "Esperadas", "Acopiadas", "Digitalizadas", "Capturadas",
               "Validadas", "Publicadas", "Situación")

    def __init__(self) -> None:
        super().__init__()
        layout, top = page_with_bar(self, "Avance por CATD")
        top.addWidget(label("Elección:"))
        self.eleccion = QComboBox()
        self.eleccion.setMinimumWidth(260)
        self.eleccion.setToolTip("Alt+E")
        top.addWidget(self.eleccion)
        cards = QGridLayout()
        cards.setSpacing(10)
        self.cards = {p: KpiCard(PHASE_LABELS[p]) for p in PHASES}
        for i, phase in enumerate(PHASES):
            cards.addWidget(self.cards[phase], 0, i)
        layout.addLayout(cards)
        self.rule = label("", "muted")
        self.rule.setWordWrap(True)
        layout.addWidget(self.rule)
        # Cabeceras wrap: «La Magdalena Contreras» is whole at 1024 px, on two lines.
        self.table = Table(self.HEADERS, "Aún no hay actas: cargue el catálogo con «prep "
                           "central catalog load».", stretch=1, wrap=True)
        layout.addWidget(self.table, 1)
        self.overview: Overview | None = None
        self.eleccion.currentIndexChanged.connect(lambda _i: self._render())

    def selected_eleccion(self) -> str | None:
        data = self.eleccion.currentData()
        return str(data) if data else None

    def show_overview(self, ov: Overview) -> None:
        self.overview = ov
        current = self.selected_eleccion()
        wanted = [("", "Todas las elecciones"), *ov.elecciones]
        if [self.eleccion.itemData(i) or "" for i in range(self.eleccion.count())] != \
                [c for c, _ in wanted]:
            self.eleccion.blockSignals(True)
            self.eleccion.clear()
            for codigo, nombre in wanted:
                self.eleccion.addItem(nombre, codigo or None)
            index = self.eleccion.findData(current) if current else 0
            self.eleccion.setCurrentIndex(max(index, 0))
            self.eleccion.blockSignals(False)
        self._render()

    def _render(self) -> None:
        ov = self.overview
        if ov is None:
            return
        eleccion = self.selected_eleccion()
        total = ov.total(eleccion)
        for phase, card in self.cards.items():
            card.show_value(total.get(phase), None if phase == "esperadas"
                            else total.pct(phase))
        state = total.pct("validadas")
        corte = ov.last_corte
        self.rule.setText(
            f"Promedio estatal de actas validadas: {theme.pct(state)}. Un CATD está "
            f"rezagado si queda más de {ov.settings.rezago_puntos:g} puntos por debajo "
            f"(muy rezagado: más de {2 * ov.settings.rezago_puntos:g}). Publicadas: en "
            + (f"el corte de las {theme.local(corte.corte_at)}." if corte else
               "ningún corte todavía."))
        rows = [self._row(site) for site in ov.site_rows(eleccion)] if ov.distritos else []
        self.table.set_rows(rows)

    @staticmethod
    def _row(site: SiteRow) -> Row:
        c = site.counts
        ccv = site.sitio == "CCV"
        nombre = place_name(site.nombre)
        cells: list[Cell] = [text(site.sitio), text(nombre, tip=nombre)]
        for phase in PHASES:
            if ccv and phase in ("esperadas", "acopiadas"):
                cells.append(number(None))
            elif phase == "esperadas" or ccv:
                cells.append(number(c.get(phase)))
            else:
                share = c.pct(phase)
                cells.append(number(c.get(phase), f"{theme.num(c.get(phase))} "
                                    f"({theme.pct(share)})"))
        situacion, tone = SITUACION[site.situacion]
        cells.append(text(situacion, tone))
        return Row(site.sitio, cells, "idle" if ccv else None)


#: Words a place name keeps in lower case after its first word («Cuajimalpa de Morelos»).
_LOWER_WORDS = frozenset({"de", "del", "la", "las", "los", "el", "y"})


def place_name(upper: str) -> str:
    """A catalog's upper-case place name as written in Spanish: «GUSTAVO A. MADERO» →
    «Gustavo A. Madero», «CUAJIMALPA DE MORELOS» → «Cuajimalpa de Morelos»."""
    words = upper.title().split()
    return " ".join(w.lower() if i and w.lower() in _LOWER_WORDS else w
                    for i, w in enumerate(words))


ESTADOS = {"en_linea": ("En línea", "ok"), "sin_conexion": ("Sin conexión", "error"),
           "deshabilitado": ("Deshabilitado", "idle"), "nunca": ("Nunca conectado", "warn"),
           "sin_equipo": ("Sin equipo", "warn")}
ESTADO_TIPS = {"nunca": "Dado de alta, pero aún no se ha comunicado con el nodo central.",
               "sin_equipo": "Ningún equipo dado de alta para este sitio: cree un código "
                             "de alta (Ctrl+Shift+A) y escríbalo en la estación.",
               "deshabilitado": "El nodo central rechaza todo lo que firme este equipo; "
                                "Ctrl+Shift+E para habilitarlo."}


class EstacionesView(QWidget):
    """Every station (online, last seen, backlog, clock skew, software version) and every
    expected site without one; the selected station can be disabled or enabled."""

    # The computer's host name is the station's tooltip: ten columns did not fit 1024 px.
    HEADERS = ("Equipo", "Sitio", "Rol", "Estado", "Contacto", "Pendientes", "Desfase",
               "Versión", "Último error")
    station_action_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        layout, self.summary = titled_page(self, "Salud de las estaciones", wrap=True)
        self.table = Table(self.HEADERS, "Aún no hay catálogo ni equipos: cargue el "
                           "catálogo y cree un código de alta (Ctrl+Shift+A) para cada "
                           "estación.", stretch=8)
        layout.addWidget(self.table, 1)
        bottom = QHBoxLayout()
        self.hint = label("", "muted")
        self.hint.setWordWrap(True)
        bottom.addWidget(self.hint, 1)
        self.toggle = QPushButton("Deshabilitar equipo  (Ctrl+Shift+E)")
        self.toggle.setEnabled(False)
        bottom.addWidget(self.toggle)
        layout.addLayout(bottom)
        self.can_act = False
        self.lines: dict[str, StationLine] = {}
        self.toggle.clicked.connect(self.station_action_requested.emit)
        self.table.view.selectionModel().selectionChanged.connect(
            lambda *_a: self._update_button())

    def set_can_act(self, can_act: bool) -> None:
        self.can_act = can_act
        self._update_button()

    def selected(self) -> StationRow | None:
        """The enrolled station selected, if any."""
        key = self.table.selected_key()
        line = self.lines.get(key) if key is not None else None
        return line.station if line is not None else None

    def _update_button(self) -> None:
        station = self.selected()
        verb = "Habilitar" if station is not None and not station.enabled else "Deshabilitar"
        self.toggle.setText(f"{verb} equipo  (Ctrl+Shift+E)")
        self.toggle.setEnabled(self.can_act and station is not None)

    def show_overview(self, ov: Overview) -> None:
        lines = station_lines(ov)
        self.lines = {line.key: line for line in lines}
        self.table.set_rows([self._row(line, ov) for line in lines])
        self._summary(ov)
        self._update_button()

    @staticmethod
    def _row(line: StationLine, ov: Overview) -> Row:
        estado, tone = ESTADOS[line.estado]
        estado_cell = text(estado, tone, ESTADO_TIPS.get(line.estado))
        sitio = text(site_name(line.sitio))
        s = line.station
        if s is None:
            return Row(line.key, [text("—"), sitio, text("CCV" if line.sitio == CCV
                                                         else "CATD"), estado_cell,
                                  Cell("nunca", -1.0), number(None), number(None),
                                  text("—"), text("")], "idle")
        skew = s.clock_skew_s
        alert = ov.settings.desfase_alerta_s
        skew_cell = number(None if skew is None else abs(skew),
                           "—" if skew is None else f"{skew:+.1f} s",
                           "warn" if skew is not None and abs(skew) > alert else None)
        return Row(line.key, [
            text(s.station, tip=f"Equipo «{s.hostname}»"), sitio, text(s.role.upper()),
            estado_cell,
            Cell(theme.ago(s.last_seen, ov.taken_at),
                 s.last_seen.timestamp() if s.last_seen else 0.0,
                 tip=theme.local(s.last_seen, True)),
            number(s.backlog, tone="warn" if (s.backlog or 0) > ov.settings.pendientes_alerta
                   else None),
            skew_cell, text(s.version or "—"),
            text(s.last_error or "", "error" if s.last_error else None, s.last_error)])

    def _summary(self, ov: Overview) -> None:
        online = sum(1 for s in ov.stations if s.online)
        missing = sites_without_station(ov)
        minutes = int(ov.settings.en_linea.total_seconds() // 60)
        parts = [f"{theme.num(online)} de {theme.plural(len(ov.stations), 'equipo')} en "
                 f"línea (contacto en los últimos {minutes} min)"]
        if missing:
            sites = len(expected_sites(ov))
            parts.append(f"{theme.num(len(missing))} de {theme.plural(sites, 'sitio')} sin "
                         f"equipo dado de alta")
        parts.append(f"desfase de reloj marcado desde {ov.settings.desfase_alerta_s:g} s")
        self.summary.setText(" · ".join(parts) + ".")
        self.hint.setText("Elija un equipo con las flechas y pulse Ctrl+Shift+E para "
                          "deshabilitarlo o habilitarlo." if self.can_act else
                          "Para deshabilitar o habilitar equipos, arranque el tablero con "
                          "--acciones-dsn e inicie sesión.")


class AnomaliasView(QWidget):
    """The anomaly queue; a selected pending anomaly can be acknowledged with a note."""

    HEADERS = ("#", "Tipo", "Estación", "Cuándo", "Detalle", "Estado")
    ack_requested = Signal(int)  # the anomaly's id; the note is in ``note``

    def __init__(self) -> None:
        super().__init__()
        layout, top = page_with_bar(self, "Anomalías")
        self.only_pending = QCheckBox("Solo pendientes")
        self.only_pending.setChecked(True)
        top.addWidget(self.only_pending)
        self.summary = label("", "muted")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        # The detail wraps (whole at 1024 px); the coordinator's note is told there too,
        # so «Estado» stays one short word.
        self.table = Table(self.HEADERS, "Sin anomalías pendientes.", stretch=4, wrap=True)
        layout.addWidget(self.table, 1)
        ack = QHBoxLayout()
        ack.addWidget(label("Nota:"))
        self.note = QLineEdit()
        self.note.setPlaceholderText("Qué se revisó y qué se hizo (obligatoria)")
        self.note.setMaxLength(500)
        ack.addWidget(self.note, 1)
        self.ack_button = QPushButton("Marcar como atendida  (Ctrl+Intro)")
        self.ack_button.setEnabled(False)
        ack.addWidget(self.ack_button)
        layout.addLayout(ack)
        self.hint = label("", "muted")
        layout.addWidget(self.hint)
        self.can_act = False
        self.rows: dict[int, AnomalyRow] = {}
        self.overview: Overview | None = None
        self.only_pending.toggled.connect(lambda _on: self._render())
        self.ack_button.clicked.connect(self.request_ack)
        self.note.returnPressed.connect(self.request_ack)
        self.note.textChanged.connect(lambda _t: self._update_button())
        self.table.view.selectionModel().selectionChanged.connect(
            lambda *_a: self._update_button())

    def set_can_act(self, can_act: bool) -> None:
        self.can_act = can_act
        self.hint.setText("" if can_act else "Para atender anomalías, arranque el tablero "
                          "con --acciones-dsn (la conexión del nodo central) e inicie "
                          "sesión.")
        self._update_button()

    def show_overview(self, ov: Overview) -> None:
        self.overview = ov
        self._render()

    def _render(self) -> None:
        ov = self.overview
        if ov is None:
            return
        self.rows = {a.id: a for a in ov.anomalies}
        shown = [a for a in ov.anomalies if not (self.only_pending.isChecked()
                                                 and a.acknowledged)]
        rows = []
        for a in shown:
            said = describe(a.detail)
            raw = json.dumps(a.detail, ensure_ascii=False, sort_keys=True)
            tip = f"{said}\n\nDatos técnicos: {raw[:2000]}"
            if a.acknowledged:
                who = f"{a.ack_by or ''} · {theme.local(a.ack_at, True)}"
                estado = text("Atendida", "ok", f"Nota: {a.ack_note or ''}\n{who}")
                said = f"{said}\nNota al atenderla: {a.ack_note or '—'}"
            else:
                estado = text("Pendiente", "warn")
            rows.append(Row(a.id, [
                number(a.id), text(anomaly_label(a.type), tip=a.type),
                text(a.station or "—"),
                Cell(theme.local(a.at, True), a.at.timestamp()), text(said, tip=tip),
                estado]))
        pending = ov.pending_anomalies
        by_type = ", ".join(f"{anomaly_label(t)}: {theme.num(p)}"
                            for t, (p, _n) in sorted(ov.anomaly_types.items()) if p)
        total = sum(n for _p, n in ov.anomaly_types.values())
        self.summary.setText(f"{theme.plural(pending, 'pendiente')} de {theme.num(total)}"
                             + (f" — {by_type}" if by_type else ""))
        self.table.empty.setText("Sin anomalías pendientes." if ov.anomaly_types else
                                 "Sin anomalías registradas.")
        self.table.set_rows(rows)
        self._update_button()

    def selected(self) -> AnomalyRow | None:
        key = self.table.selected_key()
        return self.rows.get(key) if key is not None else None

    def _update_button(self) -> None:
        chosen = self.selected()
        self.ack_button.setEnabled(bool(self.can_act and chosen is not None
                                        and not chosen.acknowledged
                                        and self.note.text().strip()))

    def request_ack(self) -> None:
        chosen = self.selected()
        if self.ack_button.isEnabled() and chosen is not None:
            self.ack_requested.emit(chosen.id)

    def acknowledged(self) -> None:
        self.note.clear()


class CapturistasView(QWidget):
    """Capture-error rate per operator and per site: captures that disagreed with the
    validated values."""

    HEADERS = ("Operador", "Nombre", "Sitio", "Capturas", "Discrepantes", "% error")

    def __init__(self) -> None:
        super().__init__()
        layout = page(self)
        layout.addWidget(label("Calidad de captura", "title"))
        layout.addWidget(label("Capturas de actas ya validadas (de la ronda validada) que "
                               "no coincidieron con los valores validados.", "muted"))
        self.table = Table(self.HEADERS, "Aún no hay actas validadas con capturas.",
                           stretch=1)
        layout.addWidget(self.table, 2)
        layout.addWidget(label("Por sitio", "sectionTitle"))
        self.sites = Table(("Sitio", "Capturas", "Discrepantes", "% error"),
                           "Sin datos por sitio todavía.", stretch=0)
        layout.addWidget(self.sites, 1)

    def show_overview(self, ov: Overview) -> None:
        tone = ov.settings.discrepancias_tone
        self.table.set_rows([Row(o.operator, [
            text(o.operator), text(o.nombre), text(o.sitio or "—"), number(o.capturas),
            number(o.discrepantes), number(o.tasa, theme.pct(o.tasa), tone(o.tasa))])
            for o in ov.capturistas])
        self.sites.set_rows([Row(s.sitio, [
            text(s.nombre), number(s.capturas), number(s.discrepantes),
            number(s.tasa, theme.pct(s.tasa), tone(s.tasa))])
            for s in operator_sites(ov.capturistas)])


class CortesView(QWidget):
    """Published cortes with their manifest hashes, newest first."""

    HEADERS = ("Corte", "Hora del corte", "Motivo", "Esperadas", "Con datos",
               "Contabilizadas", "Segundos", "SHA-256 del manifiesto")

    def __init__(self) -> None:
        super().__init__()
        layout, self.summary = titled_page(self, "Historial de cortes")
        self.table = Table(self.HEADERS, "Aún no hay cortes publicados. Haga uno con "
                           "Ctrl+Shift+C o espere al primero de la ventana de "
                           "publicación.", stretch=7)
        layout.addWidget(self.table, 1)

    def show_overview(self, ov: Overview) -> None:
        self.table.set_rows([Row(c.id, [
            text(c.directorio), Cell(theme.local(c.corte_at, True), c.corte_at.timestamp()),
            text(("Último · " if c.ultimo else "")
                 + ("programado" if c.motivo == "programado" else "a pedido")),
            number(c.actas_esperadas), number(c.actas_capturadas),
            number(c.actas_contabilizadas), number(c.seconds, f"{c.seconds:.2f}"),
            Cell(c.manifiesto_sha256, tip="SHA-256 del manifiesto firmado")])
            for c in ov.cortes])
        last = ov.last_corte
        self.summary.setText(f"{theme.plural(len(ov.cortes), 'corte')}. " + (
            f"Último: {last.directorio}, a las {theme.local(last.corte_at)}." if last else ""))
        self.table.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
