"""The public log of cortes as the central keeps and publishes it (issue 67;
docs/publicacion.md, «Registro público de cortes»).

Each published corte is a leaf of an append-only Merkle tree (RFC 9162,
:mod:`prep.transparencia`): :func:`agregar` appends its row to ``registro_cortes`` in the
same transaction as its row in ``cortes`` (a promoted standby has the very same log), and
:func:`escribir` writes the static files from the database, after the corte's directory
is in place and before ``latest`` and ``indice.json`` move (whoever sees a corte finds a
checkpoint that includes it)::

    publicacion/transparencia/
      llave                        the central's verifier key for checkpoints
      checkpoint                   the latest signed checkpoint (replaced atomically)
      checkpoints/<n>              the signed checkpoint of size n (immutable)
      entradas/<i>                 leaf i's data (prep.transparencia.entrada; immutable)
      pruebas/inclusion/<i>        leaf i in the tree of size i + 1 (base64, one a line)
      pruebas/consistencia/<n>     size n - 1 is a prefix of size n (n >= 2)
      cofirmas/<n>                 checkpoint n with every cosignature received for it

Every file is a function of the database's rows (the signatures are Ed25519, which is
deterministic): a file that is missing (a new disk, a promoted standby) is written again
by the next corte, and one that exists is left alone except ``checkpoint`` and
``cofirmas/<n>``, which change.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.transparencia import Cofirma
from central.db.transparencia import RegistroCorte
from prep.catalog import Catalog
from prep.crypto import SigningKey
from prep.durable import fsync_dir
from prep.durable import write_synced
from prep.transparencia import merkle
from prep.transparencia import nota
from prep.transparencia.entrada import Entrada

log = logging.getLogger("central.publication")

TRANSPARENCIA = "transparencia"
LLAVE = "llave"
CHECKPOINT = "checkpoint"
CHECKPOINTS = "checkpoints"
ENTRADAS = "entradas"
INCLUSION = "pruebas/inclusion"
CONSISTENCIA = "pruebas/consistencia"
COFIRMAS = "cofirmas"


class RegistroError(RuntimeError):
    """The log in the database does not add up (a stored root that is not its leaves'
    root): nothing is published from it. Spanish text."""


def origen(catalog: Catalog, simulacro: bool) -> str:
    """The log's origin (the checkpoints' first line and the central's key name): the
    entity and the election's date, a drill's with ``-simulacro`` (a drill's checkpoints
    can never pass for a real night's)."""
    texto = f"prep-{catalog.entidad_id:02d}-{catalog.fecha_eleccion}"
    return texto + "-simulacro" if simulacro else texto


def hora(instante: datetime) -> str:
    """An entry's time: UTC to the microsecond (``prep.transparencia.entrada``)."""
    return instante.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def agregar(session: Session, nombre: str, instante: datetime,
            manifiesto_sha256: str) -> RegistroCorte:
    """Append corte ``nombre`` to the log, in ``session``'s transaction (the one that
    inserts its row in ``cortes``; the corte lock keeps cortes one at a time, and a
    trigger refuses an index that is not the next)."""
    hojas = list(session.scalars(select(RegistroCorte.hoja).order_by(RegistroCorte.indice)))
    entrada = Entrada(nombre, hora(instante), manifiesto_sha256)
    hojas.append(entrada.hash())
    fila = RegistroCorte(indice=len(hojas) - 1, corte=nombre, hora=entrada.hora,
                         manifiesto_sha256=manifiesto_sha256, hoja=hojas[-1],
                         raiz=merkle.raiz(hojas))
    session.add(fila)
    session.flush()
    return fila


def escribir(publicacion: Path, engine: Engine, key: SigningKey, origen_: str) -> int:
    """Write ``publicacion/transparencia/`` for the log the database holds; its size.
    Raises :class:`RegistroError` (and writes nothing) when the stored roots are not
    the leaves' roots, ``OSError`` when the disk fails."""
    with Session(engine) as session:
        filas = session.execute(select(
            RegistroCorte.indice, RegistroCorte.corte, RegistroCorte.hora,
            RegistroCorte.manifiesto_sha256, RegistroCorte.hoja, RegistroCorte.raiz)
            .order_by(RegistroCorte.indice)).all()
        cofirmas = session.execute(select(Cofirma.tamano, Cofirma.difusor, Cofirma.linea)
                                   .order_by(Cofirma.tamano, Cofirma.difusor)).all()
    if not filas:
        return 0
    hojas = [bytes(f.hoja) for f in filas]
    raices = [bytes(f.raiz) for f in filas]
    n = len(hojas)
    if [f.indice for f in filas] != list(range(n)):
        raise RegistroError("el registro de cortes tiene huecos en la base de datos")
    if merkle.raiz(hojas) != raices[-1]:
        raise RegistroError(f"la raíz guardada del registro de {n} cortes no es la de sus "
                            "hojas: no se publica el registro")
    raiz_dir = publicacion / TRANSPARENCIA
    escritos: set[Path] = set()

    def poner(nombre: str, datos: bytes, *, cambia: bool = False) -> None:
        path = raiz_dir / nombre
        if path.exists() and (not cambia or _igual(path, datos)):
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        _reemplazar(path, datos)
        escritos.add(path.parent)

    poner(LLAVE, (nota.llave_texto(origen_, key.public) + "\n").encode(), cambia=True)
    for i, fila in enumerate(filas):
        entrada = Entrada(fila.corte, fila.hora, fila.manifiesto_sha256)
        if entrada.hash() != hojas[i]:
            raise RegistroError(f"la hoja {i} del registro no es la de su corte {fila.corte}")
        poner(f"{ENTRADAS}/{i}", entrada.datos())
        if not (raiz_dir / INCLUSION / str(i)).exists():
            poner(f"{INCLUSION}/{i}", _lineas(merkle.prueba_inclusion(i, hojas[:i + 1])))
        if i >= 1 and not (raiz_dir / CONSISTENCIA / str(i + 1)).exists():
            poner(f"{CONSISTENCIA}/{i + 1}",
                  _lineas(merkle.prueba_consistencia(i, hojas[:i + 1])))
        if not (raiz_dir / CHECKPOINTS / str(i + 1)).exists():
            poner(f"{CHECKPOINTS}/{i + 1}", _firmado(origen_, i + 1, raices[i], key)
                  .codificar())
    por_tamano: dict[int, list[str]] = {}
    for tamano, _difusor, linea in cofirmas:
        if 1 <= tamano <= n:
            por_tamano.setdefault(tamano, []).append(linea.rstrip("\n") + "\n")
    for tamano in sorted({*por_tamano, n}):
        poner(f"{COFIRMAS}/{tamano}", _con_cofirmas(
            _firmado(origen_, tamano, raices[tamano - 1], key), por_tamano.get(tamano, [])),
            cambia=True)
    for directorio in escritos:
        fsync_dir(directorio)
    # Last: the head moves only once every file it leads to is on the disk.
    poner(CHECKPOINT, _firmado(origen_, n, raices[-1], key).codificar(), cambia=True)
    fsync_dir(raiz_dir)
    return n


def origen_publicado(publicacion: Path) -> str | None:
    """The origin of the checkpoint already published under ``publicacion`` (a corte
    that is completed after a crash, before any snapshot names it), if any."""
    try:
        crudo = (publicacion / TRANSPARENCIA / CHECKPOINT).read_bytes()
        return nota.checkpoint(nota.leer(crudo)).origen
    except (OSError, nota.NotaError):
        return None


def _firmado(origen_: str, tamano: int, raiz: bytes, key: SigningKey) -> nota.Nota:
    return nota.firmar(nota.Checkpoint(origen_, tamano, raiz).texto(), origen_, key)


def _con_cofirmas(firmado: nota.Nota, lineas: Sequence[str]) -> bytes:
    """The signed checkpoint with the stored cosignature lines after the central's (one
    that does not parse is left out and logged: the central checked each one as it
    arrived, so this is a damaged row)."""
    base = firmado.codificar()
    firmas: list[nota.Firma] = []
    for linea in lineas:
        try:
            firmas.extend(nota.leer(base + linea.encode()).firmas[1:])
        except nota.NotaError as exc:
            log.error("una cofirma guardada no se pudo publicar: %s", exc)
    return firmado.con(*firmas).codificar()


def _lineas(prueba: Sequence[bytes]) -> bytes:
    return b"".join(base64.b64encode(h) + b"\n" for h in prueba)


def _igual(path: Path, datos: bytes) -> bool:
    try:
        return path.read_bytes() == datos
    except OSError:
        return False


def _reemplazar(path: Path, datos: bytes) -> None:
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    write_synced(tmp, datos)
    os.replace(tmp, path)
