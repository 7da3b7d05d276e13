"""HISTORIAL.csv of a corte made from real records (issue 29): every event of every
published acta is what the stations sent (acopio, image, the two blind captures from two
stations, a sin acta, a PREP Casilla photo), consistent with the election CSV, with no
operator nor station named, and the first corte that published each acta kept by later
cortes; ``prep verify-corte`` accepts it."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

from prep.corte.anexo import format_time
from prep.corte.historial import COLUMNS
from prep.corte.historial import HISTORIAL
from prep.corte.package import slug
from prep.corte.reader import read_eleccion_csv
from prep.records import Kind
from tests.central.publication_night import basic_night
from tests.central.publication_night import corte as make_corte
from tests.central.publication_night import corte_in_window
from tests.central.publication_night import three_actas
from tests.central.station import query
from tests.harness.central import REPO
from tests.harness.central import CentralNode
from tests.harness.work import WorkStation
from tests.harness.work import capturistas
from tests.harness.work import load_catalog
from tests.harness.work import png
from tests.harness.work import site_account


def _historial(corte: Path) -> list[dict[str, str]]:
    data = (corte / HISTORIAL).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["HISTORIAL DE LAS ACTAS"]  # its title line, as in a drill
    assert tuple(rows[1]) == COLUMNS
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows[2:]]



def test_historial_is_what_the_stations_sent(central_node: CentralNode,
                                             tmp_path: Path) -> None:
    node = central_node
    catalog = load_catalog(node, scale=0.02)
    eleccion = catalog.elecciones[0]
    catd, casilla, sin = actas = three_actas(catalog)
    ana, beto = capturistas(node)

    async def night() -> None:
        async with WorkStation.enroll(node, 1) as station, \
                WorkStation.enroll(node, 1) as neighbour, \
                WorkStation.enroll_intake(node) as intake:
            await basic_night(node, catalog, actas, station, neighbour, intake,
                              (ana, beto))

    asyncio.run(night())
    publicacion = tmp_path / "publicacion"
    corte = corte_in_window(node, publicacion)

    parsed = read_eleccion_csv((corte / f"{slug(eleccion.nombre)}.csv").read_bytes())
    csv_rows = {r["CLAVE_ACTA"].strip("'"): r for r in parsed.filas}
    historial = _historial(corte)
    por_acta: dict[str, list[dict[str, str]]] = {}
    for row in historial:
        por_acta.setdefault(row["CLAVE_ACTA"].strip("'"), []).append(row)
    assert set(por_acta) == {catd.clave, casilla.clave, sin.clave}

    sitio = dict(query(node.dsn, "SELECT id, sitio FROM stations"))
    sent: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for kind, body, at, station in query(
            node.dsn, "SELECT kind, body, at, station FROM records ORDER BY received_at, seq"):
        if isinstance(body, dict) and "clave_acta" in body:
            sent.setdefault((body["clave_acta"], kind), []).append(
                {"body": body, "at": format_time(at), "catd": sitio[station]})
    [(corte_at,)] = query(node.dsn, "SELECT corte_at FROM cortes")

    # The acta digitized at CATD 01 and captured twice, at two stations of CATD 01.
    eventos = por_acta[catd.clave]
    assert [e["EVENTO"] for e in eventos] == ["ACOPIO", "DIGITALIZACION", "CAPTURA",
                                              "CAPTURA", "VALIDACION", "PUBLICACION"]
    row = csv_rows[catd.clave]
    [acopio] = sent[(catd.clave, "acopio")]
    assert eventos[0]["FECHA_HORA"] == acopio["at"] == row["FECHA_HORA_ACOPIO"]
    assert eventos[0]["CATD"] == "01"
    [imagen] = sent[(catd.clave, "imagen")]
    image_sha = hashlib.sha256(png(f"CATD:{catd.clave}")).hexdigest()
    assert imagen["body"]["sha256"] == image_sha
    assert (eventos[1]["FECHA_HORA"], eventos[1]["CATD"], eventos[1]["IMAGEN"],
            eventos[1]["CODIGO_INTEGRIDAD"], eventos[1]["ORIGEN"],
            eventos[1]["DIGITALIZACION"]) == (imagen["at"], "01", "1", image_sha, "CATD",
                                              "Escáner")
    capturas = sent[(catd.clave, "captura")]
    assert [(e["FECHA_HORA"], e["CATD"], e["RONDA"], e["IMAGEN"], e["DETALLE"])
            for e in eventos[2:4]] == [(c["at"], "01", "1", "1", f"captura {n}")
                                       for n, c in enumerate(capturas, start=1)]
    validacion = eventos[4]
    assert validacion["CODIGO_INTEGRIDAD"] == row["CODIGO_INTEGRIDAD"] == image_sha
    assert validacion["FECHA_HORA"] == row["FECHA_HORA_VERIFICACION"]
    assert (validacion["ORIGEN"], validacion["DIGITALIZACION"]) == (row["ORIGEN"],
                                                                    row["DIGITALIZACION"])
    assert validacion["DETALLE"] == "coincidieron dos capturas"
    assert (eventos[5]["DETALLE"], eventos[5]["FECHA_HORA"]) == (corte.name,
                                                                 format_time(corte_at))

    # The PREP Casilla photo: no acopio, no CATD for its image. As INE publishes it, its
    # FECHA_HORA_ACOPIO is the photo's time, and its traslado '-' until the paquete
    # reaches the CATD (issue 61).
    eventos = por_acta[casilla.clave]
    assert [e["EVENTO"] for e in eventos] == ["DIGITALIZACION", "CAPTURA", "CAPTURA",
                                              "VALIDACION", "PUBLICACION"]
    assert (eventos[0]["CATD"], eventos[0]["ORIGEN"], eventos[0]["DIGITALIZACION"]) == (
        "", "CASILLA", "Móvil")
    assert eventos[3]["CODIGO_INTEGRIDAD"] == csv_rows[casilla.clave]["CODIGO_INTEGRIDAD"]
    foto, historia_foto = csv_rows[casilla.clave], eventos
    assert (foto["FECHA_HORA_ACOPIO"], foto["MECANISMOS_TRASLADO"]) == (
        eventos[0]["FECHA_HORA"], "-")
    assert foto["FECHA_HORA_ACOPIO"] <= foto["FECHA_HORA_CAPTURA"]

    # The sin acta: its registration and cause, as the CSV row says.
    eventos = por_acta[sin.clave]
    assert [e["EVENTO"] for e in eventos] == ["SIN_ACTA", "PUBLICACION"]
    assert eventos[0]["FECHA_HORA"] == csv_rows[sin.clave]["FECHA_HORA_ACOPIO"]
    assert eventos[0]["DETALLE"] == csv_rows[sin.clave]["OBSERVACIONES"]
    assert eventos[0]["CATD"] == "01"

    # Nobody is named: no operator, no station id.
    text = (corte / HISTORIAL).read_text(encoding="utf-8-sig")
    for name in [*sitio, ana, beto]:
        assert name not in text
    leeme = (corte / "LEEME.txt").read_text(encoding="utf-8")
    assert HISTORIAL in leeme and ",".join(COLUMNS).replace(",", ", ") in leeme
    manifest = (corte / "MANIFIESTO.sha256").read_text(encoding="utf-8")
    assert f"{hashlib.sha256((corte / HISTORIAL).read_bytes()).hexdigest()}  {HISTORIAL}" \
        in manifest

    # A later corte keeps the first corte as where each acta was first published.
    segundo = make_corte(node, publicacion)
    assert segundo != corte
    later = [r for r in _historial(segundo) if r["EVENTO"] == "PUBLICACION"]
    assert {r["DETALLE"] for r in later} == {corte.name}
    assert query(node.dsn, "SELECT count(*) FROM actas_publicadas") == [(3,)]

    # Its paquete arrives at the CATD: the history gains the ACOPIO at its own time, the
    # row its traslado; FECHA_HORA_ACOPIO stays the photo's, and no earlier row is lost.
    async def paquete() -> None:
        async with WorkStation.enroll(node, 1) as station:
            acopiador = await asyncio.to_thread(site_account, node, "acopiador", "01")
            await station.send([(Kind.ACOPIO, acopiador, {"clave_acta": casilla.clave})])

    asyncio.run(paquete())
    tercero = make_corte(node, publicacion)
    parsed = read_eleccion_csv((tercero / f"{slug(eleccion.nombre)}.csv").read_bytes())
    fila = next(r for r in parsed.filas if r["CLAVE_ACTA"] == f"'{casilla.clave}'")
    assert fila["FECHA_HORA_ACOPIO"] == foto["FECHA_HORA_ACOPIO"]
    assert fila["MECANISMOS_TRASLADO"] not in ("-", "E")
    ahora = [r for r in _historial(tercero) if r["CLAVE_ACTA"] == f"'{casilla.clave}'"]
    [(acopio_at,)] = query(node.dsn, "SELECT acopio_at FROM acta_states "
                                     "WHERE clave_acta = %s", casilla.clave)
    assert [(r["EVENTO"], r["FECHA_HORA"], r["CATD"]) for r in ahora
            if r["EVENTO"] == "ACOPIO"] == [("ACOPIO", format_time(acopio_at), "01")]
    assert all(r in ahora for r in historia_foto)

    for directory in (corte, segundo):
        verify = subprocess.run(
            [sys.executable, "-m", "prep", "verify-corte", str(directory), "--huella",
             node.central_key.fingerprint()], cwd=REPO, capture_output=True, text=True,
            timeout=120, check=False)
        assert verify.returncode == 0, verify.stdout
