"""Benchmark: what witnessing the log of cortes costs a difusor (issue 67).

A log of ``--cortes`` leaves (288: a 24-hour night at one corte every 5 minutes) served
as static files over HTTPS on loopback (the test suite's origin), and the difusor's own
check (:func:`difusor.testigo.comprobar`, then :func:`~difusor.testigo.aceptar` with a
cosignature): the first time, the whole log walked (``primera``); then one corte more,
as each poll after a corte does (``por_corte``: ``--rondas`` of them). For each: seconds
(wall) and bytes that crossed the network. The log's size does not depend on the scale
of the election: one leaf per corte, whatever its actas.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from difusor import testigo as testigos
from difusor.cliente import Origen
from difusor.cliente import ssl_context
from prep.crypto import SigningKey
from prep.transparencia.entrada import Entrada
from tests.difusor.origen import OrigenHttps
from tests.difusor.origen import identidad
from tests.difusor.registro_cortes import RegistroPublicado


def _agregar(registro: RegistroPublicado, inicio: datetime, k: int) -> tuple[str, str]:
    cuando = inicio + timedelta(minutes=5 * k)
    nombre, manifiesto = cuando.strftime("%Y%m%d_%H%M"), f"{k:064x}"
    registro.agregar(nombre, cuando, manifiesto)
    return nombre, manifiesto


def _medir(origen: Origen, registro: RegistroPublicado, testigo: testigos.Testigo,
           corte: tuple[str, str], llave: SigningKey) -> tuple[float, int]:
    antes, empezo = origen.bytes_red, time.perf_counter()
    comprobado = testigos.comprobar(origen, registro.key.public, *corte, testigo, "-")
    assert comprobado is not None
    testigos.aceptar(testigo, comprobado, ("difusor-bench", llave))
    return time.perf_counter() - empezo, origen.bytes_red - antes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cortes", type=int, default=288)
    parser.add_argument("--rondas", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-testigo-") as tmp:
        base = Path(tmp)
        publicacion = base / "publicacion"
        registro = RegistroPublicado(publicacion, SigningKey.generate(), "prep-09-bench")
        inicio = datetime(2027, 6, 7, 1, 0, tzinfo=UTC)
        for k in range(args.cortes):
            registro.entradas.append(Entrada(*_desde(inicio, k)))
        registro.escribir()
        ultimo = (registro.entradas[-1].nombre, registro.entradas[-1].manifiesto)
        identity = identidad(base / "tls")
        servidor = OrigenHttps(publicacion, identity)
        try:
            origen = Origen(servidor.url, ssl_context(identity.cert_file), 30.0)
            testigo, llave = testigos.Testigo(), SigningKey.generate()
            primera = _medir(origen, registro, testigo, ultimo, llave)
            rondas = []
            for k in range(args.cortes, args.cortes + args.rondas):
                corte = _agregar(registro, inicio, k)
                rondas.append(_medir(origen, registro, testigo, corte, llave))
            origen.close_all()
        finally:
            servidor.stop()
    print(json.dumps({
        "bench": "testigo", "cortes": args.cortes, "rondas": args.rondas,
        "primera": {"segundos": round(primera[0], 3), "bytes": primera[1]},
        "por_corte": {"segundos_mediana": round(statistics.median(r[0] for r in rondas), 4),
                      "segundos_max": round(max(r[0] for r in rondas), 4),
                      "bytes_mediana": int(statistics.median(r[1] for r in rondas))},
        "maquina": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "carga": os.getloadavg()[0]}}))
    return 0


def _desde(inicio: datetime, k: int) -> tuple[str, str, str]:
    cuando = inicio + timedelta(minutes=5 * k)
    return (cuando.strftime("%Y%m%d_%H%M"), cuando.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
            f"{k:064x}")


if __name__ == "__main__":
    sys.exit(main())
