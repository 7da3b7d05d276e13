"""The signed index of the published cortes that *difusores* follow (docs/difusores.md).

::

    publicacion/
      indice.json        {"formato": 1, "llave": <Ed25519 public key, base64>,
                          "generado": <UTC>, "cortes": [{"nombre", "hora",
                          "manifiesto_sha256", "manifiesto_bytes", "bytes", "archivos",
                          "anterior", "bitacora"}, …], "bitacora": {"eventos", "id", "sha256"}}
      indice.json.sig    Ed25519 signature of indice.json's exact bytes (64 raw bytes)

It lists every complete corte directory (one with a signed manifest) in publication
order, oldest first, the last :data:`MAX_CORTES` of them. A corte directory never
changes once published, so its entry is computed once and carried over from the previous
index; each corte costs one read of its manifest and a ``stat`` per file. Both files are
replaced by a rename, the index first: a reader holding the old signature for a moment
sees a mismatch and retries on its next poll, never an unsigned index accepted.

``bitacora`` (issue 62): the audit chain's head each corte's signed manifest carries
(:mod:`prep.cadena`), and at the top the latest one: a rewrite of the chain in the
database contradicts what the index already published.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from prep import cadena
from prep.corte.anexo import TZ
from prep.corte.package import MANIFEST
from prep.crypto import SigningKey
from prep.durable import fsync_dir
from prep.durable import write_synced

log = logging.getLogger("central.publication")

INDICE = "indice.json"
INDICE_FIRMA = INDICE + ".sig"
FORMATO = 1
#: Enough for four days of cortes every five minutes; a difusor follows the last one.
MAX_CORTES = 1000
_NOMBRE = re.compile(r"([0-9]{8})_([0-9]{4})(?:_([0-9]+))?")  # ASCII digits only
_LINE = re.compile(r"([0-9a-f]{64})  (\S.*)")


def orden(nombre: str) -> tuple[str, str, int] | None:
    """The sort key of a corte directory name (``YYYYMMDD_HHMM[_n]``), ``None`` for
    any other name."""
    match = _NOMBRE.fullmatch(nombre)
    if match is None:
        return None
    return match.group(1), match.group(2), int(match.group(3) or 1)


def actualizar_indice(publicacion: Path, key: SigningKey) -> dict[str, Any]:
    """Write ``indice.json`` and its signature for the cortes now in ``publicacion``;
    the index written."""
    previas = _previas(publicacion / INDICE)
    nombres = sorted((n for n in os.listdir(publicacion) if orden(n) is not None
                      and (publicacion / n / MANIFEST).is_file()
                      and (publicacion / n / f"{MANIFEST}.sig").is_file()),
                     key=lambda n: orden(n) or ("", "", 0))[-MAX_CORTES:]
    cortes: list[dict[str, Any]] = []
    anterior: str | None = None
    for nombre in nombres:
        entrada = previas.get(nombre) or _entrada(publicacion / nombre)
        cortes.append({**entrada, "anterior": anterior})
        anterior = nombre
    indice = {"formato": FORMATO, "llave": key.public.b64(),
              "generado": datetime.now(UTC).isoformat(timespec="seconds"),
              "cortes": cortes}
    # The audit chain's head of the latest corte that carries one (issue 62): what a
    # rewrite of the chain would contradict, signed and mirrored by every difusor.
    cabezas = [c["bitacora"] for c in cortes if c.get("bitacora") is not None]
    if cabezas:
        indice["bitacora"] = cabezas[-1]
    data = json.dumps(indice, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
    _replace(publicacion, INDICE, data)
    _replace(publicacion, INDICE_FIRMA, key.sign(data))
    fsync_dir(publicacion)
    return indice


def publicar_indice(publicacion: Path, key: SigningKey) -> None:
    """:func:`actualizar_indice` after a corte: the corte is already published and
    recorded, so a failure here is logged, not raised; the next corte writes the index
    again with every corte on disk."""
    try:
        actualizar_indice(publicacion, key)
    except (OSError, ValueError) as exc:
        log.error("no se pudo actualizar el índice firmado para los difusores (%s): %s",
                  INDICE, exc)


def _previas(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_bytes())
        return {c["nombre"]: {k: v for k, v in c.items() if k != "anterior"}
                for c in data["cortes"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _entrada(directorio: Path) -> dict[str, Any]:
    manifest = (directorio / MANIFEST).read_bytes()
    total, archivos = len(manifest) + (directorio / f"{MANIFEST}.sig").stat().st_size, 2
    for line in manifest.decode("utf-8").splitlines():
        match = _LINE.fullmatch(line)
        if match is None:
            continue  # the drill's SIMULACRO line
        try:
            total += os.stat(directorio / match.group(2)).st_size
        except OSError:
            continue  # listed but missing: verify-corte says so; the size cannot count it
        archivos += 1
    key = orden(directorio.name)
    assert key is not None
    local = datetime.strptime(key[0] + key[1], "%Y%m%d%H%M").replace(tzinfo=TZ)
    cabeza = cadena.de_manifiesto(manifest)
    return {"nombre": directorio.name, "hora": local.isoformat(),
            "manifiesto_sha256": hashlib.sha256(manifest).hexdigest(),
            "manifiesto_bytes": len(manifest),  # a difusor reads no more of it (issue 62)
            "bytes": total, "archivos": archivos,
            **({"bitacora": cabeza.to_json()} if cabeza is not None else {})}


def _replace(directory: Path, name: str, data: bytes) -> None:
    tmp = directory / f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    write_synced(tmp, data)
    os.replace(tmp, directory / name)
