"""The expected results of a simulacro with paper: what the committee knows in advance
(Reglamento de Elecciones, art. 349) and the informe compares the published cortes with.

The truth is the drill's (:func:`prep.sintetico.plan.truth`: every Anexo 13 category on
purpose, sin acta of each cause, fuera de catálogo, excede lista nominal), with ties
added in chosen contests: votes move, inside normal actas, from the leading column to
the second (and one to NULOS when the gap is odd), so every acta keeps its totals and
its category while the contest ends exactly tied.

Each acta's expected publication (values, TOTAL_VOTOS_CALCULADO, OBSERVACIONES,
CONTABILIZADA) is what :mod:`prep.rules` makes of it: the same rules the central applies.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path
from typing import Any

from prep.catalog.model import Acta
from prep.catalog.model import Ambito
from prep.catalog.model import Catalog
from prep.catalog.model import Eleccion
from prep.corte.model import ActaEnCorte
from prep.corte.model import FueraDeCatalogo
from prep.corte.package import csv_name
from prep.corte.package import slug
from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet
from prep.rules import evaluate
from prep.rules import sin_acta
from prep.sintetico.capturas import SIN_ACTA_CASOS
from prep.sintetico.capturas import Caso
from prep.sintetico.plan import truth
from prep.values import Captura
from prep.values import format_valor

#: File names in the ``--out`` directory of ``prep simulacro preparar``.
ESPERADOS_JSON = "esperados.json"
CONTIENDAS_CSV = "contiendas.csv"
FUERA_CSV = "fuera_de_catalogo.csv"
FORMATO = 1
SIN_DATO = "-"


def esperados_csv_name(eleccion: Eleccion) -> str:
    """``esperados_<ELECCION>.csv``: the expected row of every acta of ``eleccion``."""
    return f"esperados_{slug(eleccion.nombre)}.csv"


def contienda_clave(eleccion: Eleccion, ambito_id: int) -> str:
    """A contest's key: ``<election code>:<ámbito id>`` (0 for the entidad)."""
    return f"{eleccion.codigo}:{ambito_id}"


@dataclass(frozen=True)
class ActaEsperada:
    """How one acta must be published at the end of the simulacro."""

    clave: str
    eleccion: str  # election code
    contienda: str
    catd: int  # the distrito whose CATD receives its paquete
    caso: str  # the Anexo 13 category it was made to fall in (Caso)
    valores: dict[str, str]  # captured fields as published; empty for a sin acta
    total: str  # TOTAL_VOTOS_CALCULADO
    observaciones: str
    contabilizada: str  # "1" or "0"


@dataclass
class Contienda:
    """One contest: an election in one ámbito, with its expected totals."""

    clave: str
    eleccion: str
    ambito_id: int
    nombre: str
    totales: dict[str, int] = field(default_factory=dict)  # vote field → votes
    empate: tuple[str, str] | None = None  # the two columns made to tie

    def orden(self) -> list[tuple[str, int]]:
        """The asociaciones by votes, most first (NO_REGISTRADAS and NULOS left out)."""
        return sorted(((c, v) for c, v in self.totales.items()
                       if c not in ("NO_REGISTRADAS", "NULOS")),
                      key=lambda cv: (-cv[1], cv[0]))


@dataclass
class Esperados:
    """The whole database of expected results."""

    catalog: Catalog
    seed: int
    estado: dict[str, ActaEnCorte]
    fuera: list[FueraDeCatalogo]
    actas: dict[str, ActaEsperada]
    contiendas: dict[str, Contienda]


def preparar(catalog: Catalog, seed: int, empates: int = 1,
             rules: RuleSet = DEFAULT_RULES) -> Esperados:
    """The expected results for ``catalog``: the drill's truth for ``seed`` with
    ``empates`` contests made to end tied."""
    sim = truth(catalog, seed)
    estado = dict(sim.estado)
    casos = dict(sim.casos)
    actas = _esperadas(catalog, estado, casos, rules)
    contiendas = _contiendas(catalog, actas)
    rng = random.Random(f"prep-simulacro-papel:{seed}")
    hechos = 0
    for contienda in _candidatas(rng, catalog, contiendas):
        if hechos >= empates:
            break
        par = _empatar(catalog, estado, casos, contienda)
        if par is None:
            continue
        hechos += 1
        actas = _esperadas(catalog, estado, casos, rules)
        contiendas = _contiendas(catalog, actas, {k: c.empate for k, c in contiendas.items()})
        contiendas[contienda.clave].empate = par
    return Esperados(catalog, seed, estado, list(sim.fuera), actas, contiendas)


def nombre_contienda(catalog: Catalog, eleccion: Eleccion, ambito_id: int) -> str:
    """What a reader calls a contest: ``JEFATURA DE GOBIERNO``, ``DIPUTACIONES LOCALES MR,
    distrito 05 (…)``, ``ALCALDÍAS, COYOACÁN``."""
    if eleccion.ambito is Ambito.DISTRITO:
        distrito = catalog.distrito_por_id.get(ambito_id)
        cabecera = f" ({distrito.cabecera})" if distrito else ""
        return f"{eleccion.nombre}, distrito {ambito_id:02d}{cabecera}"
    if eleccion.ambito is Ambito.DEMARCACION:
        dem = catalog.demarcacion_por_id.get(ambito_id)
        return f"{eleccion.nombre}, {dem.nombre if dem else ambito_id}"
    return eleccion.nombre


def sumar(totales: dict[str, int], valores: Mapping[str, str],
          campos_voto: Iterable[str]) -> None:
    """Add an acta's numeric vote fields (published text) to a contest's ``totales``."""
    for campo in campos_voto:
        texto = valores.get(campo, "")
        if texto.isdigit():
            totales[campo] = totales.get(campo, 0) + int(texto)


def _esperadas(catalog: Catalog, estado: Mapping[str, ActaEnCorte],
               casos: Mapping[str, Caso], rules: RuleSet) -> dict[str, ActaEsperada]:
    out: dict[str, ActaEsperada] = {}
    for acta in catalog.iter_actas():
        est = estado[acta.clave]
        caso = casos[acta.clave]
        key = contienda_clave(acta.eleccion, acta.eleccion.ambito_id(acta.casilla))
        if est.captura is None:
            assert est.causa_sin_acta is not None
            res = sin_acta(est.causa_sin_acta, rules)
            valores: dict[str, str] = {}
        else:
            res = evaluate(acta.eleccion, acta.casilla, est.captura, rules, acta.layout)
            valores = {c: format_valor(v) for c, v in est.captura.items()}
        out[acta.clave] = ActaEsperada(
            acta.clave, acta.eleccion.codigo, key, acta.casilla.distrito_id, caso.value,
            valores, SIN_DATO if res.total_calculado is None or est.captura is None
            else str(res.total_calculado), res.observaciones or SIN_DATO,
            "1" if res.contabilizada else "0")
    return out


def _contiendas(catalog: Catalog, actas: Mapping[str, ActaEsperada],
                empates: Mapping[str, tuple[str, str] | None] | None = None
                ) -> dict[str, Contienda]:
    out: dict[str, Contienda] = {}
    for eleccion in catalog.elecciones:
        for acta in catalog.actas(eleccion):
            ambito_id = eleccion.ambito_id(acta.casilla)
            key = contienda_clave(eleccion, ambito_id)
            contienda = out.get(key)
            if contienda is None:
                contienda = out[key] = Contienda(
                    key, eleccion.codigo, ambito_id,
                    nombre_contienda(catalog, eleccion, ambito_id),
                    dict.fromkeys(acta.layout.votos(acta.layout.campos), 0),
                    (empates or {}).get(key))
            esperada = actas[acta.clave]
            if esperada.contabilizada == "1":
                sumar(contienda.totales, esperada.valores, eleccion.campos_voto)
    return out


def _candidatas(rng: random.Random, catalog: Catalog,
                contiendas: Mapping[str, Contienda]) -> list[Contienda]:
    """Contests to tie, one election after another (each election's in random order),
    so that two ties fall in two different elections."""
    por_eleccion = []
    for eleccion in catalog.elecciones:
        propias = [c for c in contiendas.values() if c.eleccion == eleccion.codigo]
        rng.shuffle(propias)
        por_eleccion.append(propias)
    out: list[Contienda] = []
    while any(por_eleccion):
        for propias in por_eleccion:
            if propias:
                out.append(propias.pop())
    return out


def _empatar(catalog: Catalog, estado: dict[str, ActaEnCorte], casos: Mapping[str, Caso],
             contienda: Contienda) -> tuple[str, str] | None:
    """Move votes inside the contest's normal actas until its first two columns tie;
    ``None`` (nothing changed) if they cannot."""
    orden = contienda.orden()
    if len(orden) < 2:
        return None
    (primero, a), (segundo, b) = orden[0], orden[1]
    eleccion = catalog.eleccion_por_codigo[contienda.eleccion]
    normales = [acta for acta in catalog.actas(eleccion)
                if eleccion.ambito_id(acta.casilla) == contienda.ambito_id
                and casos[acta.clave] is Caso.NORMAL]
    disponibles = sum(_voto(estado, acta, primero) for acta in normales)
    gap = a - b
    if gap == 0:
        return primero, segundo
    if disponibles < gap // 2 + gap % 2:
        return None
    nulo = gap % 2  # an odd gap: one vote of the first to NULOS
    mover = gap // 2
    for acta in normales:
        if not (mover or nulo):
            break
        tiene = _voto(estado, acta, primero)
        quita_nulo = min(nulo, tiene)
        pasa = min(mover, tiene - quita_nulo)
        if quita_nulo or pasa:
            _mover(estado, acta, primero, segundo, pasa, quita_nulo)
            nulo -= quita_nulo
            mover -= pasa
    return primero, segundo


def _voto(estado: Mapping[str, ActaEnCorte], acta: Acta, campo: str) -> int:
    captura = estado[acta.clave].captura
    valor = captura.get(campo) if captura is not None else None
    return valor if type(valor) is int else 0


def _mover(estado: dict[str, ActaEnCorte], acta: Acta, de: str, a: str, votos: int,
           a_nulos: int) -> None:
    est = estado[acta.clave]
    assert est.captura is not None
    valores: dict[str, Any] = dict(est.captura.items())
    valores[de] -= votos + a_nulos
    valores[a] += votos
    valores["NULOS"] += a_nulos
    estado[acta.clave] = replace(est, captura=Captura.of(valores))


# files ------------------------------------------------------------------------------

def write_esperados(esperados: Esperados, out: Path) -> list[Path]:
    """The machine-readable JSON the informe reads, and the CSVs for the committee."""
    out.mkdir(parents=True, exist_ok=True)
    catalog = esperados.catalog
    written = [out / ESPERADOS_JSON]
    written[0].write_text(json.dumps(to_json(esperados), ensure_ascii=False, indent=1)
                          + "\n", encoding="utf-8")
    for eleccion in catalog.elecciones:
        path = out / esperados_csv_name(eleccion)
        cols = ("CLAVE_ACTA", "CATD_DISTRITO", "CONTIENDA", "CASO", *eleccion.campos_captura,
                "TOTAL_VOTOS_CALCULADO", "OBSERVACIONES", "CONTABILIZADA")
        rows = []
        for acta in catalog.actas(eleccion):
            e = esperados.actas[acta.clave]
            rows.append((f"'{e.clave}'", f"{e.catd:02d}", esperados.contiendas[e.contienda].nombre,
                         e.caso, *(e.valores.get(c, "N/A" if e.valores else SIN_DATO)
                                   for c in eleccion.campos_captura),
                         e.total, e.observaciones, e.contabilizada))
        path.write_bytes(_csv(cols, rows))
        written.append(path)
    path = out / CONTIENDAS_CSV
    rows = []
    for c in esperados.contiendas.values():
        orden = c.orden()
        for lugar, (campo, votos) in enumerate(orden, start=1):
            rows.append((c.nombre, c.eleccion, str(c.ambito_id), str(lugar), campo, str(votos),
                         "SÍ" if c.empate and campo in c.empate else "NO"))
        for campo in ("NO_REGISTRADAS", "NULOS"):
            rows.append((c.nombre, c.eleccion, str(c.ambito_id), "-", campo,
                         str(c.totales.get(campo, 0)), "NO"))
    path.write_bytes(_csv(("CONTIENDA", "ID_ELECCION", "ID_AMBITO", "LUGAR", "COLUMNA",
                           "VOTOS", "EMPATE"), rows))
    written.append(path)
    path = out / FUERA_CSV
    path.write_bytes(_csv(("CODIGO_QR", "ID_ELECCION"),
                          [(f.codigo_leido, f.eleccion or "No se sabe")
                           for f in esperados.fuera]))
    written.append(path)
    return written


def to_json(esperados: Esperados) -> dict[str, Any]:
    """The expected results as the informe reads them (:func:`load_json`)."""
    catalog = esperados.catalog
    return {
        "formato": FORMATO,
        "semilla": esperados.seed,
        "entidad": catalog.entidad,
        "fecha_eleccion": catalog.fecha_eleccion,
        "elecciones": [{"codigo": e.codigo, "nombre": e.nombre, "ambito": e.ambito.value,
                        "archivo": csv_name(e),
                        "campos_voto": list(e.campos_voto)} for e in catalog.elecciones],
        "actas": [{"clave": a.clave, "eleccion": a.eleccion, "contienda": a.contienda,
                   "catd": a.catd, "caso": a.caso, "valores": a.valores, "total": a.total,
                   "observaciones": a.observaciones, "contabilizada": a.contabilizada}
                  for a in esperados.actas.values()],
        "contiendas": [{"clave": c.clave, "eleccion": c.eleccion, "ambito_id": c.ambito_id,
                        "nombre": c.nombre, "totales": c.totales,
                        "empate": list(c.empate) if c.empate else None}
                       for c in esperados.contiendas.values()],
        "fuera": [{"codigo": f.codigo_leido, "eleccion": f.eleccion}
                  for f in esperados.fuera],
    }


def _csv(header: Iterable[str], rows: Iterable[Iterable[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


def sin_acta_caso(caso: str) -> bool:
    """Whether an acta of category ``caso`` is registered *sin acta* (no paper)."""
    return any(c.value == caso for c in SIN_ACTA_CASOS)
