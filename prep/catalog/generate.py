"""A deterministic generator of a realistic, synthetic CDMX-like election catalog.

At ``scale=1`` it has the shape of Ciudad de México: 33 distritos locales over the 16
alcaldías, ≈5,500 secciones, ≈13,200 casillas (CDMX 2021 mix: ≈5,500 básicas,
≈7,600 contiguas, 26 extraordinarias, 15 especiales), lista nominal ≤ 750 per casilla
adding up to ≈7.8 million, and three elections with 2024-like parties and coalitions.
A few casillas of the other kinds an institute's files hold (issue 28) let every part of
the suite meet them: urnas electrónicas (U), mesas of voto anticipado (A) and of voto en
el extranjero (M, Jefatura de Gobierno only), with their own TIPO_ACTA, and a
MECANISMOS_TRASLADO default for every casilla (CRyT and DAT mostly in rural secciones).
Every figure is synthetic; the same seed and scale always give the same catalog.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace

from prep.catalog.model import MAX_LISTA_NOMINAL_CASILLA
from prep.catalog.model import UBICACION_NO_APLICA
from prep.catalog.model import Ambito
from prep.catalog.model import Asociacion
from prep.catalog.model import Candidatura
from prep.catalog.model import Casilla
from prep.catalog.model import Catalog
from prep.catalog.model import Demarcacion
from prep.catalog.model import Distrito
from prep.catalog.model import Eleccion
from prep.catalog.model import TipoAsociacion

ENTIDAD_ID = 9
ENTIDAD = "CIUDAD DE MÉXICO"
FECHA_ELECCION = "2027-06-06"

FULL_SECCIONES = 5526
FULL_EXTRAORDINARIAS = 26
FULL_ESPECIALES = 15
BOLETAS_ESPECIAL = 750
FULL_URNAS = 20  # casillas con urna electrónica
FULL_ANTICIPADO = 3  # mesas de voto anticipado
FULL_EXTRANJERO = 6  # mesas de voto de la ciudadanía en el extranjero
#: Distritos whose last secciones lie in another alcaldía than their cabecera's.
DISTRITOS_PARTIDOS = 6
#: The only election the mesas of voto en el extranjero count.
ELECCIONES_EXTRANJERO = frozenset({"01"})
#: Default MECANISMOS_TRASLADO weights: (code, weight) for urban and rural casillas.
TRASLADO_URBANA = (("E", 85), ("F", 12), ("D", 3))
TRASLADO_RURAL = (("E", 25), ("F", 30), ("I", 25), ("D", 20))
N_DISTRITOS = 33

# (name, share of the lista nominal, mostly rural?)
ALCALDIAS: tuple[tuple[str, float, bool], ...] = (
    ("AZCAPOTZALCO", 0.045, False),
    ("COYOACÁN", 0.071, False),
    ("CUAJIMALPA DE MORELOS", 0.022, False),
    ("GUSTAVO A. MADERO", 0.128, False),
    ("IZTACALCO", 0.044, False),
    ("IZTAPALAPA", 0.188, False),
    ("LA MAGDALENA CONTRERAS", 0.026, False),
    ("MILPA ALTA", 0.015, True),
    ("ÁLVARO OBREGÓN", 0.080, False),
    ("TLÁHUAC", 0.038, True),
    ("TLALPAN", 0.072, True),
    ("XOCHIMILCO", 0.045, True),
    ("BENITO JUÁREZ", 0.051, False),
    ("CUAUHTÉMOC", 0.064, False),
    ("MIGUEL HIDALGO", 0.045, False),
    ("VENUSTIANO CARRANZA", 0.048, False),
)

PARTIDOS: tuple[tuple[str, str], ...] = (
    ("PAN", "Partido Acción Nacional"),
    ("PRI", "Partido Revolucionario Institucional"),
    ("PRD", "Partido de la Revolución Democrática"),
    ("PVEM", "Partido Verde Ecologista de México"),
    ("PT", "Partido del Trabajo"),
    ("MC", "Movimiento Ciudadano"),
    ("MORENA", "Morena"),
)

COALICIONES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Va por la Ciudad de México", ("PAN", "PRI", "PRD")),
    ("Seguimos Haciendo Historia en la Ciudad de México", ("PVEM", "PT", "MORENA")),
)

NOMBRES = ("María", "José", "Guadalupe", "Juan", "Ana", "Luis", "Rosa", "Carlos", "Laura",
           "Jorge", "Patricia", "Miguel", "Elena", "Francisco", "Verónica", "Alejandro",
           "Claudia", "Ricardo", "Gabriela", "Fernando", "Sofía", "Raúl", "Daniela", "Héctor")
APELLIDOS = ("Hernández", "García", "Martínez", "López", "González", "Pérez", "Rodríguez",
             "Sánchez", "Ramírez", "Cruz", "Flores", "Gómez", "Morales", "Vázquez", "Reyes",
             "Jiménez", "Torres", "Díaz", "Gutiérrez", "Ruiz", "Mendoza", "Aguilar", "Ortiz",
             "Castillo", "Romero", "Álvarez", "Chávez", "Rivera", "Juárez", "Domínguez")


def generate_catalog(seed: int = 2027, scale: float = 1.0) -> Catalog:
    """Generate the catalog; ``scale`` is the fraction of CDMX's secciones (0 < scale ≤ 1)."""
    if not 0 < scale <= 1:
        raise ValueError("scale debe estar entre 0 (excluido) y 1")
    rng = random.Random(f"prep-catalog:{seed}")
    # The kinds of casilla and defaults added by issue 28 draw from a stream of their
    # own, so the rest of a seed's catalog stayed as it was.
    extra = random.Random(f"prep-catalog-issue28:{seed}")
    demarcaciones = tuple(Demarcacion(i + 1, name) for i, (name, _, _) in enumerate(ALCALDIAS))
    distritos = _distritos(rng)
    casillas = _con_traslado(extra, _distritos_partidos(
        extra, _casillas(rng, scale, distritos, extra), len(demarcaciones)))
    elecciones = _elecciones(rng, distritos, demarcaciones)
    return Catalog(
        entidad_id=ENTIDAD_ID, entidad=ENTIDAD, fecha_eleccion=FECHA_ELECCION,
        demarcaciones=demarcaciones, distritos=distritos, casillas=casillas,
        elecciones=elecciones, candidaturas=_candidaturas(rng, elecciones, distritos,
                                                          demarcaciones),
    )


def _distritos(rng: random.Random) -> tuple[Distrito, ...]:
    """33 distritos: at least one per alcaldía, the rest by largest remainder of share."""
    spare = N_DISTRITOS - len(ALCALDIAS)
    quotas = [share * spare for _, share, _ in ALCALDIAS]
    counts = [1 + int(q) for q in quotas]
    order = sorted(range(len(ALCALDIAS)), key=lambda i: quotas[i] - int(quotas[i]),
                   reverse=True)
    for i in order[: N_DISTRITOS - sum(counts)]:
        counts[i] += 1
    dem_of = [dem for dem, n in enumerate(counts, start=1) for _ in range(n)]
    rng.shuffle(dem_of)  # distrito numbers are not grouped by alcaldía in CDMX either
    return tuple(Distrito(i + 1, ALCALDIAS[dem - 1][0], dem) for i, dem in enumerate(dem_of))


def _casillas(rng: random.Random, scale: float, distritos: tuple[Distrito, ...],
              extra: random.Random) -> tuple[Casilla, ...]:
    n_secciones = max(N_DISTRITOS, round(FULL_SECCIONES * scale))
    per_distrito = [n_secciones // N_DISTRITOS] * N_DISTRITOS
    for i in range(n_secciones % N_DISTRITOS):
        per_distrito[i] += 1
    casillas: list[Casilla] = []
    # Sección numbers are consecutive inside a distrito, with gaps between distritos, as
    # real sección maps look after redistricting.
    seccion = 1
    step = max(1, round(9800 / n_secciones * 0.9))
    secciones: list[tuple[Distrito, int]] = []
    for distrito, n in zip(distritos, per_distrito, strict=True):
        for _ in range(n):
            secciones.append((distrito, seccion))
            seccion += 1 if step == 1 else rng.randint(1, step)
        seccion += rng.randint(1, 5)
    for distrito, sec in secciones:
        rural = ALCALDIAS[distrito.demarcacion_id - 1][2] and rng.random() < 0.4
        lista = rng.randint(200, 2620)
        n = math.ceil(lista / MAX_LISTA_NOMINAL_CASILLA)
        for k in range(n):
            share = lista // n + (1 if k < lista % n else 0)
            casillas.append(_casilla(rng, distrito, sec, "B" if k == 0 else "C",
                                     1 if k == 0 else k, 0, share, 2 if rural else 1))
    rural_secciones = [s for s in secciones if ALCALDIAS[s[0].demarcacion_id - 1][2]]
    for i in range(_scaled(FULL_EXTRAORDINARIAS, scale)):
        distrito, sec = rng.choice(rural_secciones)
        casillas.append(_casilla(rng, distrito, sec, "E", 1, i // len(rural_secciones),
                                 rng.randint(250, MAX_LISTA_NOMINAL_CASILLA), 2))
    for distrito, sec in rng.sample(secciones, _scaled(FULL_ESPECIALES, scale)):
        casillas.append(_casilla(rng, distrito, sec, "S", 1, 0, 0, 1))
    casillas += _otras_casillas(extra, scale, secciones)
    return _dedupe(casillas)


def _otras_casillas(rng: random.Random, scale: float,
                    secciones: list[tuple[Distrito, int]]) -> list[Casilla]:
    """Urnas electrónicas in urban secciones; the mesas of voto anticipado and en el
    extranjero in the sección of their distrito's sede, counted there (no ubicación)."""
    urbanas = [s for s in secciones if not ALCALDIAS[s[0].demarcacion_id - 1][2]]
    out = [_casilla(rng, distrito, sec, "U", 1, 0, rng.randint(300, MAX_LISTA_NOMINAL_CASILLA),
                    1) for distrito, sec in rng.sample(urbanas, _scaled(FULL_URNAS, scale))]
    # A mesa has no representantes voting in it: 0 (after the draw, which keeps the
    # generator's sequence, hence every other casilla, as it was).
    for distrito, sec in rng.sample(secciones, _scaled(FULL_ANTICIPADO, scale)):
        out.append(replace(_casilla(rng, distrito, sec, "A", 1, 0, rng.randint(20, 150),
                                    UBICACION_NO_APLICA), representantes=0))
    for distrito, sec in rng.sample(secciones, _scaled(FULL_EXTRANJERO, scale)):
        out.append(replace(_casilla(rng, distrito, sec, "M", 1, 0, rng.randint(300, 750),
                                    UBICACION_NO_APLICA), elecciones=ELECCIONES_EXTRANJERO,
                           representantes=0))
    return out


def _distritos_partidos(rng: random.Random, casillas: tuple[Casilla, ...],
                        n_demarcaciones: int) -> tuple[Casilla, ...]:
    """A distrito may span two alcaldías (issue 28): in a few, the last quarter of the
    secciones belongs to another one, so that an alcaldía's contest is not a sum of
    whole distritos."""
    secciones: dict[int, list[int]] = {}
    for c in casillas:
        if c.seccion not in secciones.setdefault(c.distrito_id, []):
            secciones[c.distrito_id].append(c.seccion)
    otra: dict[tuple[int, int], int] = {}
    for distrito in rng.sample(sorted(secciones), min(DISTRITOS_PARTIDOS, len(secciones))):
        propias = sorted(secciones[distrito])
        if len(propias) < 2:
            continue
        dem = next(c.demarcacion_id for c in casillas if c.distrito_id == distrito)
        vecina = rng.choice([d for d in range(1, n_demarcaciones + 1) if d != dem])
        for seccion in propias[len(propias) - max(1, len(propias) // 4):]:
            otra[(distrito, seccion)] = vecina
    return tuple(replace(c, demarcacion_id=otra.get((c.distrito_id, c.seccion),
                                                    c.demarcacion_id)) for c in casillas)


def _con_traslado(rng: random.Random, casillas: tuple[Casilla, ...]) -> tuple[Casilla, ...]:
    """Each casilla's default MECANISMOS_TRASLADO, as a Consejo would approve them."""
    out = []
    for c in casillas:
        if c.traslado is not None:
            pesos = TRASLADO_RURAL if c.ubicacion == 2 else TRASLADO_URBANA
            codigos, weights = zip(*pesos, strict=True)
            c = replace(c, traslado=rng.choices(codigos, weights)[0])
        out.append(c)
    return tuple(out)


def _casilla(rng: random.Random, distrito: Distrito, seccion: int, tipo: str, id_casilla: int,
             ext: int, lista: int, ubicacion: int) -> Casilla:
    return Casilla(
        entidad_id=ENTIDAD_ID, distrito_id=distrito.id, demarcacion_id=distrito.demarcacion_id,
        seccion=seccion, tipo=tipo, id_casilla=id_casilla, ext_contigua=ext,
        lista_nominal=lista, representantes=rng.randint(2, 14),
        boletas=BOLETAS_ESPECIAL if tipo == "S" else 0, ubicacion=ubicacion,
    )


def _dedupe(casillas: list[Casilla]) -> tuple[Casilla, ...]:
    """Two extraordinarias drawn in one sección become E01 and E02, never a duplicate."""
    seen: set[str] = set()
    out: list[Casilla] = []
    for c in casillas:
        while c.clave in seen:
            c = replace(c, id_casilla=c.id_casilla + 1)
        seen.add(c.clave)
        out.append(c)
    return tuple(sorted(out, key=Casilla.sort_key))


def _scaled(full: int, scale: float) -> int:
    return max(1, round(full * scale))


def _asociaciones(rng: random.Random, ambito_ids: list[int], coalition_share: float,
                  independientes: int) -> tuple[Asociacion, ...]:
    out = [Asociacion(clave, nombre, TipoAsociacion.PARTIDO, (clave,))
           for clave, nombre in PARTIDOS]
    for nombre, partidos in COALICIONES:
        where = (None if coalition_share >= 1 else
                 frozenset(rng.sample(ambito_ids, round(len(ambito_ids) * coalition_share))))
        combos = [partidos] + [p for p in _pairs(partidos)]
        for combo in combos:
            out.append(Asociacion("_".join(combo), f"{nombre} ({'-'.join(combo)})",
                                  TipoAsociacion.COALICION, combo, where))
    for i, ambito in enumerate(rng.sample(ambito_ids, independientes), start=1):
        out.append(Asociacion(f"CAND_IND_{i}", f"Candidatura independiente {i}",
                              TipoAsociacion.INDEPENDIENTE, (), frozenset({ambito})))
    return tuple(out)


def _pairs(partidos: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [(a, b) for i, a in enumerate(partidos) for b in partidos[i + 1:]]


def _elecciones(rng: random.Random, distritos: tuple[Distrito, ...],
                demarcaciones: tuple[Demarcacion, ...]) -> tuple[Eleccion, ...]:
    dist_ids = [d.id for d in distritos]
    dem_ids = [d.id for d in demarcaciones]
    return (
        Eleccion("01", "JEFATURA DE GOBIERNO", "1", Ambito.ENTIDAD,
                 _asociaciones(rng, [0], 1.0, 0), _tipos_acta(1), suplente=False),
        Eleccion("02", "DIPUTACIONES LOCALES MR", "2", Ambito.DISTRITO,
                 _asociaciones(rng, dist_ids, 0.85, 3), _tipos_acta(2), suplente=True),
        Eleccion("03", "ALCALDÍAS", "3", Ambito.DEMARCACION,
                 _asociaciones(rng, dem_ids, 0.9, 2), _tipos_acta(3), suplente=False),
    )


def _tipos_acta(tipo_acta: int) -> tuple[tuple[str, str], ...]:
    """The other forms of an election's acta (synthetic numbers, as a QR carries them):
    the especiales' (election + 3), the one an urna electrónica prints (+ 6), and the
    mesas' of voto anticipado and en el extranjero (+ 9)."""
    return (("S", str(tipo_acta + 3)), ("A", str(tipo_acta + 9)), ("M", str(tipo_acta + 9)),
            ("U", str(tipo_acta + 6)))


def _candidaturas(rng: random.Random, elecciones: tuple[Eleccion, ...],
                  distritos: tuple[Distrito, ...],
                  demarcaciones: tuple[Demarcacion, ...]) -> tuple[Candidatura, ...]:
    """One candidatura per party and independent in each contest. A coalition registers
    one person per contest, so each of its parties' rows names the same one; the
    Jefatura de Gobierno and the alcaldías have no suplente."""
    out: list[Candidatura] = []
    for e in elecciones:
        ambito_ids = {Ambito.ENTIDAD: [0], Ambito.DISTRITO: [d.id for d in distritos],
                      Ambito.DEMARCACION: [d.id for d in demarcaciones]}[e.ambito]
        for ambito in ambito_ids:
            coalicion = {a.clave: k for k, grupo in enumerate(e.coaliciones(ambito))
                         for a in grupo}
            personas: dict[int, tuple[str, str]] = {}
            usados: set[str] = set()  # one person is one candidatura of a contest
            for a in e.asociaciones:
                if a.tipo is TipoAsociacion.COALICION or not a.compite_en(ambito):
                    continue
                k = coalicion.get(a.clave)
                persona = personas.get(k) if k is not None else None
                if persona is None:
                    persona = (_nombre(rng, usados),
                               _nombre(rng, usados) if e.suplente else "")
                    if k is not None:
                        personas[k] = persona
                out.append(Candidatura(e.codigo, ambito, a.clave, *persona))
    return tuple(out)


def _nombre(rng: random.Random, usados: set[str]) -> str:
    """A person's name not yet in ``usados`` (which it joins)."""
    while True:
        nombre = f"{rng.choice(NOMBRES)} {rng.choice(APELLIDOS)} {rng.choice(APELLIDOS)}"
        if nombre not in usados:
            usados.add(nombre)
            return nombre
