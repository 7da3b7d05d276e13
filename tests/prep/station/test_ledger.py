"""The station's ledger of actas (prep.station.ledger) over a real store: what the
acopio and digitalización screens show on start comes from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from prep.records import Kind
from prep.rules import CausaSinActa
from prep.station.digitalizacion import image_tally
from prep.station.ledger import read_ledger
from tests.prep.station.support import clave
from tests.prep.station.support import jpeg_bytes
from tests.prep.station.support import offline_station

pytestmark = pytest.mark.rapido


def test_the_ledger_says_what_arrived_and_what_has_an_image(tmp_path: Path) -> None:
    with offline_station(tmp_path) as station:
        acopio = station.acopio(clave(1), "op-acopio")
        station.acopio(clave(2), "op-acopio")
        sin_acta = station.sin_acta(clave(3), CausaSinActa.CASILLA_NO_INSTALADA, "op-acopio")
        sin_sobre = station.sin_acta(clave(4), CausaSinActa.PAQUETE_SIN_SOBRE, "op-acopio")
        tras = station.acopio_tras_sin_acta(clave(4), "op-acopio", sin_sobre.id)
        station.imagen(clave(1), jpeg_bytes(2_000), "image/jpeg", "op-digi")
        station.imagen(clave(5), jpeg_bytes(2_000), "image/jpeg", "op-digi")  # no acopio
        fuera = station.acopio_fuera_de_catalogo("999999B999999", "1", "op-acopio")
        station.acopio_fuera_de_catalogo("999999B999999", "1", "op-acopio")

        ledger = read_ledger(station.store)

        assert ledger.registradas == {clave(1), clave(2), clave(3), clave(4)}
        assert ledger.arrivals[clave(1)].record == acopio.id
        assert ledger.arrivals[clave(3)].kind == Kind.SIN_ACTA.value
        assert ledger.arrivals[clave(3)].record == sin_acta.id
        assert ledger.arrivals[clave(3)].causa == CausaSinActa.CASILLA_NO_INSTALADA.value
        # The acopio that turned up after a sin acta replaces it.
        assert ledger.arrivals[clave(4)].kind == Kind.ACOPIO.value
        assert ledger.arrivals[clave(4)].record == tras.id
        assert ledger.acopiadas == {clave(1), clave(2), clave(4)}
        assert ledger.con_imagen == {clave(1), clave(5)}
        assert ledger.sin_imagen == {clave(2), clave(4)}
        assert ledger.imagen_sin_acopio == {clave(5)}
        assert ledger.fuera_de_catalogo == {"999999B999999": fuera.at}
        tally = image_tally(station)
        assert (tally.pendientes, tally.sin_acopio) == (2, 1)

