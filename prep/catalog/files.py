"""Reading and writing the catalog directory (format documented in ``docs/catalogo.md``).

A catalog is a directory an institute can fill from its own spreadsheets:

- ``catalogo.toml``: entidad, fecha de la elección, demarcaciones and elecciones;
- ``distritos.csv``, ``casillas.csv``, ``asociaciones.csv``, ``candidaturas.csv``.

Loading validates everything and names the file and line of the first problem found, so
whoever prepared the data can fix it; nothing half-valid is ever returned. Names that
reach the published CSV files must not start like a spreadsheet formula
(:mod:`prep.catalog.cells`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import tempfile
import tomllib
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from typing import TypeVar

from prep.catalog.candidaturas import NombresContienda
from prep.catalog.candidaturas import problema_de_personas
from prep.catalog.cells import describe_start
from prep.catalog.cells import formula_start
from prep.catalog.model import MAX_LISTA_NOMINAL_CASILLA
from prep.catalog.model import MECANISMOS_TRASLADO
from prep.catalog.model import TIPO_CASILLA_ORDER
from prep.catalog.model import TIPOS_CASILLA
from prep.catalog.model import TIPOS_MESA
from prep.catalog.model import TIPOS_SIN_TRASLADO
from prep.catalog.model import TRASLADO_DIRECTO
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

FORMATO = 1
MAX_FILE_BYTES = 64 * 1024 * 1024
FILES = ("catalogo.toml", "distritos.csv", "casillas.csv", "asociaciones.csv",
         "candidaturas.csv")

DISTRITOS_COLS = ("ID_DISTRITO_LOCAL", "CABECERA", "ID_DEMARCACION")
CASILLAS_COLS = ("ID_DISTRITO_LOCAL", "ID_DEMARCACION", "SECCION", "TIPO_CASILLA",
                 "ID_CASILLA", "EXT_CONTIGUA", "LISTA_NOMINAL", "REPRESENTANTES_PP_CI",
                 "BOLETAS", "UBICACION_CASILLA")
#: Columns of casillas.csv a catalog may leave out (docs/catalogo.md).
CASILLAS_OPCIONALES = ("MECANISMOS_TRASLADO", "ELECCIONES")
ASOCIACIONES_COLS = ("ID_ELECCION", "CLAVE", "NOMBRE", "TIPO", "PARTIDOS", "AMBITOS")
CANDIDATURAS_COLS = ("ID_ELECCION", "ID_AMBITO", "ASOCIACION", "PROPIETARIA", "SUPLENTE")

_CLAVE_RE = re.compile(r"[A-Z][A-Z0-9_]{0,39}")
#: A TIPO_ACTA as the acta's QR carries it (prep.qr): one or two characters, no leading 0.
_TIPO_ACTA_RE = re.compile(r"[1-9A-Z][0-9A-Z]?")
#: Free-text columns, each checked for a formula start (the rest are numbers or claves).
_TEXT_COLUMNS = {"distritos.csv": ("CABECERA",), "asociaciones.csv": ("NOMBRE", "PARTIDOS"),
                 "candidaturas.csv": ("PROPIETARIA", "SUPLENTE")}

T = TypeVar("T")


class CatalogError(ValueError):
    """The catalog files are not valid; the message says where and why (Spanish)."""


def load_catalog(directory: Path) -> Catalog:
    """Load and validate a catalog directory."""
    meta = _load_toml(directory / "catalogo.toml")
    formato = meta.get("formato")
    if type(formato) is not int or formato != FORMATO:
        raise CatalogError(f"catalogo.toml: formato {formato!r} no soportado "
                           f"(se espera {FORMATO})")
    try:
        entidad = _table(meta, "entidad")
        entidad_id = _int_in(_key(entidad, "id", "entidad"), 1, 99, "entidad.id")
        entidad_nombre = str(_key(entidad, "nombre", "entidad"))
        fecha = str(entidad.get("fecha_eleccion", ""))
        demarcaciones = tuple(
            Demarcacion(_int_in(_key(d, "id", "demarcaciones"), 1, 999, "demarcaciones.id"),
                        str(_key(d, "nombre", "demarcaciones")))
            for d in _tables(meta, "demarcaciones"))
        elecciones_meta = _tables(meta, "elecciones")
    except CatalogError as exc:
        raise CatalogError(f"catalogo.toml: {exc}") from None
    if not elecciones_meta:
        raise CatalogError("catalogo.toml: no declara ninguna [[elecciones]]")
    _check_toml_texts(directory / "catalogo.toml", [
        ("[entidad] nombre", entidad_nombre), ("[entidad] fecha_eleccion", fecha),
        *((f"[[demarcaciones]] {d.id} nombre", d.nombre) for d in demarcaciones),
        *((f"[[elecciones]] {e.get('codigo')} {key}", e.get(key))
          for e in elecciones_meta for key in ("nombre", "tipo_acta"))])
    _unique((d.id for d in demarcaciones), "catalogo.toml: demarcación repetida")
    dem_ids = {d.id for d in demarcaciones}

    distritos = tuple(_rows(directory / "distritos.csv", DISTRITOS_COLS,
                            lambda r: _distrito(r, dem_ids)))
    _unique((d.id for d in distritos), "distritos.csv: distrito repetido")
    dist_ids = {d.id for d in distritos}
    codigos = {str(e.get("codigo")) for e in elecciones_meta}

    casillas = tuple(_rows(directory / "casillas.csv", CASILLAS_COLS,
                           lambda r: _casilla(r, entidad_id, dist_ids, dem_ids, codigos)))
    _unique((c.clave for c in casillas), "casillas.csv: casilla repetida")
    if not casillas:
        raise CatalogError("casillas.csv: no tiene ninguna casilla")

    asociaciones: dict[str, list[Asociacion]] = {}
    for codigo, asociacion in _rows(directory / "asociaciones.csv", ASOCIACIONES_COLS,
                                    _asociacion):
        asociaciones.setdefault(codigo, []).append(asociacion)
    ambitos = {Ambito.ENTIDAD: {0}, Ambito.DISTRITO: dist_ids, Ambito.DEMARCACION: dem_ids}
    elecciones = tuple(_eleccion(e, asociaciones, ambitos) for e in elecciones_meta)
    _unique((e.codigo for e in elecciones), "catalogo.toml: elección repetida")
    unknown = set(asociaciones) - {e.codigo for e in elecciones}
    if unknown:
        raise CatalogError(f"asociaciones.csv: elección desconocida {sorted(unknown)[0]!r}")

    by_code = {e.codigo: e for e in elecciones}
    nombres = NombresContienda(distritos, demarcaciones)
    filas = list(_numbered_rows(directory / "candidaturas.csv", CANDIDATURAS_COLS,
                                lambda r: _candidatura(r, by_code, ambitos, nombres)))
    problema = problema_de_personas(filas, by_code, nombres)
    if problema is not None:
        raise CatalogError(f"candidaturas.csv: {problema}")
    candidaturas = tuple(c for _, c in filas)
    return Catalog(
        entidad_id=entidad_id,
        entidad=entidad_nombre,
        fecha_eleccion=fecha,
        demarcaciones=demarcaciones,
        distritos=distritos,
        casillas=casillas,
        elecciones=elecciones,
        candidaturas=candidaturas,
    )


def write_catalog(catalog: Catalog, directory: Path) -> None:
    """Write ``catalog`` in the documented format (the inverse of :func:`load_catalog`)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "catalogo.toml").write_text(_toml(catalog), encoding="utf-8")
    _write_csv(directory / "distritos.csv", DISTRITOS_COLS,
               ((d.id, d.cabecera, d.demarcacion_id) for d in catalog.distritos))
    con_traslado = any(c.traslado not in (None, TRASLADO_DIRECTO) for c in catalog.casillas)
    con_elecciones = any(c.elecciones is not None for c in catalog.casillas)
    opcionales = ((("MECANISMOS_TRASLADO",) if con_traslado else ())
                  + (("ELECCIONES",) if con_elecciones else ()))
    _write_csv(directory / "casillas.csv", CASILLAS_COLS + opcionales, (
        (c.distrito_id, c.demarcacion_id, c.seccion, c.tipo, c.id_casilla, c.ext_contigua,
         c.lista_nominal, c.representantes, c.boletas,
         "" if c.ubicacion == UBICACION_NO_APLICA else c.ubicacion,
         *((c.traslado or "",) if con_traslado else ()),
         *((";".join(sorted(c.elecciones or ())),) if con_elecciones else ()))
        for c in catalog.casillas_ordenadas))
    _write_csv(directory / "asociaciones.csv", ASOCIACIONES_COLS, (
        (e.codigo, a.clave, a.nombre, a.tipo.value, "-".join(a.partidos),
         "" if a.ambitos is None else ";".join(str(i) for i in sorted(a.ambitos)))
        for e in catalog.elecciones for a in e.asociaciones))
    _write_csv(directory / "candidaturas.csv", CANDIDATURAS_COLS, (
        (c.eleccion, c.ambito_id, c.asociacion, c.propietaria, c.suplente)
        for c in catalog.candidaturas))


def catalog_digest(directory: Path) -> str:
    """SHA-256 over the catalog files, the version stations and cortes refer to."""
    return files_digest({name: (directory / name).read_bytes() for name in FILES})


def files_digest(files: Mapping[str, bytes]) -> str:
    """:func:`catalog_digest` of the catalog files given by name (all of :data:`FILES`)."""
    h = hashlib.sha256()
    for name in FILES:
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()


def catalog_files(directory: Path) -> dict[str, bytes]:
    """The bytes of each catalog file of ``directory`` (what the central stores and
    hands to stations); a missing or oversized file is a :class:`CatalogError`."""
    out: dict[str, bytes] = {}
    for name in FILES:
        path = directory / name
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise CatalogError(f"{name}: excede el límite de {MAX_FILE_BYTES} bytes")
            out[name] = path.read_bytes()
        except FileNotFoundError:
            raise CatalogError(f"falta el archivo {name}") from None
    return out


def load_catalog_files(files: Mapping[str, bytes]) -> Catalog:
    """Validate and load a catalog given as its files' bytes (from a database or a
    station bundle), through the same checks as :func:`load_catalog`."""
    unknown = set(files) - set(FILES)
    if unknown:
        raise CatalogError(f"archivo de catálogo desconocido: {sorted(unknown)[0]}")
    with tempfile.TemporaryDirectory(prefix="prep-catalogo-") as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
        return load_catalog(Path(tmp))


def _toml(catalog: Catalog) -> str:
    q = json.dumps  # a JSON string with ensure_ascii=False is a valid TOML basic string
    out = [f"formato = {FORMATO}", "", "[entidad]", f"id = {catalog.entidad_id}",
           f"nombre = {q(catalog.entidad, ensure_ascii=False)}",
           f"fecha_eleccion = {q(catalog.fecha_eleccion)}"]
    for d in catalog.demarcaciones:
        out += ["", "[[demarcaciones]]", f"id = {d.id}",
                f"nombre = {q(d.nombre, ensure_ascii=False)}"]
    for e in catalog.elecciones:
        out += ["", "[[elecciones]]", f"codigo = {q(e.codigo)}",
                f"nombre = {q(e.nombre, ensure_ascii=False)}",
                f"tipo_acta = {q(e.tipo_acta)}", f"ambito = {q(e.ambito.value)}"]
        out.append(f"suplente = {'true' if e.suplente else 'false'}")
        if e.tipos_acta:
            pares = ", ".join(f"{tipo} = {q(valor)}" for tipo, valor in e.tipos_acta)
            out.append(f"tipo_acta_casilla = {{ {pares} }}")
    return "\n".join(out) + "\n"


def _write_csv(path: Path, header: tuple[str, ...], rows: Iterable[Iterable[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _read_limited(path: Path) -> str:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise CatalogError(f"falta el archivo {path.name}") from None
    if size > MAX_FILE_BYTES:
        raise CatalogError(f"{path.name}: {size} bytes excede el límite de {MAX_FILE_BYTES}")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path.name}: no es UTF-8 ({exc.reason} en el byte {exc.start})"
                           ) from None


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(_read_limited(path))
    except tomllib.TOMLDecodeError as exc:  # its text is English: say what it is
        raise CatalogError(f"{path.name}: no es TOML válido ({exc})") from None


def _rows(path: Path, columns: tuple[str, ...],
          build: Callable[[dict[str, str]], T]) -> Iterator[T]:
    for _, item in _numbered_rows(path, columns, build):
        yield item


def _numbered_rows(path: Path, columns: tuple[str, ...],
                   build: Callable[[dict[str, str]], T]) -> Iterator[tuple[int, T]]:
    """Each data row of a CSV built by ``build``, with its line number in the file."""
    reader = csv.reader(io.StringIO(_read_limited(path), newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise CatalogError(f"{path.name}: archivo vacío") from None
    except csv.Error as exc:
        raise CatalogError(f"{path.name}: línea 1: {exc}") from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise CatalogError(f"{path.name}: faltan las columnas {', '.join(missing)}")
    texts = _TEXT_COLUMNS.get(path.name, ())
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CatalogError(f"{path.name}: línea {reader.line_num}: {exc}") from None
        if not values:
            continue
        if len(values) != len(header):
            raise CatalogError(f"{path.name}: línea {reader.line_num}: {len(values)} campos, "
                               f"se esperan {len(header)}")
        try:
            row = dict(zip(header, values, strict=True))
            for column in texts:
                _check_text(column, row[column].strip())
            yield reader.line_num, build(row)
        except CatalogError as exc:
            raise CatalogError(f"{path.name}: línea {reader.line_num}: {exc}") from None


def _check_text(field: str, value: str) -> None:
    char = formula_start(value)
    if char is not None:
        shown = value if len(value) <= 60 else value[:57] + "…"
        raise CatalogError(f"el campo {field} ({shown!r}) empieza con {describe_start(char)}: "
                           "una hoja de cálculo lo tomaría como fórmula al abrir los CSV "
                           "publicados. Quite ese carácter del inicio y vuelva a cargar el "
                           "catálogo.")


def _check_toml_texts(path: Path, fields: list[tuple[str, object]]) -> None:
    """The names in catalogo.toml, each named by its table and key and, where found,
    its line (tomllib gives no positions)."""
    for field, value in fields:
        if not isinstance(value, str):
            continue
        try:
            _check_text(field, value)
        except CatalogError as exc:
            lines = _read_limited(path).splitlines()
            escaped = json.dumps(value, ensure_ascii=False)[1:-1]
            line = next((n for n, text in enumerate(lines, 1)
                         if value in text or escaped in text), None)
            where = f"línea {line}: " if line is not None else ""
            raise CatalogError(f"{path.name}: {where}{exc}") from None


def _table(meta: dict[str, Any], key: str) -> dict[str, Any]:
    value = _key(meta, key, "")
    if not isinstance(value, dict):
        raise CatalogError(f"[{key}] debe ser una tabla")
    return value


def _tables(meta: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = meta.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise CatalogError(f"{key} debe escribirse como [[{key}]], una tabla por elemento")
    return value


def _key(table: dict[str, Any], key: str, where: str) -> Any:
    try:
        return table[key]
    except KeyError:
        raise CatalogError(f"falta la clave {key!r}" + (f" en [{where}]" if where else "")
                           ) from None


_INT_RE = re.compile(r"[0-9]{1,6}")


def _int_in(value: object, low: int, high: int, name: str) -> int:
    text = str(value).strip() if type(value) in (int, str) else ""
    if not _INT_RE.fullmatch(text):
        raise CatalogError(f"{name} debe ser un número entero, no {value!r}")
    number = int(text)
    if not low <= number <= high:
        raise CatalogError(f"{name} = {number} fuera del rango {low}–{high}")
    return number


def _distrito(r: dict[str, str], dem_ids: set[int]) -> Distrito:
    dem = _int_in(r["ID_DEMARCACION"], 1, 999, "ID_DEMARCACION")
    if dem not in dem_ids:
        raise CatalogError(f"demarcación {dem} no declarada en catalogo.toml")
    return Distrito(_int_in(r["ID_DISTRITO_LOCAL"], 1, 999, "ID_DISTRITO_LOCAL"),
                    r["CABECERA"].strip(), dem)


def _casilla(r: dict[str, str], entidad: int, dist_ids: set[int],
             dem_ids: set[int], codigos: set[str]) -> Casilla:
    tipo = r["TIPO_CASILLA"].strip().upper()
    if tipo not in TIPOS_CASILLA:
        raise CatalogError(f"TIPO_CASILLA {tipo!r} no es uno de {', '.join(TIPOS_CASILLA)}")
    distrito = _int_in(r["ID_DISTRITO_LOCAL"], 1, 999, "ID_DISTRITO_LOCAL")
    if distrito not in dist_ids:
        raise CatalogError(f"distrito {distrito} no está en distritos.csv")
    dem = _int_in(r["ID_DEMARCACION"], 1, 999, "ID_DEMARCACION")
    if dem not in dem_ids:
        raise CatalogError(f"demarcación {dem} no declarada en catalogo.toml")
    lista = _int_in(r["LISTA_NOMINAL"], 0, MAX_LISTA_NOMINAL_CASILLA, "LISTA_NOMINAL")
    boletas = _int_in(r["BOLETAS"] or "0", 0, 9999, "BOLETAS")
    if tipo == "S" and (lista != 0 or boletas == 0):
        raise CatalogError("una casilla especial lleva LISTA_NOMINAL 0 y sus BOLETAS")
    representantes = _int_in(r["REPRESENTANTES_PP_CI"], 0, 99, "REPRESENTANTES_PP_CI")
    if tipo in TIPOS_MESA and representantes:
        raise CatalogError(f"una mesa de tipo {tipo} no tiene representantes que voten en "
                           "ella: REPRESENTANTES_PP_CI debe ser 0")
    ubicacion = r["UBICACION_CASILLA"].strip()
    if not ubicacion and tipo not in TIPOS_SIN_TRASLADO:
        raise CatalogError(f"UBICACION_CASILLA vacía: solo puede quedar vacía en las mesas "
                           f"de tipo {', '.join(sorted(TIPOS_SIN_TRASLADO))}")
    return Casilla(
        entidad_id=entidad, distrito_id=distrito, demarcacion_id=dem,
        seccion=_int_in(r["SECCION"], 1, 9999, "SECCION"), tipo=tipo,
        id_casilla=_int_in(r["ID_CASILLA"], 1, 99, "ID_CASILLA"),
        ext_contigua=_int_in(r["EXT_CONTIGUA"], 0, 99, "EXT_CONTIGUA"),
        lista_nominal=lista,
        representantes=representantes, boletas=boletas,
        ubicacion=(_int_in(ubicacion, 1, 2, "UBICACION_CASILLA") if ubicacion
                   else UBICACION_NO_APLICA),
        traslado=_traslado(r.get("MECANISMOS_TRASLADO", ""), tipo),
        elecciones=_elecciones_de_casilla(r.get("ELECCIONES", ""), codigos),
    )


def _traslado(value: str, tipo: str) -> str | None:
    """The casilla's default MECANISMOS_TRASLADO: empty is TRASLADO_DIRECTO (the Consejo
    approved no mechanism), and nothing at all for the mesas it does not apply to."""
    code = value.strip().upper()
    if tipo in TIPOS_SIN_TRASLADO:
        if code:
            raise CatalogError(f"MECANISMOS_TRASLADO no aplica a una casilla de tipo {tipo} "
                               "(sus votos se cuentan en la sede): deje la celda vacía")
        return None
    if not code:
        return TRASLADO_DIRECTO
    if code not in MECANISMOS_TRASLADO:
        raise CatalogError(f"MECANISMOS_TRASLADO {value.strip()!r} no es uno de "
                           f"{', '.join(MECANISMOS_TRASLADO)}")
    return code


def _elecciones_de_casilla(value: str, codigos: set[str]) -> frozenset[str] | None:
    text = value.strip()
    if not text:
        return None
    out = frozenset(c.strip() for c in text.split(";"))
    for codigo in sorted(out):
        if codigo not in codigos:
            raise CatalogError(f"ELECCIONES: {codigo!r} no es el código (dos dígitos) de una "
                               "elección de catalogo.toml")
    return out


def _asociacion(r: dict[str, str]) -> tuple[str, Asociacion]:
    clave = r["CLAVE"].strip()
    if not _CLAVE_RE.fullmatch(clave) or clave in ("NO_REGISTRADAS", "NULOS"):
        raise CatalogError(f"CLAVE {clave!r} inválida (mayúsculas, dígitos y _)")
    try:
        tipo = TipoAsociacion(r["TIPO"].strip())
    except ValueError:
        raise CatalogError(f"TIPO {r['TIPO']!r} no es partido, coalicion ni "
                           "independiente") from None
    ambitos_txt = r["AMBITOS"].strip()
    ambitos = (None if not ambitos_txt else
               frozenset(_int_in(a, 0, 999, "AMBITOS") for a in ambitos_txt.split(";")))
    partidos = tuple(p for p in r["PARTIDOS"].strip().split("-") if p)
    return r["ID_ELECCION"].strip(), Asociacion(clave, r["NOMBRE"].strip(), tipo, partidos,
                                                ambitos)


def _eleccion(meta: dict[str, Any], asociaciones: dict[str, list[Asociacion]],
              ambitos: dict[Ambito, set[int]]) -> Eleccion:
    try:
        codigo = str(meta["codigo"])
        if not re.fullmatch(r"\d\d", codigo):
            raise CatalogError(f"catalogo.toml: código de elección {codigo!r} debe ser de "
                               "dos dígitos")
        ambito = Ambito(meta["ambito"])
        eleccion = Eleccion(codigo, str(meta["nombre"]), str(meta["tipo_acta"]), ambito,
                            tuple(asociaciones.get(codigo, ())),
                            _tipos_acta(codigo, meta.get("tipo_acta_casilla", {})),
                            _suplente(codigo, meta.get("suplente")))
    except KeyError as exc:
        raise CatalogError(f"catalogo.toml: a una elección le falta {exc}") from None
    except ValueError as exc:
        if isinstance(exc, CatalogError):
            raise
        raise CatalogError(f"catalogo.toml: ámbito {meta.get('ambito')!r} inválido") from None
    if not eleccion.asociaciones:
        raise CatalogError(f"asociaciones.csv: la elección {codigo} no tiene asociaciones")
    _unique((a.clave for a in eleccion.asociaciones),
            f"asociaciones.csv: clave repetida en la elección {codigo}")
    valid = ambitos[ambito]
    for a in eleccion.asociaciones:
        if a.ambitos is not None and not a.ambitos <= valid:
            raise CatalogError(f"asociaciones.csv: {a.clave} de la elección {codigo} "
                               f"compite en un ámbito inexistente "
                               f"{sorted(a.ambitos - valid)[0]}")
    return eleccion


def _suplente(codigo: str, value: object) -> bool | None:
    """``suplente``: whether the office has one; absent, the default of its ámbito."""
    if value is None or isinstance(value, bool):
        return value
    raise CatalogError(f"catalogo.toml: elección {codigo}: suplente = {value!r} debe ser "
                       "true o false (sin comillas)")


def _tipos_acta(codigo: str, value: object) -> tuple[tuple[str, str], ...]:
    """``tipo_acta_casilla``: TIPO_ACTA per TIPO_CASILLA where it differs (especiales…)."""
    where = f"catalogo.toml: elección {codigo}: tipo_acta_casilla"
    if not isinstance(value, dict):
        raise CatalogError(f"{where} debe ser una tabla, por ejemplo {{ S = \"4\" }}")
    out: list[tuple[str, str]] = []
    for tipo, tipo_acta in value.items():
        if tipo not in TIPOS_CASILLA:
            raise CatalogError(f"{where}: {tipo!r} no es un TIPO_CASILLA "
                               f"({', '.join(TIPOS_CASILLA)})")
        if not isinstance(tipo_acta, str) or not _TIPO_ACTA_RE.fullmatch(tipo_acta):
            raise CatalogError(f"{where}: {tipo} = {tipo_acta!r} debe ser un texto de uno o "
                               "dos caracteres (dígitos o mayúsculas) sin cero inicial, como "
                               "lo lleva el QR del acta")
        out.append((tipo, tipo_acta))
    return tuple(sorted(out, key=lambda p: TIPO_CASILLA_ORDER.index(p[0])))


def _candidatura(r: dict[str, str], elecciones: dict[str, Eleccion],
                 valid_ambitos: dict[Ambito, set[int]],
                 contienda: NombresContienda) -> Candidatura:
    codigo = r["ID_ELECCION"].strip()
    if codigo not in elecciones:
        raise CatalogError(f"elección desconocida {codigo!r}")
    eleccion = elecciones[codigo]
    clave = r["ASOCIACION"].strip()
    asociacion = next((a for a in eleccion.asociaciones if a.clave == clave), None)
    if asociacion is None:
        raise CatalogError(f"asociación {clave!r} no existe en la elección {codigo}")
    ambito = _int_in(r["ID_AMBITO"], 0, 999, "ID_AMBITO")
    if ambito not in valid_ambitos[eleccion.ambito]:
        raise CatalogError(f"ID_AMBITO {ambito} no es un {eleccion.ambito.value} del catálogo")
    if not asociacion.compite_en(ambito):
        raise CatalogError(f"{clave} no compite en el ámbito {ambito} de la elección {codigo}")
    suplente = r["SUPLENTE"].strip()
    if suplente and not eleccion.suplente:
        raise CatalogError(f"SUPLENTE {suplente!r} en la candidatura de {clave} a "
                           f"{contienda(eleccion, ambito)}: ese cargo no tiene suplente "
                           f"(catalogo.toml: suplente = false en la elección {codigo}). "
                           "Deje la celda vacía.")
    return Candidatura(codigo, ambito, clave, r["PROPIETARIA"].strip(), suplente)


def _unique(values: Iterable[object], message: str) -> None:
    seen: set[object] = set()
    for v in values:
        if v in seen:
            raise CatalogError(f"{message}: {v}")
        seen.add(v)
