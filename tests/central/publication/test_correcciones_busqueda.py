"""What a correction changed is read back from the previous corte's files
(central.publication.correcciones): each corrected acta's election-CSV row and its run
of HISTORIAL rows. The keys are searched in the files' order, each search starting at
the previous match; a key out of that order must still be found, with the same rows."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from central.publication.correcciones import _lineas

pytestmark = pytest.mark.rapido

_CLAVES = [f"09-{s:04d}-B-{n}-00-PRE" for s in range(1, 40) for n in range(1, 4)]


def _historial(path: Path) -> None:
    """A HISTORIAL-like file: header lines, then each acta's run of rows (key first)."""
    lineas = ["# Historial", "CLAVE_ACTA,EVENTO,FECHA_HORA"]
    for i, clave in enumerate(_CLAVES):
        for evento in ("ACOPIO", "DIGITALIZACION", "CAPTURA")[: 1 + i % 3]:
            lineas.append(f"'{clave}',{evento},2027-06-06 20:{i % 60:02d}")
    path.write_bytes(("\r\n".join(lineas) + "\r\n").encode())


def _csv(path: Path) -> None:
    """An election-CSV-like file: the key in the second field, one row per acta."""
    lineas = ["# Eleccion", "ID_ENTIDAD,CLAVE_ACTA,PAN"]
    lineas += [f"9,'{clave}',{i}" for i, clave in enumerate(_CLAVES)]
    path.write_bytes(("\r\n".join(lineas) + "\r\n").encode())


def test_every_key_is_found_with_its_rows_in_any_order(tmp_path: Path) -> None:
    historial, eleccion = tmp_path / "HISTORIAL.csv", tmp_path / "PRE.csv"
    _historial(historial)
    _csv(eleccion)
    pedidas = [_CLAVES[3], _CLAVES[40], _CLAVES[41], _CLAVES[-1], "09-9999-B-1-00-PRE"]
    en_orden = _lineas(historial, pedidas, todas=True)
    assert set(en_orden) == set(pedidas[:-1])  # the unknown key: nothing
    assert [f[1] for f in en_orden[_CLAVES[41]]] == ["ACOPIO", "DIGITALIZACION", "CAPTURA"]
    assert [f[1] for f in en_orden[_CLAVES[3]]] == ["ACOPIO"]
    filas = _lineas(eleccion, pedidas, campo=1)
    assert filas[_CLAVES[40]] == [["9", f"'{_CLAVES[40]}'", "40"]]

    azar = random.Random(7)
    for _ in range(20):  # out of the files' order: the same rows
        mezcla = pedidas[:]
        azar.shuffle(mezcla)
        assert _lineas(historial, mezcla, todas=True) == en_orden
        assert _lineas(eleccion, mezcla, campo=1) == filas
