"""``prep verify-corte``'s check of the election CSVs (issue 65: their registry entry's
``verifica``, :data:`prep.corte.archivos.ELECCIONES`): each read well formed (verify-corte
reads them first, for every check), its summary (line 5) what its rows give, no
participación over 100 % in it or in any territory its rows give
(:mod:`prep.corte.verify_participacion`), its mesas' rows right
(:mod:`prep.corte.verify_mesas`) and every CODIGO_INTEGRIDAD with its image.
"""

from __future__ import annotations

import re

from prep.corte.archivo import Leido
from prep.corte.nombres import IMAGENES
from prep.corte.reader import CsvEleccion
from prep.corte.reader import resumen_desde_filas
from prep.corte.verify_mesas import problemas_mesas
from prep.corte.verify_participacion import problemas_csv as problemas_participacion
from prep.rules import Base
from prep.rules import RuleSet

_SHA256 = re.compile(r"[0-9a-f]{64}")
_MAX_REPORTED = 50


def stem(file: str) -> str:
    """A file name without its last suffix (as ``PurePosixPath.stem``; a string
    operation: a corte names 40,000 images)."""
    dot = file.rfind(".")
    return file[:dot] if 0 < dot < len(file) - 1 else file


def problemas_elecciones(leido: Leido) -> list[str]:
    """What is wrong with the election CSVs verify-corte read, in the order of their
    names; each one's verdict goes to ``leido.veredictos``."""
    images = {stem(n.rpartition("/")[2]) for n in leido.archivos
              if n.partition("/")[0] == IMAGENES}
    out: list[str] = []
    for name in sorted({*leido.tablas, *leido.ilegibles}):
        if name in leido.ilegibles:
            out.append(f"{name}: {leido.ilegibles[name]}")
            continue
        parsed = leido.tablas[name]
        verdict = _resumen(out, name, parsed, leido.reglas)
        out += problemas_participacion(name, parsed)
        out += problemas_mesas(name, parsed)
        faltan = 0
        for fila in parsed.filas:
            code = fila.get("CODIGO_INTEGRIDAD", "-")
            if code in ("-", "N/A"):
                continue
            if not _SHA256.fullmatch(code):
                out.append(f"{name}: {fila.get('CLAVE_ACTA')}: "
                           f"CODIGO_INTEGRIDAD inválido {code!r}")
            elif code not in images:
                faltan += 1
                if faltan <= _MAX_REPORTED:
                    out.append(f"{name}: {fila.get('CLAVE_ACTA')}: falta la "
                               f"imagen {IMAGENES}/{code}.* (o no coincide)")
        if faltan > _MAX_REPORTED:
            out.append(f"{name}: {faltan} actas sin su imagen en total")
        leido.veredictos[name] = f"{parsed.eleccion}, {len(parsed.filas)} filas; {verdict}"
    return out


def _resumen(out: list[str], name: str, parsed: CsvEleccion, reglas: RuleSet) -> str:
    try:
        for base in (Base.SIN_ESPECIALES, Base.CON_ESPECIALES):
            if resumen_desde_filas(parsed, base, reglas) == parsed.resumen:
                return ("resumen recalculado de las filas: coincide" +
                        ("" if base is Base.SIN_ESPECIALES
                         else " (participación con casillas especiales)"))
        expected = resumen_desde_filas(parsed, rules=reglas)
    except (KeyError, ValueError) as exc:
        out.append(f"{name}: no se pudo recalcular el resumen ({exc})")
        return "resumen no verificable"
    wrong = [c for c, v in expected.items() if parsed.resumen.get(c) != v]
    out.append(f"{name}: el resumen no coincide con las filas en "
               + ", ".join(f"{c} (publicado {parsed.resumen.get(c)}, "
                           f"calculado {expected[c]})" for c in wrong))
    return "resumen NO coincide"
