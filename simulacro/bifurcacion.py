"""The drill's forged history of cortes (issue 67): what someone holding the institute's
key would serve one difusor to rewrite the past unseen (a *split view*), built from the
publication as it is now (:func:`forjar`).

The forged publication, served to one difusor instead of the genuine files
(:meth:`simulacro.origen.Origen.alterar`, ``bifurcacion``):

- ``<corte>/``: a past corte replaced: its files hard-linked, a notice added and listed
  in its manifest, the manifest signed again with the institute's key. It verifies with
  ``prep verify-corte`` like any corte: only the log tells it apart;
- ``transparencia/``: the whole log of cortes rebuilt with that corte's new manifest at
  its leaf: entries, inclusion and consistency proofs, every checkpoint signed with the
  institute's key;
- ``indice.json`` and its signature: the signed index naming the new manifest, signed
  again.

The drill reads files only (it imports no ``central`` code): the index, the log and the
corte, as a difusor does, and the central's key from its data directory.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path

from prep.corte.simulacro import LINEA_MANIFIESTO
from prep.corte.simulacro import PREFIJO
from prep.crypto import SigningKey
from prep.transparencia import nota
from prep.transparencia.entrada import Entrada
from prep.transparencia.entrada import leer_entrada
from prep.transparencia.merkle import prueba_consistencia
from prep.transparencia.merkle import prueba_inclusion
from prep.transparencia.merkle import raiz
from simulacro.origen import INDICE
from simulacro.origen import INDICE_FIRMA

MANIFEST = "MANIFIESTO.sha256"
AVISO = "AVISO_SIMULACRO.txt"
TRANSPARENCIA = "transparencia"
#: What the replaced corte adds (after SIMULACRO's prefix in a drill's corte, as every
#: text file of one).
TEXTO_AVISO = ("este corte reemplaza al publicado con el mismo nombre.\nLo forjó el "
               "simulacro con la llave del instituto para probar que los difusores, "
               "testigos del registro público de cortes, lo rechazan (docs/simulacro.md).\n")


@dataclass(frozen=True)
class Bifurcada:
    """A forged history: where it is, the corte replaced and the forged log's head."""

    dir: Path  # the forged publication (what the origin serves one difusor)
    corte: str  # the corte replaced
    hoja: int  # its leaf in the log
    tamano: int  # the forged log's size
    raiz: bytes  # its root
    manifiesto: str  # the replaced corte's new manifest SHA-256
    checkpoint: Path  # the forged signed checkpoint (as a party would keep it)

    @property
    def raiz_b64(self) -> str:
        return base64.b64encode(self.raiz).decode()


class ForjaError(RuntimeError):
    """The publication does not have what the forgery needs (Spanish text)."""


def forjar(publicacion: Path, destino: Path, llave: SigningKey, corte: str) -> Bifurcada:
    """Forge, in ``destino`` (replaced), the history of ``publicacion`` with ``corte``
    replaced, signed with ``llave`` (the institute's)."""
    # The index first, then the log: the central writes the log before the index, so
    # the log read second includes every corte the index names.
    indice = json.loads((publicacion / INDICE).read_bytes())
    genuina = nota.checkpoint(nota.leer((publicacion / TRANSPARENCIA / "checkpoint")
                                        .read_bytes()))
    entradas = [leer_entrada((publicacion / TRANSPARENCIA / "entradas" / str(i)).read_bytes())
                for i in range(genuina.tamano)]
    hoja = next((i for i, e in enumerate(entradas) if e.nombre == corte), None)
    if hoja is None:
        raise ForjaError(f"el corte {corte} no está en el registro de {genuina.tamano} cortes")
    if destino.exists():
        shutil.rmtree(destino)
    destino.mkdir(parents=True)
    manifiesto, aviso = _reemplazar(publicacion / corte, destino / corte, llave)
    entradas[hoja] = Entrada(corte, entradas[hoja].hora, manifiesto)
    cabeza = _registro(destino / TRANSPARENCIA, genuina.origen, entradas, llave)
    _indice(indice, destino, corte, (manifiesto, aviso), llave)
    hojas = [e.hash() for e in entradas]
    return Bifurcada(destino, corte, hoja, len(entradas), raiz(hojas), manifiesto, cabeza)


def _reemplazar(genuino: Path, forjado: Path, llave: SigningKey) -> tuple[str, int]:
    """The corte with the notice listed in its manifest, signed again; the new
    manifest's SHA-256 and the notice's bytes."""
    shutil.copytree(genuino, forjado, symlinks=True, copy_function=os.link)
    manifest = (genuino / MANIFEST).read_bytes()
    drill = manifest.split(b"\n", 1)[0].decode("utf-8", "replace") == LINEA_MANIFIESTO
    aviso = _aviso(drill)
    (forjado / AVISO).write_bytes(aviso)
    manifest += f"{hashlib.sha256(aviso).hexdigest()}  {AVISO}\n".encode()
    for nombre, datos in ((MANIFEST, manifest), (f"{MANIFEST}.sig", llave.sign(manifest))):
        (forjado / nombre).unlink()  # a hard link to the genuine corte's file
        (forjado / nombre).write_bytes(datos)
    return hashlib.sha256(manifest).hexdigest(), len(aviso)


def _aviso(drill: bool) -> bytes:
    return ((PREFIJO if drill else "") + TEXTO_AVISO).encode()


def _registro(directorio: Path, origen: str, entradas: list[Entrada],
              llave: SigningKey) -> Path:
    """Every file of the log of ``entradas`` (the layout of docs/publicacion.md); the
    latest checkpoint's path."""
    hojas = [e.hash() for e in entradas]
    for sub in ("checkpoints", "entradas", "pruebas/inclusion", "pruebas/consistencia"):
        (directorio / sub).mkdir(parents=True, exist_ok=True)
    (directorio / "llave").write_text(nota.llave_texto(origen, llave.public) + "\n",
                                      encoding="ascii")
    firmado = b""
    for i, entrada in enumerate(entradas):
        n = i + 1
        (directorio / "entradas" / str(i)).write_bytes(entrada.datos())
        (directorio / "pruebas/inclusion" / str(i)).write_bytes(
            _lineas(prueba_inclusion(i, hojas[:n])))
        if n >= 2:
            (directorio / "pruebas/consistencia" / str(n)).write_bytes(
                _lineas(prueba_consistencia(n - 1, hojas[:n])))
        cp = nota.Checkpoint(origen, n, raiz(hojas[:n]))
        firmado = nota.firmar(cp.texto(), origen, llave).codificar()
        (directorio / "checkpoints" / str(n)).write_bytes(firmado)
    (directorio / "checkpoint").write_bytes(firmado)
    return directorio / "checkpoint"


def _indice(indice: dict[str, object], destino: Path, corte: str,
            nuevo: tuple[str, int], llave: SigningKey) -> None:
    """The signed index naming the replaced corte's manifest (SHA-256, and the notice's
    bytes it added), signed again."""
    manifiesto, aviso = nuevo
    linea = len(f"{'0' * 64}  {AVISO}\n")  # the manifest's new line
    cortes = indice.get("cortes")
    assert isinstance(cortes, list)
    for entrada in cortes:
        if entrada.get("nombre") == corte:
            entrada["manifiesto_sha256"] = manifiesto
            entrada["manifiesto_bytes"] = int(entrada.get("manifiesto_bytes", 0)) + linea
            entrada["bytes"] = int(entrada.get("bytes", 0)) + linea + aviso
            entrada["archivos"] = int(entrada.get("archivos", 0)) + 1
    indice["generado"] = datetime.now(UTC).isoformat(timespec="seconds")
    data = json.dumps(indice, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
    (destino / INDICE).write_bytes(data)
    (destino / INDICE_FIRMA).write_bytes(llave.sign(data))


def _lineas(prueba: list[bytes]) -> bytes:
    return b"".join(base64.b64encode(h) + b"\n" for h in prueba)
