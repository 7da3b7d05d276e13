"""The dashboard's «Difusores» page (issue 30): each official difusor, the corte it
says it serves, how far behind the central's latest that is, its last report and state.
The rows and the state come from :class:`central.controlroom.overview.DifusorRow`."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from central.controlroom.overview import DifusorRow
from central.controlroom.overview import Overview
from dashboard import theme
from dashboard.tables import Cell
from dashboard.tables import Row
from dashboard.tables import Table
from dashboard.tables import number
from dashboard.tables import text
from dashboard.views import titled_page

ESTADOS = {"al_dia": ("Al día", "ok"), "atrasado": ("Atrasado", "warn"),
           "con_error": ("Con error", "error"), "sin_reporte": ("Sin reportes", "warn"),
           "sin_registrar": ("Sin registrar", None), "de_baja": ("De baja", "idle")}
ESTADO_TIPS = {
    "sin_registrar": "Dado de alta, pero aún no usa su código con «prep difusor registrar».",
    "sin_reporte": "Registrado, pero aún no reporta qué corte sirve.",
    "atrasado": "Sirve un corte anterior al último publicado por el nodo central.",
    "con_error": "Su última consulta falló (o rechazó lo que le sirvieron); sigue sirviendo "
                 "el corte indicado.",
    "de_baja": "Dado de baja: sus reportes se rechazan y los cortes ya no lo listan."}
#: Minutes without a report after which the last report is marked amber (a difusor
#: reports at least every 5 minutes while it runs).
SIN_REPORTE_MINUTOS = 15


class DifusoresView(QWidget):
    """Every difusor given alta: name, URL, corte served, lag, last report, state."""

    HEADERS = ("Difusor", "Dirección", "Corte servido", "Atraso", "Último reporte",
               "Estado", "Último error")

    def __init__(self) -> None:
        super().__init__()
        layout, self.summary = titled_page(self, "Difusores oficiales", wrap=True)
        self.table = Table(self.HEADERS, "Aún no hay difusores dados de alta: «prep central "
                           "difusor alta --nombre … --url …» crea el código de registro de "
                           "cada uno.", stretch=6, wrap=True, share=(0, 1))
        layout.addWidget(self.table, 1)

    def show_overview(self, ov: Overview) -> None:
        self.table.set_rows([self._row(d, ov) for d in ov.difusores])
        activos = [d for d in ov.difusores if d.enabled and d.registrado is not None]
        al_dia = sum(1 for d in activos if d.estado == "al_dia")
        last = ov.last_corte
        registrados = theme.plural(len(activos), "difusor registrado",
                                   "difusores registrados")
        ultimo = f" ({last.directorio})" if last else ""
        self.summary.setText(
            f"{theme.num(al_dia)} de {registrados} sirven el último corte{ultimo}. El "
            "atraso es el del corte que cada uno reporta respecto del último publicado, en "
            "minutos y en cortes.")

    @staticmethod
    def _row(d: DifusorRow, ov: Overview) -> Row:
        estado, tone = ESTADOS[d.estado]
        tarde = d.reportado is not None and d.enabled and \
            (ov.taken_at - d.reportado).total_seconds() > SIN_REPORTE_MINUTOS * 60
        return Row(d.id, [
            text(d.nombre, tip=f"{d.nombre} ({d.id})"), text(d.url, tip=d.url),
            text(d.corte or "—"),
            _atraso(d),
            Cell(theme.ago(d.reportado, ov.taken_at),
                 d.reportado.timestamp() if d.reportado else 0.0,
                 tone="warn" if tarde else None, tip=theme.local(d.reportado, True)),
            text(estado, tone, ESTADO_TIPS.get(d.estado)),
            text(d.error or "", "error" if d.error else None, d.error)],
            "idle" if not d.enabled else None)


def _atraso(d: DifusorRow) -> Cell:
    if d.atraso_cortes is None or d.atraso_minutos is None:
        return number(None)
    if d.atraso_cortes == 0:
        return number(0, "al día")
    minutos = round(d.atraso_minutos)
    return number(d.atraso_minutos,
                  f"{theme.num(minutos)} min · {theme.plural(d.atraso_cortes, 'corte')}",
                  "warn" if d.atraso_cortes > 1 else None)
