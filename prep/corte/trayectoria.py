"""What the central's fold accepted for one acta, as the public history is made from it
(issue 29): its acopio, images, captures and cotejos, nothing about who.

A national central keeps half a million of these between cortes, so each is kept packed
(:func:`empacar`) and unpacked when its history is made (:func:`desempacar`, or
:func:`crudo` without making named tuples). Split from :mod:`prep.corte.historial`,
which makes HISTORIAL.csv's rows from them.
"""

from __future__ import annotations

import marshal
import struct
import threading
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import NamedTuple

from prep.corte.model import NINGUNA
from prep.corte.model import microsegundos

#: Where an event happened when no CATD is known (a PREP Casilla photo, an older record).
SIN_CENTRO = ""


# The history's records are named tuples, not dataclasses: a national corte reads a
# few million of them, and a tuple is made several times faster.
class ImagenH(NamedTuple):
    """An image of the acta the fold kept (``record``: how captures name it)."""

    record: str
    at: datetime
    catd: str
    sha256: str
    origen: str
    digitalizacion: str
    reemplaza: bool = False


class CapturaH(NamedTuple):
    """A capture (``slot`` 1–3) or a verificador's decision (``slot`` 0) that counted."""

    verificacion: bool
    ronda: int
    slot: int
    imagen: str | None  # the image record it was made on
    at: datetime
    catd: str
    received_at: datetime


class CotejoH(NamedTuple):
    """A cotejo the fold accepted; one with differences opened correction round
    ``ronda`` (its captures are ``CORRECCION``)."""

    at: datetime
    catd: str
    coincide: bool
    received_at: datetime
    ronda: int | None = None


class Trayectoria(NamedTuple):
    """What the central's fold accepted for one acta (nothing about who)."""

    acopio_catd: str = SIN_CENTRO
    sin_acta_catd: str = SIN_CENTRO
    imagenes: tuple[ImagenH, ...] = ()
    capturas: tuple[CapturaH, ...] = ()
    cotejos: tuple[CotejoH, ...] = ()
    #: When the paquete was received at the CATD (None: not told; the acta's published
    #: FECHA_HORA_ACOPIO is then its ACOPIO's time). Told apart because an acta published
    #: from its PREP Casilla photo carries the photo's time as FECHA_HORA_ACOPIO.
    acopio_at: datetime | None = None


# A national central keeps half a million trajectories between cortes, and a corte makes
# the history of only the few thousand actas around the ones that changed: each is kept
# packed (:func:`empacar`, about 110 bytes instead of 840 as named tuples with their
# datetimes) and unpacked when its history is made (:func:`desempacar`). Its times are
# whole microseconds since 1970 (UTC), its images' SHA-256 the 32 bytes, its texts (CATD,
# image number, origin, medium: a few hundred distinct in a night) numbers in a table
# of this process (:class:`_Textos`).
#: A trajectory as a :class:`Historial` holds it: packed, or as given (tests, tools).
Guardada = bytes | Trayectoria
_EPOCA = datetime(1970, 1, 1, tzinfo=UTC)
_UN_US = timedelta(microseconds=1)


class _Textos:
    """The texts of the packed trajectories, each a number (0–65534) in the order first
    seen. Only grows, so a trajectory packs to the same bytes all the process long (the
    corte compares them); the bytes never leave the process."""

    TOPE = 0xFFFF  # the number that says "no text" (a capture's image: none)

    def __init__(self) -> None:
        self.textos: list[str] = []
        self.numeros: dict[str, int] = {}
        self._nuevo = threading.Lock()  # two snapshots read at once number apart

    def numero(self, texto: str) -> int:
        n = self.numeros.get(texto)
        if n is None:
            with self._nuevo:
                n = self.numeros.get(texto)
                if n is None:
                    n = len(self.textos)
                    if n >= self.TOPE:
                        raise OverflowError("demasiados textos distintos en las trayectorias")
                    self.textos.append(texto)
                    self.numeros[texto] = n
        return n


_TEXTOS = _Textos()
#: The packed form's first byte (marshal's first byte is never 0: see :func:`empacar`).
_COMPACTA = 0
#: form, acopio CATD, sin acta CATD, number of images/captures/cotejos, acopio time
#: (:data:`NINGUNA`: none; :data:`SIN_DECIR`: not told)
_P_CABEZA = "<BHHBBBq"
_CABEZA_CAMPOS = 7
#: A trajectory's acopio time that was not told (Trayectoria.acopio_at None).
SIN_DECIR = NINGUNA + 1
_P_IMAGEN = "HqH32sHH?"  # record, at, CATD, SHA-256, origin, medium, replaces
_P_CAPTURA = "?iiHqHq"  # verificación, round, slot, image (TOPE: none), at, CATD, received
_P_COTEJO = "qH?qi"  # at, CATD, coincides, received, round (-1: none)
_SIN_RONDA = -1
#: The struct of a trajectory per (images, captures, cotejos).
_FORMAS: dict[tuple[int, int, int], struct.Struct] = {}
#: marshal's format 2 (no references back): what a trajectory that does not fit the
#: compact form (a count past 255, a text past the table, a number past its field)
#: packs to instead, always the same bytes for the same trajectory.
_MARSHAL = 2


def _forma(ni: int, nc: int, nk: int) -> struct.Struct:
    forma = _FORMAS.get((ni, nc, nk))
    if forma is None:
        forma = _FORMAS[(ni, nc, nk)] = struct.Struct(
            _P_CABEZA + _P_IMAGEN * ni + _P_CAPTURA * nc + _P_COTEJO * nk)
    return forma


def empacar(acopio_catd: str, sin_acta_catd: str,
            imagenes: Sequence[tuple[str, int, str, bytes, str, str, bool]],
            capturas: Sequence[tuple[bool, int, int, str | None, int, str, int]],
            cotejos: Sequence[tuple[int, str, bool, int, int | None]],
            acopio_us: int = SIN_DECIR) -> bytes:
    """A trajectory packed, from its fields as :func:`desempacar` gives them back, each
    time in :func:`microsegundos` and each image's SHA-256 as its 32 bytes
    (``acopio_us``: the paquete's acopio, :data:`NINGUNA` for none, :data:`SIN_DECIR`
    when not told)."""
    try:
        n = _TEXTOS.numero
        campos: list[Any] = [_COMPACTA, n(acopio_catd), n(sin_acta_catd), len(imagenes),
                             len(capturas), len(cotejos), acopio_us]
        for record, at, catd, sha, origen, medio, reemplaza in imagenes:
            if len(sha) != 32:
                raise ValueError("SHA-256 de otro tamaño")
            campos += (n(record), at, n(catd), sha, n(origen), n(medio), reemplaza)
        for verificacion, ronda, slot, imagen, at, catd, recibida in capturas:
            campos += (verificacion, ronda, slot, _TEXTOS.TOPE if imagen is None
                       else n(imagen), at, n(catd), recibida)
        for at, catd, coincide, recibido, ronda_ in cotejos:
            campos += (at, n(catd), coincide, recibido,
                       _SIN_RONDA if ronda_ is None else ronda_)
        return _forma(len(imagenes), len(capturas), len(cotejos)).pack(*campos)
    except (struct.error, OverflowError, ValueError):
        return marshal.dumps((acopio_catd, sin_acta_catd, tuple(imagenes), tuple(capturas),
                              tuple(cotejos), acopio_us), _MARSHAL)


def _desempacar_crudo(guardada: bytes) -> tuple[Any, ...]:
    """:func:`empacar`'s fields back, as it took them."""
    if guardada[0] != _COMPACTA:
        return marshal.loads(guardada)  # type: ignore[no-any-return]
    _, acopio, sin_acta, ni, nc, nk, acopio_us = struct.unpack_from(_P_CABEZA, guardada)
    v = _forma(ni, nc, nk).unpack(guardada)
    t = _TEXTOS.textos
    k = _CABEZA_CAMPOS
    imagenes = []
    for _ in range(ni):
        record, at, catd, sha, origen, medio, reemplaza = v[k:k + 7]
        imagenes.append((t[record], at, t[catd], sha, t[origen], t[medio], reemplaza))
        k += 7
    capturas = []
    for _ in range(nc):
        verificacion, ronda, slot, imagen, at, catd, recibida = v[k:k + 7]
        capturas.append((verificacion, ronda, slot, None if imagen == _TEXTOS.TOPE
                         else t[imagen], at, t[catd], recibida))
        k += 7
    cotejos = []
    for _ in range(nk):
        at, catd, coincide, recibido, ronda_ = v[k:k + 5]
        cotejos.append((at, t[catd], coincide, recibido,
                        None if ronda_ == _SIN_RONDA else ronda_))
        k += 5
    return (t[acopio], t[sin_acta], tuple(imagenes), tuple(capturas), tuple(cotejos),
            acopio_us)


def empacada(t: Trayectoria) -> bytes:
    """:func:`empacar` of a trajectory's named tuples."""
    us = microsegundos
    return empacar(
        t.acopio_catd, t.sin_acta_catd,
        [(i.record, us(i.at), i.catd, bytes.fromhex(i.sha256), i.origen, i.digitalizacion,
          i.reemplaza) for i in t.imagenes],
        [(c.verificacion, c.ronda, c.slot, c.imagen, us(c.at), c.catd, us(c.received_at))
         for c in t.capturas],
        [(us(c.at), c.catd, c.coincide, us(c.received_at), c.ronda)
         for c in t.cotejos],
        SIN_DECIR if t.acopio_at is None else us(t.acopio_at))


def _hora_us(us: int) -> datetime | None:
    return None if us == NINGUNA else _EPOCA + us * _UN_US


def desempacar(guardada: Guardada | None) -> Trayectoria:
    """The trajectory a :class:`Historial` holds (``None``: the acta has none)."""
    if guardada is None:
        return _VACIA
    if isinstance(guardada, Trayectoria):
        return guardada
    acopio, sin_acta, imagenes, capturas, cotejos, acopio_us = _desempacar_crudo(guardada)
    epoca, un_us = _EPOCA, _UN_US
    return Trayectoria(
        acopio, sin_acta,
        tuple([ImagenH(r, epoca + at * un_us, catd, sha.hex(), origen, medio, reemplaza)
               for r, at, catd, sha, origen, medio, reemplaza in imagenes]),
        tuple([CapturaH(v, ronda, slot, imagen, epoca + at * un_us, catd,
                        epoca + recibida * un_us)
               for v, ronda, slot, imagen, at, catd, recibida in capturas]),
        tuple([CotejoH(epoca + at * un_us, catd, coincide, epoca + recibido * un_us, ronda)
               for at, catd, coincide, recibido, ronda in cotejos]),
        None if acopio_us == SIN_DECIR else _hora_us(acopio_us))


#: The history of an acta with no trajectory, and its fields as packed.
_VACIA = Trayectoria()
_CRUDA_VACIA = (SIN_CENTRO, SIN_CENTRO, (), (), (), SIN_DECIR)


def crudo(guardada: Guardada | None) -> tuple[Any, ...]:
    """The fields of a trajectory as :func:`empacar` packs them."""
    if guardada is None:
        return _CRUDA_VACIA
    if isinstance(guardada, Trayectoria):
        guardada = empacada(guardada)
    return _desempacar_crudo(guardada)
