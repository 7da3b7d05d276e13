"""The small night both per-corte open-data tests start from (HISTORIAL.csv and
AVANCE_CATD.csv, issue 29): in distrito 01 one acta scanned at its CATD, one photographed
by PREP Casilla, one registered sin acta, and the two blind captures of each from two
stations of the CATD; and a corte made as a coordinator makes it."""

from __future__ import annotations

import json
from pathlib import Path

from prep.catalog.model import Acta
from prep.catalog.model import Catalog
from prep.records import Kind
from tests.central.station import central_cli
from tests.harness.central import CentralNode
from tests.harness.work import WorkStation
from tests.harness.work import site_account


def three_actas(catalog: Catalog) -> tuple[Acta, Acta, Acta]:
    """Of the first election, distrito 01: for the CATD, for PREP Casilla, sin acta."""
    catd, casilla, sin = [a for a in catalog.actas(catalog.elecciones[0])
                          if a.casilla.distrito_id == 1][:3]
    return catd, casilla, sin


async def basic_night(node: CentralNode, catalog: Catalog, actas: tuple[Acta, Acta, Acta],
                      station: WorkStation, neighbour: WorkStation, intake: WorkStation,
                      capturistas: tuple[str, str]) -> None:
    """The records of :func:`three_actas`' night, sent through real HTTPS."""
    catd, casilla, sin = actas
    await station.digitize([catd])
    await intake.digitize([casilla], origen="CASILLA", acopio=False)
    acopio = site_account(node, "acopiador", "01")
    await station.send([(Kind.SIN_ACTA, acopio, {"clave_acta": sin.clave,
                                                 "causa": "paquete_no_entregado"})])
    for operator, capturing in zip(capturistas, (station, neighbour), strict=True):
        await capturing.capture_truth(operator, catalog, prefetch=2)


def corte(node: CentralNode, publicacion: Path) -> Path:
    """``prep central corte`` now; the directory it published."""
    done = central_cli(node, "corte", "--publicacion", str(publicacion))
    assert done.returncode == 0, done.stderr
    return publicacion / str(json.loads(done.stdout)["corte"])


def corte_in_window(node: CentralNode, publicacion: Path) -> Path:
    """The Consejo's publication window opened now, then :func:`corte`."""
    window = central_cli(node, "ventana", "--inicio", "ahora")
    assert window.returncode == 0, window.stderr
    return corte(node, publicacion)
