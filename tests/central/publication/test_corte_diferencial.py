"""The corte's differential (issue 65), short: a few random nights published corte after
corte by a running central's engine (one CorteMemo for the night: the snapshot reading
again only what changed, the tramos and renders of the previous corte reused) and by the
plain path (no memo: every acta read and rendered again, by a new process per corte),
every file of every corte the same bytes. The long run is
``python3 -m bench.corte_diferencial --noches 1000``.

And the net has teeth: a corte engine whose reuse key leaves out an input its output
reads publishes a stale value, and the differential says where (seed, corte, file,
line)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from prep.corte import tramos
from tests.harness.diferencial import comparar
from tests.harness.noches import noche

#: The short run's nights: each holds every kind of acta and record the
#: generator makes (checked below), and cortes the engine made from the previous one.
SEMILLAS = (1, 4)
#: What the nights must hold for the comparison to mean something.
CASOS = ("validada", "acopiada", "sin_acta", "fuera_de_catalogo", "imagen_desconocida",
         "reescaneo", "cotejo", "correccion", "especial", "mesa_A", "mesa_P", "mesa_M")


def test_random_nights_publish_the_same_bytes_with_the_engine_and_without(
        pg_dsn: str, tmp_path: Path) -> None:
    cuentas: Counter[str] = Counter()
    incrementales = 0
    for semilla in SEMILLAS:
        cuentas.update(noche(semilla).cuentas)
        # The plain path by a new process per corte: nothing of this process shared.
        resultado = comparar(pg_dsn, semilla, tmp_path / f"noche-{semilla}", aparte=True)
        assert resultado.diferencia is None, str(resultado.diferencia)
        assert resultado.cortes == len(noche(semilla).ventanas) >= 2
        # Past the first corte the engine compares with its previous corte; some
        # cortes were read from the previous snapshot (only the changed actas).
        incrementales += sum(r is not None for r in resultado.releidas)
    assert incrementales > 0
    assert not [caso for caso in CASOS if cuentas[caso] == 0], cuentas


def test_the_differential_catches_a_reuse_key_that_leaves_out_an_input(
        pg_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The one place the thing under test is changed on purpose (issue 65: the net must
    # catch a stale reuse): the tramos' reuse key no longer compares each acta's state
    # (ActaEnCorte), which the CSVs, AVANCE_CATD and the site read. A tramo whose actas'
    # states changed and nothing else is then taken from the previous corte.
    cambia = list(tramos._CAMBIA)
    cambia[0] = lambda ahora, antes: False
    monkeypatch.setattr(tramos, "_CAMBIA", tuple(cambia))
    for semilla in range(1, 9):
        diferencia = comparar(pg_dsn, semilla, tmp_path / f"noche-{semilla}").diferencia
        if diferencia is not None:
            break
    assert diferencia is not None, "ocho noches sin que el diferencial viera el valor viejo"
    assert diferencia.corte > 1  # the first corte has nothing to reuse
    assert diferencia.linea is not None and diferencia.motor != diferencia.plano
    assert not diferencia.archivo.startswith("MANIFIESTO")  # the source, not the digest
    texto = str(diferencia)
    assert f"seed {diferencia.semilla}, corte {diferencia.corte}" in texto
    assert f"{diferencia.archivo}, line {diferencia.linea}" in texto
