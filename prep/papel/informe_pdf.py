"""The simulacro report as the PDF the committee and the INE receive."""

from __future__ import annotations

from pathlib import Path

from reportlab.lib.units import cm
from reportlab.platypus import Flowable

from prep import pdf_look as pdf
from prep.papel.informe import ERRONEA
from prep.papel.informe import EXPLICACIONES
from prep.papel.informe import NO_LLEGO
from prep.papel.informe import PENDIENTE
from prep.papel.informe import Informe
from prep.papel.pdf import write
from prep.papel.tiempos import FASES

#: Differences listed in the PDF (all of them are in informe.json).
MAX_FILAS = 300


def write_informe_pdf(informe: Informe, path: Path) -> None:
    """Verdict, differences by kind, per contest, then every acta that differs."""
    ok = informe.ok
    story: list[Flowable] = [
        pdf.paragraph("Informe del simulacro", pdf.TITLE),
        pdf.paragraph(f"Corte {informe.corte} ({informe.fecha_corte or 'sin fecha'}) contra "
                      f"los resultados esperados (semilla {informe.semilla})."),
        pdf.gap(),
        pdf.table([["Veredicto", informe.veredicto],
                   ["Actas que coinciden", f"{informe.coinciden:,} de {informe.actas:,} "
                    f"({informe.porcentaje:.2f} %)"],
                   ["Contiendas que coinciden",
                    f"{sum(c.coincide for c in informe.contiendas)} de "
                    f"{len(informe.contiendas)}"]],
                  [5 * cm, pdf.WIDTH - 5 * cm], numeric_from=-1, font_size=10,
                  tones={0: pdf.GOOD if ok else pdf.BAD}),
    ]
    for problema in informe.problemas:
        story.append(pdf.paragraph(f"No se pudo leer {problema}", pdf.BODY))
    story.append(pdf.paragraph("Diferencias por causa", pdf.H2))
    por_tipo = informe.por_tipo()
    story.append(pdf.table([["Causa", "Actas"]]
                           + [[EXPLICACIONES[t][0].upper() + EXPLICACIONES[t][1:], str(n)]
                              for t, n in por_tipo.items()],
                           [pdf.WIDTH - 2.5 * cm, 2.5 * cm]))
    rows = [["Elección", "Fuera de catálogo esperadas", "publicadas"]]
    tones = {}
    for nombre, (esperadas, publicadas) in informe.fuera.items():
        if esperadas != publicadas:
            tones[len(rows)] = pdf.BAD
        rows.append([nombre, str(esperadas), str(publicadas)])
    story += [pdf.gap(), pdf.table(rows, [8 * cm, 5 * cm, pdf.WIDTH - 13 * cm], tones=tones)]
    story.append(pdf.paragraph("Por contienda", pdf.H2))
    rows = [["Contienda", "Ganador esperado", "Publicado", "Diferencias de votos"]]
    tones = {}
    for c in informe.contiendas:
        difs = c.diferencias()
        if difs:
            tones[len(rows)] = pdf.BAD
        texto = "; ".join(f"{k} {e:,}→{p:,}" for k, e, p in difs[:4]) or "ninguna"
        if len(difs) > 4:
            texto += f" (+{len(difs) - 4})"
        rows.append([c.nombre[:46], c.ganador_esperado, c.ganador_publicado,
                     pdf.paragraph(texto, pdf.SMALL)])
    story.append(pdf.table(rows, [6.4 * cm, 3.4 * cm, 3.4 * cm, pdf.WIDTH - 13.2 * cm],
                           numeric_from=-1, font_size=6.5, tones=tones))
    story += _cortes(informe)
    story += _tiempos(informe)
    story.append(pdf.paragraph("Actas con diferencias", pdf.H2))
    if not informe.diferencias:
        story.append(pdf.paragraph("Ninguna: cada acta se publicó como se esperaba."))
    else:
        rows = [["Acta", "CATD", "Causa", "Detalle"]]
        for d in informe.diferencias[:MAX_FILAS]:
            detalle = "; ".join(f"{c}: esperado {e}, publicado {p}" for c, e, p in d.campos[:3])
            rows.append([d.clave, f"{d.catd:02d}", d.tipo.replace("_", " "),
                         pdf.paragraph(detalle, pdf.SMALL)])
        story.append(pdf.table(rows, [2.8 * cm, 1.1 * cm, 3.4 * cm, pdf.WIDTH - 7.3 * cm],
                               numeric_from=-1, font_size=6.5))
        if len(informe.diferencias) > MAX_FILAS:
            story.append(pdf.paragraph(f"… y {len(informe.diferencias) - MAX_FILAS} más: "
                                       "todas están en informe.json.", pdf.SMALL))
    write(path, "Informe del simulacro", story, f"corte {informe.corte}")


def _tiempos(informe: Informe) -> list[Flowable]:
    """Times per phase and CATD, and the corrected actas (from HISTORIAL.csv)."""
    story: list[Flowable] = [pdf.paragraph("Tiempos por fase y por CATD", pdf.H2)]
    tiempos = informe.tiempos
    if tiempos is None:
        return [*story, pdf.paragraph("El corte no tiene HISTORIAL.csv: sin tiempos ni "
                                      "correcciones.")]
    story.append(pdf.paragraph("Minutos: mediana / percentil 90 / máximo, de las actas que "
                               "pasaron por ambas fases.", pdf.SMALL))
    rows: list[list[str]] = [["CATD", "Actas", *(nombre for nombre, _, _ in FASES)]]
    for catd, fases in tiempos.por_catd.items():
        total = fases.get(FASES[-1][0])
        rows.append([catd, str(total.n if total else 0),
                     *(f"{p.p50:g} / {p.p90:g} / {p.maximo:g}" if (p := fases.get(n)) else "—"
                       for n, _, _ in FASES)])
    story.append(pdf.table(rows, [1.6 * cm, 1.2 * cm] + [(pdf.WIDTH - 2.8 * cm) / 4] * 4,
                           font_size=7))
    story.append(pdf.paragraph("Capturadas con error y corregidas", pdf.H2))
    story.append(pdf.paragraph(
        ", ".join(tiempos.corregidas) if tiempos.corregidas else
        "Ninguna acta se corrigió después de un cotejo."))
    return story


def _cortes(informe: Informe) -> list[Flowable]:
    """Every corte of the night against the expected results, and the corrections."""
    if len(informe.cortes) < 2:
        return []
    story: list[Flowable] = [pdf.paragraph("Por corte", pdf.H2)]
    rows = [["Corte", "Coinciden", "%", "Nunca llegó", "No capturada", "Con error"]]
    for c in informe.cortes:
        rows.append([f"{c.corte} ({c.fecha})", f"{c.coinciden:,}",
                     f"{100 * c.coinciden / c.actas:.2f}" if c.actas else "—",
                     str(c.por_tipo.get(NO_LLEGO, 0)), str(c.por_tipo.get(PENDIENTE, 0)),
                     str(c.por_tipo.get(ERRONEA, 0))])
    story.append(pdf.table(rows, [5.6 * cm] + [(pdf.WIDTH - 5.6 * cm) / 5] * 5, font_size=7))
    story.append(pdf.paragraph(
        "Publicadas con error en un corte anterior y correctas en este: "
        + (", ".join(informe.corregidas_entre_cortes) or "ninguna") + ".", pdf.BODY))
    return story
