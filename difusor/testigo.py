"""The difusor as a witness of the public log of cortes (issue 67; docs/difusores.md,
«El difusor como testigo»).

Before it downloads a corte the signed index announces, the difusor reads the origin's
``transparencia/checkpoint`` (the log's signed tree head) and checks (:func:`comprobar`):

1. the central's signature on it, with the key of the pinned fingerprint (the index's);
2. every leaf added since the last checkpoint it accepted (all of them, the first
   time): each entry is well formed,
   is in the tree of its own size (``pruebas/inclusion/<i>`` against the signed
   ``checkpoints/<i+1>``), and each size extends the one before
   (``pruebas/consistencia/<k>``), from the checkpoint it accepted last to the new one;
3. that the corte the index announces (its name and manifest SHA-256) is one of them.

A checkpoint that does not extend the one it accepted last (kept in ``testigo.json``,
per log origin) is a **fork** (:class:`Bifurcacion`): somebody holding the institute's
key serves this difusor a history that differs from what it already saw. Nothing new is
downloaded nor cosigned; what is served stays. Any other failure of the log is a
:class:`~difusor.errores.Rechazo` of this origin, as a bad signature on a corte is.

Once the corte verified and is published, :func:`aceptar` keeps the checkpoint as the
new base and, if the difusor is registered, cosigns it (cosignature/v1, its
``difusor.key``, its difusor id as the name) for its next report. The files it walked
are mirrored under ``RAIZ/transparencia/`` (:mod:`difusor.espejo_registro`), so its
site serves the log too.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from difusor.cliente import NoEncontrado
from difusor.cliente import Origen
from difusor.errores import DifusorError
from difusor.errores import Rechazo
from difusor.estado import ahora
from prep.crypto import SigningKey
from prep.crypto import VerifyKey
from prep.durable import fsync_dir
from prep.durable import write_synced
from prep.transparencia import nota
from prep.transparencia.entrada import Entrada
from prep.transparencia.entrada import leer_entrada
from prep.transparencia.merkle import HASH_BYTES
from prep.transparencia.merkle import MAX_PRUEBA
from prep.transparencia.merkle import verifica_consistencia
from prep.transparencia.merkle import verifica_inclusion
from prep.transparencia.nota import Checkpoint
from prep.transparencia.nota import NotaError

log = logging.getLogger("difusor.testigo")

DIR = "transparencia"
CHECKPOINT = f"{DIR}/checkpoint"
TESTIGO = "testigo.json"
#: A checkpoint with the central's signature alone is ~200 bytes; cosigned ones grow.
MAX_CHECKPOINT = nota.MAX_NOTA
#: 64 base64 hashes of 44 characters and a newline each.
MAX_PRUEBA_BYTES = MAX_PRUEBA * 45
#: Leaves a checkpoint may add in one check (a night of 5-minute cortes has ~300).
MAX_PASOS = 5000
#: Leaves kept per log in ``testigo.json`` (to find a corte the log already had).
HOJAS_GUARDADAS = 32


class Bifurcacion(Rechazo):
    """A signed checkpoint that does not extend the one the difusor accepted (a fork).

    ``aceptado`` and ``recibido`` are both heads; ``nota`` the signed checkpoint as the
    origin served it (the evidence, reported to the central)."""

    def __init__(self, mensaje: str, aceptado: Checkpoint, recibido: Checkpoint,
                 nota_recibida: str) -> None:
        super().__init__(mensaje)
        self.aceptado = aceptado
        self.recibido = recibido
        self.nota = nota_recibida


@dataclass
class Registro:
    """What the difusor knows of one log (one checkpoint origin): the last checkpoint it
    accepted, its cosignature of it (registered difusores), and the newest leaves."""

    tamano: int
    raiz: str  # base64
    hora: str
    cofirma: str | None = None  # the cosignature line, "— <id> <base64>\n"
    hojas: list[list[Any]] = field(default_factory=list)  # [indice, nombre, manifiesto]

    def checkpoint(self, origen: str) -> Checkpoint:
        return Checkpoint(origen, self.tamano, base64.b64decode(self.raiz))


@dataclass
class Testigo:
    """``testigo.json``: per log origin its :class:`Registro`, the origin of the last
    one accepted, and the fork seen last (until a check of that origin passes)."""

    registros: dict[str, Registro] = field(default_factory=dict)
    actual: str | None = None
    bifurcacion: dict[str, Any] | None = None
    bifurcaciones: int = 0

    def cofirma(self) -> dict[str, Any] | None:
        """The report's ``cofirma``: the last checkpoint cosigned (None: none yet)."""
        registro = self.registros.get(self.actual or "")
        if registro is None or registro.cofirma is None:
            return None
        return {"tamano": registro.tamano, "raiz": registro.raiz,
                "linea": registro.cofirma}


def cargar(datos: Path) -> Testigo:
    """``testigo.json`` (empty if there is none). One that cannot be read stops the
    difusor rather than starting over: it is the base every checkpoint must extend."""
    try:
        data = json.loads((datos / TESTIGO).read_bytes())
        return Testigo({o: Registro(**r) for o, r in data["registros"].items()},
                       data.get("actual"), data.get("bifurcacion"),
                       int(data.get("bifurcaciones", 0)))
    except FileNotFoundError:
        return Testigo()
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DifusorError(f"no se pudo leer {datos / TESTIGO} ({exc}): es la base con que "
                           "se comprueba el registro de cortes; restáurelo de un respaldo "
                           "o avise al instituto antes de borrarlo") from None


def guardar(datos: Path, testigo: Testigo) -> None:
    """Durably: the base of the next consistency check must survive a power cut."""
    datos.mkdir(parents=True, exist_ok=True)
    data = {"registros": {o: r.__dict__ for o, r in testigo.registros.items()},
            "actual": testigo.actual, "bifurcacion": testigo.bifurcacion,
            "bifurcaciones": testigo.bifurcaciones}
    tmp = datos / f".{TESTIGO}.tmp-{os.getpid()}"
    write_synced(tmp, json.dumps(data, ensure_ascii=False, indent=1).encode())
    os.replace(tmp, datos / TESTIGO)
    fsync_dir(datos)


@dataclass(frozen=True)
class Comprobado:
    """A checkpoint checked against the difusor's last one, ready to be accepted."""

    checkpoint: Checkpoint
    nota: bytes  # as the origin served it (the central's signature)
    hojas: tuple[tuple[int, Entrada], ...]  # the leaves walked, oldest first
    #: Files walked (relative to the origin's base) and their bytes, for the mirror.
    archivos: tuple[tuple[str, bytes], ...]


def _b64(raiz: bytes) -> str:
    return base64.b64encode(raiz).decode()


def comprobar(origen: Origen, llave: VerifyKey, nombre: str, manifiesto: str,
              testigo: Testigo, servido: str) -> Comprobado | None:
    """Check the origin's checkpoint includes the corte ``nombre`` (manifest SHA-256
    ``manifiesto``) and extends the last one accepted. None: the origin publishes no log
    (a central before issue 67) and this difusor never accepted one."""
    try:
        crudo = origen.get(CHECKPOINT, MAX_CHECKPOINT)
    except NoEncontrado:
        if testigo.registros:
            raise Rechazo(f"{origen.url} no publica el registro de cortes ({CHECKPOINT}) "
                          "y este difusor ya lo seguía: no se acepta un origen que lo "
                          f"quitó; se sigue sirviendo {servido}") from None
        return None
    cp, _ = _firmado(crudo, llave, f"{origen.url}{CHECKPOINT}")
    previo = testigo.registros.get(cp.origen)
    archivos: list[tuple[str, bytes]] = [(CHECKPOINT, crudo)]
    if previo is not None:
        _extiende(origen, llave, previo, cp, crudo, servido)
    # A log seen for the first time is walked whole: every leaf checked once, and the
    # mirror complete.
    desde = previo.tamano if previo is not None else 0
    if cp.tamano - desde > MAX_PASOS:
        raise Rechazo(f"{origen.url}: el checkpoint agrega {cp.tamano - desde:,} cortes "
                      f"de una vez (más de {MAX_PASOS:,}); no se revisa")
    raices = {previo.tamano: base64.b64decode(previo.raiz)} if previo is not None else {}
    hojas: list[tuple[int, Entrada]] = []
    for k in range(desde + 1, cp.tamano + 1):
        if k == cp.tamano:  # the same signed bytes (Ed25519 is deterministic)
            cpk = cp
            archivos.append((f"{DIR}/checkpoints/{k}", crudo))
        else:
            cpk = _paso(origen, llave, cp.origen, k, archivos)
        anterior = raices.get(k - 1)
        if anterior is not None:
            prueba = _prueba(origen, f"{DIR}/pruebas/consistencia/{k}", archivos)
            if not verifica_consistencia(k - 1, k, anterior, cpk.raiz, prueba):
                if previo is not None and k - 1 == previo.tamano:
                    raise _bifurcacion(origen.url, previo.checkpoint(cp.origen), previo,
                                       cp, crudo, servido, "su prueba de consistencia no "
                                       "verifica")
                raise Rechazo(f"{origen.url}: la prueba de consistencia de {k - 1} a {k} "
                              "cortes del registro no verifica")
        entrada = _entrada(origen, k - 1, cpk, archivos)
        raices[k] = cpk.raiz
        hojas.append((k - 1, entrada))
    if not _incluye(previo, hojas, nombre, manifiesto, origen.url):
        raise Rechazo(f"el registro de cortes de {origen.url} (checkpoint de {cp.tamano}) "
                      f"no incluye el corte {nombre} que anuncia el índice firmado; no se "
                      f"publica y se sigue sirviendo {servido}")
    return Comprobado(cp, crudo, tuple(hojas), tuple(archivos))


def _firmado(crudo: bytes, llave: VerifyKey, donde: str) -> tuple[Checkpoint, nota.Nota]:
    try:
        leida = nota.leer(crudo)
        cp = nota.checkpoint(leida)
    except NotaError as exc:
        raise Rechazo(f"{donde}: no es un checkpoint válido ({exc})") from None
    if not nota.firmada_por(leida, cp.origen, llave):
        raise Rechazo(f"{donde}: el checkpoint no está firmado con la llave del instituto "
                      f"(origen del registro «{cp.origen[:80]}»)")
    return cp, leida


def _extiende(origen: Origen, llave: VerifyKey, previo: Registro, cp: Checkpoint,
              crudo: bytes, servido: str) -> None:
    """Refuse a checkpoint smaller than, or of the same size and another root as, the
    one accepted (the latter a fork outright)."""
    aceptado = previo.checkpoint(cp.origen)
    if cp.tamano == aceptado.tamano and cp.raiz != aceptado.raiz:
        raise _bifurcacion(origen.url, aceptado, previo, cp, crudo, servido,
                           "tiene el mismo tamaño y otra raíz")
    if cp.tamano < aceptado.tamano:
        raise Rechazo(f"{origen.url}: el registro de cortes tiene {cp.tamano} cortes, menos "
                      f"que los {aceptado.tamano} de su checkpoint ya aceptado (un "
                      f"checkpoint viejo); se sigue sirviendo {servido}")


def _bifurcacion(url: str, aceptado: Checkpoint, previo: Registro, cp: Checkpoint,
                 crudo: bytes, servido: str, como: str) -> Bifurcacion:
    hecho = "cofirmó" if previo.cofirma is not None else "aceptó"
    return Bifurcacion(
        f"BIFURCACIÓN del registro de cortes en {url}: el checkpoint firmado de "
        f"{cp.tamano} cortes (raíz {_b64(cp.raiz)}) no extiende el de {aceptado.tamano} "
        f"cortes (raíz {_b64(aceptado.raiz)}) que este difusor {hecho} el {previo.hora} "
        f"({como}): el origen sirve otra historia de cortes, firmada con la llave del "
        f"instituto. No se cofirma ni se publica nada de él; se sigue sirviendo {servido}. "
        "Avise al instituto y conserve testigo.json y este mensaje",
        aceptado, cp, crudo.decode("utf-8", "replace"))


def _paso(origen: Origen, llave: VerifyKey, nombre_origen: str, k: int,
          archivos: list[tuple[str, bytes]]) -> Checkpoint:
    rel = f"{DIR}/checkpoints/{k}"
    crudo = _get(origen, rel, MAX_CHECKPOINT)
    cp, _ = _firmado(crudo, llave, f"{origen.url}{rel}")
    if cp.origen != nombre_origen or cp.tamano != k:
        raise Rechazo(f"{origen.url}{rel}: no es el checkpoint de {k} cortes de "
                      f"«{nombre_origen[:80]}»")
    archivos.append((rel, crudo))
    return cp


def _entrada(origen: Origen, indice: int, cp: Checkpoint,
             archivos: list[tuple[str, bytes]]) -> Entrada:
    """Leaf ``indice``, checked in the tree of size ``indice + 1`` (``cp``)."""
    rel = f"{DIR}/entradas/{indice}"
    crudo = _get(origen, rel, 512)
    try:
        entrada = leer_entrada(crudo)
    except NotaError as exc:
        raise Rechazo(f"{origen.url}{rel}: {exc}") from None
    prueba = _prueba(origen, f"{DIR}/pruebas/inclusion/{indice}", archivos)
    if not verifica_inclusion(entrada.hash(), indice, cp.tamano, prueba, cp.raiz):
        raise Rechazo(f"{origen.url}: la prueba de inclusión del corte {entrada.nombre} "
                      f"(hoja {indice}) no verifica con el checkpoint de {cp.tamano}")
    archivos.append((rel, crudo))
    return entrada


def _prueba(origen: Origen, rel: str, archivos: list[tuple[str, bytes]]) -> list[bytes]:
    crudo = _get(origen, rel, MAX_PRUEBA_BYTES)
    try:
        lineas = crudo.decode("ascii").splitlines()
        hashes = [base64.b64decode(linea, validate=True) for linea in lineas]
    except (UnicodeDecodeError, ValueError):
        raise Rechazo(f"{origen.url}{rel}: no es una prueba (base64, un hash por línea)") \
            from None
    if any(len(h) != HASH_BYTES for h in hashes):
        raise Rechazo(f"{origen.url}{rel}: un hash de la prueba no es un SHA-256")
    archivos.append((rel, crudo))
    return hashes


def _get(origen: Origen, rel: str, limite: int) -> bytes:
    try:
        return origen.get(rel, limite)
    except NoEncontrado:
        raise Rechazo(f"{origen.url}{rel}: falta en el registro de cortes") from None


def _incluye(previo: Registro | None, hojas: list[tuple[int, Entrada]], nombre: str,
             manifiesto: str, url: str) -> bool:
    conocidas = [(int(i), str(n), str(m)) for i, n, m in (previo.hojas if previo else [])]
    conocidas += [(i, e.nombre, e.manifiesto) for i, e in hojas]
    for _, n, m in reversed(conocidas):
        if n == nombre:
            if m != manifiesto:
                raise Rechazo(f"el registro de cortes de {url} da al corte {nombre} otro "
                              f"manifiesto ({m}) que el índice firmado ({manifiesto})")
            return True
    return False


def aceptar(testigo: Testigo, comprobado: Comprobado,
            cofirmante: tuple[str, SigningKey] | None,
            reloj: Callable[[], float] = time.time) -> None:
    """``comprobado`` is the new base of the log's checks; cosigned by ``cofirmante``
    (difusor id and key) if the difusor is registered. Save ``testigo`` afterwards."""
    cp = comprobado.checkpoint
    previo = testigo.registros.get(cp.origen)
    hojas = (previo.hojas if previo else []) + [
        [i, e.nombre, e.manifiesto] for i, e in comprobado.hojas]
    mismo = previo is not None and previo.tamano == cp.tamano
    cofirma = previo.cofirma if mismo and previo is not None else None
    if cofirma is not None and cofirmante is not None \
            and not _propia(cp, cofirma, *cofirmante):
        cofirma = None  # registered again, with another key: cosigned again with it
    if cofirma is None and cofirmante is not None:
        nombre, llave = cofirmante
        cofirma = nota.cofirmar(cp, nombre, llave, int(reloj())).linea()
        log.info("checkpoint de %d cortes cofirmado (raíz %s)", cp.tamano, _b64(cp.raiz))
    hora = previo.hora if mismo and previo is not None else ahora()
    testigo.registros[cp.origen] = Registro(cp.tamano, _b64(cp.raiz), hora, cofirma,
                                            hojas[-HOJAS_GUARDADAS:])
    testigo.actual = cp.origen


def _propia(cp: Checkpoint, linea: str, nombre: str, llave: SigningKey) -> bool:
    """Whether ``linea`` is ``nombre``'s cosignature of ``cp`` with ``llave``."""
    try:
        firmas = nota.leer(cp.texto().encode() + b"\n" + linea.encode()).firmas
    except NotaError:
        return False
    return len(firmas) == 1 and \
        nota.cofirma_valida(cp, firmas[0], nombre, llave.public) is not None


def anotar_bifurcacion(testigo: Testigo, url: str, fork: Bifurcacion) -> None:
    """Keep the fork for ``status``, the metrics and the report."""
    testigo.bifurcaciones += 1
    testigo.bifurcacion = {
        "url": url, "hora": ahora(), "mensaje": str(fork),
        "aceptado": {"tamano": fork.aceptado.tamano, "raiz": _b64(fork.aceptado.raiz)},
        "recibido": {"tamano": fork.recibido.tamano, "raiz": _b64(fork.recibido.raiz)},
        "nota": fork.nota[:2048]}
