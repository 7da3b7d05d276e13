"""The drill's verdict over what the central actually published (issue 9).

Every corte the drill left in ``publicacion/`` must pass ``prep verify-corte``
(signature, hashes, images, summaries) and must never publish a value that differs from
the ground truth: an acta with data is published exactly as it was on paper, one
without data yet is a row of ``-``. The **last** corte must account for every catalog
acta exactly once, each final (captured or *sin acta*), plus exactly the fuera de
catálogo codes that were registered. The row comparison is the first drill's
(:func:`simulacro.run.expected_row`), derived from the truth alone.

Cotejo (issue 29): an acta the plan publishes wrong on purpose (``Plan.erradas``) may
show exactly its planned wrong row until its correction is published, and the truth from
then on (:func:`check_correcciones`: the first corte that shows it right lists it in its
``diferencias.json`` among ``modificadas`` with its ``correccion``); in the last corte
COTEJADA is 1 exactly for the actas whose cotejo confirmed them or whose correction was published
(:func:`check_cotejadas`).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
from collections import Counter
from collections.abc import Collection
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path

from prep.catalog import Catalog
from prep.corte.anexo import es_fuera
from prep.corte.historial import COLUMNS
from prep.corte.historial import HISTORIAL
from prep.corte.nombres import NOMBRE_CORTE
from prep.corte.package import csv_name
from prep.corte.reader import CsvEleccion
from prep.corte.reader import CsvFormatError
from prep.corte.reader import read_eleccion_csv
from prep.corte.verify import HashCache
from prep.corte.verify import verify_corte
from prep.rules import RuleSet
from prep.sintetico.capturas import Simulacion
from prep.values import Captura
from prep.values import format_valor
from prep.values import parse_valor
from simulacro.revision import lineas
from simulacro.revision import revisar
from simulacro.run import expected_row

#: Columns that describe the casilla, published from the first corte on.
CASILLA_COLUMNS = ("CLAVE_CASILLA", "SECCION", "TIPO_CASILLA", "LISTA_NOMINAL",
                   "REPRESENTANTES_PP_CI")
_MAX_FAILURES = 200

log = logging.getLogger("simulacro.veredicto")


@dataclass
class CorteVerdict:
    """One corte against the truth."""

    nombre: str
    final: bool
    verify_ok: bool = True
    publicadas: int = 0  # catalog actas with final data (counted or not)
    mismatches: int = 0  # rows whose published values differ from the truth
    failures: list[str] = field(default_factory=list)
    #: Each acta published wrong on purpose: PENDIENTE, ERRADA (its planned wrong row),
    #: VERDAD (corrected) or OTRA (neither: a mismatch).
    erradas: dict[str, str] = field(default_factory=dict)


PENDIENTE, ERRADA, VERDAD, OTRA = "pendiente", "errada", "verdad", "otra"


def cortes_in(publicacion: Path) -> list[Path]:
    """The corte directories, oldest first (names sort by time; ``_2`` after the plain)."""
    if not publicacion.is_dir():
        return []
    return sorted((p for p in publicacion.iterdir()  # not transparencia/ (issue 67)
                   if p.is_dir() and not p.is_symlink() and NOMBRE_CORTE.fullmatch(p.name)),
                  key=lambda p: (p.name.split("_")[0], p.name.split("_")[1],
                                 int(p.name.split("_")[2]) if p.name.count("_") > 1 else 1))


#: Clave → the row the truth says it must show once final (the same in every corte).
ExpectedRows = dict[str, dict[str, str]]
#: Clave → the row an acta published wrong on purpose shows until its correction.
ErradaRows = dict[str, dict[str, str]]


def filas_erradas(catalog: Catalog, sim: Simulacion, erradas: Mapping[str, Sequence[str]],
                  rules: RuleSet) -> ErradaRows:
    """The rows the planned «published wrong» actas show before their correction: the
    truth with the planned value in its field (and the total that follows)."""
    out: ErradaRows = {}
    for clave, (campo, valor) in erradas.items():
        acta, estado = catalog.acta(clave), sim.estado.get(clave)
        if acta is None or estado is None or estado.captura is None:
            continue
        captura = estado.captura
        wrong = Captura(captura.campos, tuple(parse_valor(valor) if c == campo else v
                                              for c, v in captura.items()))
        errada = replace(sim, estado={clave: replace(estado, captura=wrong)})
        out[clave] = expected_row(acta, errada, rules)
    return out


class EarlyChecks:
    """The verdict's checks of the cortes published so far, made in a thread of their own
    while the drill stops the stations and makes the último corte and the final report
    (subprocesses that keep one core busy): the verdict then checks only the cortes that
    came after. At full scale the verdict was 35 s for 27 cortes, about 1.3 s each.
    Checked as not final: the último corte comes later, and the verdict checks the last
    corte itself in any case."""

    def __init__(self, catalog: Catalog, sim: Simulacion, publicacion: Path, rules: RuleSet,
                 hashed: HashCache, expected: ExpectedRows,
                 erradas: ErradaRows | None = None) -> None:
        self.done: dict[str, CorteVerdict] = {}
        self._thread = threading.Thread(
            target=self._check, args=(catalog, sim, publicacion, rules, hashed, expected,
                                      erradas),
            name="veredicto", daemon=True)
        self._thread.start()

    def _check(self, catalog: Catalog, sim: Simulacion, publicacion: Path, rules: RuleSet,
               hashed: HashCache, expected: ExpectedRows, erradas: ErradaRows | None) -> None:
        try:
            for directory in cortes_in(publicacion):
                self.done[directory.name] = check_corte(
                    catalog, sim, directory, rules, final=False, hashed=hashed,
                    expected=expected, erradas=erradas)
        except Exception:  # the verdict checks again whatever is missing here
            log.exception("early checks of the cortes stopped")

    def results(self) -> dict[str, CorteVerdict]:
        """The verdicts made (waits for the thread: the caches are then the caller's)."""
        self._thread.join()
        return self.done


def check_corte(catalog: Catalog, sim: Simulacion, directory: Path, rules: RuleSet,
                final: bool, verify: bool = True, hashed: HashCache | None = None,
                expected: ExpectedRows | None = None,
                erradas: ErradaRows | None = None) -> CorteVerdict:
    """Check one published corte; ``final``: it must be complete. ``hashed`` and
    ``expected``: shared by the checks of one publication's cortes, so each image is
    hashed (:func:`verify_corte`) and each acta's expected row derived once.
    ``erradas``: the actas published wrong on purpose, which may show their wrong row
    (:func:`filas_erradas`) in a corte that is not ``final``."""
    expected = {} if expected is None else expected
    erradas = erradas or {}
    verdict = CorteVerdict(directory.name, final)
    tablas: dict[str, CsvEleccion] = {}
    if verify:
        checked = verify_corte(directory, hashed=hashed, rules=rules)
        verdict.verify_ok = checked.ok
        verdict.failures += [f"{directory.name}: prep verify-corte: {p}"
                             for p in checked.problemas[:20]]
        tablas = checked.tablas  # what verify-corte parsed: the same bytes
    expected_fuera = Counter(f.eleccion for f in sim.fuera)
    for eleccion in catalog.elecciones:
        name = csv_name(eleccion)
        try:
            parsed = tablas.get(name) or read_eleccion_csv((directory / name).read_bytes())
        except (OSError, CsvFormatError) as exc:
            verdict.failures.append(f"{directory.name}/{name}: {exc}")
            continue
        claves = Counter(f["CLAVE_ACTA"].strip("'") for f in parsed.filas
                         if not es_fuera(f))
        verdict.failures += [f"{directory.name}/{name}: el acta {c} aparece {n} veces"
                             for c, n in claves.items() if n > 1]
        rows = {f["CLAVE_ACTA"].strip("'"): f for f in parsed.filas}
        for acta in catalog.actas(eleccion):
            fila = rows.get(acta.clave)
            if fila is None:
                verdict.failures.append(f"{directory.name}/{name}: falta el acta {acta.clave}")
                continue
            if fila["CONTABILIZADA"] == "-" and not final:
                problems = _pending_problems(acta.clave, fila, sim)
            else:
                row = expected.get(acta.clave)
                if row is None:
                    row = expected[acta.clave] = expected_row(acta, sim, rules)
                problems = [f"{acta.clave}: {col} publicado {fila[col]!r}, se esperaba {v!r}"
                            for col, v in row.items() if fila[col] != v]
            errada = erradas.get(acta.clave)
            if errada is not None:
                estado = (PENDIENTE if fila["CONTABILIZADA"] == "-" else VERDAD if not problems
                          else ERRADA if all(fila[c] == v for c, v in errada.items()) else OTRA)
                verdict.erradas[acta.clave] = estado
                if estado == ERRADA and not final:
                    problems = []  # published wrong on purpose: its cotejo is yet to come
                elif estado == ERRADA:
                    problems = [f"{acta.clave}: sigue publicada con el error planeado a "
                                "propósito; su corrección no llegó a este corte"]
            if fila["CONTABILIZADA"] != "-":
                verdict.publicadas += 1
            if problems:
                verdict.mismatches += 1
                verdict.failures += [f"{directory.name}/{name}: {p}" for p in problems]
        fuera = sum(1 for f in parsed.filas if es_fuera(f))
        want = expected_fuera[eleccion.codigo] + expected_fuera[""]  # "": in every file
        if fuera > want or (final and fuera != want):
            verdict.failures.append(f"{directory.name}/{name}: {fuera} actas fuera de "
                                    f"catálogo publicadas, se registraron {want}")
        if len(verdict.failures) > _MAX_FAILURES:
            break
    return verdict


def check_correcciones(cortes: Sequence[Path], verdicts: Sequence[CorteVerdict],
                       erradas: Mapping[str, Sequence[str]],
                       verdad: Mapping[str, Mapping[str, str]]) -> tuple[int, list[str]]:
    """Each acta published wrong on purpose: published wrong first, then corrected in a
    later corte for good, and that corte's ``diferencias.json`` lists it among
    ``modificadas`` with the change of its field and the ``correccion`` of the cotejo;
    that corte's public history and the last one's say the correction was published in
    it, naming the field (HISTORIAL.csv, ``CORRECCION_PUBLICADA``).
    ``verdicts``: those of ``cortes``, in the same order. (Corrections seen, problems.)"""
    problemas: list[str] = []
    vistas = 0
    historiales = _Historiales()
    for clave, (campo, valor) in sorted(erradas.items()):
        estados = [v.erradas.get(clave, PENDIENTE) for v in verdicts]
        if VERDAD not in estados:
            problemas.append(f"el acta {clave}, publicada con un error a propósito en "
                             f"{campo}, nunca se publicó corregida")
            continue
        i = estados.index(VERDAD)
        corte = cortes[i]
        if ERRADA not in estados[:i]:
            problemas.append(f"el acta {clave} se publicó corregida en {corte.name} sin "
                             "haberse publicado antes con su error planeado")
        if any(e != VERDAD for e in estados[i:]):
            problemas.append(f"el acta {clave} volvió a publicarse distinta de la verdad "
                             f"después de corregirse en {corte.name}")
        verdadero = format_valor(parse_valor(verdad.get(clave, {}).get(campo, "")))
        try:
            data = json.loads((corte / "diferencias.json").read_text(encoding="utf-8"))
            modificadas = [m for e in data["elecciones"].values() for m in e["modificadas"]
                           if m.get("clave_acta") == clave]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            problemas.append(f"{corte.name}/diferencias.json: no se pudo leer ({exc})")
            continue
        if not modificadas:
            problemas.append(f"{corte.name}/diferencias.json: el acta {clave} se corrigió "
                             "y no aparece entre las modificadas")
            continue
        m = modificadas[0]
        correccion = m.get("correccion")
        if not isinstance(correccion, dict) or not correccion.get("cotejo") or \
                list(correccion.get("campos", ())) != [campo]:
            problemas.append(f"{corte.name}/diferencias.json: el acta {clave} no trae la "
                             f"corrección de su cotejo (campo {campo}): {correccion!r}")
        elif m.get("cambios", {}).get(campo) != [valor, verdadero]:
            problemas.append(f"{corte.name}/diferencias.json: el acta {clave} debía cambiar "
                             f"{campo} de {valor} a {verdadero}: {m.get('cambios')!r}")
        elif faltan := [c.name for c in (corte, cortes[-1]) if not any(
                d.startswith(f"{corte.name}: ") and f"{campo}: {valor} → {verdadero}" in d
                for d in historiales.de(c).get(clave, ()))]:
            problemas.append(f"{', '.join(sorted(set(faltan)))}/{HISTORIAL}: el acta {clave} "
                             f"no dice que su corrección ({campo}: {valor} → {verdadero}) "
                             f"se publicó en {corte.name}")
        else:
            vistas += 1
    return vistas, problemas


def check_historial_creciente(cortes: Sequence[Path]) -> list[str]:
    """The public history only grows: every row of each corte's HISTORIAL.csv is in the
    next corte's (DOMAIN.md: no later corte drops a row); the first dropped row of each
    pair of cortes is named."""
    problemas: list[str] = []
    anteriores: set[bytes] | None = None
    for corte in cortes:
        try:
            lineas = set((corte / HISTORIAL).read_bytes().split(b"\r\n")[2:])
        except OSError:
            anteriores = None
            continue
        if anteriores is not None and not anteriores <= lineas:
            faltan = sorted(anteriores - lineas)
            problemas.append(f"{corte.name}/{HISTORIAL}: faltan {len(faltan)} filas que el "
                             f"corte anterior publicó, por ejemplo "
                             f"{faltan[0].decode('utf-8', 'replace')[:160]}")
        anteriores = lineas
    return problemas


class _Historiales:
    """Per corte, the DETALLE of each acta's CORRECCION_PUBLICADA rows in its
    HISTORIAL.csv (read once; an unreadable file has none)."""

    def __init__(self) -> None:
        self._leidos: dict[Path, dict[str, list[str]]] = {}

    def de(self, corte: Path) -> dict[str, list[str]]:
        if corte not in self._leidos:
            found: dict[str, list[str]] = {}
            try:
                text = (corte / HISTORIAL).read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError):
                text = ""
            for row in csv.reader(io.StringIO(text, newline="")):
                if len(row) == len(COLUMNS) and row[1] == "CORRECCION_PUBLICADA":
                    found.setdefault(row[0].strip("'"), []).append(row[-1])
            self._leidos[corte] = found
        return self._leidos[corte]


def check_cotejadas(directory: Path, catalog: Catalog, confirmadas: Collection[str],
                    diferentes: Collection[str] = ()) -> list[str]:
    """COTEJADA is 1 in the corte at ``directory`` exactly for the actas cotejadas: those
    a cotejo confirmed (``confirmadas``), and those a cotejo found different
    (``diferentes``) whose correction this corte publishes (its HISTORIAL.csv's
    CORRECCION_PUBLICADA row: the figures then come from the paper acta); one whose
    correction has not validated yet is not cotejada."""
    corregidas = set(diferentes) & set(_Historiales().de(directory))
    cotejadas = set(confirmadas) | corregidas
    con_uno: set[str] = set()
    for eleccion in catalog.elecciones:
        name = csv_name(eleccion)
        try:
            parsed = read_eleccion_csv((directory / name).read_bytes())
        except (OSError, CsvFormatError) as exc:
            return [f"{directory.name}/{name}: {exc}"]
        con_uno |= {f["CLAVE_ACTA"].strip("'") for f in parsed.filas
                    if f.get("COTEJADA") == "1"}
    problemas: list[str] = []
    for conjunto, que in ((con_uno - cotejadas, "con COTEJADA=1 sin un cotejo que las "
                                                "confirmara ni una corrección publicada"),
                          (cotejadas - con_uno, "cotejadas (confirmadas o corregidas) sin "
                                                "COTEJADA=1")):
        if conjunto:
            muestra = ", ".join(sorted(conjunto)[:3])
            problemas.append(f"{directory.name}: {len(conjunto)} actas {que} ({muestra}…)")
    return problemas


def cotejos_de(estaciones: Path) -> tuple[set[str], set[str]]:
    """The actas the drill's stations cotejoed, from their status files: (confirmed,
    found different)."""
    confirmadas: set[str] = set()
    diferentes: set[str] = set()
    for path in estaciones.glob("*.estado.json"):
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        confirmadas |= set(state.get("cotejadas", ()))
        diferentes |= set(state.get("cotejos_con_diferencia", ()))
    return confirmadas, diferentes


def _pending_problems(clave: str, fila: dict[str, str], sim: Simulacion) -> list[str]:
    """An acta without final data yet: no votes may show."""
    estado = sim.estado.get(clave)
    campos = [] if estado is None or estado.captura is None else list(estado.captura)
    return [f"{clave}: {c} publicado {fila[c]!r} antes de validarse el acta"
            for c in campos if fila.get(c, "-") not in ("-", "N/A")]


def verdict_of(out: Path, rules: RuleSet | None = None) -> list[str]:
    """The verdict of a finished drill's output directory, recomputed from its seed and
    scale (``simulacro.json``): every corte again, the last one final. Empty when it
    still holds; for re-checking a publication after the fact."""
    from prep.catalog import generate_catalog
    from prep.rules import DEFAULT_RULES
    from prep.sintetico.plan import make_plan

    rules = rules or DEFAULT_RULES
    meta = json.loads((out / "simulacro.json").read_text(encoding="utf-8"))
    catalog = generate_catalog(int(meta["seed"]), float(meta["scale"]))
    plan = make_plan(catalog, int(meta["seed"]), int(meta["catds"]),
                     float(meta["error_rate"]), float(meta.get("cotejo_rate", 0.0)))
    sim = plan.sim
    cortes = cortes_in(out / "publicacion")
    if not cortes:
        return ["no se publicó ningún corte"]
    failures: list[str] = []
    hashed: HashCache = {}
    expected: ExpectedRows = {}
    erradas = filas_erradas(catalog, sim, plan.erradas, rules)
    verdicts = [check_corte(catalog, sim, directory, rules, final=i == len(cortes) - 1,
                            hashed=hashed, expected=expected, erradas=erradas)
                for i, directory in enumerate(cortes)]
    for verdict in verdicts:
        failures += verdict.failures
    failures += check_correcciones(cortes, verdicts, plan.erradas, plan.verdad())[1]
    if (out / "estaciones").is_dir():  # the stations' status files say what was cotejado
        failures += check_cotejadas(cortes[-1], catalog, cotejos_de(out / "estaciones")[0])
    return failures + lineas(revisar(cortes[-1], catalog, rules, sim.fuera))
