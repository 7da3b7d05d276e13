"""The drill's verdict over what the central actually published (issue 9).

Every corte the drill left in ``publicacion/`` must pass ``prep verify-corte``
(signature, hashes, images, summaries) and must never publish a value that differs from
the ground truth: an acta with data is published exactly as it was on paper, one
without data yet is a row of ``-``. The **last** corte must account for every catalog
acta exactly once, each final (captured or *sin acta*), plus exactly the fuera de
catálogo codes that were registered. The row comparison is the first drill's
(:func:`prep.simulacro.run.expected_row`), derived from the truth alone.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from prep.catalog import Catalog
from prep.corte.package import slug
from prep.corte.reader import CsvEleccion, CsvFormatError, read_eleccion_csv
from prep.corte.verify import HashCache, verify_corte
from prep.rules import RuleSet
from prep.simulacro.capturas import Simulacion
from prep.simulacro.revision import lineas, revisar
from prep.simulacro.run import expected_row

#: Columns that describe the casilla, published from the first corte on.
CASILLA_COLUMNS = ("CLAVE_CASILLA", "SECCION", "TIPO_CASILLA", "LISTA_NOMINAL",
                   "REPRESENTANTES_PP_CI")
_MAX_FAILURES = 200

log = logging.getLogger("prep.simulacro.veredicto")


@dataclass
class CorteVerdict:
    """One corte against the truth."""

    nombre: str
    final: bool
    verify_ok: bool = True
    publicadas: int = 0  # catalog actas with final data (counted or not)
    mismatches: int = 0  # rows whose published values differ from the truth
    failures: list[str] = field(default_factory=list)


def cortes_in(publicacion: Path) -> list[Path]:
    """The corte directories, oldest first (names sort by time; ``_2`` after the plain)."""
    if not publicacion.is_dir():
        return []
    return sorted((p for p in publicacion.iterdir()
                   if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")),
                  key=lambda p: (p.name.split("_")[0], p.name.split("_")[1],
                                 int(p.name.split("_")[2]) if p.name.count("_") > 1 else 1))


#: Clave → the row the truth says it must show once final (the same in every corte).
ExpectedRows = dict[str, dict[str, str]]


class EarlyChecks:
    """The verdict's checks of the cortes published so far, made in a thread of their own
    while the drill stops the stations and makes the último corte and the final report
    (subprocesses that keep one core busy): the verdict then checks only the cortes that
    came after. At full scale the verdict was 35 s for 27 cortes, about 1.3 s each.
    Checked as not final: the último corte comes later, and the verdict checks the last
    corte itself in any case."""

    def __init__(self, catalog: Catalog, sim: Simulacion, publicacion: Path, rules: RuleSet,
                 hashed: HashCache, expected: ExpectedRows) -> None:
        self.done: dict[str, CorteVerdict] = {}
        self._thread = threading.Thread(
            target=self._check, args=(catalog, sim, publicacion, rules, hashed, expected),
            name="veredicto", daemon=True)
        self._thread.start()

    def _check(self, catalog: Catalog, sim: Simulacion, publicacion: Path, rules: RuleSet,
               hashed: HashCache, expected: ExpectedRows) -> None:
        try:
            for directory in cortes_in(publicacion):
                self.done[directory.name] = check_corte(
                    catalog, sim, directory, rules, final=False, hashed=hashed,
                    expected=expected)
        except Exception:  # the verdict checks again whatever is missing here
            log.exception("early checks of the cortes stopped")

    def results(self) -> dict[str, CorteVerdict]:
        """The verdicts made (waits for the thread: the caches are then the caller's)."""
        self._thread.join()
        return self.done


def check_corte(catalog: Catalog, sim: Simulacion, directory: Path, rules: RuleSet,
                final: bool, verify: bool = True, hashed: HashCache | None = None,
                expected: ExpectedRows | None = None) -> CorteVerdict:
    """Check one published corte; ``final``: it must be complete. ``hashed`` and
    ``expected``: shared by the checks of one publication's cortes, so each image is
    hashed (:func:`verify_corte`) and each acta's expected row derived once."""
    expected = {} if expected is None else expected
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
        name = f"{slug(eleccion.nombre)}.csv"
        try:
            parsed = tablas.get(name) or read_eleccion_csv((directory / name).read_bytes())
        except (OSError, CsvFormatError) as exc:
            verdict.failures.append(f"{directory.name}/{name}: {exc}")
            continue
        claves = Counter(f["CLAVE_ACTA"].strip("'") for f in parsed.filas
                         if f["CLAVE_ACTA"] != "-")
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
            if fila["CONTABILIZADA"] != "-":
                verdict.publicadas += 1
            if problems:
                verdict.mismatches += 1
                verdict.failures += [f"{directory.name}/{name}: {p}" for p in problems]
        fuera = sum(1 for f in parsed.filas if f["CLAVE_ACTA"] == "-")
        want = expected_fuera[eleccion.codigo] + expected_fuera[""]  # "": in every file
        if fuera > want or (final and fuera != want):
            verdict.failures.append(f"{directory.name}/{name}: {fuera} actas fuera de "
                                    f"catálogo publicadas, se registraron {want}")
        if len(verdict.failures) > _MAX_FAILURES:
            break
    return verdict


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
    import json

    from prep.catalog import generate_catalog
    from prep.rules import DEFAULT_RULES
    from prep.simulacro.plan import truth

    meta = json.loads((out / "simulacro.json").read_text(encoding="utf-8"))
    catalog = generate_catalog(int(meta["seed"]), float(meta["scale"]))
    sim = truth(catalog, int(meta["seed"]))
    cortes = cortes_in(out / "publicacion")
    if not cortes:
        return ["no se publicó ningún corte"]
    failures: list[str] = []
    hashed: HashCache = {}
    expected: ExpectedRows = {}
    for i, directory in enumerate(cortes):
        failures += check_corte(catalog, sim, directory, rules or DEFAULT_RULES,
                                final=i == len(cortes) - 1, hashed=hashed,
                                expected=expected).failures
    return failures + lineas(revisar(cortes[-1], catalog, rules or DEFAULT_RULES, sim.fuera))
