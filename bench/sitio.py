"""Benchmark: how many requests a difusor's nginx answers (issue 30).

One corte of the simulated election (``--scale``, small synthetic images) published by
the central's packager, served by Debian's nginx with installer/nginx/prep-difusor.conf
on loopback, loaded with ``wrk`` (Debian package ``wrk``) for ``--segundos`` per URL
with ``--conexiones`` connections: the pointer (``latest.txt``), the site's page, one of
its data files and an election CSV (gzip, as browsers ask), and an acta image. Prints
one JSON line: requests per second, bytes per second and latency percentiles per URL.
nginx and wrk share the machine: the numbers are a floor for a dedicated server.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from bench.corte_db import scaled_catalog
from central.publication.feed import actualizar_indice
from central.publication.package import publish
from central.publication.snapshot import Imagen, Snapshot
from prep.corte.anexo import TZ
from prep.crypto import SigningKey
from prep.sintetico.capturas import simulate
from tests.difusor.nginx import nginx_serving
from tests.difusor.origen import identidad
from tests.harness.corte_data import image_bytes, image_sha256

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--segundos", type=int, default=10)
    parser.add_argument("--conexiones", type=int, default=64)
    parser.add_argument("--hilos", type=int, default=2)
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("falta wrk: apt install wrk")
    with tempfile.TemporaryDirectory(prefix="bench-sitio-") as tmp:
        base = Path(tmp)
        corte = _corte(base, args.scale, args.seed)
        with nginx_serving(base / "publicacion", identidad(base / "tls"),
                           base / "nginx") as port:
            url = f"https://127.0.0.1:{port}"
            datos = sorted(p for p in (corte / "sitio" / "datos").rglob("*") if p.is_file())
            paths = {"latest.txt": "/latest.txt",
                     "sitio": f"/{corte.name}/sitio/index.html",
                     "sitio_datos": "/" + str(datos[0].relative_to(corte.parent)),
                     "csv": f"/{corte.name}/JEFATURA_DE_GOBIERNO.csv",
                     "imagen": "/" + str(next((corte / "imagenes").iterdir())
                                          .relative_to(corte.parent))}
            results = {name: _wrk(wrk, url + path, args) for name, path in paths.items()}
    print(json.dumps({"bench": "sitio", "scale": args.scale, "segundos": args.segundos,
                      "conexiones": args.conexiones, "hilos": args.hilos,
                      "cpus": os.cpu_count(), "python": platform.python_version(),
                      "date": datetime.now(UTC).isoformat(timespec="seconds"),
                      "urls": results}))


def _corte(base: Path, scale: float, seed: int) -> Path:
    key = SigningKey.generate()
    catalog = scaled_catalog(seed, scale)
    jornada = datetime.fromisoformat(catalog.fecha_eleccion).date()
    hora = datetime.combine(jornada + timedelta(days=1), dtime(1, 0), TZ).astimezone(UTC)
    estado = simulate(catalog, seed, hora, pendientes=0.02).estado
    blobs = base / "blobs"
    imagenes: dict[str, Imagen] = {}
    for clave, est in list(estado.items()):
        if est.captura is None:
            continue
        sha = image_sha256(clave)
        (blobs / sha[:2]).mkdir(parents=True, exist_ok=True)
        (blobs / sha[:2] / sha[2:]).write_bytes(image_bytes(clave))
        estado[clave] = replace(est, sha256=sha)
        imagenes[clave] = Imagen(sha, "image/png")
    publicacion = base / "publicacion"
    hecho = publish(publicacion, Snapshot(hora, 1, catalog, estado, (), imagenes), key,
                    blobs=blobs, anterior=None)
    actualizar_indice(publicacion, key)
    return hecho.path


def _wrk(wrk: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    done = subprocess.run([wrk, f"-t{args.hilos}", f"-c{args.conexiones}",
                           f"-d{args.segundos}s", "--latency", "-H",
                           "Accept-Encoding: gzip", url],
                          capture_output=True, text=True, check=True,
                          timeout=args.segundos + 60)
    out = done.stdout
    result: dict[str, Any] = {
        "peticiones_por_segundo": float(_find(r"Requests/sec:\s+([\d.]+)", out)),
        "bytes_por_segundo": _size(_find(r"Transfer/sec:\s+([\d.]+\w*)", out)),
        "errores": int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)",
                                                       out)) else 0}
    for pct in ("50", "99"):
        result[f"latencia_p{pct}_ms"] = _ms(_find(rf"\s{pct}%\s+([\d.]+\w+)", out))
    return result


def _find(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise SystemExit(f"salida de wrk inesperada:\n{text}")
    return match.group(1)


def _size(text: str) -> int:
    match = re.fullmatch(r"([\d.]+)([KMG]?)B?", text)
    assert match is not None, text
    return round(float(match.group(1)) * _UNITS[match.group(2)])


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    assert match is not None, text
    factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
    return round(float(match.group(1)) * factor, 3)


if __name__ == "__main__":
    main()
