"""The public log of cortes (issue 67) beside a test publication of site-only cortes:
what a real publication always has next to its cortes (``transparencia/`` and each corte's
``MANIFIESTO.sha256`` and ``llave_publica.pem``), in the published formats, written with
:mod:`prep.transparencia` (docs/publicacion.md, «Registro público de cortes»)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from prep.corte.nombres import MANIFEST
from prep.corte.nombres import PUBLIC_KEY
from prep.corte.package import manifest
from prep.crypto import SigningKey
from prep.transparencia import merkle
from prep.transparencia import nota
from prep.transparencia.entrada import Entrada

ORIGEN = "prep-09-2027-06-06-simulacro"
#: The central's key of these tests' publications.
LLAVE = SigningKey.from_raw(bytes([7]) * 32)


def _pem(key: SigningKey) -> bytes:
    public = Ed25519PublicKey.from_public_bytes(key.public.raw())
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo)


def _lineas(hashes: Sequence[bytes]) -> bytes:
    return b"".join(base64.b64encode(h) + b"\n" for h in hashes)


def publicar_registro(publicacion: Path, cortes: Sequence[str],
                      key: SigningKey = LLAVE) -> None:
    """Sign each corte directory of ``publicacion`` (its manifest and key) and write the
    log of ``cortes`` (in publication order) under ``publicacion/transparencia/``, with
    the central's signature only (no witness cosigned yet)."""
    t = publicacion / "transparencia"
    for sub in ("checkpoints", "entradas", "pruebas/inclusion", "cofirmas"):
        (t / sub).mkdir(parents=True, exist_ok=True)
    hojas: list[bytes] = []
    firmado = b""
    for i, nombre in enumerate(cortes):
        directorio = publicacion / nombre
        (directorio / PUBLIC_KEY).write_bytes(_pem(key))
        archivos = {str(p.relative_to(directorio)): p.read_bytes()
                    for p in sorted(directorio.rglob("*")) if p.is_file()}
        (directorio / MANIFEST).write_bytes(manifest(archivos))
        entrada = Entrada(nombre, "2027-06-07T05:05:00.000000Z",
                          hashlib.sha256((directorio / MANIFEST).read_bytes()).hexdigest())
        hojas.append(entrada.hash())
        (t / "entradas" / str(i)).write_bytes(entrada.datos())
        (t / "pruebas/inclusion" / str(i)).write_bytes(
            _lineas(merkle.prueba_inclusion(i, hojas)))
        cp = nota.Checkpoint(ORIGEN, i + 1, merkle.raiz(hojas))
        firmado = nota.firmar(cp.texto(), ORIGEN, key).codificar()
        (t / "checkpoints" / str(i + 1)).write_bytes(firmado)
        (t / "cofirmas" / str(i + 1)).write_bytes(firmado)
    (t / "checkpoint").write_bytes(firmado)
