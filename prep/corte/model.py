"""What a corte knows about each acta at the moment of the snapshot."""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import ClassVar

from prep.rules import CausaSinActa
from prep.values import Captura


class Origen(enum.StrEnum):
    """Where the published image came from (ORIGEN)."""

    CATD = "CATD"
    CASILLA = "CASILLA"


class Digitalizacion(enum.StrEnum):
    """How the published image was made (DIGITALIZACION)."""

    ESCANER = "Escáner"
    MOVIL = "Móvil"


class ActaEnCorte:
    """The published state of one catalog acta.

    ``captura`` is the validated capture (``None`` while the acta has no published data);
    ``causa_sin_acta`` is set when the acta was registered *sin acta*. ``traslado`` is
    the published MECANISMOS_TRASLADO code (``F``, ``I``, ``D``; ``-`` while the paquete of
    an acta published from its PREP Casilla photo has not reached the CATD; ``None``: no
    mechanism)
    and ``tipo_documento`` the published TIPO_DOCUMENTO (``None``: the Acta PREP), both
    as :mod:`prep.paquete` publishes them. ``fecha_verificacion`` is when the data was
    validated for publication. All times are timezone-aware, read back in UTC to the
    microsecond.

    Immutable and compared by value, like a frozen dataclass. A national central keeps
    half a million of them: the three times, the origin, the medium, the cause and the
    cotejo are packed in one ``bytes`` of 28 (the times as microseconds since the
    epoch), about 130 bytes an acta less than a slot and a ``datetime`` each.
    """

    __slots__ = ("_datos", "_sha", "captura", "clave", "tipo_documento", "traslado")

    clave: str
    captura: Captura | None
    traslado: str | None
    tipo_documento: str | None
    _datos: bytes
    #: The SHA-256 as its 32 bytes (a text that is not one in lowercase hex: as given).
    _sha: bytes | str | None
    __dataclass_fields__: ClassVar[dict[str, Any]]  # _Campos's

    def __init__(self, clave: str, acopio: datetime | None = None,  # noqa: PLR0913
                 captura: Captura | None = None, causa_sin_acta: CausaSinActa | None = None,
                 fecha_captura: datetime | None = None,
                 fecha_verificacion: datetime | None = None, origen: Origen | None = None,
                 digitalizacion: Digitalizacion | None = None, sha256: str | None = None,
                 traslado: str | None = None, cotejada: bool = False,
                 tipo_documento: str | None = None) -> None:
        if captura is not None and causa_sin_acta is not None:
            raise ValueError(f"{clave}: un acta sin acta no puede tener captura")
        _poner(self, clave, captura, sha256, traslado, tipo_documento, empacar(
            microsegundos(acopio), microsegundos(fecha_captura),
            microsegundos(fecha_verificacion), origen, digitalizacion, causa_sin_acta,
            cotejada))

    @property
    def sha256(self) -> str | None:
        """The published image's SHA-256 (lowercase hex; None: no image)."""
        sha = self._sha
        return sha if sha is None or sha.__class__ is str else sha.hex()  # type: ignore[union-attr]

    @property
    def acopio(self) -> datetime | None:
        return _hora(_HORAS.unpack_from(self._datos)[0])

    @property
    def acopio_us(self) -> int | None:
        """:attr:`acopio` as whole microseconds since 1970 (no datetime made)."""
        us: int = _HORAS.unpack_from(self._datos)[0]
        return None if us == NINGUNA else us

    @property
    def horas_us(self) -> tuple[int, int, int]:
        """:attr:`acopio`, :attr:`fecha_captura` and :attr:`fecha_verificacion` as whole
        microseconds since 1970 (:data:`NINGUNA`: none), no datetime made."""
        horas: tuple[int, int, int] = _HORAS.unpack_from(self._datos)
        return horas

    @property
    def fecha_captura(self) -> datetime | None:
        return _hora(_HORAS.unpack_from(self._datos)[1])

    @property
    def fecha_verificacion(self) -> datetime | None:
        return _hora(_HORAS.unpack_from(self._datos)[2])

    @property
    def origen(self) -> Origen | None:
        return _ORIGENES[self._datos[_CODIGOS]]

    @property
    def digitalizacion(self) -> Digitalizacion | None:
        return _DIGITALIZACIONES[self._datos[_CODIGOS + 1]]

    @property
    def causa_sin_acta(self) -> CausaSinActa | None:
        return _CAUSAS[self._datos[_CODIGOS + 2]]

    @property
    def cotejada(self) -> bool:
        return bool(self._datos[_CODIGOS + 3])

    @property
    def publicada(self) -> bool:
        """Whether the acta has published data (counts in ACTAS_CAPTURADAS)."""
        return self.captura is not None or self._datos[_CODIGOS + 2] != 0

    def _clave_valor(self) -> tuple[object, ...]:
        return (self.clave, self.captura, self._sha, self.traslado, self.tipo_documento,
                self._datos)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not ActaEnCorte:
            return NotImplemented
        assert isinstance(other, ActaEnCorte)
        return self._clave_valor() == other._clave_valor()

    def __hash__(self) -> int:
        return hash(self._clave_valor())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ActaEnCorte es inmutable: no se puede asignar {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"ActaEnCorte es inmutable: no se puede borrar {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return _de_campos, self._clave_valor()

    def __repr__(self) -> str:
        return "ActaEnCorte(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in CAMPOS) + ")"


@dataclass(frozen=True)
class _Campos:
    """:class:`ActaEnCorte`'s fields as a dataclass declares them, which it takes as its
    own: ``dataclasses.fields`` and ``replace`` work on it as they did when it was one
    (its constructor takes the same arguments)."""

    clave: str
    acopio: datetime | None = None
    captura: Captura | None = None
    causa_sin_acta: CausaSinActa | None = None
    fecha_captura: datetime | None = None
    fecha_verificacion: datetime | None = None
    origen: Origen | None = None
    digitalizacion: Digitalizacion | None = None
    sha256: str | None = None
    traslado: str | None = None
    cotejada: bool = False
    tipo_documento: str | None = None


ActaEnCorte.__dataclass_fields__ = _Campos.__dataclass_fields__
#: Its fields, in the constructor's order.
CAMPOS = tuple(_Campos.__dataclass_fields__)
_EPOCA = datetime(1970, 1, 1, tzinfo=UTC)
#: A time :func:`empacar` is given for none.
NINGUNA = -(2**63)
_HORAS = struct.Struct("<3q")
_DATOS = struct.Struct("<3q4B")
_CODIGOS = _HORAS.size
_ORIGENES: tuple[Origen | None, ...] = (None, *Origen)
_DIGITALIZACIONES: tuple[Digitalizacion | None, ...] = (None, *Digitalizacion)
_CAUSAS: tuple[CausaSinActa | None, ...] = (None, *CausaSinActa)
_CODIGO_ORIGEN = {v: i for i, v in enumerate(_ORIGENES)}
_CODIGO_DIGITALIZACION = {v: i for i, v in enumerate(_DIGITALIZACIONES)}
_CODIGO_CAUSA = {v: i for i, v in enumerate(_CAUSAS)}
_SLOTS = {n: ActaEnCorte.__dict__[n].__set__ for n in ActaEnCorte.__slots__}
_S_DATOS, _S_SHA256, _S_CAPTURA, _S_CLAVE, _S_TIPO, _S_TRASLADO = (
    _SLOTS[n] for n in ActaEnCorte.__slots__)


#: ActaEnCorte.traslado of an acta published from its PREP Casilla photo whose paquete has
#: not reached the CATD yet: its FECHA_HORA_ACOPIO is the photo's, no paquete arrived.
SIN_PAQUETE = "-"


def microsegundos(when: datetime | None) -> int:
    """``when`` as whole microseconds since the epoch (a time without zone is refused)."""
    if when is None:
        return NINGUNA
    if when.tzinfo is None:
        raise ValueError(f"hora sin zona horaria: {when!r}")
    return (when - _EPOCA) // _UN_MICROSEGUNDO


_UN_MICROSEGUNDO = timedelta(microseconds=1)


def _hora(us: int) -> datetime | None:
    return None if us == NINGUNA else _EPOCA + timedelta(microseconds=us)


def empacar(acopio: int, fecha_captura: int, fecha_verificacion: int,
            origen: Origen | None, digitalizacion: Digitalizacion | None,
            causa_sin_acta: CausaSinActa | None, cotejada: bool) -> bytes:
    """An acta's packed times (microseconds, :func:`microsegundos`) and codes."""
    return _DATOS.pack(acopio, fecha_captura, fecha_verificacion, _CODIGO_ORIGEN[origen],
                       _CODIGO_DIGITALIZACION[digitalizacion], _CODIGO_CAUSA[causa_sin_acta],
                       1 if cotejada else 0)


def _sha(sha256: str | bytes | None) -> str | bytes | None:
    """A SHA-256 as :class:`ActaEnCorte` keeps it: the 32 bytes of its lowercase hex
    (65 bytes of memory instead of 113: half a million actas nationally)."""
    if sha256 is None or sha256.__class__ is bytes or len(sha256) != 64:
        return sha256
    try:
        crudo = bytes.fromhex(sha256)  # type: ignore[arg-type]
    except ValueError:
        return sha256
    return crudo if crudo.hex() == sha256 else sha256


def _poner(acta: ActaEnCorte, clave: str, captura: Captura | None,
           sha256: str | bytes | None, traslado: str | None, tipo_documento: str | None,
           datos: bytes) -> None:
    _S_CLAVE(acta, clave)
    _S_CAPTURA(acta, captura)
    _S_SHA256(acta, _sha(sha256))
    _S_TRASLADO(acta, traslado)
    _S_TIPO(acta, tipo_documento)
    _S_DATOS(acta, datos)


def de_partes(clave: str, captura: Captura | None, sha256: str | bytes | None,
              traslado: str | None, tipo_documento: str | None, datos: bytes) -> ActaEnCorte:
    """An :class:`ActaEnCorte` from its fields and packed data (:func:`empacar`), not
    checked again: the snapshot builds half a million of them."""
    acta: ActaEnCorte = object.__new__(ActaEnCorte)
    _poner(acta, clave, captura, sha256, traslado, tipo_documento, datos)
    return acta


def _de_campos(*campos: Any) -> ActaEnCorte:
    return de_partes(*campos)


@dataclass(frozen=True, slots=True)
class FueraDeCatalogo:
    """An acta registered at acopio whose code matches no catalog acta."""

    codigo_leido: str
    eleccion: str  # election code, when the code said one; "" otherwise
    acopio: datetime
    #: ORIGEN of what registered it: "CATD" (an acopio, or a CATD's scan), "CASILLA" (a
    #: PREP Casilla photo); "" when not known.
    origen: str = ""
