"""AVANCE_CATD.csv of a corte made from real records (issue 29): per CATD, the actas
the stations sent counted as the election CSVs count them, the median acopio →
publicación as HISTORIAL.csv gives it, the online status from the stations' contacts
(a heartbeat puts a CATD online; one heard 10 minutes ago is not), and the coordinator's
audited decision to hide a CATD's status (the CSV, the site's data and LEEME say so);
``prep verify-corte`` accepts every corte."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import statistics
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from prep.corte.anexo import TZ
from prep.corte.historial import HISTORIAL
from prep.corte.package import slug
from prep.corte.reader import read_eleccion_csv
from prep.corte.salud_catd import AVANCE_CATD
from prep.corte.salud_catd import COLUMNS
from prep.corte.salud_catd import NO_PUBLICADO
from prep.corte.site_datos import parse_data_file
from prep.records import Kind
from tests.central.publication_night import basic_night
from tests.central.publication_night import corte as make_corte
from tests.central.publication_night import corte_in_window
from tests.central.publication_night import three_actas
from tests.central.station import central_cli
from tests.central.station import query
from tests.harness.central import REPO
from tests.harness.central import CentralNode
from tests.harness.work import WorkStation
from tests.harness.work import capturistas
from tests.harness.work import load_catalog

HEARTBEAT = {"version": "0.1.0", "backlog": 0, "backlog_bytes": 0, "last_error": ""}


def _salud(corte: Path) -> dict[str, dict[str, str]]:
    data = (corte / AVANCE_CATD).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data.endswith(b"\r\n")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["AVANCE POR CENTRO DE ACOPIO (CATD)"]  # its title line
    assert tuple(rows[1]) == COLUMNS
    return {r[0]: dict(zip(COLUMNS, r, strict=True)) for r in rows[2:]}



def _segundos(texto: str) -> int:
    local = datetime.strptime(texto, "%d/%m/%Y %H:%M:%S").replace(tzinfo=TZ)
    return int(local.timestamp())


def test_avance_catd_is_what_the_stations_sent(central_node: CentralNode,
                                               tmp_path: Path) -> None:
    node = central_node
    catalog = load_catalog(node, scale=0.02)
    actas = three_actas(catalog)
    catd = actas[0]
    ana, beto = capturistas(node)

    async def night() -> None:
        async with WorkStation.enroll(node, 1) as station, \
                WorkStation.enroll(node, 1) as neighbour, \
                WorkStation.enroll(node, 3) as tres, \
                WorkStation.enroll(node, 4) as cuatro, \
                WorkStation.enroll_intake(node) as intake:
            await basic_night(node, catalog, actas, station, neighbour, intake,
                              (ana, beto))
            await tres.send([(Kind.HEARTBEAT, "", HEARTBEAT)])
            await cuatro.send([(Kind.HEARTBEAT, "", HEARTBEAT)])
            cuatro_id.append(cuatro.id)

    cuatro_id: list[str] = []
    asyncio.run(night())
    # CATD 04 was last heard ten minutes ago: not online (the window is 5 minutes).
    query(node.dsn, "UPDATE station_health SET last_seen = now() - interval '10 minutes' "
                    "WHERE station = %s RETURNING station", cuatro_id[0])
    query(node.dsn, "UPDATE stations SET last_seen_at = now() - interval '10 minutes' "
                    "WHERE id = %s RETURNING id", cuatro_id[0])
    publicacion = tmp_path / "publicacion"
    corte = corte_in_window(node, publicacion)

    salud = _salud(corte)
    distritos = sorted(d.id for d in catalog.distritos)
    assert list(salud) == [f"{d:02d}" for d in distritos] + ["CCV"]
    uno = salud["01"]
    esperadas_1 = sum(1 for e in catalog.elecciones for a in catalog.actas(e)
                      if a.casilla.distrito_id == 1)
    assert uno["DISTRITOS_LOCALES"] == "1"
    # Sent: an acopio + scan (captured twice), a PREP Casilla photo (captured twice, no
    # acopio) and a sin acta.
    assert {c: uno[c] for c in COLUMNS[2:9]} == {
        "ACTAS_ESPERADAS": str(esperadas_1), "ACTAS_ACOPIADAS": "2",
        "ACTAS_DIGITALIZADAS": "2", "ACTAS_CON_CAPTURA": "2", "ACTAS_PUBLICADAS": "3",
        "PORCENTAJE_ACTAS_PUBLICADAS": uno["PORCENTAJE_ACTAS_PUBLICADAS"],
        "ACTAS_ULTIMA_HORA": "1"}
    assert 3 * 100 // esperadas_1 == int(uno["PORCENTAJE_ACTAS_PUBLICADAS"].split(".")[0])
    otro = salud["02"]
    assert [otro[c] for c in COLUMNS[3:10]] == ["0", "0", "0", "0", "0.0000", "0", "-"]
    # Online: CATD 01 (its stations sent batches), 03 (a heartbeat) and the CCV (the
    # PREP Casilla intake); 02 has no station; 04 was heard 10 minutes ago.
    assert {s: r["EN_LINEA"] for s, r in salud.items() if r["EN_LINEA"] != "0"} == {
        "01": "1", "03": "1", "CCV": "1"}
    assert salud["CCV"]["ACTAS_ESPERADAS"] == "N/A"

    # The sums are the election CSVs' summaries; the median is HISTORIAL.csv's.
    parsed = [read_eleccion_csv((corte / f"{slug(e.nombre)}.csv").read_bytes())
              for e in catalog.elecciones]
    catds = [r for s, r in salud.items() if s != "CCV"]
    assert sum(int(r["ACTAS_ESPERADAS"]) for r in catds) == sum(
        int(p.resumen["ACTAS_ESPERADAS"]) for p in parsed)
    assert sum(int(r["ACTAS_PUBLICADAS"]) for r in catds) == sum(
        int(p.resumen["ACTAS_CAPTURADAS"]) for p in parsed) == 3
    historial = list(csv.DictReader(io.StringIO(  # after its title line
        (corte / HISTORIAL).read_bytes().decode("utf-8-sig").split("\r\n", 1)[1],
        newline="")))
    eventos = {(r["CLAVE_ACTA"].strip("'"), r["EVENTO"]): r["FECHA_HORA"] for r in historial}
    segundos = (_segundos(eventos[(catd.clave, "PUBLICACION")])
                - _segundos(eventos[(catd.clave, "ACOPIO")]))
    mediana = statistics.median_low([segundos])
    assert uno["MEDIANA_ACOPIO_PUBLICACION"] == \
        f"{mediana // 3600}:{mediana % 3600 // 60:02d}:{mediana % 60:02d}"

    # The site shows the same rows; LEEME, manifest, zip and downloads list the file.
    _, datos = parse_data_file((corte / "sitio/datos/catd.js").read_bytes())
    assert [tuple(f) for f in datos["filas"]] == [tuple(r.values()) for r in salud.values()]
    _, indice = parse_data_file((corte / "sitio/datos/indice.js").read_bytes())
    assert indice["catd"] is True
    assert AVANCE_CATD in {d["archivo"] for d in indice["descargas"]}
    leeme = (corte / "LEEME.txt").read_text(encoding="utf-8")
    assert AVANCE_CATD in leeme and ", ".join(COLUMNS) in leeme
    assert f"  {AVANCE_CATD}\n" in (corte / "MANIFIESTO.sha256").read_text(encoding="utf-8")

    # The coordinator hides CATD 01's status: audited with the reason, then published
    # as «not published» (the reason is not); shown again, audited too.
    sin_motivo = central_cli(node, "catd-estado", "ocultar", "--catd", "1", "--motivo", " ",
                             coordinador=True)
    assert sin_motivo.returncode == 2 and "motivo" in sin_motivo.stderr
    motivo = "Equipo del CATD en revisión por el área de seguridad"
    oculto = central_cli(node, "catd-estado", "ocultar", "--catd", "1", "--motivo", motivo,
                         coordinador=True)
    assert oculto.returncode == 0, oculto.stderr
    assert json.loads(oculto.stdout) == {"ocultos": ["01"]}
    segundo = make_corte(node, publicacion)
    salud2 = _salud(segundo)
    assert salud2["01"]["EN_LINEA"] == NO_PUBLICADO
    assert salud2["03"]["EN_LINEA"] == "1"
    # Already published actas keep their first corte: the median is the same acta's.
    assert salud2["01"]["ACTAS_ULTIMA_HORA"] == "1"
    assert salud2["01"]["MEDIANA_ACOPIO_PUBLICACION"] == uno["MEDIANA_ACOPIO_PUBLICACION"]
    assert motivo not in (segundo / AVANCE_CATD).read_text(encoding="utf-8-sig")
    _, datos2 = parse_data_file((segundo / "sitio/datos/catd.js").read_bytes())
    assert datos2["filas"][0][COLUMNS.index("EN_LINEA")] == NO_PUBLICADO
    mostrado = central_cli(node, "catd-estado", "mostrar", "--catd", "01", "--motivo",
                           "Revisión terminada", coordinador=True)
    assert mostrado.returncode == 0, mostrado.stderr
    assert json.loads(mostrado.stdout) == {"ocultos": []}
    audit = query(node.dsn, "SELECT event, detail FROM audit_log WHERE event IN "
                            "('catd_estado_ocultado', 'catd_estado_mostrado') ORDER BY id")
    assert audit == [
        ("catd_estado_ocultado", {"catd": "01", "motivo": motivo}),
        ("catd_estado_mostrado", {"catd": "01", "motivo": "Revisión terminada",
                                  "estaba_oculto": True})]
    tercero = make_corte(node, publicacion)
    assert _salud(tercero)["01"]["EN_LINEA"] == "1"

    for directory in (corte, segundo, tercero):
        verify = subprocess.run(
            [sys.executable, "-m", "prep", "verify-corte", str(directory), "--huella",
             node.central_key.fingerprint()], cwd=REPO, capture_output=True, text=True,
            timeout=120, check=False)
        assert verify.returncode == 0, verify.stdout
