"""A corte as a leaf of the log: its name, its time and its manifest's SHA-256, as text
(the leaf's data; its hash is :func:`prep.transparencia.merkle.hoja` of these bytes)::

    prep-corte/v1
    nombre 20270606_2305
    hora 2027-06-07T05:05:00.000000Z
    manifiesto <64 hex: SHA-256 of MANIFIESTO.sha256>
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prep.transparencia.merkle import hoja
from prep.transparencia.nota import NotaError

FORMATO = "prep-corte/v1"
MAX_ENTRADA = 512
_NOMBRE = re.compile(r"[0-9]{8}_[0-9]{4}(_[0-9]{1,4})?")
_HORA = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_SHA = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Entrada:
    """One published corte in the log."""

    nombre: str
    hora: str
    manifiesto: str

    def __post_init__(self) -> None:
        if not _NOMBRE.fullmatch(self.nombre):
            raise NotaError(f"nombre de corte no válido en el registro: {self.nombre[:40]!r}")
        if not _HORA.fullmatch(self.hora):
            raise NotaError(f"hora no válida en el registro: {self.hora[:40]!r}")
        if not _SHA.fullmatch(self.manifiesto):
            raise NotaError("el SHA-256 del manifiesto no son 64 dígitos hexadecimales")

    def datos(self) -> bytes:
        """The leaf's data."""
        return (f"{FORMATO}\nnombre {self.nombre}\nhora {self.hora}\n"
                f"manifiesto {self.manifiesto}\n").encode()

    def hash(self) -> bytes:
        """The leaf's hash in the tree."""
        return hoja(self.datos())


def leer_entrada(crudo: bytes) -> Entrada:
    """An entry from its data (untrusted: bounded, exact)."""
    if len(crudo) > MAX_ENTRADA:
        raise NotaError("la entrada del registro es demasiado grande")
    try:
        lineas = crudo.decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise NotaError("la entrada del registro no es ASCII") from None
    if len(lineas) != 5 or lineas[0] != FORMATO or lineas[4] != "":
        raise NotaError(f"la entrada del registro no es {FORMATO}")
    campos = {}
    for linea, clave in zip(lineas[1:4], ("nombre", "hora", "manifiesto"), strict=True):
        prefijo = clave + " "
        if not linea.startswith(prefijo):
            raise NotaError(f"a la entrada del registro le falta «{clave}»")
        campos[clave] = linea[len(prefijo):]
    entrada = Entrada(**campos)
    if entrada.datos() != crudo:
        raise NotaError("la entrada del registro no está en su forma exacta")
    return entrada
