"""The central refuses practice material (issue 62, «Training material reaches a real
central»): a record about a practice acta (its CLAVE_ACTA names the practice entidad, or
the code read carries the training mark) is stored and quarantined with an anomaly, as
every unauthorized record is, and moves no acta; a practice catalog is never loaded."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from central.catalog.catalog_store import load
from central.db import make_engine
from prep.capacitacion.practica import practice_catalog
from prep.catalog import Catalog
from prep.catalog import CatalogError
from prep.catalog.files import write_catalog
from prep.records import Kind
from prep.sintetico.acta_image import ActaImageOptions
from prep.sintetico.acta_image import acta_qr_text
from prep.sintetico.acta_image import render_acta_image
from tests.central.station import anomalies
from tests.central.station import query
from tests.harness.central import CentralNode
from tests.harness.work import WorkStation
from tests.harness.work import image_body
from tests.harness.work import site_account


def test_records_of_practice_actas_are_quarantined_and_move_no_acta(
        node: CentralNode, catalog: Catalog) -> None:
    practica = practice_catalog(4)
    acta = next(a for a in practica.iter_actas() if a.casilla.distrito_id == 1)
    real = next(a for a in catalog.iter_actas() if a.casilla.distrito_id == 1)
    image = render_acta_image(acta, {}, ActaImageOptions(seed=3), practica)

    async def scenario() -> None:
        async with WorkStation.enroll(node, 1) as catd1:
            await catd1.put_blob(image)
            digitalizador = site_account(node, "digitalizador", "01")
            acopiador = site_account(node, "acopiador", "01")
            await catd1.send([
                (Kind.IMAGEN, digitalizador, image_body(acta.clave, image)),
                # The training mark on a code typed as fuera de catálogo.
                (Kind.ACOPIO, acopiador, {
                    "fuera_de_catalogo": True, "eleccion": real.eleccion.codigo,
                    "codigo_leido": f"CAPACITACION|{acta_qr_text(real)}"})])

    asyncio.run(scenario())
    refused = anomalies(node, "acta_de_capacitacion")
    assert sorted(a["kind"] for a in refused) == ["acopio", "imagen"]
    assert sorted(r for (r,) in query(node.dsn, "SELECT reason FROM quarantined_records")
                  ) == ["acta_de_capacitacion"] * 2
    # Stored as they came (records are facts), and no acta has the practice image.
    assert query(node.dsn, "SELECT count(*) FROM records") >= [(2,)]
    assert query(node.dsn, "SELECT count(*) FROM acta_images") == [(0,)]
    assert query(node.dsn, "SELECT count(*) FROM fuera_de_catalogo") == [(0,)]


def test_a_practice_catalog_is_never_loaded(node: CentralNode) -> None:
    engine = make_engine(node.dsn, pool_size=1)
    try:
        with tempfile.TemporaryDirectory(prefix="practica-") as tmp:
            write_catalog(practice_catalog(4), Path(tmp))
            with Session(engine) as session, session.begin():
                try:
                    load(session, Path(tmp), actor="pruebas")
                except CatalogError as exc:
                    message = str(exc)
                else:
                    raise AssertionError("a practice catalog was loaded")
    finally:
        engine.dispose()
    assert "es de CAPACITACIÓN" in message
    assert query(node.dsn, "SELECT count(*) FROM catalog_versions") == [(0,)]
