"""The public log of cortes' cost (issue 67): bytes and seconds each corte adds.

The log holds one leaf per corte, whatever the number of actas: a CDMX night and a
national night cost the same per corte; what grows is the number of cortes (one every 5
minutes is ≈300 a night) and of witnesses. This bench appends cortes to a real
PostgreSQL (pgserver: the ``cortes`` row, then :func:`central.publication.transparencia.
agregar` in one transaction, as ``make_corte`` does) and writes ``transparencia/``
after each (:func:`~central.publication.transparencia.escribir`), every witness
cosigning each head (a row in ``cofirmas``, as the central stores a checked one). It
measures, at the log's sizes ``--cortes`` (100 and 1,000 by default):

- ``segundos_agregar`` / ``segundos_escribir``: per corte, the median of the last
  ``--muestra`` cortes before that size (the database append; the files);
- ``bytes_por_corte`` / ``archivos_por_corte``: what those cortes added to
  ``transparencia/`` (file contents; ``cofirmas/<n>`` grows as cosignatures arrive);
- ``segundos_reescribir_todo``: the whole directory written again from the database
  (a new disk, a promoted standby);
- ``segundos_verificar_mas_antiguo``: what ``verify-corte --testigos`` spends on the log
  for the oldest corte (the longest chain of proofs, every head's cosignatures).

Between two measured sizes the cortes are appended without writing the files (their
files are written by the first measured corte, as after a gap). Prints one JSON line
with ``calibracion.bucle_python_ms`` (:mod:`simulacro.calibracion`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central.db import make_engine
from central.db.migrate import upgrade
from central.db.publicacion import CorteRow
from central.db.transparencia import Cofirma
from central.publication import transparencia
from central.stations.difusores import alta
from prep.crypto import SigningKey
from prep.transparencia import nota
from prep.transparencia.auditoria import Registro
from prep.transparencia.fuente import Directorio
from simulacro.calibracion import python_loop_ms
from tests.harness.postgres import embedded_server
from tests.harness.postgres import temporary_database

ORIGEN = "prep-09-2027-06-06-simulacro"
INICIO = datetime(2027, 6, 7, 1, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cortes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--testigos", type=int, default=13,
                        help="difusores que cofirman cada cabeza (13 en la CDMX en 2024)")
    parser.add_argument("--muestra", type=int, default=10)
    args = parser.parse_args()
    bucle_inicio = python_loop_ms()
    with tempfile.TemporaryDirectory(prefix="bench-transparencia-") as tmp, \
            embedded_server(Path(tmp)) as admin_dsn, \
            temporary_database(admin_dsn, "bench_transparencia") as dsn:
        engine = make_engine(dsn, pool_size=2)
        try:
            upgrade(engine)
            medidas = _noche(engine, Path(tmp), sorted(args.cortes), args.testigos,
                             args.muestra)
        finally:
            engine.dispose()
    print(json.dumps({
        "bench": "transparencia", "testigos": args.testigos, "muestra": args.muestra,
        "tamanos": medidas,
        "calibracion": {"bucle_python_ms": {"inicio": bucle_inicio, "fin": python_loop_ms()}},
        "maquina": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "carga": os.getloadavg()[0]}}))


def _noche(engine: Engine, tmp: Path, tamanos: list[int], testigos: int,
           muestra: int) -> list[dict[str, Any]]:
    key = SigningKey.generate()
    llaves = [(alta(engine, f"Difusor {i}", f"https://prep{i}.example/", actor="bench").id,
               SigningKey.generate()) for i in range(testigos)]
    publicacion = tmp / "publicacion"
    publicacion.mkdir()
    medidas = []
    n = 0
    for tamano in tamanos:
        agregar, escribir, antes = [], [], _bytes(publicacion)
        while n < tamano:
            if n == tamano - muestra:  # the files of the cortes appended unwritten
                transparencia.escribir(publicacion, engine, key, ORIGEN)
                antes = _bytes(publicacion)
            n += 1
            segundos = _agregar(engine, n, llaves)
            if n <= tamano - muestra:
                continue
            agregar.append(segundos)
            started = time.perf_counter()
            transparencia.escribir(publicacion, engine, key, ORIGEN)
            escribir.append(time.perf_counter() - started)
        despues = _bytes(publicacion)
        otra = tmp / f"reescrita-{tamano}"
        started = time.perf_counter()
        transparencia.escribir(otra, engine, key, ORIGEN)
        reescribir = time.perf_counter() - started
        started = time.perf_counter()
        log = Registro.abrir(Directorio(publicacion), key.public)
        encontrada = log.buscar(_nombre(1))
        assert encontrada is not None and log.incluida(*encontrada)
        assert log.consistente_desde(1)
        validas, _ = log.cofirmas(1, {d: k.public for d, k in llaves})
        verificar = time.perf_counter() - started
        assert not log.problemas and len(validas) == testigos, log.problemas[:3]
        medidas.append({
            "cortes": tamano,
            "segundos_agregar": round(statistics.median(agregar), 5),
            "segundos_escribir": round(statistics.median(escribir), 5),
            "bytes_por_corte": round((despues[0] - antes[0]) / len(escribir)),
            "archivos_por_corte": round((despues[1] - antes[1]) / len(escribir), 1),
            "bytes_total": despues[0], "archivos_total": despues[1],
            "segundos_reescribir_todo": round(reescribir, 3),
            "segundos_verificar_mas_antiguo": round(verificar, 3)})
    return medidas


def _agregar(engine: Engine, n: int, llaves: list[tuple[str, SigningKey]]) -> float:
    """Corte ``n``: its row and leaf in one transaction (timed: the leaf), then every
    witness's cosignature of the head before it."""
    nombre = _nombre(n)
    with Session(engine) as session, session.begin():
        session.add(CorteRow(corte_at=INICIO + timedelta(minutes=5 * n), directorio=nombre,
                             manifiesto_sha256=f"{n:064x}", catalog_version=1,
                             actas_esperadas=0, actas_capturadas=0, actas_contabilizadas=0,
                             fuera_de_catalogo=0, imagenes=0, ultimo=False,
                             motivo="programado", seconds=0.0))
        session.flush()
        started = time.perf_counter()
        fila = transparencia.agregar(session, nombre, INICIO + timedelta(minutes=5 * n),
                                     f"{n:064x}")
        segundos = time.perf_counter() - started
        cp = nota.Checkpoint(ORIGEN, n, bytes(fila.raiz))
        t = int((INICIO + timedelta(minutes=5 * n, seconds=30)).timestamp())
        session.add_all(Cofirma(difusor=d, tamano=n, linea=nota.cofirmar(cp, d, k, t).linea(),
                                hora_cofirma=t) for d, k in llaves)
    return segundos


def _nombre(n: int) -> str:
    instante = INICIO + timedelta(minutes=5 * n)
    return instante.strftime("%Y%m%d_%H%M")


def _bytes(directorio: Path) -> tuple[int, int]:
    total = archivos = 0
    for raiz, _dirs, nombres in os.walk(directorio):
        for nombre in nombres:
            total += os.path.getsize(os.path.join(raiz, nombre))
            archivos += 1
    return total, archivos


if __name__ == "__main__":
    main()
