"""What operators would have captured on election night, simulated for a drill.

For every catalog acta: plausible votes from the casilla's lista nominal, acopio and
capture times on an overnight arrival curve, the image's origin, and every publication
category on purpose (Ilegible, Sin dato, both, Excede Lista Nominal, all ilegible, all
empty, all mixed, Sin Acta with each cause, fuera de catálogo, also of an election
nobody could tell). Each category is forced onto at least one acta per election, so even
a tiny drill shows them all.

*Casilla no instalada* and *paquete no entregado* are facts about a casilla (DOMAIN.md):
they are drawn per casilla, and every acta of such a casilla is registered so, at the
same minute, never pending. *Paquete entregado sin sobre* stays about one acta.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import time
from datetime import timedelta

from prep.catalog.model import Acta
from prep.catalog.model import Casilla
from prep.catalog.model import Catalog
from prep.catalog.model import Eleccion
from prep.catalog.model import TipoAsociacion
from prep.corte.anexo import TZ
from prep.corte.model import ActaEnCorte
from prep.corte.model import Digitalizacion
from prep.corte.model import FueraDeCatalogo
from prep.corte.model import Origen
from prep.rules import CausaSinActa
from prep.values import Captura
from prep.values import Marca
from prep.values import Valor


class Caso(enum.StrEnum):
    """The publication category a simulated acta was made to fall in."""

    NORMAL = "normal"
    ILEGIBLE = "ilegible"
    SIN_DATO = "sin_dato"
    ILEGIBLE_SIN_DATO = "ilegible_sin_dato"
    EXCEDE = "excede"
    EXCEDE_SIN_DATO = "excede_sin_dato"
    TODOS_ILEGIBLES = "todos_ilegibles"
    TODOS_VACIOS = "todos_vacios"
    TODOS_MIXTOS = "todos_mixtos"
    SIN_ACTA_NO_ENTREGADO = "sin_acta_paquete_no_entregado"
    SIN_ACTA_NO_INSTALADA = "sin_acta_casilla_no_instalada"
    SIN_ACTA_SIN_SOBRE = "sin_acta_paquete_sin_sobre"


SIN_ACTA_CASOS = {
    Caso.SIN_ACTA_NO_ENTREGADO: CausaSinActa.PAQUETE_NO_ENTREGADO,
    Caso.SIN_ACTA_NO_INSTALADA: CausaSinActa.CASILLA_NO_INSTALADA,
    Caso.SIN_ACTA_SIN_SOBRE: CausaSinActa.PAQUETE_SIN_SOBRE,
}
#: The cases that hold for every acta of a casilla (drawn once per casilla).
CASOS_DE_CASILLA = (Caso.SIN_ACTA_NO_ENTREGADO, Caso.SIN_ACTA_NO_INSTALADA)
_CON_PAQUETE = frozenset("BCES")

# Share of actas in each non-normal case (the rest are normal).
TASAS: dict[Caso, float] = {
    Caso.ILEGIBLE: 0.010, Caso.SIN_DATO: 0.012, Caso.ILEGIBLE_SIN_DATO: 0.003,
    Caso.EXCEDE: 0.002, Caso.EXCEDE_SIN_DATO: 0.0005, Caso.TODOS_ILEGIBLES: 0.0005,
    Caso.TODOS_VACIOS: 0.0005, Caso.TODOS_MIXTOS: 0.0003,
    Caso.SIN_ACTA_NO_ENTREGADO: 0.002, Caso.SIN_ACTA_NO_INSTALADA: 0.0005,
    Caso.SIN_ACTA_SIN_SOBRE: 0.001,
}

FUERA_POR_ELECCION = 2
#: Fuera-de-catálogo actas registered with election «No se sabe» (``eleccion`` "").
FUERA_SIN_ELECCION = 1


@dataclass(frozen=True)
class Simulacion:
    """The simulated night: what a corte would see, and the ground truth behind it."""

    estado: dict[str, ActaEnCorte]
    fuera: list[FueraDeCatalogo]
    casos: dict[str, Caso]  # CLAVE_ACTA → category it was made to fall in
    pendientes: frozenset[str]  # actas not yet captured at the corte


def simulate(catalog: Catalog, seed: int, corte: datetime,
             pendientes: float = 0.02) -> Simulacion:
    """Simulate every acta of ``catalog`` up to the corte at ``corte``.

    ``pendientes`` is the share of actas still without published data at the corte.
    """
    rng = random.Random(f"prep-simulacro:{seed}")
    cierre = datetime.combine(datetime.fromisoformat(catalog.fecha_eleccion).date(),
                              time(18, 0), TZ).astimezone(UTC)
    estado: dict[str, ActaEnCorte] = {}
    casos: dict[str, Caso] = {}
    pending: set[str] = set()
    fuera: list[FueraDeCatalogo] = []
    ultimo = corte - timedelta(minutes=30)
    de_casilla = _casilla_cases(rng, catalog)
    llegada = {clave: min(cierre + timedelta(minutes=_arrival_minutes(rng)), ultimo)
               for clave in sorted(de_casilla)}  # its actas are registered at once
    for eleccion in catalog.elecciones:
        actas = catalog.actas(eleccion)
        preferencias = _preferencias(rng, eleccion)
        forced = _forced_cases(rng, [i for i, a in enumerate(actas)
                                     if a.casilla.clave not in de_casilla])
        for i, acta in enumerate(actas):
            casilla = de_casilla.get(acta.casilla.clave)
            if casilla is not None:
                casos[acta.clave] = casilla
                estado[acta.clave] = _acta(rng, acta, casilla, preferencias,
                                           llegada[acta.casilla.clave])
                continue
            caso = forced.get(i) or _draw_case(rng)
            acopio = min(cierre + timedelta(minutes=_arrival_minutes(rng)), ultimo)
            if i not in forced and rng.random() < pendientes:
                pending.add(acta.clave)
                if rng.random() < 0.5:  # received, not yet captured
                    estado[acta.clave] = ActaEnCorte(acta.clave, acopio=acopio)
                continue
            casos[acta.clave] = caso
            estado[acta.clave] = _acta(rng, acta, caso, preferencias, acopio)
        fuera += [_fuera(rng, catalog, eleccion.codigo, cierre)
                  for _ in range(FUERA_POR_ELECCION)]
    # Codes with an election this catalog does not have: the acopiador says «No se sabe».
    fuera += [_fuera(rng, catalog, "", cierre) for _ in range(FUERA_SIN_ELECCION)]
    return Simulacion(estado, fuera, casos, frozenset(pending))


def _casilla_cases(rng: random.Random, catalog: Catalog) -> dict[str, Caso]:
    """CLAVE_CASILLA → the casilla-wide case of the casillas not installed or whose
    package never arrived: one of each forced (when the catalog has casillas to spare),
    the rest drawn at :data:`TASAS`. Only casillas whose paquete travels to a CATD
    (básicas, contiguas, extraordinarias, especiales) are so."""
    casillas = [c.clave for c in catalog.casillas_ordenadas if c.tipo in _CON_PAQUETE]
    out: dict[str, Caso] = {}
    if len(casillas) > 2 * len(CASOS_DE_CASILLA):
        out.update(zip(rng.sample(casillas, len(CASOS_DE_CASILLA)), CASOS_DE_CASILLA,
                       strict=True))
    for clave in casillas:
        x = rng.random()
        for caso in CASOS_DE_CASILLA:
            if x < TASAS[caso]:
                out.setdefault(clave, caso)
                break
            x -= TASAS[caso]
    return out


def _forced_cases(rng: random.Random, positions: list[int]) -> dict[int, Caso]:
    """One acta per non-normal acta-level case, at random distinct ``positions``."""
    special = [c for c in Caso if c is not Caso.NORMAL and c not in CASOS_DE_CASILLA]
    chosen = rng.sample(positions, min(len(positions), len(special)))
    return dict(zip(chosen, special, strict=False))


def _draw_case(rng: random.Random) -> Caso:
    """An acta-level case at :data:`TASAS` (the casilla-wide ones are drawn per casilla)."""
    x = rng.random()
    for caso, tasa in TASAS.items():
        if caso in CASOS_DE_CASILLA:
            continue
        if x < tasa:
            return caso
        x -= tasa
    return Caso.NORMAL


def _arrival_minutes(rng: random.Random) -> float:
    """Minutes after polls close: most actas arrive overnight, a tail in the morning."""
    if rng.random() < 0.85:
        return rng.triangular(40, 480, 200)
    return rng.uniform(480, 840)


def _preferencias(rng: random.Random, eleccion: Eleccion) -> dict[str, float]:
    base = {"MORENA": 0.36, "PAN": 0.17, "PRI": 0.07, "PRD": 0.03, "PVEM": 0.05, "PT": 0.05,
            "MC": 0.08}
    out: dict[str, float] = {}
    for a in eleccion.asociaciones:
        if a.tipo is TipoAsociacion.PARTIDO:
            out[a.clave] = base.get(a.clave, 0.03) * rng.uniform(0.8, 1.2)
        elif a.tipo is TipoAsociacion.COALICION:
            out[a.clave] = 0.004 if len(a.partidos) == 2 else 0.012
        else:
            out[a.clave] = 0.05
    return out


def _acta(rng: random.Random, acta: Acta, caso: Caso, preferencias: dict[str, float],
          acopio: datetime) -> ActaEnCorte:
    casilla = acta.casilla
    if caso in SIN_ACTA_CASOS:
        return ActaEnCorte(acta.clave, acopio=acopio, causa_sin_acta=SIN_ACTA_CASOS[caso])
    captura = _captura(rng, acta.eleccion, casilla, caso, preferencias)
    capturada = acopio + timedelta(minutes=rng.uniform(8, 45))
    verificada = (capturada + timedelta(minutes=rng.uniform(3, 20))
                  if rng.random() < 0.04 else None)
    movil = rng.random() < 0.12
    return ActaEnCorte(
        acta.clave, acopio=acopio, captura=captura, fecha_captura=capturada,
        fecha_verificacion=verificada,
        origen=Origen.CASILLA if movil else Origen.CATD,
        digitalizacion=Digitalizacion.MOVIL if movil else Digitalizacion.ESCANER,
    )


def _captura(rng: random.Random, eleccion: Eleccion, casilla: Casilla, caso: Caso,
             preferencias: dict[str, float]) -> Captura:
    campos = eleccion.campos_aplicables(casilla)
    votos_campos = [c for c in campos if c in eleccion.campos_voto_set]
    ceiling = casilla.max_votos
    votantes = round(ceiling * rng.uniform(0.45, 0.72))
    if caso in (Caso.EXCEDE, Caso.EXCEDE_SIN_DATO):
        votantes = ceiling + rng.randint(5, 120)
    weights = [preferencias.get(c, 0.0) for c in votos_campos]
    weights[votos_campos.index("NO_REGISTRADAS")] = 0.002
    weights[votos_campos.index("NULOS")] = 0.025
    votos = _split(rng, votantes, weights)
    valores: dict[str, Valor] = dict(zip(votos_campos, votos, strict=True))
    rep = rng.randint(0, casilla.representantes)
    total = sum(votos)
    valores_previos: dict[str, Valor] = {
        "TOTAL_BOLETAS_SOBRANTES": max(0, ceiling - total),
        "TOTAL_PERSONAS_VOTARON": total,
        "TOTAL_REP_PARTIDO_CI_VOTARON": min(rep, total),
        "TOTAL_VOTOS_SACADOS": total,
    }
    _damage(rng, valores, caso)
    return Captura(campos, tuple(valores_previos[c] if c in valores_previos else
                                 valores[c] if c in valores else total for c in campos))


def _split(rng: random.Random, total: int, weights: list[float]) -> list[int]:
    """``total`` votes over the fields, each ≤ 9999, adding up exactly."""
    noisy = [w * rng.uniform(0.6, 1.4) for w in weights]
    scale = sum(noisy) or 1.0
    votes = [int(total * w / scale) for w in noisy]
    for _ in range(total - sum(votes)):
        votes[rng.randrange(len(votes))] += 1
    return votes


def _damage(rng: random.Random, valores: dict[str, Valor], caso: Caso) -> None:
    """Make the vote fields fall in ``caso``'s category."""
    campos = list(valores)
    some = rng.sample(campos, k=min(len(campos), rng.randint(1, 2)))
    if caso in (Caso.ILEGIBLE, Caso.ILEGIBLE_SIN_DATO):
        valores[some[0]] = Marca.ILEGIBLE
    if caso is Caso.SIN_DATO:
        valores[some[-1]] = Marca.SIN_DATO
    if caso is Caso.EXCEDE_SIN_DATO:  # the smallest field, so the total still exceeds
        valores[min(campos, key=lambda c: valores[c])] = Marca.SIN_DATO
    if caso is Caso.ILEGIBLE_SIN_DATO:
        valores[next(c for c in campos if c != some[0])] = Marca.SIN_DATO
    if caso in (Caso.TODOS_ILEGIBLES, Caso.TODOS_VACIOS, Caso.TODOS_MIXTOS):
        for i, c in enumerate(campos):
            valores[c] = (Marca.ILEGIBLE if caso is Caso.TODOS_ILEGIBLES else
                          Marca.SIN_DATO if caso is Caso.TODOS_VACIOS else
                          (Marca.ILEGIBLE, Marca.SIN_DATO)[i % 2])


def _fuera(rng: random.Random, catalog: Catalog, eleccion: str,
           cierre: datetime) -> FueraDeCatalogo:
    """A code for a sección the catalog does not have (a printing or routing error), of
    election ``eleccion``; "" for one whose code names an election the catalog does not
    have (``99``), registered with «No se sabe»."""
    secciones = {c.seccion for c in catalog.casillas}
    seccion = next(s for s in (rng.randint(1, 9999) for _ in range(10_000))
                   if s not in secciones)
    codigo = f"{catalog.entidad_id:02d}{seccion:04d}B0100{eleccion or '99'}"
    return FueraDeCatalogo(codigo, eleccion,
                           cierre + timedelta(minutes=_arrival_minutes(rng)))
