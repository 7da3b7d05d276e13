"""How a paquete electoral reached the CATD and which document it brought.

Two facts the acopiador records with each acopio (``docs/protocol.md``, "Records") and
the corte publishes (MECANISMOS_TRASLADO, TIPO_DOCUMENTO):

- :class:`Traslado`: the mechanism by which the paquete arrived. The Consejo approves
  one per casilla (the catalog's default, ``Casilla.traslado``, ``docs/catalogo.md``);
  the acopiador changes it when the paquete came otherwise. Published with INE's codes
  (``F`` and ``I`` for the Centros de Recepción y Traslado fijos and itinerantes, ``D``
  for the Dispositivos de Apoyo para el Traslado, DAT) and ``E`` for a paquete
  delivered directly, which INE leaves empty (:data:`prep.catalog.model.
  MECANISMOS_TRASLADO`). Mesas whose votes are counted where the PREP receives them
  (voto anticipado, extranjero…) have no paquete: the column says ``N/A``.
- :class:`TipoDocumento`: the Acta PREP, or, when it is missing, another copy of the
  acta de escrutinio y cómputo (Anexo 13 allows any), published as «Acta PREP» or
  «Acta de Escrutinio y Cómputo».

The record carries the tokens (stable, snake_case like the other record values); the
published codes and the operator's labels derive from them here, once.
"""

from __future__ import annotations

import enum
from functools import lru_cache


class Traslado(enum.StrEnum):
    """The mechanism by which a paquete reached the CATD (record token)."""

    DIRECTO = "directo"
    CRYT_FIJO = "cryt_fijo"
    CRYT_ITINERANTE = "cryt_itinerante"
    DAT = "dat"

    @property
    def codigo(self) -> str:
        """The published MECANISMOS_TRASLADO code."""
        return _CODIGOS_TRASLADO[self]

    @property
    def etiqueta(self) -> str:
        """As the acopiador reads it."""
        return _ETIQUETAS_TRASLADO[self]


_CODIGOS_TRASLADO: dict[Traslado, str] = {
    Traslado.DIRECTO: "E", Traslado.CRYT_FIJO: "F", Traslado.CRYT_ITINERANTE: "I",
    Traslado.DAT: "D"}
_ETIQUETAS_TRASLADO: dict[Traslado, str] = {
    Traslado.DIRECTO: "Entrega directa",
    Traslado.CRYT_FIJO: "CRyT fijo",
    Traslado.CRYT_ITINERANTE: "CRyT itinerante",
    Traslado.DAT: "DAT",
}


class TipoDocumento(enum.StrEnum):
    """The document the acta's data comes from (record token)."""

    ACTA_PREP = "acta_prep"
    COPIA_AEC = "copia_aec"

    @property
    def publicado(self) -> str:
        """The published TIPO_DOCUMENTO value."""
        return _PUBLICADOS[self]

    @property
    def etiqueta(self) -> str:
        """As the acopiador reads it."""
        return _ETIQUETAS_DOCUMENTO[self]


_PUBLICADOS: dict[TipoDocumento, str] = {
    TipoDocumento.ACTA_PREP: "Acta PREP",
    TipoDocumento.COPIA_AEC: "Acta de Escrutinio y Cómputo",
}
_ETIQUETAS_DOCUMENTO: dict[TipoDocumento, str] = {
    TipoDocumento.ACTA_PREP: "Acta PREP",
    TipoDocumento.COPIA_AEC: "Otra copia del acta de escrutinio y cómputo",
}


@lru_cache(maxsize=64)  # a corte asks once per published acta; catalogs hold few values
def traslado_de_catalogo(value: str | None) -> Traslado | None:
    """A catalog's per-casilla default as a :class:`Traslado`: a published code (``E``,
    ``F``, ``I``, ``D``) or a record token; ``None`` where no paquete travels (the
    catalog leaves it empty only for such mesas)."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    for traslado in Traslado:
        if text in (traslado.value, traslado.codigo):
            return traslado
    raise ValueError(f"mecanismo de traslado desconocido: {text!r} (use E, F, I o D)")


def traslado_de_casilla(casilla: object) -> Traslado | None:
    """The default of a catalog casilla (``Casilla.traslado``), ``None`` where it does
    not apply. An unknown value, which the catalog's own validation refuses, reads as
    not applying rather than stopping an acopio or a corte."""
    try:
        return traslado_de_catalogo(getattr(casilla, "traslado", None))
    except ValueError:
        return None


_TRASLADOS = {t.value: t for t in Traslado}
_DOCUMENTOS = {d.value: d for d in TipoDocumento}


def codigo_traslado(casilla: object, token: str | None) -> str | None:
    """The published MECANISMOS_TRASLADO of an acta of ``casilla``: what its acopio
    record said (``token``), else the casilla's catalog default; ``None`` (``N/A``)
    where no paquete travels, whatever a record said."""
    default = traslado_de_casilla(casilla)
    if default is None:
        return None
    traslado = _TRASLADOS.get(token) if token is not None else None
    return (traslado or default).codigo


def tipo_documento_publicado(origen: str | None, token: str | None) -> str | None:
    """The published TIPO_DOCUMENTO of an acta whose published image came from
    ``origen``: a PREP Casilla photo is always of the Acta PREP (the CAE photographs
    that copy); a CATD image is of what the acopio record said arrived. ``None``: the
    Acta PREP (the column's default)."""
    if origen == "CASILLA" or token is None:
        return None
    documento = _DOCUMENTOS.get(token)
    return None if documento is None or documento is TipoDocumento.ACTA_PREP \
        else documento.publicado
