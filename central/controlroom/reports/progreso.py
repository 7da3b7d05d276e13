"""The progress report (avance por CATD at a moment) and the end-of-PREP report.

Both are drawn from one :class:`~central.controlroom.overview.Overview`, the same snapshot the
dashboard shows, so the paper and the screen never disagree.
"""

from __future__ import annotations

from pathlib import Path

from reportlab.lib.units import cm
from reportlab.platypus import Flowable
from reportlab.platypus import KeepTogether
from reportlab.platypus import PageBreak

from central.controlroom.overview import FLOW_LABELS
from central.controlroom.overview import PHASE_LABELS
from central.controlroom.overview import PHASES
from central.controlroom.overview import Overview
from central.controlroom.overview import anomaly_label
from central.controlroom.overview import operator_sites
from central.controlroom.reports import pdf
from central.controlroom.reports.pdf import gap
from central.controlroom.reports.pdf import num
from central.controlroom.reports.pdf import paragraph
from central.controlroom.reports.pdf import pct

SITUACION = {"al_dia": "Al día", "rezagado": "Rezagado", "muy_rezagado": "Muy rezagado",
             "sin_actas": "Sin actas", "ccv": ""}


def write_progreso(ov: Overview, path: Path) -> None:
    """Avance por CATD: the state's totals, a chart and the table of every CATD."""
    story: list[Flowable] = [
        paragraph("Avance del PREP por CATD", pdf.TITLE),
        paragraph(f"Corte de información: {pdf.local(ov.taken_at, True)} (hora de la Ciudad "
                  f"de México) · catálogo versión {ov.catalog_version}", pdf.SMALL),
        gap(), *_totals(ov), gap(),
        _site_chart(ov), PageBreak(),
        paragraph("Actas por fase y CATD (todas las elecciones)", pdf.H2),
        _site_table(ov), gap(0.2), paragraph(_rule(ov), pdf.SMALL)]
    pdf.write(path, "Avance por CATD", story, ov.taken_at, "Informe de avance")


def write_final(ov: Overview, path: Path) -> None:
    """The end-of-PREP report: results of the operation, cortes, pace, anomalies,
    stations and capture quality."""
    last = ov.last_corte
    story: list[Flowable] = [
        paragraph("Informe final del PREP", pdf.TITLE),
        paragraph(f"Elaborado con los datos al {pdf.local(ov.taken_at, True)} (hora de la "
                  f"Ciudad de México) · catálogo versión {ov.catalog_version}", pdf.SMALL),
        gap(), *_totals(ov), gap(0.2),
        paragraph("Publicación", pdf.H2),
        paragraph(f"Cortes publicados: <b>{len(ov.cortes)}</b>."
                  + (f" Primero: {pdf.local(ov.cortes[-1].corte_at)}; último: "
                     f"{pdf.local(last.corte_at)} ({last.directorio}), con "
                     f"{num(last.actas_capturadas)} de {num(last.actas_esperadas)} actas "
                     f"con datos y {num(last.actas_contabilizadas)} contabilizadas. "
                     f"SHA-256 de su manifiesto: <font face='Courier' size='7.5'>"
                     f"{last.manifiesto_sha256}</font>." if last else
                     " No se publicó ningún corte.")),
        gap(0.2), _throughput_chart(ov),
        paragraph("Anomalías", pdf.H2), _anomaly_table(ov),
        paragraph("Estaciones y calidad de captura", pdf.H2),
        paragraph(f"Estaciones dadas de alta: <b>{len(ov.stations)}</b> "
                  f"({sum(1 for s in ov.stations if s.role == 'catd')} de CATD, "
                  f"{sum(1 for s in ov.stations if s.role == 'ccv')} del CCV)."),
        gap(0.2), _quality_table(ov), PageBreak(),
        paragraph("Actas por fase y CATD (todas las elecciones)", pdf.H2),
        _site_table(ov), gap(0.2), paragraph(_rule(ov), pdf.SMALL),
        gap(), KeepTogether(_site_chart(ov))]
    pdf.write(path, "Informe final", story, ov.taken_at, "Informe de cierre")


def _totals(ov: Overview) -> list[Flowable]:
    """Per elección, each phase as count and % of esperadas."""
    rows: list[list[str]] = [["Elección", *(PHASE_LABELS[p] for p in PHASES)]]
    for codigo, nombre in [*ov.elecciones, ("", "Todas")]:
        counts = ov.total(codigo or None)
        rows.append([nombre if codigo else "Total",
                     *(num(counts.get(p)) if p == "esperadas" else
                       f"{num(counts.get(p))} ({pct(counts.pct(p))})" for p in PHASES)])
    widths = [4.4 * cm] + [(pdf.WIDTH - 4.4 * cm) / len(PHASES)] * len(PHASES)
    return [paragraph("Actas de la entidad por fase", pdf.H2),
            pdf.table(rows, widths, font_size=7.5)]


def _site_table(ov: Overview) -> Flowable:
    rows: list[list[str]] = [["CATD", "Cabecera", *(PHASE_LABELS[p] for p in PHASES),
                              "% valid.", "Situación"]]
    tones = {}
    for i, site in enumerate(ov.site_rows(), start=1):
        ccv = site.sitio == "CCV"
        c = site.counts
        rows.append(["CCV" if ccv else site.sitio, site.nombre.title()[:24],
                     *("—" if ccv and p in ("esperadas", "acopiadas") else num(c.get(p))
                       for p in PHASES),
                     pct(site.pct_validadas), SITUACION[site.situacion]])
        if site.situacion == "rezagado":
            tones[i] = pdf.WARN
        elif site.situacion == "muy_rezagado":
            tones[i] = pdf.BAD
    widths = [1.1 * cm, 4.0 * cm] + [1.55 * cm] * len(PHASES) + [1.4 * cm, 2.0 * cm]
    return pdf.table(rows, widths, numeric_from=2, font_size=7, tones=tones)


def _rule(ov: Overview) -> str:
    state = ov.total().pct("validadas")
    return (f"Promedio estatal de actas validadas: {pct(state)}. Rezagado: más de "
            f"{ov.settings.rezago_puntos:g} puntos por debajo del promedio; muy rezagado: "
            f"más de {2 * ov.settings.rezago_puntos:g}. Publicadas: validadas antes del "
            "último corte. El CCV cuenta las actas de PREP Casilla que recibió, capturó y "
            "validó.")


def _site_chart(ov: Overview) -> Flowable:
    sites = [s for s in ov.site_rows() if s.sitio != "CCV"]
    if not sites:
        return paragraph("Sin actas en el catálogo.")
    series = [[s.counts.pct(p) or 0.0 for s in sites]
              for p in ("acopiadas", "validadas", "publicadas")]
    return pdf.bar_chart([s.sitio for s in sites], series,
                         ["Acopiadas", "Validadas", "Publicadas"],
                         "Porcentaje de actas esperadas por CATD", height=17 * cm)


def _throughput_chart(ov: Overview) -> Flowable:
    buckets = sorted({t for points in ov.throughput.values() for t, _n in points})
    if not buckets:
        return paragraph("Sin actividad registrada en la ventana de las gráficas.")
    labels = [pdf.local(t)[-5:] for t in buckets]
    series = []
    for phase in FLOW_LABELS:
        counts = dict(ov.throughput.get(phase, []))
        series.append([counts.get(t, 0) for t in buckets])
    return pdf.line_chart(labels, series, list(FLOW_LABELS.values()),
                          "Ritmo: actas por cada 10 minutos")


def _anomaly_table(ov: Overview) -> Flowable:
    if not ov.anomaly_types:
        return paragraph("No se registraron anomalías.")
    rows = [["Tipo", "Código", "Atendidas", "Pendientes", "Total"]]
    for type_, (pending, total) in sorted(ov.anomaly_types.items()):
        rows.append([anomaly_label(type_), type_, num(total - pending), num(pending),
                     num(total)])
    return pdf.table(rows, [7.5 * cm, 4.5 * cm, 1.9 * cm, 1.9 * cm, 1.9 * cm],
                     numeric_from=2)


def _quality_table(ov: Overview) -> Flowable:
    if not ov.capturistas:
        return paragraph("Sin capturas de actas validadas.")
    rows = [["Sitio", "Capturas", "Discrepantes", "% de error"]]
    for s in operator_sites(ov.capturistas):
        rows.append([s.nombre, num(s.capturas), num(s.discrepantes), pct(s.tasa)])
    return pdf.table(rows, [6 * cm, 3 * cm, 3 * cm, 3 * cm])
