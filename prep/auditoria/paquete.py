"""The evidence package: a directory of files, an index naming each (path, SHA-256,
bytes) and the index's Ed25519 signature by the central's key.

Layout (paths relative to the package)::

    INDICE.json                  the signed index (this module)
    INDICE.json.sig              base64 Ed25519 signature of INDICE.json's bytes
    RESUMEN.txt                  what the central found, in Spanish
    compilacion/huella.json      the central's own build: fingerprint, origin, problems
    compilacion/build-manifest.sha256   the manifest that fingerprint is the SHA-256 of
    compilacion/auditadas.json   the audited list (prep central audited-build list)
    estaciones.json              each station's last reported build, audited or not
    bitacora/eventos.jsonl       every audit-log row, oldest first
    bitacora/verificacion.json   verify-audit at the central
    cortes/cortes.json           every corte row and verify-corte's verdict at the central
    cortes/<corte>/…             its MANIFIESTO.sha256, .sig and verify-corte's report
    ceros/…                      the puesta en ceros certificate (PDF, .json, .sig) and
                                 the audit event that recorded it
    anomalias.json               every anomaly
    catalogo/versiones.json      catalog versions; catalogo/v<N>/ the files of each
    configuracion.json           the node's configuration, without secrets

The index is JSON written once and signed as written; the reader verifies those exact
bytes, so its spelling need not be canonical.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prep.crypto import SigningKey
from prep.crypto import b64encode
from prep.filehash import sha256_file

INDICE = "INDICE.json"
FIRMA = INDICE + ".sig"
TIPO = "evidencia_auditoria_prep"
FORMATO = 1
RESUMEN = "RESUMEN.txt"
HUELLA = "compilacion/huella.json"
MANIFIESTO_BUILD = "compilacion/build-manifest.sha256"
AUDITADAS = "compilacion/auditadas.json"
ESTACIONES = "estaciones.json"
BITACORA = "bitacora/eventos.jsonl"
BITACORA_VERIFICACION = "bitacora/verificacion.json"
CORTES = "cortes/cortes.json"
CORTES_DIR = "cortes"
CEROS_DIR = "ceros"
CEROS_EVENTO = "ceros/evento.json"
CEROS_PDF = "ceros/constancia.pdf"
ANOMALIAS = "anomalias.json"
CATALOGO = "catalogo/versiones.json"
CONFIGURACION = "configuracion.json"
#: The audit event each ``serve`` start writes after checking its own build.
EVENTO_ARRANQUE = "central_build_checked"
EVENTO_CEROS = "puesta_en_ceros_certified"


def walk(directory: Path) -> Iterator[tuple[str, Path]]:
    """(POSIX path relative to ``directory``, path) of every file under it, sorted;
    symbolic links are reported as files so a reader sees them (and refuses them)."""
    found: list[tuple[str, Path]] = []
    for base, dirs, files in os.walk(directory):
        dirs.sort()
        for name in files + [d for d in dirs if Path(base, d).is_symlink()]:
            path = Path(base, name)
            found.append((path.relative_to(directory).as_posix(), path))
    yield from sorted(found)


def write_json(path: Path, value: Any) -> None:
    """A package file: indented UTF-8 JSON, keys sorted, one trailing newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                    encoding="utf-8")


def sign_package(directory: Path, key: SigningKey, meta: dict[str, Any]) -> str:
    """Index every file of ``directory`` and sign the index with ``key``; returns the
    index's SHA-256. ``meta`` (node, time, …) goes into the index as given."""
    archivos = []
    for name, path in walk(directory):
        if name in (INDICE, FIRMA):
            continue
        archivos.append({"nombre": name, "sha256": sha256_file(path),
                         "bytes": path.stat().st_size})
    indice = {"paquete": TIPO, "formato": FORMATO, **meta,
              "llave_central_publica": key.public.b64(),
              "llave_central_sha256": key.public.fingerprint(), "archivos": archivos}
    body = (json.dumps(indice, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    (directory / INDICE).write_bytes(body)
    (directory / FIRMA).write_text(b64encode(key.sign(body)) + "\n", encoding="ascii")
    return hashlib.sha256(body).hexdigest()
