"""What the acopio screen records of the paquete in hand, and how it says so.

The acopiador changes, with one key each, the mechanism of traslado by which the
paquete came (F3; the default is each casilla's, from the catalog) and the document
(F4: the Acta PREP, or another copy of the acta de escrutinio y cómputo when it is
missing). A traslado chosen holds for the actas of one casilla, the paquete: it binds to
the casilla of the next acta read and ends when an acta of another casilla is read. A
document chosen holds for the next acta only. See ``docs/catd.md`` ("Traslado y
documento").
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication

from prep.paquete import TipoDocumento
from prep.paquete import Traslado

#: F3 goes through these, in order: the catalog's default (``None``), then each one.
CICLO_TRASLADO: tuple[Traslado | None, ...] = (None, *Traslado)


def next_traslado(traslado: Traslado | None) -> Traslado | None:
    """The mechanism after ``traslado`` in :data:`CICLO_TRASLADO`."""
    i = CICLO_TRASLADO.index(traslado)
    return CICLO_TRASLADO[(i + 1) % len(CICLO_TRASLADO)]


@dataclass(frozen=True)
class Paquete:
    """The choices for the next acopio: ``traslado`` (``None``: the catalog's for each
    casilla) bound to ``casilla`` once an acta of it is read; ``documento``."""

    traslado: Traslado | None = None
    casilla: str | None = None
    documento: TipoDocumento = TipoDocumento.ACTA_PREP


def _tr(text: str) -> str:
    return QCoreApplication.translate("AcopioPaquete", text)


@dataclass(frozen=True)
class PaqueteShown:
    """The screen's two short lines about the paquete (they fit 1024 px side by side),
    with a longer explanation each (``*_ayuda``: the tooltip); ``*_cambiado``: not the
    default (the view makes it stand out)."""

    traslado: str
    traslado_ayuda: str
    traslado_cambiado: bool
    documento: str
    documento_ayuda: str
    documento_cambiado: bool

    @classmethod
    def of(cls, paquete: Paquete) -> PaqueteShown:
        if paquete.traslado is None:
            traslado = _tr("Traslado (F3): del catálogo")
            ayuda = _tr("Cada acta lleva el mecanismo de traslado que el catálogo da a su "
                        "casilla. Si el paquete llegó de otra forma, presione F3 antes de "
                        "leer sus actas.")
        else:
            traslado = _tr("Traslado (F3): {t}").format(t=paquete.traslado.etiqueta)
            ayuda = (_tr("Para las actas de la siguiente casilla que lea; otra casilla "
                         "vuelve al del catálogo.") if paquete.casilla is None else
                     _tr("Para las actas de la casilla {c}; otra casilla vuelve al del "
                         "catálogo.").format(c=paquete.casilla))
        if paquete.documento is TipoDocumento.ACTA_PREP:
            documento = _tr("Documento (F4): Acta PREP")
            ayuda_documento = _tr("Si falta el Acta PREP y llegó otra copia del acta de "
                                  "escrutinio y cómputo, presione F4 antes de leerla.")
        else:
            documento = _tr("Documento (F4): otra copia")
            ayuda_documento = _tr("Solo la siguiente acta que lea: otra copia del acta de "
                                  "escrutinio y cómputo.")
        return cls(traslado, ayuda, paquete.traslado is not None, documento,
                   ayuda_documento, paquete.documento is not TipoDocumento.ACTA_PREP)


def describe_paquete(traslado: Traslado | None, paquete: Paquete | None,
                     documento: TipoDocumento) -> str:
    """What an acopio recorded of its paquete, for the panel, e.g. ``Traslado: DAT
    (elegido con F3; sigue para las actas de la casilla 090123B0100) · Documento: Acta
    PREP``; ``paquete``: the choice it was made under, ``None`` for the catalog's."""
    if traslado is None:
        como = _tr("no aplica")
    elif paquete is not None:
        como = _tr("{t} (elegido con F3; sigue para las actas de la casilla {c})").format(
            t=traslado.etiqueta, c=paquete.casilla)
    else:
        como = _tr("{t} (del catálogo)").format(t=traslado.etiqueta)
    return _tr("Traslado: {como} · Documento: {d}").format(como=como, d=documento.etiqueta)
