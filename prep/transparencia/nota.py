"""The log's signed texts, in the formats Go's checksum database, Sigstore and the
witness network use (C2SP), so a third party's tools can read them:

- **signed note** (c2sp.org/signed-note): a UTF-8 text ending in a newline, a blank
  line, then one line per signature: ``— <nombre> <base64(id de llave || firma)>``.
  The key's id is the first 4 bytes of ``SHA-256(nombre || "\\n" || tipo || llave)``;
  ``tipo`` is 0x01 for an Ed25519 signature of the text.
- **checkpoint** (c2sp.org/tlog-checkpoint): the text is three lines: the log's origin,
  the tree size in decimal, the root hash in base64.
- **cosignature/v1** (c2sp.org/tlog-cosignature): a witness's line on a checkpoint, of
  ``tipo`` 0x04; it signs ``"cosignature/v1\\ntime <t>\\n" + checkpoint`` and its
  base64 holds ``id || t (8 bytes, big endian) || firma``, ``t`` in Unix seconds.

A verifier key is written ``<nombre>+<id en hex>+<base64(tipo || llave)>``. Readers take
untrusted bytes: sizes are bounded and every malformed part raises :class:`NotaError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass

from prep.crypto import SignatureError
from prep.crypto import SigningKey
from prep.crypto import VerifyKey

ED25519 = 0x01
COFIRMA = 0x04
MAX_NOTA = 64 * 1024
MAX_FIRMAS = 128
_GUION = "\u2014 "
_NOMBRE = re.compile(r"[^\s+\u2014]{1,128}")
_TAMANO = re.compile(r"0|[1-9][0-9]{0,18}")


class NotaError(ValueError):
    """A note, checkpoint, signature or key that is not well formed (Spanish text)."""


@dataclass(frozen=True)
class Firma:
    """One signature line: the signer's name, its key's 4-byte id and the bytes after it
    (an Ed25519 signature; for a cosignature, the timestamp then the signature)."""

    nombre: str
    id_llave: bytes
    datos: bytes

    def linea(self) -> str:
        b64 = base64.b64encode(self.id_llave + self.datos).decode()
        return f"{_GUION}{self.nombre} {b64}\n"


@dataclass(frozen=True)
class Nota:
    """A signed note: its text (ending in a newline) and its signature lines."""

    texto: str
    firmas: tuple[Firma, ...]

    def codificar(self) -> bytes:
        return (self.texto + "\n" + "".join(f.linea() for f in self.firmas)).encode()

    def con(self, *firmas: Firma) -> Nota:
        """The same note with ``firmas`` added (a line already there is not repeated)."""
        nuevas = tuple(f for f in firmas if f not in self.firmas)
        return Nota(self.texto, self.firmas + nuevas)


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log ``origen`` had ``tamano`` leaves with root ``raiz``."""

    origen: str
    tamano: int
    raiz: bytes

    def texto(self) -> str:
        return f"{self.origen}\n{self.tamano}\n{base64.b64encode(self.raiz).decode()}\n"


def id_llave(nombre: str, tipo: int, llave: VerifyKey) -> bytes:
    """The key's 4-byte id in a signature line."""
    return hashlib.sha256(nombre.encode() + b"\n" + bytes([tipo]) + llave.raw()).digest()[:4]


def llave_texto(nombre: str, llave: VerifyKey, tipo: int = ED25519) -> str:
    """The verifier key's one-line form (what DIFUSORES.csv and the docs publish)."""
    _nombre_valido(nombre)
    b64 = base64.b64encode(bytes([tipo]) + llave.raw()).decode()
    return f"{nombre}+{id_llave(nombre, tipo, llave).hex()}+{b64}"


def leer_llave_texto(texto: str) -> tuple[str, int, VerifyKey]:
    """(nombre, tipo, llave) of a verifier key's one-line form."""
    partes = texto.strip().split("+", 2)  # the base64 may hold «+» too
    if len(partes) != 3:
        raise NotaError("la llave no tiene la forma nombre+id+llave")
    nombre, id_hex, b64 = partes
    _nombre_valido(nombre)
    crudo = _b64(b64)
    if len(crudo) != 33 or crudo[0] not in (ED25519, COFIRMA):
        raise NotaError("la llave no es Ed25519 (tipo 0x01 o 0x04)")
    try:
        llave = VerifyKey.from_raw(crudo[1:])
    except (SignatureError, ValueError):
        raise NotaError("la llave pública no es válida") from None
    if id_llave(nombre, crudo[0], llave).hex() != id_hex.lower():
        raise NotaError("el id de la llave no corresponde a su nombre y su llave")
    return nombre, crudo[0], llave


def firmar(texto: str, nombre: str, llave: SigningKey) -> Nota:
    """A note of ``texto`` signed by ``nombre`` with ``llave`` (Ed25519, tipo 0x01)."""
    _texto_valido(texto)
    _nombre_valido(nombre)
    firma = Firma(nombre, id_llave(nombre, ED25519, llave.public), llave.sign(texto.encode()))
    return Nota(texto, (firma,))


def firmada_por(nota: Nota, nombre: str, llave: VerifyKey) -> bool:
    """Whether one of the note's lines is a valid signature of its text by that key."""
    esperado = id_llave(nombre, ED25519, llave)
    for firma in nota.firmas:
        if firma.nombre == nombre and firma.id_llave == esperado:
            try:
                llave.verify(firma.datos, nota.texto.encode())
            except SignatureError:
                continue
            return True
    return False


def _cofirmado(checkpoint: Checkpoint, tiempo: int) -> bytes:
    return f"cosignature/v1\ntime {tiempo}\n".encode() + checkpoint.texto().encode()


def cofirmar(checkpoint: Checkpoint, nombre: str, llave: SigningKey, tiempo: int) -> Firma:
    """A witness's cosignature line on ``checkpoint`` at Unix second ``tiempo``."""
    _nombre_valido(nombre)
    if not 0 <= tiempo < 2**63:
        raise NotaError("la hora de la cofirma está fuera de rango")
    firma = llave.sign(_cofirmado(checkpoint, tiempo))
    return Firma(nombre, id_llave(nombre, COFIRMA, llave.public),
                 struct.pack(">Q", tiempo) + firma)


def cofirma_valida(checkpoint: Checkpoint, firma: Firma, nombre: str,
                   llave: VerifyKey) -> int | None:
    """The Unix second at which ``firma`` is ``nombre``'s valid cosignature of
    ``checkpoint``; ``None`` if it is not one."""
    if firma.nombre != nombre or firma.id_llave != id_llave(nombre, COFIRMA, llave) \
            or len(firma.datos) != 8 + 64:
        return None
    (tiempo,) = struct.unpack(">Q", firma.datos[:8])
    try:
        llave.verify(firma.datos[8:], _cofirmado(checkpoint, tiempo))
    except SignatureError:
        return None
    return int(tiempo)


def leer(crudo: bytes) -> Nota:
    """Parse a signed note (at most :data:`MAX_NOTA` bytes, :data:`MAX_FIRMAS` lines).
    Signatures are not checked here."""
    if len(crudo) > MAX_NOTA:
        raise NotaError(f"la nota firmada pasa de {MAX_NOTA} bytes")
    try:
        todo = crudo.decode("utf-8")
    except UnicodeDecodeError:
        raise NotaError("la nota firmada no es UTF-8") from None
    texto, separador, firmas = todo.rpartition("\n\n")
    if not separador or not firmas.endswith("\n"):
        raise NotaError("la nota no tiene una línea en blanco seguida de firmas")
    texto += "\n"
    _texto_valido(texto)
    lineas = firmas[:-1].split("\n")
    if len(lineas) > MAX_FIRMAS:
        raise NotaError(f"la nota tiene más de {MAX_FIRMAS} firmas")
    return Nota(texto, tuple(_firma(linea) for linea in lineas))


def _firma(linea: str) -> Firma:
    if not linea.startswith(_GUION):
        raise NotaError("una línea de firma no empieza con «— »")
    partes = linea[len(_GUION):].split(" ")
    if len(partes) != 2:
        raise NotaError("una línea de firma no es «— nombre firma»")
    nombre, b64 = partes
    _nombre_valido(nombre)
    crudo = _b64(b64)
    if len(crudo) < 5:
        raise NotaError("una firma es demasiado corta")
    return Firma(nombre, crudo[:4], crudo[4:])


def checkpoint(nota: Nota) -> Checkpoint:
    """The checkpoint a note's text is (extension lines are refused: this log has none)."""
    lineas = nota.texto[:-1].split("\n")
    if len(lineas) != 3:
        raise NotaError("el checkpoint no tiene origen, tamaño y raíz (tres líneas)")
    origen, tamano, raiz = lineas
    if not origen or not _TAMANO.fullmatch(tamano):
        raise NotaError("el checkpoint no tiene un origen y un tamaño decimal")
    crudo = _b64(raiz)
    if len(crudo) != 32:
        raise NotaError("la raíz del checkpoint no es un SHA-256")
    return Checkpoint(origen, int(tamano), crudo)


def _b64(texto: str) -> bytes:
    try:
        return base64.b64decode(texto, validate=True)
    except (binascii.Error, ValueError):
        raise NotaError("base64 no válido en la nota") from None


def _nombre_valido(nombre: str) -> None:
    if not _NOMBRE.fullmatch(nombre):
        raise NotaError(f"nombre de llave no válido: {nombre[:40]!r} (sin espacios ni «+»)")


def _texto_valido(texto: str) -> None:
    if not texto.endswith("\n") or "\n\n" in texto or texto.startswith("\n") \
            or any(ord(c) < 0x20 and c != "\n" for c in texto):
        raise NotaError("el texto de la nota debe ser líneas no vacías que terminen en «\\n»")
