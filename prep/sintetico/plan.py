"""The drill's script: who receives which acta when, what each operator will get wrong,
and which incidents happen, all derived from the seed (issue 9).

The ground truth is :func:`prep.sintetico.capturas.simulate` with no pending actas:
every catalog acta ends the night either captured (its true values) or *sin acta*, and
the fuera-de-catálogo codes are registered too. The plan only decides *how* that truth
travels through the real stations: the arrival minute of each acta (minutes after the
polls close, on the overnight curve), the CATD station that receives it (distrito
``d`` → station ``(d - 1) % catds``), PREP Casilla photos for the actas whose published
origin is the phone, and the typing mistakes of the capturistas.

Mistakes are planned per acta and capture slot so that the drill's verdict can demand
exact results: at most one capture of an acta is wrong (two agree, the third settles
it), or all three are wrong in *different* fields (no two agree: verificación). Two
operators never make the same mistake on the same field, except on purpose: that is the
residual risk cotejo exists for (issue 29). With cotejo on, a few actas (*erradas*,
:func:`_erradas`) are captured twice with the same transposed digits, so the wrong value
validates and is published; the CATD's cotejador finds it against the paper and the
correction round (captured right) replaces it.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from prep.catalog import Catalog
from prep.corte.anexo import TZ
from prep.sintetico.capturas import SIN_ACTA_CASOS
from prep.sintetico.capturas import Caso
from prep.sintetico.capturas import Simulacion
from prep.sintetico.capturas import simulate
from prep.values import format_valor

#: Minutes of simulated night: polls close at minute 0; the last actas arrive by 840.
NOCHE_MINUTOS = 840.0
TRANSPUESTO, OMITIDO = "transpuesto", "omitido"
#: Share of published actas the CATDs' verificadores cotejo against the paper (a sample).
COTEJO_RATE = 0.2
#: Actas published wrong on purpose per capturable acta (at least one when cotejo is on):
#: 2 in the default drill (≈410 capturable actas), ≈160 at full scale.
ERRADAS_POR_ACTA = 0.004
#: Simulated minute by which an acta published wrong on purpose arrives.
ERRADAS_ANTES_DE = 0.25 * NOCHE_MINUTOS


@dataclass(frozen=True)
class Llegada:
    """One thing an acopiador handles: an acta (``acopio``), a package without its acta
    (``sin_acta``, with ``causa``) or a code outside the catalog (``fuera``)."""

    minuto: float
    clave: str  # CLAVE_ACTA, or the code read for ``fuera``
    tipo: str
    causa: str = ""
    eleccion: str = ""


@dataclass
class PlanEstacion:
    """What one virtual station does over the night."""

    nombre: str  # "catd01" … or "ccv"
    rol: str  # "catd" or "ccv"
    sitio: int | None  # CATD number; None for the CCV
    llegadas: list[Llegada] = field(default_factory=list)
    reescaneos: list[str] = field(default_factory=list)  # actas scanned twice
    duplicados: list[str] = field(default_factory=list)  # QR read twice at acopio
    ilegibles: list[str] = field(default_factory=list)
    """Actas of this station some capturista will find unreadable (first image only):
    the capturista leaves a note (a file in the drill's ``avisos/``) and this
    station's digitalizador re-scans the acta when it sees it."""


@dataclass
class Plan:
    """The whole drill: truth, stations, photos and mistakes."""

    catalog: Catalog
    sim: Simulacion
    estaciones: list[PlanEstacion]
    fotos: list[tuple[float, str]]  # (minute, CLAVE_ACTA) of each PREP Casilla photo
    errores: dict[str, dict[int, tuple[str, str]]]  # clave → slot → (campo, tipo)
    #: Actas both capturistas get wrong the same way (until the cotejo): clave →
    #: (campo, the value typed instead of the truth).
    erradas: dict[str, tuple[str, str]] = field(default_factory=dict)
    cotejo_rate: float = 0.0

    def verdad(self) -> dict[str, dict[str, str]]:
        """Each captured acta's true values as an operator types them."""
        return {clave: {c: format_valor(v) for c, v in estado.captura.items()}
                for clave, estado in self.sim.estado.items() if estado.captura is not None}

    def write(self, path: Path) -> None:
        """The part every station process reads (truth and mistakes), as JSON."""
        path.write_text(json.dumps({
            "verdad": self.verdad(),
            "errores": {c: {str(s): list(e) for s, e in by.items()}
                        for c, by in self.errores.items()},
            "ilegibles": sorted(c for p in self.estaciones for c in p.ilegibles),
            "erradas": {c: list(e) for c, e in self.erradas.items()},
            "cotejo_rate": self.cotejo_rate,
        }, ensure_ascii=False), encoding="utf-8")


def corte_de_referencia(catalog: Catalog) -> datetime:
    """The instant the truth is simulated up to: 08:00 local the morning after."""
    day = datetime.fromisoformat(catalog.fecha_eleccion).replace(tzinfo=TZ)
    return day + timedelta(days=1, hours=8)


def cierre(catalog: Catalog) -> datetime:
    """Polls close: 18:00 local on election day (minute 0 of the drill)."""
    return datetime.combine(datetime.fromisoformat(catalog.fecha_eleccion).date(),
                            time(18, 0), TZ)


def truth(catalog: Catalog, seed: int) -> Simulacion:
    """The drill's ground truth (the same for the drill and for its verdict)."""
    return simulate(catalog, seed, corte_de_referencia(catalog), pendientes=0.0)


def make_plan(catalog: Catalog, seed: int, catds: int, error_rate: float,
              cotejo_rate: float = COTEJO_RATE) -> Plan:
    """The drill for ``catalog`` with ``catds`` CATD stations plus the CCV; with
    ``cotejo_rate`` > 0, the CATDs' verificadores cotejo that share of the published
    actas, and every acta published wrong on purpose (:func:`_erradas`)."""
    rng = random.Random(f"prep-simulacro-plan:{seed}")
    sim = truth(catalog, seed)
    zero = cierre(catalog)
    estaciones = [PlanEstacion(f"catd{i + 1:02d}", "catd", i + 1) for i in range(catds)]
    estaciones.append(PlanEstacion("ccv", "ccv", None))
    fotos: list[tuple[float, str]] = []
    for acta in catalog.iter_actas():
        estado = sim.estado[acta.clave]
        assert estado.acopio is not None
        minuto = min(NOCHE_MINUTOS, (estado.acopio - zero).total_seconds() / 60)
        home = estaciones[(acta.casilla.distrito_id - 1) % catds]
        caso = sim.casos[acta.clave]
        if caso in SIN_ACTA_CASOS:
            home.llegadas.append(Llegada(minuto, acta.clave, "sin_acta",
                                         causa=SIN_ACTA_CASOS[caso].value))
            continue
        home.llegadas.append(Llegada(minuto, acta.clave, "acopio"))
        if estado.origen is not None and estado.origen.value == "CASILLA":
            # The CAE photographs the acta at the casilla, well before the paper arrives.
            fotos.append((max(1.0, minuto - rng.uniform(20, 90)), acta.clave))
    for fuera in sim.fuera:
        minuto = min(NOCHE_MINUTOS, (fuera.acopio - zero).total_seconds() / 60)
        estaciones[0].llegadas.append(Llegada(minuto, fuera.codigo_leido, "fuera",
                                              eleccion=fuera.eleccion))
    for plan in estaciones:
        plan.llegadas.sort(key=lambda ll: (ll.minuto, ll.clave))
    errores = _mistakes(rng, sim, error_rate)
    erradas = _erradas(catalog, sim, seed, errores) if cotejo_rate > 0 else {}
    _incidents(rng, estaciones[:catds], {**errores, **dict.fromkeys(erradas)})
    return Plan(catalog, sim, estaciones, sorted(fotos), errores, erradas, cotejo_rate)


def _erradas(catalog: Catalog, sim: Simulacion, seed: int,
             errores: dict[str, dict[int, tuple[str, str]]]) -> dict[str, tuple[str, str]]:
    """The actas published wrong on purpose: both capturistas transpose the first two
    digits of the same vote field, so the captures agree and validate. Normal actas
    scanned at their CATD (no PREP Casilla photo, no other planned mistake), and a field
    whose transposition lowers the value (the acta never comes to exceed its lista
    nominal). Among the actas that arrive early in the night (before
    :data:`ERRADAS_ANTES_DE`): their wrong value is published, found and corrected
    while the night goes on, not in the drain. A random ``rng`` of its own: the other
    mistakes stay as they were."""
    rng = random.Random(f"prep-simulacro-erradas:{seed}")
    zero = cierre(catalog)
    candidatas: list[tuple[str, str, str]] = []
    capturables = 0
    for clave in sorted(sim.estado):
        estado = sim.estado[clave]
        if estado.captura is None:
            continue
        capturables += 1
        acta = catalog.acta(clave)
        if (acta is None or clave in errores or sim.casos.get(clave) is not Caso.NORMAL
                or (estado.origen is not None and estado.origen.value == "CASILLA")
                or estado.acopio is None
                or (estado.acopio - zero).total_seconds() / 60 > ERRADAS_ANTES_DE):
            continue
        campos = [c for c, v in estado.captura.items() if c in acta.eleccion.campos_voto_set
                  and type(v) is int and v >= 10 and str(v)[0] > str(v)[1] != "0"]
        if campos:
            campo = rng.choice(campos)
            candidatas.append((clave, campo, typed(str(estado.captura[campo]), TRANSPUESTO)))
    cuantas = min(len(candidatas), max(1, round(capturables * ERRADAS_POR_ACTA)))
    return {clave: (campo, valor) for clave, campo, valor in
            sorted(rng.sample(candidatas, cuantas))}


def _mistakes(rng: random.Random, sim: Simulacion,
              error_rate: float) -> dict[str, dict[int, tuple[str, str]]]:
    """Typing mistakes per acta and slot; the first capturable actas are forced to show
    one disagreement settled by a third capture and one sent to verificación."""
    errores: dict[str, dict[int, tuple[str, str]]] = {}
    forced = 0
    for clave in sorted(sim.estado):
        captura = sim.estado[clave].captura
        if captura is None:
            continue
        numericos = [c for c, v in captura.items() if type(v) is int]
        if len(numericos) < 3:
            continue
        slots: tuple[int, ...]
        if forced < 2:  # one third capture, one verificación, whatever the rate
            slots = (1,) if forced == 0 else (1, 2, 3)
            forced += 1
        else:
            slots = tuple(s for s in (1, 2) if rng.random() < error_rate)
            if slots == (1, 2):
                slots = (1, 2, 3)  # both wrong (differently): the third is too, verificación
        if not slots:
            continue
        campos = rng.sample(numericos, len(slots))
        errores[clave] = {s: (c, _kind(rng, int(captura[c])))
                          for s, c in zip(slots, campos, strict=True)}
    return errores


def _kind(rng: random.Random, valor: int) -> str:
    text = str(valor)
    if len(text) >= 2 and text[0] != text[1] and rng.random() < 0.7:
        return TRANSPUESTO
    return OMITIDO


def typed(valor: str, tipo: str) -> str:
    """What a capturista types for a field whose true value is ``valor`` when making the
    mistake ``tipo``: the first two digits swapped, or the field skipped."""
    if tipo == TRANSPUESTO and len(valor) >= 2 and valor.isdigit() and valor[0] != valor[1]:
        return valor[1] + valor[0] + valor[2:]
    return "Sin dato"


def _incidents(rng: random.Random, catds: list[PlanEstacion], errores: dict[str, Any]) -> None:
    """Station-level incidents: a duplicate QR read, a re-scan and an unreadable image
    at every CATD that has actas to spare."""
    for plan in catds:
        actas = [ll.clave for ll in plan.llegadas if ll.tipo == "acopio"
                 and ll.clave not in errores]
        if len(actas) < 3:
            continue
        dup, rescan, ilegible = rng.sample(actas, 3)
        plan.duplicados.append(dup)
        plan.reescaneos.append(rescan)
        plan.ilegibles.append(ilegible)


def station_config(plan: PlanEstacion, **extra: Any) -> dict[str, Any]:
    """The JSON a station process is started with."""
    return {**asdict(plan), **extra}
