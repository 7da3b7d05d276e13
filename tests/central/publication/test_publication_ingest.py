"""A corte of actas that went the whole way through a real central: acopio, image,
two blind captures over leases, a PREP Casilla image, a sin acta and a code outside the
catalog, sent by stations over HTTPS; then the Consejo's window, ``prep central corte`` and
``prep verify-corte`` on what it published."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
from pathlib import Path

from prep.corte.anexo import es_fuera
from prep.corte.package import slug
from prep.corte.reader import read_eleccion_csv
from prep.records import Kind
from tests.central.publication_night import three_actas
from tests.central.station import central_cli
from tests.central.station import query
from tests.harness.central import REPO
from tests.harness.central import CentralNode
from tests.harness.work import WorkStation
from tests.harness.work import capturistas
from tests.harness.work import load_catalog
from tests.harness.work import png
from tests.harness.work import site_account
from tests.harness.work import truth


def test_a_corte_publishes_what_the_stations_sent_and_verifies(
        central_node: CentralNode, tmp_path: Path) -> None:
    node = central_node
    catalog = load_catalog(node, scale=0.02)
    catd, casilla, sin = three_actas(catalog)
    ana, beto = capturistas(node)

    async def night() -> None:
        async with WorkStation.enroll(node, 1) as station, \
                WorkStation.enroll(node, 1) as neighbour, \
                WorkStation.enroll_intake(node) as intake:
            await station.digitize([catd])
            await intake.digitize([casilla], origen="CASILLA", acopio=False)
            acopio = site_account(node, "acopiador", "01")
            await station.send([
                (Kind.SIN_ACTA, acopio, {"clave_acta": sin.clave,
                                         "causa": "paquete_no_entregado"}),
                (Kind.ACOPIO, acopio, {"codigo_leido": "099999B0100" + sin.clave[-2:],
                                       "eleccion": sin.clave[-2:],
                                       "fuera_de_catalogo": True})])
            # Each acta's two captures from two stations of the CATD (issue 36).
            for operator, capturing in ((ana, station), (beto, neighbour)):
                await capturing.capture_truth(operator, catalog, prefetch=2)

    asyncio.run(night())
    publicacion = tmp_path / "publicacion"
    window = central_cli(node, "ventana", "--inicio", "ahora")  # the Consejo's window
    assert window.returncode == 0, window.stderr
    done = central_cli(node, "corte", "--publicacion", str(publicacion))
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    corte = publicacion / answer["corte"]
    assert (publicacion / "latest").resolve() == corte.resolve()
    assert answer["actas_capturadas"] == 3 and answer["fuera_de_catalogo"] == 1

    eleccion = catalog.elecciones[0]
    parsed = read_eleccion_csv((corte / f"{slug(eleccion.nombre)}.csv").read_bytes())
    rows = {r["CLAVE_ACTA"].strip("'"): r for r in parsed.filas}
    for acta, origen, medio in ((catd, "CATD", "Escáner"), (casilla, "CASILLA", "Móvil")):
        row = rows[acta.clave]
        assert {c: int(row[c]) for c in truth(acta)} == truth(acta)
        image = png(f"{origen}:{acta.clave}")
        assert row["CODIGO_INTEGRIDAD"] == hashlib.sha256(image).hexdigest()
        assert (corte / "imagenes" / f"{row['CODIGO_INTEGRIDAD']}.png").read_bytes() == image
        assert (row["ORIGEN"], row["DIGITALIZACION"]) == (origen, medio)
        assert row["FECHA_HORA_CAPTURA"] != "-"
    assert rows[catd.clave]["FECHA_HORA_ACOPIO"] != "-"
    # Only its photo arrived: FECHA_HORA_ACOPIO is the photo's (as INE publishes a PREP
    # Casilla acta, issue 61), never after its capture; no traslado yet.
    foto = rows[casilla.clave]
    assert foto["FECHA_HORA_ACOPIO"] != "-" and foto["MECANISMOS_TRASLADO"] == "-"
    assert foto["FECHA_HORA_ACOPIO"] <= foto["FECHA_HORA_CAPTURA"]
    assert rows[sin.clave]["OBSERVACIONES"] == "Sin Acta por paquete no entregado"
    assert rows[sin.clave]["CONTABILIZADA"] == "0"
    assert [r["OBSERVACIONES"] for r in parsed.filas if es_fuera(r)] == [
        "Fuera de catálogo"]
    assert parsed.resumen["ACTAS_REGISTRADAS"] == "4"

    [(directorio, manifest_sha, motivo)] = query(
        node.dsn, "SELECT directorio, manifiesto_sha256, motivo FROM cortes")
    assert (directorio, motivo) == (corte.name, "a_pedido")
    assert manifest_sha == hashlib.sha256((corte / "MANIFIESTO.sha256").read_bytes()
                                          ).hexdigest()
    [(detail,)] = query(node.dsn, "SELECT detail FROM audit_log "
                        "WHERE event = 'corte_published'")
    assert detail["corte"] == corte.name

    verify = subprocess.run(
        [sys.executable, "-m", "prep", "verify-corte", str(corte), "--huella",
         node.central_key.fingerprint()], cwd=REPO, capture_output=True, text=True,
        timeout=120, check=False)
    assert verify.returncode == 0, verify.stdout
    assert "CORTE ÍNTEGRO" in verify.stdout
