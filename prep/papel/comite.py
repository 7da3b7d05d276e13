"""The expected results as a PDF for the committee: what every category, tie and contest
must look like in the publication once the simulacro's actas are captured."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from reportlab.lib.units import cm
from reportlab.platypus import Flowable

from prep import pdf_look as pdf
from prep.papel.esperados import Esperados
from prep.papel.esperados import sin_acta_caso
from prep.papel.pdf import write
from prep.sintetico.capturas import Caso

ESPERADOS_PDF = "esperados.pdf"

#: How the committee reads each category (Anexo 13).
CASOS: dict[str, str] = {
    Caso.NORMAL: "Normal (se contabiliza)",
    Caso.ILEGIBLE: "Algún campo Ilegible",
    Caso.SIN_DATO: "Algún campo Sin dato",
    Caso.ILEGIBLE_SIN_DATO: "Ilegible y Sin dato",
    Caso.EXCEDE: "Excede Lista Nominal",
    Caso.EXCEDE_SIN_DATO: "Excede Lista Nominal y Sin dato",
    Caso.TODOS_ILEGIBLES: "Todos los campos ilegibles",
    Caso.TODOS_VACIOS: "Todos los campos vacíos",
    Caso.TODOS_MIXTOS: "Todos ilegibles o sin dato",
    Caso.SIN_ACTA_NO_ENTREGADO: "Sin acta: paquete no entregado",
    Caso.SIN_ACTA_NO_INSTALADA: "Sin acta: casilla no instalada",
    Caso.SIN_ACTA_SIN_SOBRE: "Sin acta: paquete entregado sin sobre",
}


def write_esperados_pdf(esperados: Esperados, path: Path) -> None:
    """The committee's copy of the expected results."""
    catalog = esperados.catalog
    story: list[Flowable] = [
        pdf.paragraph("Resultados esperados del simulacro", pdf.TITLE),
        pdf.paragraph(f"{catalog.entidad}, elección del {catalog.fecha_eleccion}; semilla "
                      f"{esperados.seed}. {len(esperados.actas)} actas de "
                      f"{len(catalog.casillas)} casillas en {len(catalog.distritos)} CATD, "
                      f"{len(esperados.fuera)} actas fuera de catálogo. Es la base que el "
                      "comité conoce de antemano: al final del simulacro cada acta debe "
                      "publicarse así (<font face='Courier'>prep simulacro informe</font> lo "
                      "compara)."),
        pdf.paragraph("Categorías del Anexo 13", pdf.H2),
    ]
    casos: Counter[tuple[str, str]] = Counter((a.caso, a.eleccion)
                                              for a in esperados.actas.values())
    codigos = [e.codigo for e in catalog.elecciones]
    rows: list[list[str]] = [["Categoría", *(e.nombre.title() for e in catalog.elecciones)]]
    for caso, nombre in CASOS.items():
        rows.append([nombre, *(str(casos[(caso, c)]) for c in codigos)])
    rows.append(["Fuera de catálogo", *(str(sum(1 for f in esperados.fuera
                                              if f.eleccion in (c, ""))) for c in codigos)])
    story += [pdf.table(rows, [6.5 * cm] + [(pdf.WIDTH - 6.5 * cm) / len(codigos)] * len(codigos)),
              pdf.paragraph("Una acta fuera de catálogo cuya elección no se distingue («No se "
                            "sabe») cuenta en cada elección.", pdf.SMALL)]
    empates = [c for c in esperados.contiendas.values() if c.empate]
    story.append(pdf.paragraph("Empates", pdf.H2))
    if empates:
        rows = [["Contienda", "Columnas empatadas", "Votos de cada una"]]
        rows += [[c.nombre, " y ".join(c.empate or ()), f"{c.totales[(c.empate or ('',))[0]]:,}"]
                 for c in empates]
        story.append(pdf.table(rows, [9 * cm, 4.5 * cm, pdf.WIDTH - 13.5 * cm], numeric_from=2))
    else:
        story.append(pdf.paragraph("Este simulacro no tiene contiendas empatadas."))
    story.append(pdf.paragraph("Actas sin papel y casos especiales", pdf.H2))
    rows = [["Acta", "CATD", "Categoría", "Publicación esperada"]]
    for a in esperados.actas.values():
        if a.caso != Caso.NORMAL:
            cuenta = "sí" if a.contabilizada == "1" else "no"
            rows.append([a.clave, f"{a.catd:02d}", CASOS.get(a.caso, a.caso),
                         a.observaciones if sin_acta_caso(a.caso) else
                         f"{a.observaciones}; contabilizada {cuenta}"])
    primer_catd = f"{min(d.id for d in catalog.distritos):02d}"  # gets the fuera paper
    rows += [[f.codigo_leido, primer_catd, "Fuera de catálogo",
              f"elección {f.eleccion or 'No se sabe'}"] for f in esperados.fuera]
    story.append(pdf.table(rows, [3.2 * cm, 1.2 * cm, 5.5 * cm, pdf.WIDTH - 9.9 * cm],
                           numeric_from=-1, font_size=7))
    story.append(pdf.paragraph("Resultados esperados por contienda", pdf.H2))
    story.append(pdf.paragraph("Votos de las actas contabilizadas. Los cinco primeros "
                               "lugares; contiendas.csv tiene todas las columnas.", pdf.SMALL))
    rows = [["Contienda", "1.º", "2.º", "3.º", "4.º", "5.º", "Nulos"]]
    tones = {}
    for c in esperados.contiendas.values():
        orden = c.orden()[:5]
        if c.empate:
            tones[len(rows)] = pdf.WARN
        rows.append([c.nombre[:48], *(f"{k} {v:,}" for k, v in orden),
                     *([""] * (5 - len(orden))), f"{c.totales.get('NULOS', 0):,}"])
    story.append(pdf.table(rows, [6.2 * cm] + [1.95 * cm] * 5 + [pdf.WIDTH - 15.95 * cm],
                           numeric_from=1, font_size=6.5, tones=tones))
    write(path, "Resultados esperados", story, f"semilla {esperados.seed}")
