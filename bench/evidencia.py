"""Benchmark: the auditor's evidence package of a whole night (issue 32).

Fills an embedded PostgreSQL with the generated catalog (``--scale``) and the drill's
simulated states with their images, publishes ``--cortes`` cortes with the central's
key, then times:

- ``evidencia_seconds``: ``write_evidencia`` (one snapshot; verify-corte of every corte
  on the publication, images hashed once thanks to the shared cache; the audit log, the
  catalog, signing);
- ``verificar_seconds``: ``prep auditoria verificar`` of the package alone;
- ``verificar_publicacion_seconds``: the same with ``--publicacion`` (verify-corte of
  every corte again, on the auditor's side).

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import time as dtime
from pathlib import Path

from central.audit.evidencia import Fuentes
from central.audit.evidencia import write_evidencia
from central.db import make_engine
from central.node.config import DataDir
from central.node.config import initialize
from central.publication.corte import A_PEDIDO
from central.publication.corte import CorteSettings
from central.publication.corte import make_corte
from prep.auditoria.verificar import verificar
from prep.catalog import generate_catalog
from prep.rules import DEFAULT_RULES
from prep.sintetico.capturas import simulate
from tests.harness.corte_data import day_after
from tests.harness.corte_data import prepare_database
from tests.harness.corte_data import write_states
from tests.harness.postgres import embedded_server
from tests.harness.postgres import temporary_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--cortes", type=int, default=6)
    parser.add_argument("--seed", type=int, default=2027)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-evidencia-") as tmp, \
            embedded_server(Path(tmp)) as admin_dsn, \
            temporary_database(admin_dsn, "bench_evidencia") as dsn:
        root = Path(tmp)
        data_dir = DataDir(root / "central")
        identity, _ = initialize(data_dir)
        catalog = generate_catalog(args.seed, args.scale)
        prepare_database(dsn, catalog)
        corte = day_after(catalog, dtime(8, 0))
        write_states(dsn, catalog, simulate(catalog, args.seed, corte, pendientes=0.02),
                     blobs=data_dir.blobs)
        engine = make_engine(dsn, pool_size=2)
        publicacion = root / "publicacion"
        settings = CorteSettings(publicacion, data_dir.blobs)
        for _ in range(args.cortes):
            make_corte(engine, identity.key, settings, motivo=A_PEDIDO, actor="bench")
        started = time.perf_counter()
        done = write_evidencia(engine, identity, data_dir, root / "evidencia", Fuentes(
            publicacion, None, DEFAULT_RULES, None, dsn), actor="bench")
        evidencia_seconds = time.perf_counter() - started
        engine.dispose()
        huella = identity.key.public.fingerprint()
        started = time.perf_counter()
        alone = verificar(done.directorio, huella)
        verificar_seconds = time.perf_counter() - started
        started = time.perf_counter()
        full = verificar(done.directorio, huella, publicacion)
        full_seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in done.directorio.rglob("*") if p.is_file())
        print(json.dumps({
            "benchmark": "evidencia", "scale": args.scale, "actas": catalog.total_actas,
            "cortes": done.cortes, "cortes_no_validos": done.cortes_no_validos,
            "eventos": done.eventos, "archivos": done.archivos,
            "paquete_mb": round(size / 2**20, 2),
            "evidencia_seconds": round(evidencia_seconds, 2),
            "verificar_seconds": round(verificar_seconds, 2),
            "verificar_publicacion_seconds": round(full_seconds, 2),
            "integro": alone.ok and full.ok, "hallazgos": len(full.hallazgos),
            "python": platform.python_version(), "cpus": os.cpu_count()}))


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.evidencia", main))
