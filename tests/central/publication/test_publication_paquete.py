"""What the acopio said of each paquete, and when each acta was validated, reach the
published CSV (issue 28): records sent by a station over HTTPS, folded by the central,
published by ``prep central corte``; ``rebuild-state --check`` still derives the same
states from the records alone."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from prep.catalog import Acta
from prep.catalog import Catalog
from prep.corte.anexo import format_time
from prep.corte.anexo import traslado_publicado
from prep.corte.package import slug
from prep.corte.reader import read_eleccion_csv
from prep.records import Kind
from tests.central.publication_night import corte_in_window
from tests.central.station import central_cli
from tests.central.station import query
from tests.harness.central import CentralNode
from tests.harness.work import WorkStation
from tests.harness.work import add_operators
from tests.harness.work import load_catalog
from tests.harness.work import site_account
from tests.harness.work import truth


def _actas(catalog: Catalog) -> list[Acta]:
    """Actas of distrito 1 of the first election, of casillas whose paquete travels and
    whose catalog mechanism is not DAT (so choosing DAT at acopio shows)."""
    eleccion = catalog.elecciones[0]
    return [a for a in catalog.actas(eleccion) if a.casilla.distrito_id == 1
            and a.casilla.traslado not in (None, "D")]


def _off_by_one(valores: Mapping[str, int], campo: str) -> dict[str, int]:
    return {**valores, campo: valores[campo] + 1}


def _validated(node: CentralNode, clave: str) -> tuple[datetime, datetime, str]:
    [(at, received_at, fuente)] = query(
        node.dsn, "SELECT validada_at, validada_received_at, validada_fuente FROM acta_states "
        "WHERE clave_acta = %s", clave)
    return at, received_at, fuente


def test_the_corte_publishes_the_traslado_the_document_and_the_validation_time(
        central_node: CentralNode, tmp_path: Path) -> None:
    node = central_node
    catalog = load_catalog(node, scale=0.02)
    elegida, antigua, verificada, sin_sobre, no_entregado = _actas(catalog)[:5]
    # Each capture of an acta from another station, as the queue hands them out.
    ana, beto, caro, vero = add_operators(node, [
        ("Ana", "capturista", "01"), ("Beto", "capturista", "CCV"),
        ("Caro", "capturista", "CCV"), ("Vero", "verificador", "CCV")])
    campos = list(truth(verificada))

    async def night() -> None:
        async with WorkStation.enroll(node, 1) as station, \
                WorkStation.enroll(node, None) as ccv1, \
                WorkStation.enroll(node, None) as ccv2, \
                WorkStation.enroll(node, None) as ccv3:
            acopiador = site_account(node, "acopiador", "01")
            await station.send([
                # The acopiador chose DAT with F3 and the Acta PREP was missing (F4).
                (Kind.ACOPIO, acopiador, {"clave_acta": elegida.clave, "traslado": "dat",
                                          "tipo_documento": "copia_aec"}),
                # A station older than those fields: the catalog's default is published.
                (Kind.ACOPIO, acopiador, {"clave_acta": antigua.clave}),
                (Kind.ACOPIO, acopiador, {"clave_acta": verificada.clave,
                                          "traslado": "directo",
                                          "tipo_documento": "acta_prep"}),
                (Kind.SIN_ACTA, acopiador, {"clave_acta": sin_sobre.clave,
                                            "causa": "paquete_sin_sobre"}),
                (Kind.SIN_ACTA, acopiador, {"clave_acta": no_entregado.clave,
                                            "causa": "paquete_no_entregado"})])
            await station.digitize([elegida, antigua, verificada], acopio=False)
            # Two captures agree on two actas; on the third all three differ.
            for where, operator, wrong in ((station, ana, None), (ccv1, beto, campos[0])):
                leases = await where.next(operator, prefetch=3)
                assert len(leases) == 3
                for lease in leases:
                    acta = catalog.acta(lease["clave_acta"])
                    assert acta is not None
                    valores = truth(acta)
                    if wrong is not None and acta.clave == verificada.clave:
                        valores = _off_by_one(valores, wrong)
                    await where.capture(operator, lease, valores)
            [lease] = await ccv2.next(caro)
            assert lease["clave_acta"] == verificada.clave
            await ccv2.capture(caro, lease, _off_by_one(truth(verificada), campos[1]))
            [lease] = await ccv3.next(vero, kind="verificacion")
            await ccv3.capture(vero, lease, truth(verificada))

    asyncio.run(night())
    publicacion = tmp_path / "publicacion"
    corte = corte_in_window(node, publicacion)  # the Consejo's window, then a corte
    eleccion = catalog.elecciones[0]
    parsed = read_eleccion_csv((corte / f"{slug(eleccion.nombre)}.csv").read_bytes())
    rows: dict[str, dict[str, Any]] = {r["CLAVE_ACTA"].strip("'"): r for r in parsed.filas}

    def published(acta: Acta) -> tuple[str, str, str]:
        row = rows[acta.clave]
        return (row["MECANISMOS_TRASLADO"], row["TIPO_DOCUMENTO"],
                row["FECHA_HORA_VERIFICACION"])

    _, recibida, fuente = _validated(node, elegida.clave)
    assert fuente == "captura"
    assert published(elegida) == ("D", "Acta de Escrutinio y Cómputo", format_time(recibida))
    _, recibida, _ = _validated(node, antigua.clave)
    assert published(antigua) == (traslado_publicado(antigua.casilla.traslado), "Acta PREP",
                                  format_time(recibida))
    decidida, _, fuente = _validated(node, verificada.clave)
    assert fuente == "verificacion"
    # Delivered directly (the institute's E): N/A in Anexo 18.5's domain.
    assert published(verificada) == ("N/A", "Acta PREP", format_time(decidida))
    # A paquete without its sobre travelled; one never delivered did not.
    assert rows[sin_sobre.clave]["MECANISMOS_TRASLADO"] == traslado_publicado(
        sin_sobre.casilla.traslado)
    assert rows[no_entregado.clave]["MECANISMOS_TRASLADO"] == "N/A"
    # Every published acta with data says when it was validated.
    con_datos = [r for r in parsed.filas if r["CONTABILIZADA"] in ("0", "1")
                 and r["CODIGO_INTEGRIDAD"] not in ("-", "N/A")]
    assert len(con_datos) == 3
    assert all(r["FECHA_HORA_VERIFICACION"] not in ("-", "N/A") for r in con_datos)

    check = central_cli(node, "rebuild-state", "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout)["differences"] == 0
