"""``prep verify-corte``'s check of the public site's data files (docs/sitio.md).

Every data file under ``sitio/datos/`` must be one the page reads as it is
(``PREP.recibir("<its own path>", {…});``) and name the corte of ``indice.js``, or the
page would refuse it or mix two cortes. The acta rows of the bloques of secciones
(``e<EE>/d<DDD>/s<SSSS>.js``) must be the election CSVs' rows: each acta of a CSV exactly
once, in the bloque ``secciones.js`` assigns its distrito and sección, with the CSV's
values and its image named by CODIGO_INTEGRIDAD; a history bloque (``h<SSSS>``) lists
only actas of its secciones that the CSV publishes with data. Files are read one at a
time and dropped (a national corte's site is ≈250 MB of JSON).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from collections.abc import Mapping
from operator import itemgetter
from pathlib import Path
from typing import Any

from prep.catalog.model import TIPOS_MESA
from prep.corte.anexo import NO_APLICA
from prep.corte.anexo import es_fuera
from prep.corte.reader import CsvEleccion
from prep.corte.site_datos import NOMBRE_CORTE
from prep.corte.site_datos import SITE_DIR
from prep.corte.site_datos import parse_data_file
from prep.corte.verify_candidaturas import problemas_candidaturas
from prep.corte.verify_participacion import problemas_datos

DATOS = f"{SITE_DIR}/datos/"
_MAX = 50
#: The most bytes of one data file read (a national bloque is ≈60 KB, a distrito ≈20 KB).
MAX_DATOS = 64 * 1024 * 1024
_BLOQUE = re.compile(r"e([0-9A-Za-z]{1,8})/d(\d{3})/([sh])(\d{4})")
_IMAGEN = re.compile(r"\.\./imagenes/([0-9a-f]{64})\.[a-z0-9]{1,8}")
_CLAVES = ("CLAVE_CASILLA", "CLAVE_ACTA")


_ELECCION = re.compile(r"e([0-9A-Za-z]{1,8})")


def _eleccion(directory: Path, name: str, data: dict[str, Any],
              tablas: Mapping[str, CsvEleccion], csv_de: Mapping[str, str]) -> list[str]:
    """An election's data file (``e<EE>.js``) against its CSV: the actas per
    OBSERVACIONES value, and its candidaturas file against the coalitions and office it
    describes (:mod:`prep.corte.verify_candidaturas`)."""
    match = _ELECCION.fullmatch(name[len(DATOS):-3])
    csv_eleccion = "" if match is None else csv_de.get(match.group(1), "")
    tabla = tablas.get(csv_eleccion)
    if tabla is None:
        return []
    out = _observaciones(name, data.get("observaciones"), tabla)
    out += _mesas(name, data.get("mesas"), tabla)
    if "asociaciones" in data:
        out += problemas_candidaturas(directory, csv_eleccion, tabla, data)
    return out


def _mesas(name: str, publicadas: Any, tabla: CsvEleccion) -> list[str]:
    """The election's mesas the site lists apart (they are in no sección) are the CSV's
    rows of mesas, each once."""
    if publicadas is None:
        return []
    csv_mesas = sorted(f["CLAVE_ACTA"].strip("'") for f in tabla.filas
                       if not es_fuera(f) and f.get("TIPO_CASILLA") in TIPOS_MESA)
    try:
        sitio = sorted(str(a[0]) for a in publicadas["actas"])
    except (KeyError, TypeError, IndexError):
        return [f"{name}: «mesas» no tiene la lista de sus actas"]
    if sitio != csv_mesas:
        return [f"{name}: las actas de mesas que lista el sitio ({len(sitio)}) no son las "
                f"del CSV ({len(csv_mesas)})"]
    return []


def _observaciones(name: str, publicadas: Any, tabla: CsvEleccion) -> list[str]:
    """The actas of each OBSERVACIONES value, as the election's data file counts them
    and as its CSV's rows do (fuera de catálogo aside)."""
    if publicadas is None:
        return []
    cuenta: dict[str, int] = {}
    for fila in tabla.filas:
        valor = fila.get("OBSERVACIONES", "-")
        if not es_fuera(fila) and valor != "-":
            cuenta[valor] = cuenta.get(valor, 0) + 1
    try:
        sitio = {str(v): int(n) for v, n in publicadas}
    except (TypeError, ValueError):
        return [f"{name}: «observaciones» no es una lista de [valor, actas]"]
    if sitio != cuenta:
        return [f"{name}: las actas por observación ({sitio}) no son las del CSV "
                f"({cuenta})"]
    return []


def problemas_sitio(directory: Path, digests: Collection[str],
                    tablas: Mapping[str, CsvEleccion]) -> list[str]:
    """What the site's data files in ``directory`` (``digests``: the files the manifest
    lists, already hashed) contradict in themselves or in the parsed election CSVs
    (``tablas``, by file name). A corte without a site has nothing to check."""
    nombres = sorted(n for n in digests if n.startswith(DATOS) and n.endswith(".js"))
    if f"{DATOS}indice.js" not in digests:
        return []
    out: list[str] = []
    indice = _leer(directory, f"{DATOS}indice.js", out)
    secciones = _leer(directory, f"{DATOS}secciones.js", out)
    if not isinstance(indice, dict) or not isinstance(secciones, dict):
        return out
    corte = indice.get(NOMBRE_CORTE)
    try:
        csv_de = {str(e["codigo"]): str(e["csv"]) for e in indice["elecciones"]}
        inicios = {int(d): sorted(map(int, v)) for d, v in secciones["bloques"].items()}
    except (KeyError, TypeError, ValueError):
        return [f"{DATOS}indice.js o secciones.js: faltan las elecciones o los bloques "
                "de secciones"]
    actas = _Actas(tablas, csv_de)
    for name in nombres:
        if len(out) >= _MAX:
            out.append(f"{DATOS}: … y quizá más problemas")
            return out
        data = _leer(directory, name, out)
        if not isinstance(data, dict):
            continue
        out += problemas_datos(name, data)
        out += _eleccion(directory, name, data, tablas, csv_de)
        if data.get(NOMBRE_CORTE) != corte:
            out.append(f"{name}: es del corte {data.get(NOMBRE_CORTE)!r}, no del de "
                       f"indice.js ({corte!r})")
            continue
        match = _BLOQUE.fullmatch(name[len(DATOS):-3])
        if match is None:
            continue
        codigo, distrito, tipo, primera = match.groups()
        starts = inicios.get(int(distrito), [])
        if int(primera) not in starts:
            out.append(f"{name}: secciones.js no tiene un bloque que empiece en la "
                       f"sección {int(primera)} del distrito {int(distrito)}")
            continue
        i = starts.index(int(primera))
        rango = (int(distrito), int(primera), starts[i + 1] if i + 1 < len(starts) else None)
        if tipo == "s":
            actas.filas(name, codigo, rango, data, out)
        else:
            actas.historial(name, codigo, rango, data, out)
    out += actas.faltan()
    return out[:_MAX + 1]


def _leer(directory: Path, name: str, out: list[str]) -> Any:
    """The JSON of a data file, or None (with the problem in ``out``)."""
    path = directory / name
    try:
        if path.stat().st_size > MAX_DATOS:
            out.append(f"{name}: excede {MAX_DATOS // 2**20} MiB")
            return None
        ruta, data = parse_data_file(path.read_bytes())
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        out.append(f"{name}: no es un archivo de datos del sitio ({exc})")
        return None
    if ruta != name[len(DATOS):-len(".js")]:
        out.append(f"{name}: dice ser {ruta!r}; la página no lo aceptaría")
        return None
    if not isinstance(data, dict):
        out.append(f"{name}: no contiene un objeto")
        return None
    return data


def seccion_bloque(fila: Mapping[str, str], seccion: str) -> int:
    """The sección whose bloque of the site carries the row: its SECCION; a mesa's (voto
    anticipado, prisión preventiva, extranjero: SECCION ``N/A``, in no sección) is
    carried beside the sección its CLAVE_CASILLA names, where it is counted. -1 if
    neither is a number."""
    if seccion.isdigit():
        return int(seccion)
    clave = fila.get("CLAVE_CASILLA", "").strip("'")
    return int(clave[2:6]) if seccion == NO_APLICA and clave[2:6].isdigit() else -1


def _en_bloque(s: int, primera: int, siguiente: int | None) -> bool:
    return primera <= s and (siguiente is None or s < siguiente)


class _Actas:
    """The CSVs' actas per election, and which ones the site's bloques carried."""

    def __init__(self, tablas: Mapping[str, CsvEleccion], csv_de: Mapping[str, str]) -> None:
        self.tablas = tablas
        self.csv_de = csv_de
        self._por: dict[str, dict[str, dict[str, str]]] = {}
        self.vistas: dict[str, set[str]] = {}

    def _de(self, codigo: str) -> dict[str, dict[str, str]] | None:
        known = self._por.get(codigo)
        if known is None:
            parsed = self.tablas.get(self.csv_de.get(codigo, ""))
            if parsed is None:
                return None
            known = self._por[codigo] = {
                f["CLAVE_ACTA"].strip("'"): f for f in parsed.filas
                if not es_fuera(f) and f.get("ID_DISTRITO_LOCAL", "-") != "-"}
            self.vistas[codigo] = set()
        return known

    def filas(self, name: str, codigo: str, rango: tuple[int, int, int | None],
              data: dict[str, Any], out: list[str]) -> None:
        """A bloque's acta rows against the CSV's."""
        csv = self._de(codigo)
        if csv is None:
            out.append(f"{name}: la elección {codigo!r} no tiene su CSV en el corte")
            return
        columnas = data.get("columnas")
        filas = data.get("actas")
        if not isinstance(columnas, list) or not isinstance(filas, list) or \
                columnas[:2] != list(_CLAVES) or "SECCION" not in columnas:
            out.append(f"{name}: sin columnas o sin filas de actas")
            return
        parsed = self.tablas[self.csv_de[codigo]]
        comunes = [c for c in columnas[2:] if c in parsed.columnas]
        sitio = itemgetter(*(columnas.index(c) for c in comunes))
        del_csv = itemgetter(*comunes)
        seccion, imagen = columnas.index("SECCION"), columnas.index("IMAGEN") \
            if "IMAGEN" in columnas else None
        distrito, primera, siguiente = rango
        vistas = self.vistas[codigo]
        for row in filas:
            if not isinstance(row, list) or len(row) != len(columnas) or \
                    not all(isinstance(v, str) for v in row):
                out.append(f"{name}: una fila no tiene {len(columnas)} textos")
                return
            clave = row[1]
            fila = csv.get(clave)
            if fila is None:
                out.append(f"{name}: el acta {clave} no está en {self.csv_de[codigo]}")
                continue
            if clave in vistas:
                out.append(f"{name}: el acta {clave} aparece más de una vez en el sitio")
                continue
            vistas.add(clave)
            if row[0] != fila["CLAVE_CASILLA"].strip("'") or sitio(row) != del_csv(fila):
                out.append(f"{name}: la fila del acta {clave} no es la de "
                           f"{self.csv_de[codigo]}")
            elif fila["ID_DISTRITO_LOCAL"] != str(distrito) or \
                    not _en_bloque(seccion_bloque(fila, row[seccion]), primera, siguiente):
                out.append(f"{name}: el acta {clave} (distrito {fila['ID_DISTRITO_LOCAL']}, "
                           f"sección {row[seccion]}) no es de este bloque")
            elif imagen is not None and row[imagen]:
                found = _IMAGEN.fullmatch(row[imagen])
                if found is None or found.group(1) != fila.get("CODIGO_INTEGRIDAD"):
                    out.append(f"{name}: la imagen del acta {clave} ({row[imagen]}) no es la "
                               f"de su CODIGO_INTEGRIDAD")

    def historial(self, name: str, codigo: str, rango: tuple[int, int, int | None],
                  data: dict[str, Any], out: list[str]) -> None:
        """A history bloque lists only actas with data of its secciones."""
        csv = self._de(codigo)
        actas = data.get("actas")
        if csv is None or not isinstance(actas, dict):
            out.append(f"{name}: sin historial de actas o sin el CSV de su elección")
            return
        distrito, primera, siguiente = rango
        for clave in actas:
            fila = csv.get(clave)
            if fila is None or fila.get("CONTABILIZADA", "-") == "-":
                out.append(f"{name}: el acta {clave} no tiene datos en "
                           f"{self.csv_de.get(codigo)}")
                continue
            if fila["ID_DISTRITO_LOCAL"] != str(distrito) or \
                    not _en_bloque(seccion_bloque(fila, fila["SECCION"]), primera, siguiente):
                out.append(f"{name}: el historial del acta {clave} no es de este bloque")

    def faltan(self) -> list[str]:
        """Actas of a CSV that no bloque carried."""
        out = []
        for codigo, csv_name in sorted(self.csv_de.items()):
            csv = self._de(codigo)
            if csv is None:
                continue
            missing = len(csv) - len(self.vistas[codigo])
            if missing:
                ejemplo = next(c for c in csv if c not in self.vistas[codigo])
                out.append(f"{DATOS}: {missing} actas de {csv_name} no están en ningún "
                           f"bloque de secciones del sitio (por ejemplo {ejemplo})")
        return out

