"""What a corte knows about each acta at the moment of the snapshot."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

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


@dataclass(frozen=True, slots=True)
class ActaEnCorte:
    """The published state of one catalog acta.

    ``captura`` is the validated capture (``None`` while the acta has no published data);
    ``causa_sin_acta`` is set when the acta was registered *sin acta*. ``traslado`` is
    the published MECANISMOS_TRASLADO code (``F``, ``I``, ``D``; ``None``: no mechanism)
    and ``tipo_documento`` the published TIPO_DOCUMENTO (``None``: the Acta PREP), both
    as :mod:`prep.paquete` publishes them. ``fecha_verificacion`` is when the data was
    validated for publication. All times are timezone-aware UTC.
    """

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

    def __post_init__(self) -> None:
        if self.captura is not None and self.causa_sin_acta is not None:
            raise ValueError(f"{self.clave}: un acta sin acta no puede tener captura")

    @property
    def publicada(self) -> bool:
        """Whether the acta has published data (counts in ACTAS_CAPTURADAS)."""
        return self.captura is not None or self.causa_sin_acta is not None


@dataclass(frozen=True, slots=True)
class FueraDeCatalogo:
    """An acta registered at acopio whose code matches no catalog acta."""

    codigo_leido: str
    eleccion: str  # election code, when the code said one; "" otherwise
    acopio: datetime
