"""Checking the public log of cortes from its published files, as a third party does
(``prep verify-corte --testigos``, ``prep testigo comprobar``; docs/publicacion.md,
«Registro público de cortes»).

:class:`Registro` reads the latest checkpoint and checks the central's signature on it,
then answers, each time reading only the files it needs:

- :meth:`Registro.raiz`: the root of the signed checkpoint of size *k*;
- :meth:`Registro.consistente_desde`: the chain of consistency proofs from size *m* to
  the latest (each step between two signed checkpoints);
- :meth:`Registro.buscar` and :meth:`Registro.incluida`: a corte's entry and its
  inclusion in the checkpoint where it was added;
- :meth:`Registro.cabeza`: whether a checkpoint someone kept is one the log had;
- :meth:`Registro.cofirmas`: the witnesses' valid cosignatures from size *k* on.

Every problem is kept, in Spanish, naming the size and the witness (``problemas``): a
problem is a conflict, and the caller fails.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

from prep.crypto import VerifyKey
from prep.transparencia import merkle
from prep.transparencia import nota
from prep.transparencia.entrada import MAX_ENTRADA
from prep.transparencia.entrada import Entrada
from prep.transparencia.entrada import leer_entrada
from prep.transparencia.fuente import CHECKPOINT
from prep.transparencia.fuente import Fuente

CHECKPOINTS = "checkpoints"
ENTRADAS = "entradas"
INCLUSION = "pruebas/inclusion"
CONSISTENCIA = "pruebas/consistencia"
COFIRMAS = "cofirmas"
#: A signed checkpoint is ~200 bytes; with every witness's cosignature, a few KiB.
MAX_CHECKPOINT = 4096
#: A proof: at most 64 hashes of 44 base64 characters and a newline each.
MAX_PRUEBA = merkle.MAX_PRUEBA * 45
#: More cortes than a log of a night (or a week) can hold: a larger size is refused.
MAX_TAMANO = 1_000_000


def firmado(crudo: bytes, llave: VerifyKey, origen: str | None = None) -> nota.Checkpoint:
    """The checkpoint of a signed note, checked to be signed by the central's ``llave``
    under its own origin (``origen``, when given, must be it); :class:`NotaError`
    otherwise."""
    leida = nota.leer(crudo)
    cp = nota.checkpoint(leida)
    if origen is not None and cp.origen != origen:
        raise nota.NotaError(f"el checkpoint es del registro «{cp.origen[:60]}», no de "
                             f"«{origen}»")
    if not nota.firmada_por(leida, cp.origen, llave):
        raise nota.NotaError("el checkpoint no lo firmó la llave del nodo central")
    if not 0 < cp.tamano <= MAX_TAMANO:
        raise nota.NotaError(f"el checkpoint dice {cp.tamano} cortes (fuera de rango)")
    return cp


@dataclass
class Registro:
    """The log a source publishes, as far as it has been checked."""

    fuente: Fuente
    llave: VerifyKey
    ultimo: nota.Checkpoint
    problemas: list[str] = field(default_factory=list)
    _raices: dict[int, bytes | None] = field(default_factory=dict)
    _consistente: set[int] = field(default_factory=set)  # k: step k-1 → k checked
    _rotos: set[int] = field(default_factory=set)  # k: step k-1 → k failed

    @property
    def tamano(self) -> int:
        return self.ultimo.tamano

    @property
    def origen(self) -> str:
        return self.ultimo.origen

    @classmethod
    def abrir(cls, fuente: Fuente, llave: VerifyKey) -> Registro:
        """The log's latest checkpoint, signed by ``llave``; :class:`NotaError` when
        there is none or it is not the central's."""
        crudo = fuente.leer(CHECKPOINT, MAX_CHECKPOINT)
        if crudo is None:
            raise nota.NotaError(f"{fuente.descripcion} no publica «{CHECKPOINT}» (no hay "
                                 "registro público de cortes ahí)")
        try:
            ultimo = firmado(crudo, llave)
        except nota.NotaError as exc:
            raise nota.NotaError(f"{CHECKPOINT}: {exc}") from None
        registro = cls(fuente, llave, ultimo)
        registro._raices[ultimo.tamano] = ultimo.raiz
        return registro

    def raiz(self, k: int) -> bytes | None:
        """The root of the signed ``checkpoints/<k>`` (None, with its problem, when it is
        missing, unsigned or of another size)."""
        if k in self._raices and k != self.tamano:
            return self._raices[k]
        raiz: bytes | None = None
        try:
            cp = firmado(self._requerido(f"{CHECKPOINTS}/{k}", MAX_CHECKPOINT), self.llave,
                         self.origen)
            if cp.tamano != k:
                raise nota.NotaError(f"dice {cp.tamano} cortes")
            raiz = cp.raiz
            if k == self.tamano and raiz != self.ultimo.raiz:
                raise nota.NotaError(f"su raíz no es la de «{CHECKPOINT}», del mismo tamaño: "
                                     "el registro muestra dos historias")
        except nota.NotaError as exc:
            self.problemas.append(f"{CHECKPOINTS}/{k}: {exc}")
            raiz = None
        self._raices[k] = raiz
        return raiz

    def consistente_desde(self, m: int) -> bool:
        """Whether each tree from size ``m`` to the latest extends the one before it
        (``pruebas/consistencia/<k>`` between the signed checkpoints k-1 and k)."""
        if not 0 < m <= self.tamano:
            return False
        for k in range(self.tamano, m, -1):  # newest first: a break is found at once
            if k in self._consistente:
                continue
            if k in self._rotos:
                return False
            anterior, nueva = self.raiz(k - 1), self.raiz(k)
            prueba = self._prueba(f"{CONSISTENCIA}/{k}")
            if anterior is not None and nueva is not None and prueba is not None:
                if merkle.verifica_consistencia(k - 1, k, anterior, nueva, prueba):
                    self._consistente.add(k)
                    continue
                self.problemas.append(
                    f"{CONSISTENCIA}/{k}: el árbol de {k - 1} cortes no es el principio del "
                    f"de {k}: el registro se reescribió entre esos dos tamaños")
            self._rotos.add(k)
            return False
        return True

    def entrada(self, i: int) -> Entrada | None:
        """Leaf ``i``'s entry (None, with its problem, when it cannot be read)."""
        try:
            return leer_entrada(self._requerido(f"{ENTRADAS}/{i}", MAX_ENTRADA))
        except nota.NotaError as exc:
            self.problemas.append(f"{ENTRADAS}/{i}: {exc}")
            return None

    def buscar(self, nombre: str) -> tuple[int, Entrada] | None:
        """The entry of corte ``nombre`` (the newest first: a corte being checked is
        usually recent; entries are in publication order, so the search stops at an
        older name)."""
        for i in range(self.tamano - 1, -1, -1):
            entrada = self.entrada(i)
            if entrada is None:
                return None
            if entrada.nombre == nombre:
                return i, entrada
            if _orden(entrada.nombre) < _orden(nombre):
                return None
        return None

    def incluida(self, i: int, entrada: Entrada) -> bool:
        """Whether ``pruebas/inclusion/<i>`` puts ``entrada`` at leaf ``i`` of the signed
        checkpoint of size ``i + 1``."""
        raiz = self.raiz(i + 1)
        prueba = self._prueba(f"{INCLUSION}/{i}")
        if raiz is None or prueba is None:
            return False
        if not merkle.verifica_inclusion(entrada.hash(), i, i + 1, prueba, raiz):
            self.problemas.append(f"{INCLUSION}/{i}: la entrada {i} ({entrada.nombre}) no es "
                                  f"la hoja {i} del checkpoint {i + 1}")
            return False
        return True

    def cabeza(self, crudo: bytes) -> str | None:
        """Why the checkpoint ``crudo`` (one someone kept) is not one this log had and
        still extends; None when it is (its size's published root and a consistent
        chain to the latest)."""
        try:
            cp = firmado(crudo, self.llave, self.origen)
        except nota.NotaError as exc:
            return f"no es un checkpoint de este registro firmado por el nodo central: {exc}"
        if cp.tamano > self.tamano:
            return (f"es de {cp.tamano} cortes y el registro publica solo {self.tamano}: el "
                    "registro perdió cortes que ya había publicado")
        raiz = self.raiz(cp.tamano)
        if raiz is None:
            return f"el registro ya no publica un checkpoint de {cp.tamano} cortes válido"
        if raiz != cp.raiz:
            return (f"CONFLICTO en el tamaño {cp.tamano}: la raíz guardada "
                    f"{_corta(cp.raiz)} no es la que publica el registro ({_corta(raiz)}): "
                    "el nodo central firmó dos historias distintas")
        if not self.consistente_desde(cp.tamano):
            return (f"el registro no extiende el checkpoint de {cp.tamano} cortes hasta el de "
                    f"{self.tamano}")
        return None

    def cofirmas(self, desde: int, testigos: Mapping[str, VerifyKey]
                 ) -> tuple[dict[str, int], set[str]]:
        """The witnesses (of ``testigos``: id → key) with a valid cosignature of some
        checkpoint of size ``desde`` or more (id → the largest size cosigned), and the
        names of cosigners not in ``testigos``. A cosignature by a listed witness that
        does not verify is a problem naming the size and the witness."""
        validas: dict[str, int] = {}
        otros: set[str] = set()
        for k in range(max(desde, 1), self.tamano + 1):
            try:
                crudo = self.fuente.leer(f"{COFIRMAS}/{k}", nota.MAX_NOTA)
            except nota.NotaError as exc:
                self.problemas.append(f"{COFIRMAS}/{k}: {exc}")
                continue
            if crudo is None:
                continue
            try:
                leida = nota.leer(crudo)
                cp = nota.checkpoint(leida)
            except nota.NotaError as exc:
                self.problemas.append(f"{COFIRMAS}/{k}: {exc}")
                continue
            raiz = self.raiz(k)
            if cp != nota.Checkpoint(self.origen, k, raiz or b""):
                self.problemas.append(f"{COFIRMAS}/{k}: no es el checkpoint {k} del registro")
                continue
            for firma in leida.firmas:
                if firma.nombre == self.origen:
                    continue
                llave = testigos.get(firma.nombre)
                if llave is None:
                    otros.add(firma.nombre)
                elif nota.cofirma_valida(cp, firma, firma.nombre, llave) is None:
                    self.problemas.append(
                        f"{COFIRMAS}/{k}: la cofirma de {firma.nombre} no es válida para el "
                        f"checkpoint de {k} cortes (otra raíz: el testigo vio otra historia, "
                        "o la firma fue alterada)")
                else:
                    validas[firma.nombre] = max(validas.get(firma.nombre, 0), k)
        return validas, otros

    def _requerido(self, ruta: str, limite: int) -> bytes:
        """The published file ``ruta`` (at most ``limite`` bytes); NotaError if missing."""
        crudo = self.fuente.leer(ruta, limite)
        if crudo is None:
            raise nota.NotaError("falta")
        return crudo

    def _prueba(self, ruta: str) -> list[bytes] | None:
        try:
            return leer_prueba(self._requerido(ruta, MAX_PRUEBA))
        except nota.NotaError as exc:
            self.problemas.append(f"{ruta}: {exc}")
            return None


def leer_prueba(crudo: bytes) -> list[bytes]:
    """A proof file: one base64 SHA-256 a line (empty: no hashes)."""
    try:
        lineas = crudo.decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise nota.NotaError("la prueba no es ASCII") from None
    if lineas[-1] != "":
        raise nota.NotaError("la prueba no termina en salto de línea")
    hashes = []
    for linea in lineas[:-1]:
        try:
            h = base64.b64decode(linea, validate=True)
        except (binascii.Error, ValueError):
            raise nota.NotaError("la prueba tiene una línea que no es base64") from None
        if len(h) != merkle.HASH_BYTES:
            raise nota.NotaError("la prueba tiene una línea que no es un SHA-256")
        hashes.append(h)
    if len(hashes) > merkle.MAX_PRUEBA:
        raise nota.NotaError("la prueba tiene demasiados hashes")
    return hashes


def _orden(nombre: str) -> tuple[str, int]:
    base, _, n = nombre.partition("_")[2].partition("_")
    return nombre[:8] + base, int(n or 1)


def _corta(raiz: bytes) -> str:
    return base64.b64encode(raiz).decode()[:16] + "…"
