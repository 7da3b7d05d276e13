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
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db.transparencia import Cofirma
from central.db.transparencia import RegistroCorte
from prep.catalog import Catalog
from prep.crypto import SigningKey
from prep.durable import fsync_dir
from prep.durable import sync_tree
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
#: Files written one fsync each; more, one syncfs (prep.durable.sync_tree).
_POCOS = 16


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
        # Per size, the bytes its cosignature lines take (each ends in one newline).
        largos = {int(k): int(v) for k, v in session.execute(
            select(Cofirma.tamano, func.sum(func.octet_length(func.rtrim(Cofirma.linea, "\n"))
                                            + 1)).group_by(Cofirma.tamano))}
        if not filas:
            return 0
        n = len(filas)
        raiz_dir = publicacion / TRANSPARENCIA
        cofirmas = _cofirmas_por_escribir(session, raiz_dir, origen_, key, n, largos)
    hojas = [bytes(f.hoja) for f in filas]
    raices = [bytes(f.raiz) for f in filas]
    if [f.indice for f in filas] != list(range(n)):
        raise RegistroError("el registro de cortes tiene huecos en la base de datos")
    if merkle.raiz(hojas) != raices[-1]:
        raise RegistroError(f"la raíz guardada del registro de {n} cortes no es la de sus "
                            "hojas: no se publica el registro")
    _mismo_registro(raiz_dir, origen_, raices)
    # What is there already, one listing per directory (a night's log is hundreds of
    # files per directory; a stat each, every corte, would be thousands).
    hay = {d: _nombres(raiz_dir / d) for d in (ENTRADAS, INCLUSION, CONSISTENCIA,
                                                CHECKPOINTS)}
    nuevos: dict[str, bytes] = {}
    llave = (nota.llave_texto(origen_, key.public) + "\n").encode()
    if not _igual(raiz_dir / LLAVE, llave):
        nuevos[LLAVE] = llave
    for i, fila in enumerate(filas):
        entrada = Entrada(fila.corte, fila.hora, fila.manifiesto_sha256)
        if entrada.hash() != hojas[i]:
            raise RegistroError(f"la hoja {i} del registro no es la de su corte {fila.corte}")
        if str(i) not in hay[ENTRADAS]:
            nuevos[f"{ENTRADAS}/{i}"] = entrada.datos()
        if str(i) not in hay[INCLUSION]:
            nuevos[f"{INCLUSION}/{i}"] = _lineas(merkle.prueba_inclusion(i, hojas[:i + 1]))
        if i >= 1 and str(i + 1) not in hay[CONSISTENCIA]:
            nuevos[f"{CONSISTENCIA}/{i + 1}"] = _lineas(
                merkle.prueba_consistencia(i, hojas[:i + 1]))
        if str(i + 1) not in hay[CHECKPOINTS]:
            nuevos[f"{CHECKPOINTS}/{i + 1}"] = _firmado(origen_, i + 1, raices[i],
                                                        key).codificar()
    for tamano, lineas in cofirmas.items():
        nuevos[f"{COFIRMAS}/{tamano}"] = _con_cofirmas(
            _firmado(origen_, tamano, raices[tamano - 1], key), lineas)
    _poner(raiz_dir, nuevos)
    # Last: the head moves only once every file it leads to is on the disk.
    cabeza = _firmado(origen_, n, raices[-1], key).codificar()
    if not _igual(raiz_dir / CHECKPOINT, cabeza):
        _reemplazar(raiz_dir / CHECKPOINT, cabeza, sincronizar=True)
        fsync_dir(raiz_dir)
    return n


def _mismo_registro(raiz_dir: Path, origen_: str, raices: Sequence[bytes]) -> None:
    """Refuse to write over a published log that is not a prefix of the database's: its
    head is of another origin, of more cortes (a database restored from an older
    backup), or of another root (another installation's directory). Writing on would
    publish a second history, which every witness refuses: the technician decides."""
    try:
        crudo = (raiz_dir / CHECKPOINT).read_bytes()
    except FileNotFoundError:
        return
    try:
        publicado = nota.checkpoint(nota.leer(crudo))
    except nota.NotaError:
        return  # a damaged head is replaced; the immutable files say the rest
    n = len(raices)
    if publicado.origen != origen_ or publicado.tamano > n \
            or (publicado.tamano >= 1 and raices[publicado.tamano - 1] != publicado.raiz):
        raise RegistroError(
            f"{raiz_dir} ya publica otro registro (origen «{publicado.origen}», "
            f"{publicado.tamano} cortes) que no es el principio del de la base de datos "
            f"(«{origen_}», {n} cortes): ¿una base restaurada de un respaldo anterior o el "
            "directorio de otra instalación? Publicarlo sería una segunda historia; "
            "revise antes de mover ese directorio (docs/publicacion.md, «Registro público "
            "de cortes»)")


def _cofirmas_por_escribir(session: Session, raiz_dir: Path, origen_: str, key: SigningKey,
                           n: int, largos: dict[int, int]) -> dict[int, list[str]]:
    """The sizes whose ``cofirmas/<k>`` is missing or lacks cosignatures, with their
    lines. Cosignatures are only added (an append-only table, one per witness and
    size), so a file of the length its rows give is up to date: a stat per size, not a
    signature nor a read."""
    largo_firmado = len(_firmado(origen_, n, b"\0" * 32, key).codificar()) - len(str(n))
    faltan = [k for k in sorted({*largos, n}) if 1 <= k <= n and _largo(
        raiz_dir / COFIRMAS / str(k)) != largo_firmado + len(str(k)) + largos.get(k, 0)]
    out: dict[int, list[str]] = {k: [] for k in faltan}
    for desde in range(0, len(faltan), 1000):
        for tamano, linea in session.execute(
                select(Cofirma.tamano, Cofirma.linea)
                .where(Cofirma.tamano.in_(faltan[desde:desde + 1000]))
                .order_by(Cofirma.tamano, Cofirma.difusor)):
            out[tamano].append(linea.rstrip("\n") + "\n")
    return out


def _poner(raiz_dir: Path, nuevos: dict[str, bytes]) -> None:
    """Write ``nuevos`` (path under ``raiz_dir`` → bytes), each replaced by a rename,
    and make them durable: a corte's few files one fsync each; many (a new disk, a
    promoted standby) at once, one ``syncfs``."""
    if not nuevos:
        return
    raiz_dir.mkdir(parents=True, exist_ok=True)
    pocos = len(nuevos) <= _POCOS
    fd = os.open(raiz_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        directorios: set[Path] = set()
        for nombre, datos in nuevos.items():
            path = raiz_dir / nombre
            if path.parent not in directorios:
                path.parent.mkdir(parents=True, exist_ok=True)
                directorios.add(path.parent)
            _reemplazar(path, datos, sincronizar=pocos)
        if pocos:
            for directorio in directorios:
                fsync_dir(directorio)
        else:
            sync_tree(fd, raiz_dir)
    finally:
        os.close(fd)


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


def _nombres(directorio: Path) -> set[str]:
    try:
        return set(os.listdir(directorio))
    except FileNotFoundError:
        return set()


def _largo(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


def _igual(path: Path, datos: bytes) -> bool:
    try:
        return path.read_bytes() == datos
    except OSError:
        return False


def _reemplazar(path: Path, datos: bytes, *, sincronizar: bool) -> None:
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    if sincronizar:
        write_synced(tmp, datos)
    else:
        tmp.write_bytes(datos)
    os.replace(tmp, path)
