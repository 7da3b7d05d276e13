"""Render pages of the simulacro with paper's PDFs to ``docs/screens``:

- ``simulacro_papel_acta.png``: a pre-filled acta of the Jefatura de Gobierno from a CATD's
  printable PDF (``prep simulacro preparar --rellenas``);
- ``simulacro_papel_esperados.png``: the first page of the committee's expected results;
- ``simulacro_papel_informe.png``: the first page of the informe of a corte with one acta
  of each kind of difference (never arrived, not yet captured, captured wrong).

All from the drill's catalog at scale 0.01 (seed 2027, two ties), through the same
functions the commands use; ``pdftoppm`` (poppler-utils) renders each page at 90 dpi.

    python3 scripts/render_papel.py [--out docs/screens]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from offscreen import REPO

from prep.catalog import generate_catalog
from prep.corte.model import ActaEnCorte
from prep.corte.package import write_corte
from prep.papel.actas import catd_pdf_name
from prep.papel.actas import plan_catd
from prep.papel.actas import write_catd_pdfs
from prep.papel.comite import write_esperados_pdf
from prep.papel.esperados import Esperados
from prep.papel.esperados import preparar
from prep.papel.esperados import to_json
from prep.papel.informe import compare
from prep.papel.informe import write_informe
from prep.sintetico.plan import corte_de_referencia
from prep.values import Captura

SEED = 2027
DPI = 90
JEFATURA = "01"  # the election code of the Jefatura de Gobierno


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screens")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    catalog = generate_catalog(SEED, 0.01)
    esperados = preparar(catalog, SEED, empates=2)
    with tempfile.TemporaryDirectory(prefix="papel-") as name:
        tmp = Path(name)
        write_catd_pdfs(esperados, tmp / "actas", rellenas=True)
        plan = plan_catd(esperados, rellenas=True)[0]
        pagina = plan.primera + next(
            i for i, p in enumerate(plan.paginas)
            if not p.nota and p.acta.eleccion.codigo == JEFATURA
            and esperados.actas[p.acta.clave].caso == "normal")
        _page(tmp / "actas" / catd_pdf_name(plan.distrito), pagina,
              out / "simulacro_papel_acta.png")
        write_esperados_pdf(esperados, tmp / "esperados.pdf")
        _page(tmp / "esperados.pdf", 1, out / "simulacro_papel_esperados.png")
        corte = write_corte(tmp / "publicacion", catalog, _con_diferencias(esperados),
                            esperados.fuera, corte_de_referencia(catalog), simulacro=True)
        informe = compare(to_json(esperados), corte.path)
        write_informe(informe, tmp / "informe")
        _page(tmp / "informe" / "informe.pdf", 1, out / "simulacro_papel_informe.png")
    return 0


def _con_diferencias(esperados: Esperados) -> dict[str, ActaEnCorte]:
    """The expected state with one acta never arrived, one not yet captured and one
    of the tied Jefatura de Gobierno captured wrong (the tie broken)."""
    estado = dict(esperados.estado)
    normales = [k for k, a in esperados.actas.items() if a.caso == "normal"]
    jefatura = [k for k in normales if esperados.actas[k].eleccion == JEFATURA]
    otras = [k for k in normales if k not in jefatura]
    estado[otras[0]] = replace(estado[otras[0]], acopio=None, captura=None,
                               fecha_captura=None, fecha_verificacion=None)
    estado[otras[1]] = replace(estado[otras[1]], captura=None, fecha_captura=None,
                               fecha_verificacion=None)
    clave = jefatura[0]
    captura = estado[clave].captura
    assert captura is not None
    valores = dict(captura.items())
    for campo in ("PAN", "PRI", "PRD", "PVEM"):
        votos = valores.get(campo)
        if isinstance(votos, int):
            valores[campo] = votos + 12
    estado[clave] = replace(estado[clave], captura=Captura.of(valores))
    return estado


def _page(pdf: Path, page: int, png: Path) -> None:
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", "-singlefile", "-f", str(page),
                    "-l", str(page), str(pdf), str(png.with_suffix(""))], check=True,
                   timeout=120)
    print(png.relative_to(REPO) if png.is_relative_to(REPO) else png)


if __name__ == "__main__":
    sys.exit(main())
