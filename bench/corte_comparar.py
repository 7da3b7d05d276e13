"""Compare two ``bench.corte_ref`` outputs (or any two corte trees) file by file,
ignoring only what follows the wall clock of the run that made them::

    python3 -m bench.corte_comparar /tmp/out-a /tmp/out-b

``bench.corte_ref`` fixes the database's ``now()`` and the signing key, but the audit
chain's events are stamped by the central's own clock (``central.audit.audit``), so the
``# BITACORA`` head a corte's manifest carries (issue 62) differs from one run to the
next once a corte has been made in the run (corte2 carries corte1's events). What it
changes, and nothing else, is skipped:

- the ``# BITACORA`` line of each ``MANIFIESTO.sha256`` (every other line, with every
  file's SHA-256, is compared);
- the signatures (``*.sig``), which sign that manifest or that index;
- in each ``indice.json``, the keys ``generado``, ``manifiesto_sha256`` and ``sha256``
  (hashes of the manifests above);
- the transparency log under ``publicacion*/transparencia/`` (issue 63): each entry
  holds its manifest's SHA-256, so the tree heads, proofs, checkpoints and cosignatures
  follow the ``# BITACORA`` line too. It is compared structurally: the same files (the
  path sets), each of the same size, and each entry (``entradas/<n>``) with the same
  lines but its ``manifiesto`` hash (the manifest itself is compared above).

Every other file must be byte-identical, and both trees must hold the same paths
(symbolic links compared by target). One JSON line: files compared, the differing paths
(at most 20) and their count; exit 1 if any differs.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import sys
from pathlib import Path
from typing import Any

_RELOJ_INDICE = frozenset({"generado", "manifiesto_sha256", "sha256"})
_BITACORA = "# BITACORA"
_TRANSPARENCIA = "transparencia"
_MANIFIESTO_ENTRADA = "manifiesto "


def rutas(raiz: Path) -> set[str]:
    """Every file and symbolic link under ``raiz``, relative to it."""
    out: set[str] = set()
    for carpeta, dirs, files in os.walk(raiz):
        for nombre in files + [d for d in dirs if os.path.islink(os.path.join(carpeta, d))]:
            out.add(os.path.relpath(os.path.join(carpeta, nombre), raiz))
    return out


def _sin_reloj(valor: Any) -> Any:
    if isinstance(valor, dict):
        return {k: _sin_reloj(v) for k, v in valor.items() if k not in _RELOJ_INDICE}
    if isinstance(valor, list):
        return [_sin_reloj(v) for v in valor]
    return valor


def en_transparencia(ruta: str) -> bool:
    """Whether ``ruta`` (relative to the compared tree) lies in a publication
    directory's transparency log."""
    partes = Path(ruta).parts
    return len(partes) > 2 and partes[0].startswith("publicacion") and partes[1] == _TRANSPARENCIA


def iguales_transparencia(a: Path, b: Path) -> bool:
    """The transparency log's structural comparison: same size, and an entry's lines
    the same but for its manifest's hash (which follows the run's clock)."""
    if a.stat().st_size != b.stat().st_size:
        return False
    if a.parent.name != "entradas":
        return True

    def lineas(p: Path) -> list[str]:
        return [x for x in p.read_text(encoding="utf-8").splitlines()
                if not x.startswith(_MANIFIESTO_ENTRADA)]
    return lineas(a) == lineas(b)


def iguales(a: Path, b: Path, *, transparencia: bool = False) -> bool:
    """Whether two files say the same once the run's clock is set aside
    (``transparencia``: the files are in a transparency log, compared structurally)."""
    if filecmp.cmp(a, b, shallow=False):
        return True
    if transparencia:
        return iguales_transparencia(a, b)
    if a.name.endswith(".sig"):
        return True
    if a.name == "MANIFIESTO.sha256":
        def lineas(p: Path) -> list[str]:
            return [x for x in p.read_text(encoding="utf-8").splitlines()
                    if not x.startswith(_BITACORA)]
        return lineas(a) == lineas(b)
    if a.name == "indice.json":
        ja, jb = json.loads(a.read_bytes()), json.loads(b.read_bytes())
        return bool(_sin_reloj(ja) == _sin_reloj(jb))
    return False


def comparar(a: Path, b: Path) -> dict[str, Any]:
    """The comparison's result: ``archivos`` compared, ``distintos`` (count) and the
    first 20 differing paths (missing on one side included)."""
    ra, rb = rutas(a), rutas(b)
    distintos = sorted(ra ^ rb)
    archivos = 0
    for ruta in sorted(ra & rb):
        pa, pb = a / ruta, b / ruta
        if pa.is_symlink() or pb.is_symlink():
            if not (pa.is_symlink() and pb.is_symlink()) or os.readlink(pa) != os.readlink(pb):
                distintos.append(ruta)
            continue
        archivos += 1
        if not iguales(pa, pb, transparencia=en_transparencia(ruta)):
            distintos.append(ruta)
    return {"benchmark": "corte_comparar", "a": str(a), "b": str(b), "archivos": archivos,
            "distintos": len(distintos), "primeros": sorted(distintos)[:20]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args()
    resultado = comparar(args.a, args.b)
    print(json.dumps(resultado, ensure_ascii=False))
    sys.exit(1 if resultado["distintos"] else 0)


if __name__ == "__main__":
    main()
