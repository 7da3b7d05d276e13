"""Random election nights for the corte's differential (issue 65): a seed gives a small
synthetic catalog and a night of records reaching the central, cut by cortes at random
instants, as ingest stores them (the pipeline's own fold and store).

A night (:func:`noche`) is made of the project's generators: the catalog
(:func:`prep.catalog.generate_catalog`, small, with its casillas especiales, urnas and
mesas A and M, plus one mesa of prisión preventiva, P, that the generator does not make)
and the simulated captures (:func:`prep.sintetico.capturas.simulate`: every publication
category, sin acta of each cause, pending actas, fuera de catálogo). Each simulated acta
becomes the records that would have made it: an acopio (or a sin acta), its image
(CATD scan, or a PREP Casilla photo whose paquete reaches the CATD later or never), two
blind captures (three differing ones and a verificador's decision for a verified acta).
Some published actas change later in the night: a CATD re-scan, a cotejo that confirms
the data, a correction round (a cotejo that finds a difference, then two captures of
the corrected value); a sin acta may turn out to have its acta after all. Codes outside
the catalog arrive as acopios fuera de catálogo and as images of unknown actas. The
records are cut by 2 to 7 cortes at random instants (one may fall before any record),
so an acta may be half captured at a corte.

:func:`aplicar` writes one window's records into a central's database in one
transaction with :func:`central.pipeline.state.fold` and :func:`central.pipeline.store.save`
(the cotejos also as journaled records: the corte's history reads a cotejo's time and
centre from its record).

The night's instants lie in the past (its election is dated :data:`FECHA`): a corte
waits until the database's clock is past the second of the last corte
(``central.publication.corte._segundo_propio``), which for instants in the future is a
second per corte.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from datetime import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from central.db import make_engine
from central.pipeline.state import RecordEvent
from central.pipeline.state import fold
from central.pipeline.store import catalog_lookup
from central.pipeline.store import lock_actas
from central.pipeline.store import save
from central.pipeline.store import save_fuera
from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.catalog.model import TIPOS_MESA
from prep.catalog.model import Casilla
from prep.corte.anexo import TZ
from prep.corte.model import ActaEnCorte
from prep.corte.model import Origen
from prep.records import Kind
from prep.sintetico.capturas import simulate
from tests.harness.corte_data import BATCHES
from tests.harness.corte_data import CCV_OPERATOR
from tests.harness.corte_data import CCV_STATION
from tests.harness.corte_data import MOTIVO_CORRECCION
from tests.harness.corte_data import OPERATOR
from tests.harness.corte_data import PASO
from tests.harness.corte_data import RECORDS
from tests.harness.corte_data import STATION
from tests.harness.corte_data import STATIONS
from tests.harness.corte_data import VERIFICADOR
from tests.harness.corte_data import cotejo_records
from tests.harness.corte_data import image_bytes
from tests.harness.corte_data import otro_valor

#: The election day of every night (in the past: see the module's doc).
FECHA = "2026-06-07"
#: The catalog's scale: its minimum, 33 secciones (one per distrito), ≈250 actas.
ESCALA = 0.006
#: Share of published actas changed later in the night, and how.
CAMBIOS = {"reescaneo": 0.04, "cotejo": 0.05, "correccion": 0.03}
#: Share of sin actas whose acta turns up after all (an acopio replacing the sin acta).
APARECEN = 0.3
#: Share of PREP Casilla photos whose paquete reaches the CATD during the night.
LLEGAN = 0.6


@dataclass(frozen=True)
class Ventana:
    """The records that reach the central before one corte, and its instant."""

    instante: datetime
    eventos: tuple[RecordEvent, ...]

    @property
    def instante_sql(self) -> str:
        """The instant as ``bench.corte_ref.set_now`` takes it."""
        return self.instante.isoformat()


@dataclass(frozen=True)
class Noche:
    """One random night: its catalog and its cortes' windows, in order."""

    semilla: int
    catalog: Catalog
    ventanas: tuple[Ventana, ...]
    #: How many actas or records of each kind the night holds (to check its coverage).
    cuentas: Mapping[str, int] = field(default_factory=dict)
    #: Every image's bytes, by SHA-256 (for the central's blob store).
    imagenes: Mapping[str, bytes] = field(default_factory=dict)


def catalogo(semilla: int) -> Catalog:
    """The night's catalog: the generator's at :data:`ESCALA`, dated :data:`FECHA`, with
    a mesa of prisión preventiva (P) beside its mesas A and M."""
    base = generate_catalog(semilla, ESCALA)
    anticipado = next(c for c in base.casillas if c.tipo == "A")
    prision = replace(anticipado, tipo="P", lista_nominal=anticipado.lista_nominal // 2 + 1)
    return replace(base, fecha_eleccion=FECHA, casillas=(*base.casillas, prision))


def noche(semilla: int) -> Noche:
    """The random night of ``semilla`` (the same seed, the same night)."""
    rng = random.Random(f"prep-noche-diferencial:{semilla}")
    catalog = catalogo(semilla)
    cierre = datetime.combine(datetime.fromisoformat(FECHA).date(), time(18, 0),
                              TZ).astimezone(UTC)
    fin = cierre + timedelta(hours=rng.uniform(2.5, 9.0))
    sim = simulate(catalog, semilla, fin, pendientes=rng.uniform(0.02, 0.4))
    hacer = _Eventos(rng)
    cuentas: dict[str, int] = {}

    def contar(que: str) -> None:
        cuentas[que] = cuentas.get(que, 0) + 1

    casillas = {a.clave: a.casilla for a in catalog.actas_por_clave.values()}
    for clave in sorted(sim.estado):
        est = sim.estado[clave]
        casilla = casillas[clave]
        contar(f"mesa_{casilla.tipo}" if casilla.tipo in TIPOS_MESA else
               "especial" if casilla.tipo == "S" else "casilla")
        if est.causa_sin_acta is not None:
            contar("sin_acta")
            _sin_acta(hacer, rng, est)
        elif est.captura is None:
            if est.acopio is not None:
                contar("acopiada")
                hacer.evento(Kind.ACOPIO, est.acopio, {"clave_acta": clave,
                                                        **_traslado(rng, casilla)})
        else:
            contar("validada")
            cambio = _validada(hacer, rng, est, casilla)
            if cambio is not None:
                contar(cambio)
    for f in sim.fuera:
        contar("fuera_de_catalogo")
        hacer.evento(Kind.ACOPIO, f.acopio, {"fuera_de_catalogo": True,
                                             "codigo_leido": f.codigo_leido,
                                             "eleccion": f.eleccion})
        if rng.random() < 0.5:  # an image of an acta the catalog does not hold
            contar("imagen_desconocida")
            desconocida = f"{f.codigo_leido[:-2]}9{f.codigo_leido[-1]}"  # no such election
            hacer.imagen(desconocida, 1, f.acopio + timedelta(minutes=3), Origen.CATD.value,
                         "Escáner")
    eventos = sorted(hacer.eventos, key=lambda e: e.at)  # stable: an acta's order kept
    return Noche(semilla, catalog, _cortes(rng, cierre, eventos), cuentas, hacer.imagenes)


def _cortes(rng: random.Random, cierre: datetime,
            eventos: Sequence[RecordEvent]) -> tuple[Ventana, ...]:
    """2 to 7 cortes, the last a minute after the last record: the others at random
    instants of the night (perhaps before any record), or at random records' instants
    (cortes fall where the records are, a few minutes apart at the peak: most of those
    are made from the previous snapshot, reading again only what changed)."""
    ultimo = eventos[-1].at if eventos else cierre
    n = rng.randint(2, 7)
    total = (ultimo - cierre).total_seconds()
    instantes = sorted({
        (cierre + timedelta(seconds=rng.uniform(60, total)) if not eventos or
         rng.random() < 0.4 else rng.choice(eventos).at).replace(microsecond=0)
        for _ in range(n - 1)})
    instantes.append(ultimo.replace(microsecond=0) + timedelta(minutes=1))
    ventanas: list[Ventana] = []
    i = 0
    for instante in instantes:
        desde = i
        while i < len(eventos) and eventos[i].at <= instante:
            i += 1
        ventanas.append(Ventana(instante, tuple(eventos[desde:i])))
    return tuple(ventanas)


class _Eventos:
    """The night's records, each with an id drawn from the night's generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.eventos: list[RecordEvent] = []
        self.imagenes: dict[str, bytes] = {}

    def id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def evento(self, kind: Kind, at: datetime, body: dict[str, Any],
               station: str = STATION, operator: str = OPERATOR,
               replaces: str | None = None) -> RecordEvent:
        """A record as ingest stores it (arrived the instant it was made)."""
        event = RecordEvent(self.id(), station, operator, kind, at, at, body, replaces)
        self.eventos.append(event)
        return event

    def imagen(self, clave: str, version: int, at: datetime, origen: str,
               digitalizacion: str, replaces: str | None = None) -> RecordEvent:
        data = image_bytes(clave, version)
        sha = hashlib.sha256(data).hexdigest()
        self.imagenes[sha] = data
        return self.evento(Kind.IMAGEN, at, {
            "clave_acta": clave, "sha256": sha,
            "bytes": len(data), "media_type": "image/png", "origen": origen,
            "digitalizacion": digitalizacion}, replaces=replaces)

    def capturas(self, clave: str, sha: str, valores: Sequence[Mapping[str, int | str]],
                 operadores: Sequence[str], at: datetime) -> RecordEvent:
        """Blind captures of ``sha``, one per ``PASO`` after ``at``; the last one."""
        last = None
        for n, (values, operator) in enumerate(zip(valores, operadores, strict=True), 1):
            last = self.evento(Kind.CAPTURA, at + n * PASO, {
                "clave_acta": clave, "valores": dict(values), "imagen_sha256": sha,
                "lease": self.id()}, operator=operator)
        assert last is not None
        return last


def _traslado(rng: random.Random, casilla: Casilla) -> dict[str, str]:
    """An acopio's MECANISMOS_TRASLADO: mostly the catalog's default (none given), now
    and then another one the acopiador recorded."""
    if casilla.tipo in TIPOS_MESA or rng.random() > 0.1:
        return {}
    return {"traslado": rng.choice("FIDE")}


def _sin_acta(hacer: _Eventos, rng: random.Random, est: ActaEnCorte) -> None:
    assert est.causa_sin_acta is not None and est.acopio is not None
    sin_acta = hacer.evento(Kind.SIN_ACTA, est.acopio, {
        "clave_acta": est.clave, "causa": est.causa_sin_acta.value})
    if rng.random() < APARECEN:  # the acta turned up after all
        hacer.evento(Kind.ACOPIO, est.acopio + timedelta(minutes=rng.uniform(5, 90)),
                     {"clave_acta": est.clave}, replaces=sin_acta.id)


def _validada(hacer: _Eventos, rng: random.Random, est: ActaEnCorte,
              casilla: Casilla) -> str | None:
    """The records of an acta validated in the simulation, and perhaps of a later change
    (its kind, or None)."""
    assert est.captura is not None and est.acopio is not None
    assert est.origen is not None and est.digitalizacion is not None
    clave = est.clave
    start = est.acopio
    foto = est.origen is Origen.CASILLA
    if not foto:
        hacer.evento(Kind.ACOPIO, start, {"clave_acta": clave, **_traslado(rng, casilla)})
        start += timedelta(seconds=rng.uniform(20, 600))
    elif rng.random() < LLEGAN:  # the paquete reaches the CATD after the photo
        hacer.evento(Kind.ACOPIO, start + timedelta(minutes=rng.uniform(20, 180)),
                     {"clave_acta": clave, **_traslado(rng, casilla)})
    imagen = hacer.imagen(clave, 1, start, est.origen.value, est.digitalizacion.value)
    sha = str(imagen.body["sha256"])
    valores = est.captura.to_json()
    verificada = est.fecha_verificacion is not None
    capturas = [valores, otro_valor(valores, 1), otro_valor(valores, 2)] if verificada \
        else [valores, valores]
    last = hacer.capturas(clave, sha, capturas,
                          [f"{OPERATOR}-{n}" for n in range(1, len(capturas) + 1)], start)
    if verificada:
        last = hacer.evento(Kind.VERIFICACION, last.at + PASO, {
            "clave_acta": clave, "valores": valores, "imagen_sha256": sha,
            "lease": hacer.id(), "motivo": "Se leyó el acta"}, operator=VERIFICADOR)
        return None
    tirada = rng.random()
    despues = last.at + timedelta(minutes=rng.uniform(3, 240))
    for cambio, parte in CAMBIOS.items():
        if tirada >= parte:
            tirada -= parte
            continue
        if cambio == "reescaneo":  # the CATD's scan: beside the photo, or replacing it
            hacer.imagen(clave, 2, despues, Origen.CATD.value, "Escáner",
                         replaces=None if foto else imagen.id)
        elif cambio == "cotejo":
            hacer.evento(Kind.COTEJO, despues, {"clave_acta": clave, "coincide": True},
                         station=CCV_STATION, operator=CCV_OPERATOR)
        else:
            hacer.evento(Kind.COTEJO, despues, {
                "clave_acta": clave, "coincide": False, "campos": [next(iter(valores))],
                "motivo": MOTIVO_CORRECCION}, station=CCV_STATION, operator=CCV_OPERATOR)
            corregidos = otro_valor(valores, 1)
            hacer.capturas(clave, sha, [corregidos, corregidos],
                           [f"{OPERATOR}-4", f"{OPERATOR}-5"],
                           despues + timedelta(minutes=rng.uniform(1, 30)))
        return cambio
    return None


@dataclass
class Diario:
    """What :func:`aplicar` keeps between windows: the CCV's last batch and record."""

    lote: int = 0
    seq: int = 0


def aplicar(dsn: str, de: Noche, ventana: Ventana, diario: Diario,
            blobs: Path | None = None) -> None:
    """Store ``ventana``'s records in ``dsn``'s central as ingest would, in one
    transaction (a corte sees all of it or none); with ``blobs``, each image's bytes in
    the blob store. Raises ``ValueError`` if the fold refuses any record (the night
    generator made a record the pipeline would not take)."""
    if not ventana.eventos:
        return
    lookup = catalog_lookup(de.catalog)
    claves = {e.clave for e in ventana.eventos if e.clave is not None
              and e.body.get("fuera_de_catalogo") is not True}
    if blobs is not None:
        for e in ventana.eventos:
            if e.kind is Kind.IMAGEN:
                sha = str(e.body["sha256"])
                path = blobs / sha[:2] / sha[2:]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(de.imagenes[sha])
    engine = make_engine(dsn, pool_size=1)
    try:
        with Session(engine) as session, session.begin():
            antes = lock_actas(session, claves, lookup)
            folded = fold(ventana.eventos, lookup, antes)
            if folded.notes:
                raise ValueError(f"the fold refused {len(folded.notes)} records: "
                                 f"{folded.notes[:3]}")
            save(session, antes, folded.actas)
            save_fuera(session, folded.fuera.values())
            cotejos = [e for e in ventana.eventos if e.kind is Kind.COTEJO]
            if cotejos:
                diario.lote += 1
                for tabla, filas in zip((STATIONS, BATCHES, RECORDS), cotejo_records(
                        cotejos, ventana.instante, ventana.instante, diario.lote,
                        diario.seq), strict=True):
                    if filas:
                        session.execute(insert(tabla), filas)
                diario.seq += len(cotejos)
    finally:
        engine.dispose()  # no session left: the database can be copied
