"""Benchmark: what a difusor fetches per corte (issue 30).

Two consecutive cortes of the simulated election (``--scale``; above 1 the CDMX-like
catalog repeated, as ``bench.corte_db``), published by the central's packager without a
database, five minutes apart; between them ``--nuevas`` of the actas with data were
published for the first time (the rest are the same). A difusor holding the first corte
fetches, for the second, every file whose SHA-256 it does not hold: that is measured
from the two signed manifests (``bytes_nuevos_sin_imagenes``, the new manifest
included; ``bytes_nuevos_gzip``, those files as the shipped nginx configuration sends
them), plus the new acta images
(``imagenes_nuevas``; their bytes at ``--imagen-kb`` each, an assumed average scan,
are ``bytes_estimados_imagenes``). With ``--difusor`` (small scales) the images are
published too (small synthetic ones) and a real difusor follows both cortes over HTTPS
on loopback: ``difusor`` is what it says it fetched.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import time as dtime
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.corte_db import scaled_catalog
from central.publication.feed import actualizar_indice
from central.publication.publicar import publish
from central.publication.snapshot import Imagen
from central.publication.snapshot import Snapshot
from prep.corte.model import ActaEnCorte
from prep.crypto import SigningKey
from prep.sintetico.capturas import simulate
from tests.harness.corte_data import day_after
from tests.harness.corte_data import image_bytes
from tests.harness.corte_data import image_sha256

MANIFEST = "MANIFIESTO.sha256"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--nuevas", type=float, default=0.01,
                        help="share of the actas with data first published by the second "
                             "corte (default 0.01)")
    parser.add_argument("--imagen-kb", type=float, default=300.0)
    parser.add_argument("--difusor", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-difusor-") as tmp:
        print(json.dumps(_run(args, Path(tmp))))


def _run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    key = SigningKey.generate()
    catalog = scaled_catalog(args.seed, args.scale)
    hora = day_after(catalog, dtime(1, 0))
    estado = simulate(catalog, args.seed, hora, pendientes=0.02).estado
    con_datos = sorted(c for c, e in estado.items() if e.captura is not None)
    nuevas = set(con_datos[:: max(1, round(1 / args.nuevas))]) if args.nuevas else set()
    blobs = tmp / "blobs" if args.difusor else None
    imagenes: dict[str, Imagen] = {}
    for clave in con_datos:
        sha = image_sha256(clave)
        if blobs is not None:
            (blobs / sha[:2]).mkdir(parents=True, exist_ok=True)
            (blobs / sha[:2] / sha[2:]).write_bytes(image_bytes(clave))
        estado[clave] = replace(estado[clave], sha256=sha)
        imagenes[clave] = Imagen(sha, "image/png")
    antes = {c: (ActaEnCorte(c) if c in nuevas else e) for c, e in estado.items()}
    publicacion = tmp / "publicacion"
    started = time.perf_counter()
    primero = publish(publicacion, Snapshot(hora, 1, catalog, antes, (), {
        c: i for c, i in imagenes.items() if c not in nuevas}), key, blobs=blobs,
        anterior=None)
    actualizar_indice(publicacion, key)
    primero_s = time.perf_counter() - started
    difusor = _Difusor(tmp, publicacion, key) if args.difusor else None
    if difusor is not None:
        difusor.seguir()
    segundo = publish(publicacion, Snapshot(hora + timedelta(minutes=5), 1, catalog, estado,
                                            (), imagenes), key, blobs=blobs,
                      anterior=primero.path)
    actualizar_indice(publicacion, key)
    if difusor is not None:
        difusor.seguir()
    viejo, nuevo = _manifest(primero.path), _manifest(segundo.path)
    tenidos = set(viejo.values())
    cambiados = [rel for rel, digest in nuevo.items() if digest not in tenidos]
    sin_imagenes = [rel for rel in cambiados if not rel.startswith("imagenes/")]
    result: dict[str, Any] = {
        "bench": "difusor_bytes", "scale": args.scale, "actas": catalog.total_actas,
        "actas_con_datos": len(con_datos), "nuevas": len(nuevas),
        "corte_segundos": round(primero_s, 1),
        "corte_bytes_sin_imagenes": _bytes(segundo.path, [r for r in nuevo
                                                          if not r.startswith("imagenes/")]),
        "archivos": len(nuevo) + 2,
        "archivos_nuevos_sin_imagenes": len(sin_imagenes),
        "bytes_nuevos_sin_imagenes": _bytes(segundo.path, sin_imagenes)
        + (segundo.path / MANIFEST).stat().st_size + 64,
        "bytes_nuevos_gzip": _gzip_bytes(segundo.path, sin_imagenes),
        "por_archivo": _mayores(segundo.path, sin_imagenes),
        "imagenes_nuevas": len(nuevas),
        "bytes_estimados_imagenes": round(len(nuevas) * args.imagen_kb * 1024),
        "imagen_kb": args.imagen_kb, "python": platform.python_version(),
        "date": datetime.now(UTC).isoformat(timespec="seconds")}
    if difusor is not None:
        result["difusor"] = difusor.descargas()
    return result


class _Difusor:
    """A real difusor following ``publicacion`` over HTTPS on loopback."""

    def __init__(self, tmp: Path, publicacion: Path, key: SigningKey) -> None:
        from difusor.config import Config
        from tests.difusor.origen import OrigenHttps
        from tests.difusor.origen import identidad

        identity = identidad(tmp / "tls")
        self.origen = OrigenHttps(publicacion, identity)
        self.config = Config(origenes=(self.origen.url,), huella=key.public.fingerprint(),
                             raiz=tmp / "www", ca=identity.cert_file)
        self.datos = tmp / "datos"

    def seguir(self) -> None:
        from difusor.seguir import consultar

        hecho = consultar(self.config, self.datos)
        assert hecho.ok, hecho.mensaje

    def descargas(self) -> dict[str, Any]:
        from difusor.estado import cargar

        self.origen.stop()
        return cargar(self.datos).descargas


def _manifest(corte: Path) -> dict[str, str]:
    lines = (corte / MANIFEST).read_text(encoding="utf-8").splitlines()
    return {line[66:]: line[:64] for line in lines
            if len(line) > 66 and not line.startswith("#")}


def _bytes(corte: Path, rels: list[str]) -> int:
    return sum((corte / rel).stat().st_size for rel in rels)


def _gzip_bytes(corte: Path, rels: list[str]) -> int:
    """What ``rels`` weigh through the shipped nginx configuration (gzip level 1 on text
    of 1 KB or more; the zip as it is)."""
    total = 0
    for rel in rels:
        data = (corte / rel).read_bytes()
        text = rel.rsplit(".", 1)[-1] in ("csv", "json", "txt", "js", "css", "html", "svg")
        total += len(gzip.compress(data, 1)) if text and len(data) >= 1024 else len(data)
    return total


def _mayores(corte: Path, rels: list[str]) -> dict[str, int]:
    """Bytes of the new files by kind (top-level file, or the site's folders)."""
    kinds: dict[str, int] = {}
    for rel in rels:
        parts = rel.split("/")
        kind = "/".join(parts[:2]) + "/" if len(parts) > 2 else rel
        kinds[kind] = kinds.get(kind, 0) + (corte / rel).stat().st_size
    return dict(sorted(kinds.items(), key=lambda kv: -kv[1])[:12])


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.difusor_bytes", main))
