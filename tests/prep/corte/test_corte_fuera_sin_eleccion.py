"""A fuera-de-catálogo acta registered with election «No se sabe» (issue 28) is published:
listed after the catalog rows of every election's CSV, its OBSERVACIONES saying the
election was not identified, and counted in that file's ACTAS_FUERA_CATALOGO and
ACTAS_REGISTRADAS, so that anyone recomputing a file's summary from its rows agrees."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest

from prep.catalog import generate_catalog
from prep.corte.anexo import es_fuera
from prep.corte.model import FueraDeCatalogo
from prep.corte.package import build_corte_files
from prep.corte.package import slug
from prep.corte.reader import read_eleccion_csv
from prep.corte.reader import resumen_desde_filas
from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet

pytestmark = pytest.mark.rapido

CORTE = datetime(2027, 6, 7, 9, 0, tzinfo=UTC)
ACOPIO = datetime(2027, 6, 7, 3, 15, 20, tzinfo=UTC)


def test_an_unidentified_election_is_listed_and_counted_in_every_file() -> None:
    catalog = generate_catalog(4, 0.005)
    primera = catalog.elecciones[0]
    fuera = (FueraDeCatalogo("099999B0100" + primera.codigo, primera.codigo, ACOPIO),
             FueraDeCatalogo("099998B010099", "", ACOPIO))
    files, _ = build_corte_files(catalog, {}, fuera, CORTE)
    for eleccion in catalog.elecciones:
        parsed = read_eleccion_csv(files[f"{slug(eleccion.nombre)}.csv"])
        rows = [f for f in parsed.filas if es_fuera(f)]
        propias = 1 if eleccion is primera else 0
        assert len(rows) == propias + 1
        assert rows[-1]["OBSERVACIONES"] == "Fuera de catálogo, Elección no identificada"
        assert rows[-1]["FECHA_HORA_ACOPIO"] == "06/06/2027 21:15:20"
        assert rows[-1]["CONTABILIZADA"] == "0"
        if propias:
            assert rows[0]["OBSERVACIONES"] == "Fuera de catálogo"
        assert parsed.resumen["ACTAS_FUERA_CATALOGO"] == str(propias + 1)
        assert parsed.resumen["ACTAS_REGISTRADAS"] == str(propias + 1)
        assert parsed.resumen == resumen_desde_filas(parsed, DEFAULT_RULES.participacion)


def test_the_label_is_a_rule() -> None:
    catalog = generate_catalog(4, 0.005)
    rules = RuleSet.from_mapping({"eleccion_no_identificada": "Sin elección"})
    files, _ = build_corte_files(catalog, {}, (FueraDeCatalogo("099998B010099", "", ACOPIO),),
                                 CORTE, rules)
    parsed = read_eleccion_csv(files[f"{slug(catalog.elecciones[-1].nombre)}.csv"])
    [row] = [f for f in parsed.filas if es_fuera(f)]
    assert row["OBSERVACIONES"] == "Fuera de catálogo, Sin elección"
