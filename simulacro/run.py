"""``prep simulacro``: a whole drill, from catalog to published corte, with its verdict.

This is the in-memory drill, ``prep simulacro --rapido``: the operators' captures are
simulated in process (see :mod:`prep.sintetico.capturas`) and written straight into a
corte: ``OUT/catalogo/``, ``OUT/publicacion/<corte>/``, ``OUT/simulacro.json``. The full
drill through the real central and stations is :mod:`simulacro.drill`; its verdict
reuses :func:`expected_row`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from prep.catalog import Acta
from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.catalog import write_catalog
from prep.corte.anexo import TZ
from prep.corte.anexo import es_fuera
from prep.corte.package import MANIFEST
from prep.corte.package import CorteEscrito
from prep.corte.package import csv_name
from prep.corte.package import write_corte
from prep.corte.reader import CsvFormatError
from prep.corte.reader import read_eleccion_csv
from prep.corte.reader import resumen_desde_filas
from prep.corte.simulacro import LINEA_MANIFIESTO
from prep.corte.simulacro import problemas
from prep.corte.summary import RESUMEN_COLUMNS
from prep.rules import DEFAULT_RULES
from prep.rules import RuleSet
from prep.sintetico.capturas import SIN_ACTA_CASOS
from prep.sintetico.capturas import Caso
from prep.sintetico.capturas import Simulacion
from prep.sintetico.capturas import simulate
from prep.values import format_valor
from simulacro.salida import MARKER
from simulacro.salida import prepare_out

log = logging.getLogger("simulacro")


@dataclass(frozen=True)
class Options:
    """What a drill runs on."""

    out: Path
    seed: int = 2027
    scale: float = 0.1
    pendientes: float = 0.02


@dataclass
class Report:
    """What the drill did and whether its output holds up."""

    actas: int = 0
    casillas: int = 0
    corte: str = ""
    files: dict[str, str] = field(default_factory=dict)
    resumen: dict[str, dict[str, str]] = field(default_factory=dict)
    casos: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


def run(options: Options, rules: RuleSet = DEFAULT_RULES,
        progress: Callable[[str], None] = lambda _: None) -> Report:
    """Run the drill into ``options.out`` and return its report (also written as JSON)."""
    started = time.perf_counter()
    out = options.out
    prepare_out(out)
    progress(f"Generando el catálogo (semilla {options.seed}, escala {options.scale})")
    catalog = generate_catalog(options.seed, options.scale)
    write_catalog(catalog, out / "catalogo")
    corte = _corte_time(catalog)
    progress(f"Simulando {catalog.total_actas} actas de {len(catalog.casillas)} casillas")
    sim = simulate(catalog, options.seed, corte, options.pendientes)
    progress("Escribiendo el corte")
    escrito = write_corte(out / "publicacion", catalog, sim.estado, sim.fuera, corte, rules,
                          simulacro=True)  # a drill's corte says so (issue 28)
    report = Report(actas=catalog.total_actas, casillas=len(catalog.casillas),
                    corte=escrito.path.name, files=dict(escrito.files))
    for caso in sim.casos.values():
        report.casos[caso.value] = report.casos.get(caso.value, 0) + 1
    progress("Verificando el corte publicado contra la verdad simulada")
    report.failures = verify(catalog, sim, escrito, rules)
    if not (escrito.path / MANIFEST).read_text(encoding="utf-8").startswith(LINEA_MANIFIESTO):
        report.failures.append(f"{MANIFEST}: la línea 1 no dice SIMULACRO")
    report.resumen = {t.eleccion.nombre: dict(zip(RESUMEN_COLUMNS, t.resumen.values(),
                                                  strict=True))
                      for t in escrito.tablas}
    report.seconds = round(time.perf_counter() - started, 3)
    (out / MARKER).write_text(json.dumps({
        "seed": options.seed, "scale": options.scale, "actas": report.actas,
        "casillas": report.casillas, "corte": report.corte, "seconds": report.seconds,
        "casos": report.casos, "resumen": report.resumen, "ok": report.ok,
        "failures": report.failures[:100]}, ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8")
    return report


def verify(catalog: Catalog, sim: Simulacion, escrito: CorteEscrito,
           rules: RuleSet) -> list[str]:
    """Check the corte on disk: hashes, strict layout, summary and every row vs the truth."""
    failures: list[str] = []
    manifest = (escrito.path / MANIFEST).read_text(encoding="utf-8").splitlines()
    # Every file says SIMULACRO if the manifest does, none if not (issue 28).
    failures += problemas(escrito.path, escrito.files,
                          simulacro=manifest[:1] == [LINEA_MANIFIESTO])
    for line in manifest:
        if line.startswith("#"):
            continue
        digest, name = line.split("  ", 1)
        if hashlib.sha256((escrito.path / name).read_bytes()).hexdigest() != digest:
            failures.append(f"{name}: el SHA-256 no coincide con el manifiesto")
    for eleccion in catalog.elecciones:
        name = csv_name(eleccion)
        try:
            parsed = read_eleccion_csv((escrito.path / name).read_bytes())
        except CsvFormatError as exc:
            failures.append(f"{name}: {exc}")
            continue
        if parsed.resumen != resumen_desde_filas(parsed, rules.participacion, rules):
            failures.append(f"{name}: el resumen no coincide con las filas")
        rows = {f["CLAVE_ACTA"].strip("'"): f for f in parsed.filas}
        for acta in catalog.actas(eleccion):
            fila = rows.get(acta.clave)
            if fila is None:
                failures.append(f"{acta.clave}: falta en {name}")
                continue
            failures += _check_row(acta, fila, sim, rules)
        fuera = sum(1 for f in parsed.filas if es_fuera(f))
        # Those of no known election («No se sabe») are in every election's file.
        expected = sum(1 for f in sim.fuera if f.eleccion in (eleccion.codigo, ""))
        if fuera != expected:
            failures.append(f"{name}: {fuera} actas fuera de catálogo, se esperaban {expected}")
    return failures


def expected_observaciones(caso: Caso, rules: RuleSet) -> tuple[str, str]:
    """(OBSERVACIONES, CONTABILIZADA) a simulated acta of ``caso`` must be published with."""
    if caso in SIN_ACTA_CASOS:
        return rules.sin_acta[SIN_ACTA_CASOS[caso]], "0"
    sep = rules.separador
    return {
        Caso.NORMAL: ("-", "1"),
        Caso.ILEGIBLE: (rules.ilegible, "1"),
        Caso.SIN_DATO: (rules.sin_dato, "1"),
        Caso.ILEGIBLE_SIN_DATO: (f"{rules.ilegible}{sep}{rules.sin_dato}", "1"),
        Caso.EXCEDE: (rules.excede, "0"),
        Caso.EXCEDE_SIN_DATO: (f"{rules.excede}{sep}{rules.sin_dato}", "0"),
        Caso.TODOS_ILEGIBLES: (rules.todos_ilegibles, "0"),
        Caso.TODOS_VACIOS: (rules.todos_vacios, "0"),
        Caso.TODOS_MIXTOS: (rules.todos_ilegibles_o_sin_dato, "0"),
    }[caso]


def expected_row(acta: Acta, sim: Simulacion, rules: RuleSet) -> dict[str, str]:
    """The published columns an acta must show, derived from the drill's ground truth
    alone (not from the rules code): every captured field, the calculated total,
    OBSERVACIONES, CONTABILIZADA and the casilla's own columns."""
    casilla = acta.casilla
    aplicables = set(acta.eleccion.campos_aplicables(casilla))
    # A mesa (voto anticipado, prisión preventiva, extranjero) is in no sección and has
    # no representantes: DOMAIN.md.
    row = {"CLAVE_CASILLA": f"'{casilla.clave}'",
           "SECCION": "N/A" if casilla.mesa else str(casilla.seccion),
           "TIPO_CASILLA": casilla.tipo, "LISTA_NOMINAL": str(casilla.lista_nominal),
           "REPRESENTANTES_PP_CI": "N/A" if casilla.mesa else str(casilla.representantes)}
    captura = sim.estado[acta.clave].captura if acta.clave in sim.estado else None
    for campo in acta.eleccion.campos_captura:
        if campo not in aplicables:
            row[campo] = "N/A"
        else:
            row[campo] = "-" if captura is None else format_valor(captura[campo])
    if acta.clave in sim.pendientes:
        row.update(TOTAL_VOTOS_CALCULADO="-", OBSERVACIONES="-", CONTABILIZADA="-")
        return row
    row["OBSERVACIONES"], row["CONTABILIZADA"] = expected_observaciones(
        sim.casos[acta.clave], rules)
    row["TOTAL_VOTOS_CALCULADO"] = "-" if captura is None else str(sum(
        v for c, v in captura.items() if c in acta.eleccion.campos_voto_set
        and type(v) is int))
    return row


def _check_row(acta: Acta, fila: dict[str, str], sim: Simulacion,
               rules: RuleSet) -> list[str]:
    caso = sim.casos.get(acta.clave, "pendiente")
    return [f"{acta.clave} ({caso}): {columna} publicado {fila[columna]!r}, se esperaba "
            f"{valor!r}"
            for columna, valor in expected_row(acta, sim, rules).items()
            if fila[columna] != valor]


def _corte_time(catalog: Catalog) -> datetime:
    """The drill's corte: 08:00 local the morning after the jornada electoral."""
    day = datetime.fromisoformat(catalog.fecha_eleccion).replace(tzinfo=TZ)
    return (day + timedelta(days=1, hours=8)).astimezone(UTC)
