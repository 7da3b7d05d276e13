"""What the captura and verificación screens need to know about a leased acta, without
Qt: who the acta is (elección, distrito, sección, casilla), the label and kind of each
field, what a typed text means, the running sum of the vote fields, and (for a
verification) how the captures compare field by field.

Everything here is pure and fast: the presenters call it on the GUI thread.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

from prep.catalog import Catalog
from prep.catalog import TipoAsociacion
from prep.catalog.model import TIPOS_CASILLA
from prep.station.acopio import casilla_label
from prep.station.formatting import eleccion_label
from prep.station.work import WorkItem
from prep.values import MAX_VALOR
from prep.values import Marca
from prep.values import parse_valor

ILEGIBLE = Marca.ILEGIBLE.value
SIN_DATO = Marca.SIN_DATO.value
MAX_DIGITS = len(str(MAX_VALOR))

CAMPO_ETIQUETAS: Mapping[str, str] = {
    "TOTAL_BOLETAS_SOBRANTES": "Boletas sobrantes",
    "TOTAL_PERSONAS_VOTARON": "Personas que votaron",
    "TOTAL_REP_PARTIDO_CI_VOTARON": "Representantes que votaron",
    "TOTAL_VOTOS_SACADOS": "Votos sacados de la urna",
    "NO_REGISTRADAS": "Candidaturas no registradas",
    "NULOS": "Votos nulos",
    "TOTAL_VOTOS_ASENTADO": "Total de votos",
}
"""The fields every acta has, as the printed acta names them."""

MOTIVOS_ILEGIBLE: tuple[str, ...] = (
    "Imagen borrosa o desenfocada",
    "Imagen incompleta o cortada",
    "Imagen muy oscura o muy clara",
    "La imagen no corresponde a esta acta",
    "El archivo de imagen está dañado",
)
"""The usual reasons an image cannot be captured; the operator may type another."""
MAX_MOTIVO = 500  # the record's limit (prep.records)


class Grupo(enum.StrEnum):
    """Where a field sits on the acta (and in the form)."""

    PREVIOS = "previos"
    VOTOS = "votos"
    TOTAL = "total"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of the form."""

    campo: str
    label: str
    detail: str  # the asociación's full name, for a tooltip
    grupo: Grupo


@dataclass(frozen=True, slots=True)
class ActaInfo:
    """The acta's identity as the operator reads it on screen."""

    clave_acta: str
    eleccion: str
    distrito: str
    seccion: str
    casilla: str
    tipo_casilla: str
    slot: str  # "Captura 2", "Verificación" or "Cotejo"
    lista_nominal: int | None


def describe_item(catalog: Catalog | None, item: WorkItem) -> ActaInfo:
    """The identity of ``item``'s acta; from the CLAVE_ACTA alone when the catalog lacks
    it (a catalog update still on its way)."""
    slot = (f"Captura {item.slot}" if item.kind == "captura"
            else "Cotejo" if item.kind == "cotejo" else "Verificación")
    acta = catalog.acta(item.clave_acta) if catalog is not None else None
    if acta is None:
        clave = item.clave_acta
        return ActaInfo(clave, f"Elección {item.eleccion}", "—", clave[2:6], clave[6:11],
                        "", slot, None)
    casilla = acta.casilla
    lista = None if casilla.especial else casilla.lista_nominal
    return ActaInfo(acta.clave, eleccion_label(acta.eleccion), f"{casilla.distrito_id:02d}",
                    f"{casilla.seccion:04d}", casilla_label(casilla),
                    TIPOS_CASILLA.get(casilla.tipo, casilla.tipo), slot, lista)


def field_specs(catalog: Catalog | None, item: WorkItem) -> tuple[FieldSpec, ...]:
    """The form's fields, in the order of the lease (the acta's order)."""
    eleccion = catalog.eleccion_por_codigo.get(item.eleccion) if catalog is not None else None
    asociaciones = {a.clave: a for a in eleccion.asociaciones} if eleccion is not None else {}
    specs = []
    for campo in item.campos:
        asociacion = asociaciones.get(campo)
        if campo == "TOTAL_VOTOS_ASENTADO":
            grupo = Grupo.TOTAL
        elif campo.startswith("TOTAL_"):
            grupo = Grupo.PREVIOS
        else:
            grupo = Grupo.VOTOS
        if asociacion is None:
            label = CAMPO_ETIQUETAS.get(campo, campo.replace("_", "-"))
            specs.append(FieldSpec(campo, label, label, grupo))
            continue
        # Parties and coalitions are known by their acronyms on the acta; an
        # independent candidacy by its name.
        label = (asociacion.nombre if asociacion.tipo is TipoAsociacion.INDEPENDIENTE
                 else campo.replace("_", "-"))
        specs.append(FieldSpec(campo, label, asociacion.nombre, grupo))
    return tuple(specs)


def valor_text(valor: object) -> str:
    """A captured value as the screen shows it."""
    if isinstance(valor, Marca):
        return valor.value
    return str(valor)


def read_form(campos: Sequence[str], texts: Mapping[str, str]
              ) -> tuple[dict[str, int | str], list[str]]:
    """The values to submit from the form's texts, and the fields still empty (or
    unreadable), in form order."""
    valores: dict[str, int | str] = {}
    faltan = []
    for campo in campos:
        text = texts.get(campo, "").strip()
        try:
            valor = parse_valor(text) if text else None
        except ValueError:
            valor = None
        if valor is None:
            faltan.append(campo)
        else:
            valores[campo] = valor.value if isinstance(valor, Marca) else valor
    return valores, faltan


class Cuadre(enum.StrEnum):
    """How the running sum compares with the total asentado."""

    INCOMPLETO = "idle"
    CUADRA = "ok"
    NO_CUADRA = "warn"


@dataclass(frozen=True, slots=True)
class Suma:
    """The running sum of the vote fields beside the total written on the acta
    (information for the operator: it never stops a capture)."""

    suma: int
    asentado: str
    cuadre: Cuadre
    texto: str


def running_sum(specs: Sequence[FieldSpec], texts: Mapping[str, str]) -> Suma:
    """Sum the vote fields typed so far (Ilegible and Sin dato count as nothing)."""
    suma = 0
    completos = True
    for spec in specs:
        if spec.grupo is not Grupo.VOTOS:
            continue
        text = texts.get(spec.campo, "").strip()
        if text.isdigit():
            suma += int(text)
        elif not text:
            completos = False
    asentado = texts.get("TOTAL_VOTOS_ASENTADO", "").strip()
    if not completos or not asentado.isdigit():
        return Suma(suma, asentado or "—", Cuadre.INCOMPLETO,
                    "Suma de votos {suma} · total asentado {asentado}".format(
                        suma=suma, asentado=asentado or "—"))
    if int(asentado) == suma:
        return Suma(suma, asentado, Cuadre.CUADRA,
                    f"Suma de votos {suma} = total asentado {asentado}")
    return Suma(suma, asentado, Cuadre.NO_CUADRA,
                f"Suma de votos {suma} ≠ total asentado {asentado} · capture lo que dice el "
                "acta; la diferencia se publica tal cual")


@dataclass(frozen=True, slots=True)
class Comparacion:
    """One field of a verification: what each capture says and the value proposed."""

    spec: FieldSpec
    capturas: tuple[str, ...]  # one text per capture, in slot order
    difiere: bool
    propuesta: str  # prefilled decision: the captures' common value, or ""


def compare(specs: Sequence[FieldSpec], item: WorkItem) -> tuple[Comparacion, ...]:
    """Field by field, the captures of a verification lease.

    The decision is prefilled only where every capture agrees (and the central did
    not list the field as a difference): the verificador re-types what the capturistas
    disagreed on and only reviews the rest.
    """
    capturas = sorted(item.capturas, key=lambda c: int(c.get("slot", 0)))
    rows = []
    for spec in specs:
        texts = tuple(_capture_text(c, spec.campo) for c in capturas)
        difiere = spec.campo in item.diferencias or len(set(texts)) > 1
        propuesta = "" if difiere or not texts or not texts[0] else texts[0]
        rows.append(Comparacion(spec, texts, difiere, propuesta))
    return tuple(rows)


def _capture_text(captura: Mapping[str, object], campo: str) -> str:
    valores = captura.get("valores")
    if not isinstance(valores, Mapping) or campo not in valores:
        return ""
    valor = valores[campo]
    if isinstance(valor, str):
        try:
            return valor_text(parse_valor(valor))
        except ValueError:
            return valor
    return str(valor)
