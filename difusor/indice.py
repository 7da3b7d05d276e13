"""The origin's signed index (``indice.json`` + ``indice.json.sig``), checked against the
pinned key fingerprint before anything in it is used."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

from difusor.cliente import Origen
from difusor.errores import Rechazo
from prep.canonical import CanonicalError
from prep.canonical import parse_json
from prep.crypto import SignatureError
from prep.crypto import VerifyKey

INDICE = "indice.json"
INDICE_FIRMA = INDICE + ".sig"
# [0-9], never \d: a corte's name is ASCII (\d also takes other scripts' digits).
_NOMBRE = re.compile(r"([0-9]{8})_([0-9]{4})(?:_([1-9][0-9]{0,3}))?")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def orden(nombre: str) -> tuple[str, str, int]:
    """Sort key of a corte name ``YYYYMMDD_HHMM[_n]`` (:class:`Rechazo` for others)."""
    match = _NOMBRE.fullmatch(nombre)
    if match is None:
        raise Rechazo(f"nombre de corte inválido {nombre[:80]!r}")
    return match.group(1), match.group(2), int(match.group(3) or 1)


def es_corte(nombre: str) -> bool:
    return _NOMBRE.fullmatch(nombre) is not None


@dataclass(frozen=True)
class EntradaCorte:
    nombre: str
    manifiesto_sha256: str
    bytes: int
    #: The manifest's exact size, where the index says it (centrals since issue 62): no
    #: answer for the manifest may grow beyond it, however it is compressed.
    manifiesto_bytes: int | None = None


@dataclass(frozen=True)
class Indice:
    """A verified index: the key that signed it and its newest corte."""

    llave: VerifyKey
    ultimo: EntradaCorte | None
    cortes: int
    generado: str  # when the central wrote it (UTC, ISO 8601), as it says
    nombres: tuple[str, ...] = ()  # every corte listed, oldest first (for the lag)

    def edad(self, ahora: datetime | None = None) -> float | None:
        """Seconds since the central wrote this index (None: it does not say when)."""
        try:
            generado = datetime.fromisoformat(self.generado)
        except ValueError:
            return None
        if generado.tzinfo is None:
            return None
        return ((ahora or datetime.now(UTC)) - generado).total_seconds()


def leer_indice(origen: Origen, huella: str, limite: int) -> Indice:
    """Fetch and check the index; a signature that fails once is fetched again (the
    central replaces the index and then its signature)."""
    try:
        return _leer(origen, huella, limite)
    except _FirmaNoCoincide:
        time.sleep(1.0)
    try:
        return _leer(origen, huella, limite)
    except _FirmaNoCoincide as exc:
        raise Rechazo(str(exc)) from None


class _FirmaNoCoincide(Rechazo):
    pass


def _leer(origen: Origen, huella: str, limite: int) -> Indice:
    data = origen.get(INDICE, limite)
    firma = origen.get(INDICE_FIRMA, 1024)
    try:
        # Bounded before the signature can be checked (the key is inside): size by the
        # read, nesting and numbers by the parser; "[[[[…" is refused, not a crash.
        parsed = parse_json(data, limite)
        if not isinstance(parsed, dict):
            raise TypeError
        llave = VerifyKey.from_b64(parsed["llave"])
    except (CanonicalError, ValueError, KeyError, TypeError, SignatureError):
        raise Rechazo(f"{INDICE} de {origen.url} no es un índice válido") from None
    if llave.fingerprint() != huella:
        raise Rechazo(f"{INDICE} de {origen.url} está firmado con otra llave "
                      f"({llave.fingerprint()}), no con la del instituto ({huella})")
    try:
        llave.verify(firma, data)
    except SignatureError:
        raise _FirmaNoCoincide(f"la firma {INDICE_FIRMA} de {origen.url} no corresponde a "
                               f"{INDICE}: índice alterado o no firmado por el instituto") \
            from None
    return _entradas(parsed, llave, origen.url)


def _entradas(parsed: dict[str, object], llave: VerifyKey, url: str) -> Indice:
    cortes = parsed.get("cortes")
    if parsed.get("formato") != 1 or not isinstance(cortes, list):
        raise Rechazo(f"{INDICE} de {url}: formato desconocido")
    generado = str(parsed.get("generado", ""))[:40]
    if not cortes:
        return Indice(llave, None, 0, generado)
    try:
        entradas = [EntradaCorte(str(c["nombre"]), str(c["manifiesto_sha256"]),
                                 int(c["bytes"]), _tamano(c.get("manifiesto_bytes")))
                    for c in cortes]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise Rechazo(f"{INDICE} de {url}: entrada de corte inválida") from None
    for entrada in entradas:
        orden(entrada.nombre)
        if not _SHA256.fullmatch(entrada.manifiesto_sha256):
            raise Rechazo(f"{INDICE} de {url}: huella de manifiesto inválida en "
                          f"{entrada.nombre}")
    return Indice(llave, max(entradas, key=lambda e: orden(e.nombre)), len(entradas),
                  generado, tuple(sorted((e.nombre for e in entradas), key=orden)))


def _tamano(value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or value < 0:
        raise TypeError
    return value


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
