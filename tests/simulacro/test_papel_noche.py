"""The paper night end to end (issue 32): ``prep simulacro preparar`` prints the actas of
a tiny election, ``prep simulacro noche`` runs the night on a real central (HTTPS, its
embedded PostgreSQL) and real station processes: the printed pages, rendered by pdftoppm,
go through the CATD's hot folder, the drill's capturistas type every acta from the
expected results through the central's leases, and the informe reads the último corte.

One acta is typed wrong by every capturista (``--error-de-captura``): the informe must
find exactly that acta and field different and every other acta as expected, and say
CON DIFERENCIAS. The pages are scanned at 72 dpi, the lowest the drill allows; their QR
codes still decode."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from prep.catalog import generate_catalog
from prep.catalog import write_catalog
from prep.corte.reader import read_eleccion_csv
from prep.papel.actas import plan_catd
from prep.papel.actas import write_catd_pdfs
from prep.papel.esperados import preparar
from prep.papel.esperados import to_json
from prep.papel.informe import CON_DIFERENCIAS
from prep.papel.informe import ERRONEA
from prep.papel.informe import resolve_corte
from prep.station.scan.hotfolder import PROCESADAS
from prep.station.scan.hotfolder import RECHAZADAS
from simulacro.noche_papel import ErrorDeCaptura
from simulacro.noche_papel import NocheError
from simulacro.noche_papel import plan_papel
from tests.harness.tools import require_tool

REPO = Path(__file__).resolve().parents[2]
CASILLAS = 4  # of distrito 1: 12 actas, plus the seed's fuera-de-catálogo sheets


def prep(*args: str | Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prep", "simulacro", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO,
                          check=False, env={**os.environ})


def test_a_paper_night_publishes_what_was_typed_and_the_informe_finds_the_one_mistake(
        tmp_path: Path) -> None:
    require_tool("pdftoppm", "poppler-utils")
    catalog = generate_catalog(7, 0.01)
    catalog = replace(catalog, casillas=tuple(
        c for c in catalog.casillas if c.distrito_id == 1)[:CASILLAS])
    write_catalog(catalog, tmp_path / "catalogo")
    preparado = tmp_path / "preparado"
    done = prep("preparar", "--catalogo", tmp_path / "catalogo", "--out", preparado,
                "--rellenas", "--empates", "0")
    assert done.returncode == 0, done.stdout + done.stderr
    esperados = json.loads((preparado / "esperados.json").read_text(encoding="utf-8"))
    votos = {e["codigo"]: e["campos_voto"] for e in esperados["elecciones"]}
    # A counted acta and one of its numeric vote fields: its contest must differ too.
    acta, campo = next((a, c) for a in esperados["actas"] if a["contabilizada"] == "1"
                       for c in votos[a["eleccion"]] if a["valores"].get(c, "").isdigit())
    tecleado = str(int(acta["valores"][campo]) + 1)

    noche = tmp_path / "noche"
    done = prep("noche", "--esperados", preparado, "--out", noche, "--dpi", "72",
                "--error-de-captura", f"{acta['clave']}:{campo}={tecleado}",
                "--espera", "120")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"Veredicto: {CON_DIFERENCIAS}" in done.stdout, done.stdout

    informe = json.loads((noche / "informe" / "informe.json").read_text(encoding="utf-8"))
    assert informe["veredicto"] == CON_DIFERENCIAS
    assert informe["actas"] == len(esperados["actas"])
    assert informe["coinciden"] == informe["actas"] - 1
    [diferencia] = informe["diferencias"]
    assert diferencia["clave"] == acta["clave"] and diferencia["tipo"] == ERRONEA
    assert [campo, acta["valores"][campo], tecleado] in diferencia["campos"]
    assert [c["nombre"] for c in informe["contiendas"] if not c["coincide"]] == [
        next(c["nombre"] for c in esperados["contiendas"] if c["clave"] == acta["contienda"])]
    assert informe["fuera_de_catalogo"] and all(
        f["esperadas"] == f["publicadas"] for f in informe["fuera_de_catalogo"].values())

    # Every acta with paper was published with the image of its own scanned page.
    escaner = noche / "estaciones" / "catd01" / "escaner"
    paginas = {hashlib.sha256(p.read_bytes()).hexdigest()
               for p in (escaner / PROCESADAS).iterdir()}
    con_papel = {a["clave"] for a in esperados["actas"] if a["valores"]}
    assert len(paginas) == len(con_papel)
    assert len(list((escaner / RECHAZADAS).glob("*.png"))) == len(esperados["fuera"])
    corte = resolve_corte(noche / "publicacion")
    publicadas = {}
    for eleccion in esperados["elecciones"]:
        filas = read_eleccion_csv((corte / eleccion["archivo"]).read_bytes()).filas
        publicadas.update({f["CLAVE_ACTA"].strip("'"): f["CODIGO_INTEGRIDAD"]
                           for f in filas if f["CLAVE_ACTA"].strip("'") in con_papel})
    assert set(publicadas) == con_papel
    assert set(publicadas.values()) == paginas

    resumen = json.loads((noche / "simulacro.json").read_text(encoding="utf-8"))
    assert resumen["capturas"] == 2 * len(con_papel)
    assert resumen["fallas"] == [] and resumen["avisos"] == []


def test_the_nights_stations_receive_what_was_printed_for_them(tmp_path: Path) -> None:
    catalog = generate_catalog(2027, 0.01)
    catalog = replace(catalog, casillas=tuple(
        c for c in catalog.casillas if c.distrito_id in (1, 2, 3)))
    esperados = preparar(catalog, 2027, empates=1)
    write_catd_pdfs(esperados, tmp_path / "actas")
    errores = [ErrorDeCaptura.parse("'090001B010001':PAN=3")]
    assert errores[0].clave == "090001B010001"
    datos = to_json(esperados)
    con_papel = next(a for a in datos["actas"] if a["valores"])
    campo = next(iter(con_papel["valores"]))
    plan = plan_papel(datos, tmp_path / "actas",
                      [ErrorDeCaptura(con_papel["clave"], campo, "7")])
    assert [e.nombre for e in plan.estaciones] == ["catd01", "catd02", "catd03", "ccv"]
    assert plan.erradas == {con_papel["clave"]: [campo, "7"]}
    for impreso, estacion in zip(plan_catd(esperados), plan.estaciones, strict=False):
        assert estacion.sitio == impreso.distrito
        llegadas = {(ll.clave, ll.tipo, ll.causa) for ll in estacion.llegadas}
        # The acopiador registers each printed acta, each sin acta with its cause, and
        # the fuera-de-catálogo sheets as read; the digitalizador skips the control sheet.
        assert {(p.acta.clave, "acopio", "") for p in impreso.paginas if not p.nota} | {
            (p.qr, "fuera", "") for p in impreso.paginas if p.nota} | {
            (clave, "sin_acta", esperados.estado[clave].causa_sin_acta.value)  # type: ignore[union-attr]
            for clave, _ in impreso.sin_acta} == llegadas
        assert plan.papel[estacion.nombre]["papel"]["primera"] == impreso.primera
    assert any(ll.tipo == "sin_acta" for e in plan.estaciones for ll in e.llegadas)
    assert set(plan.verdad) == {p.acta.clave for i in plan_catd(esperados)
                                for p in i.paginas if not p.nota}
    assert plan.hojas_fuera == len(esperados.fuera)
    with pytest.raises(NocheError, match="no tiene el campo"):
        plan_papel(datos, tmp_path / "actas", [ErrorDeCaptura(con_papel["clave"], "X", "1")])
    with pytest.raises(NocheError, match="no es un acta con papel"):
        plan_papel(datos, tmp_path / "actas", [ErrorDeCaptura("099999B010001", campo, "1")])
    with pytest.raises(NocheError, match="CLAVE_ACTA:CAMPO=VALOR"):
        ErrorDeCaptura.parse("090001B010001:PAN")
