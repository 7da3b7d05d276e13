"""The review an institute's PREP committee makes of a drill's published files (issue 28).

Each check reads only the files of one published corte (the CSVs, the candidaturas, the
LEEME, the manifest, the site), as a reviewer with the download would, and says in
Spanish what it found wrong: one line per problem, a few examples and a count, never
thousands of lines. An empty list is a pass. :func:`revisar` runs them all over the
*último corte* and names each one, so a failed verdict says which point of the review
failed and why:

- ``sin acta por casilla``: *casilla no instalada* and *paquete no entregado* hold for
  every acta of the casilla, so no other acta of it shows votes, an image or another cause;
- ``fuera de catálogo``: every registration is published and counted in
  ACTAS_FUERA_CATALOGO (one of election «No se sabe» in every election's file);
- ``columnas de demarcación``: an election decided per demarcación carries
  ``ID_DEMARCACION,DEMARCACION`` right after the distrito's columns, right for each row,
  and so does every row of its candidaturas file;
- ``nivel de demarcación del sitio``: the site has each demarcación's page data for
  every election;
- ``MECANISMOS_TRASLADO``, ``TIPO_DOCUMENTO``, ``FECHA_HORA_VERIFICACION``: filled with a
  value of their domain wherever they apply, never a placeholder;
- ``marca SIMULACRO``: line 1 of every CSV and of the LEEME, the manifest and every page
  of the site say SIMULACRO;
- ``forma de la noche real``: the drill's files have the real night's shape: the zip is
  ``PREP_<corte>.zip``, each election CSV's line 7 and each other CSV's line 2 is its
  header (the mark only in line 1's title), so that a parser tuned in the simulacros
  reads the real night's files.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from prep.catalog import Catalog
from prep.catalog.model import Ambito
from prep.catalog.model import Eleccion
from prep.corte.anexo import es_fuera
from prep.corte.model import FueraDeCatalogo
from prep.corte.package import LEEME
from prep.corte.package import MANIFEST
from prep.corte.package import candidaturas_csv_name
from prep.corte.package import csv_name
from prep.corte.reader import CsvEleccion
from prep.corte.reader import CsvFormatError
from prep.corte.reader import read_eleccion_csv
from prep.rules import CausaSinActa
from prep.rules import RuleSet

MARCA = "SIMULACRO"
#: Examples a check names before it just counts the rest.
MUESTRA = 3
SIN_DATO, NO_APLICA = "-", "N/A"
#: MECANISMOS_TRASLADO codes (docs/publicacion.md): CRyT fijo, itinerante, DAT, directo.
#: MECANISMOS_TRASLADO in Anexo 18.5's domain; N/A for a paquete delivered directly
#: (the institute's own code E: prep.corte.anexo.traslado_publicado).
CODIGOS_TRASLADO = frozenset({"F", "I", "D", "N/A"})
#: Casillas whose paquete always travels to the CATD: their MECANISMOS_TRASLADO applies.
TIPOS_CON_PAQUETE = frozenset({"B", "C", "E", "S"})
DOCUMENTOS = frozenset({"Acta PREP", "Acta de Escrutinio y Cómputo"})
_FECHA = re.compile(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}")
_CAUSAS_DE_CASILLA = (CausaSinActa.CASILLA_NO_INSTALADA, CausaSinActa.PAQUETE_NO_ENTREGADO)


@dataclass
class Publicado:
    """One published corte directory and its election CSVs, each parsed once."""

    directory: Path
    catalog: Catalog
    _tablas: dict[str, CsvEleccion | str] = field(default_factory=dict)

    def tabla(self, eleccion: Eleccion) -> CsvEleccion | str:
        """The election's CSV parsed, or why it could not be read."""
        if eleccion.codigo not in self._tablas:
            name = csv_name(eleccion)
            try:
                self._tablas[eleccion.codigo] = read_eleccion_csv(
                    (self.directory / name).read_bytes())
            except (OSError, CsvFormatError) as exc:
                self._tablas[eleccion.codigo] = f"{name}: no se pudo leer ({exc})"
        return self._tablas[eleccion.codigo]

    def tablas(self) -> tuple[list[tuple[Eleccion, CsvEleccion]], list[str]]:
        """The readable CSVs, and a problem for each unreadable one."""
        ok: list[tuple[Eleccion, CsvEleccion]] = []
        errores: list[str] = []
        for eleccion in self.catalog.elecciones:
            tabla = self.tabla(eleccion)
            if isinstance(tabla, str):
                errores.append(tabla)
            else:
                ok.append((eleccion, tabla))
        return ok, errores


@dataclass(frozen=True)
class Revision:
    """One named check and what it found (nothing: it passed)."""

    nombre: str
    problemas: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problemas

    def linea(self) -> str:
        """One line for the drill's summary."""
        if self.ok:
            return f"  ✓ {self.nombre}"
        return f"  ✗ {self.nombre}: {self.problemas[0]}" + (
            f" (y {len(self.problemas) - 1} problema(s) más)" if len(self.problemas) > 1
            else "")


def revisar(directory: Path, catalog: Catalog, rules: RuleSet,
            registrados: Sequence[FueraDeCatalogo], simulacro: bool = True) -> list[Revision]:
    """Every check over the corte in ``directory`` (the drill's último corte).
    ``registrados``: the fuera-de-catálogo actas the drill registered."""
    pub = Publicado(directory, catalog)
    checks: list[tuple[str, Callable[[], list[str]]]] = [
        ("sin acta por casilla", lambda: sin_acta_por_casilla(pub, rules)),
        ("fuera de catálogo", lambda: fuera_de_catalogo(pub, registrados)),
        ("columnas de demarcación", lambda: columnas_demarcacion(pub)),
        ("nivel de demarcación del sitio", lambda: sitio_demarcacion(pub)),
        ("MECANISMOS_TRASLADO", lambda: traslado_lleno(pub, rules)),
        ("TIPO_DOCUMENTO", lambda: documento_lleno(pub)),
        ("FECHA_HORA_VERIFICACION", lambda: verificacion_llena(pub)),
    ]
    if simulacro:
        checks.append(("marca SIMULACRO", lambda: marca_simulacro(directory)))
    checks.append(("forma de la noche real", lambda: forma_real(directory)))
    out = []
    for nombre, check in checks:
        try:
            problemas = check()
        except Exception as exc:  # a file shaped unlike any check expects: say so
            problemas = [f"la revisión no pudo leer el corte ({type(exc).__name__}: {exc})"]
        out.append(Revision(nombre, tuple(problemas)))
    return out


def _muestra(problemas: list[str], que: str) -> list[str]:
    """At most :data:`MUESTRA` problems, then how many more there are."""
    if len(problemas) <= MUESTRA:
        return problemas
    return [*problemas[:MUESTRA], f"… y {len(problemas) - MUESTRA} {que} más"]


def _actas(tabla: CsvEleccion) -> list[dict[str, str]]:
    """The catalog rows (the fuera-de-catálogo ones have ``-`` keys)."""
    return [f for f in tabla.filas if not es_fuera(f)]


def _clave(fila: dict[str, str]) -> str:
    return fila["CLAVE_ACTA"].strip("'")


def _con_datos(fila: dict[str, str]) -> bool:
    """Whether the row shows votes or an image."""
    return fila.get("TOTAL_VOTOS_CALCULADO", SIN_DATO) not in (SIN_DATO, NO_APLICA, "") \
        or fila.get("CODIGO_INTEGRIDAD", SIN_DATO) not in (SIN_DATO, NO_APLICA, "")


# --- sin acta ---------------------------------------------------------------------------

def sin_acta_por_casilla(pub: Publicado, rules: RuleSet) -> list[str]:
    """No casilla shows one acta *no instalada* / *paquete no entregado* and another
    with votes, an image or another cause."""
    causas = {rules.sin_acta[c] for c in _CAUSAS_DE_CASILLA}
    tablas, problemas = pub.tablas()
    por_casilla: dict[str, list[dict[str, str]]] = {}
    for _, tabla in tablas:
        for fila in _actas(tabla):
            por_casilla.setdefault(fila["CLAVE_CASILLA"].strip("'"), []).append(fila)
    malas: list[str] = []
    for casilla, filas in sorted(por_casilla.items()):
        sin = [f for f in filas if f["OBSERVACIONES"] in causas]
        if not sin:
            continue
        causa = sin[0]["OBSERVACIONES"]
        otras = [f for f in filas if f["OBSERVACIONES"] != causa
                 and (_con_datos(f) or f["CONTABILIZADA"] != SIN_DATO)]
        if otras:
            o = otras[0]
            dice = "votos o imagen" if _con_datos(o) else f"«{o['OBSERVACIONES']}»"
            malas.append(f"casilla {casilla}: el acta {_clave(sin[0])} dice «{causa}» pero "
                         f"el acta {_clave(o)} tiene {dice}; esa causa vale para todas las "
                         "actas de la casilla")
    return problemas + _muestra(malas, "casillas")


# --- fuera de catálogo ------------------------------------------------------------------

def fuera_de_catalogo(pub: Publicado, registrados: Sequence[FueraDeCatalogo]) -> list[str]:
    """Each election's file lists and counts its fuera-de-catálogo registrations and
    those of an election nobody could tell («No se sabe»)."""
    codigos = pub.catalog.eleccion_por_codigo
    sin_eleccion = sum(1 for f in registrados if f.eleccion not in codigos)
    tablas, problemas = pub.tablas()
    for eleccion, tabla in tablas:
        want = sum(1 for f in registrados if f.eleccion == eleccion.codigo) + sin_eleccion
        filas = sum(1 for f in tabla.filas if es_fuera(f))
        contadas = tabla.resumen.get("ACTAS_FUERA_CATALOGO", "")
        if filas != want or contadas != str(want):
            problemas.append(
                f"{csv_name(eleccion)}: {filas} filas fuera de catálogo y "
                f"ACTAS_FUERA_CATALOGO {contadas}, se registraron {want} "
                f"({sin_eleccion} de elección «No se sabe», que van en cada elección)")
    return problemas


# --- demarcación ------------------------------------------------------------------------

def columnas_demarcacion(pub: Publicado) -> list[str]:
    """ID_DEMARCACION,DEMARCACION after the distrito's columns of every election of
    ámbito demarcación, right for every row, and in every row of its candidaturas."""
    catalog = pub.catalog
    nombres = {d.id: d.nombre for d in catalog.demarcaciones}
    problemas: list[str] = []
    for eleccion in catalog.elecciones:
        if eleccion.ambito is not Ambito.DEMARCACION:
            continue
        name = csv_name(eleccion)
        tabla = pub.tabla(eleccion)
        if isinstance(tabla, str):
            problemas.append(tabla)
            continue
        cols = list(tabla.columnas)
        if "ID_DEMARCACION" not in cols or "DEMARCACION" not in cols:
            problemas.append(f"{name}: la línea 7 no tiene ID_DEMARCACION,DEMARCACION: no "
                             "se puede leer el resultado de cada demarcación")
        elif cols.index("ID_DEMARCACION") != _despues_del_distrito(cols) \
                or cols.index("DEMARCACION") != cols.index("ID_DEMARCACION") + 1:
            problemas.append(f"{name}: ID_DEMARCACION,DEMARCACION no van justo después de "
                             "las columnas del distrito")
        else:
            malas = []
            for fila in _actas(tabla):
                acta = catalog.acta(_clave(fila))
                if acta is None:
                    continue
                dem = acta.casilla.demarcacion_id
                if (fila["ID_DEMARCACION"], fila["DEMARCACION"]) != (str(dem), nombres[dem]):
                    malas.append(f"{name}: el acta {acta.clave} dice demarcación "
                                 f"{fila['ID_DEMARCACION']} «{fila['DEMARCACION']}», su "
                                 f"casilla es de la {dem} «{nombres[dem]}»")
            problemas += _muestra(malas, "actas")
        problemas += _candidaturas_demarcacion(pub.directory, eleccion, nombres)
    return problemas


def _despues_del_distrito(cols: list[str]) -> int:
    """Where the columns after the distrito's (``ID_DISTRITO_LOCAL,DISTRITO_LOCAL``) go."""
    return cols.index("DISTRITO_LOCAL") + 1 if "DISTRITO_LOCAL" in cols else -1


def _candidaturas_demarcacion(directory: Path, eleccion: Eleccion,
                              nombres: dict[int, str]) -> list[str]:
    name = candidaturas_csv_name(eleccion)
    try:
        text = (directory / name).read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{name}: no se pudo leer ({exc})"]
    lines = list(csv.reader(io.StringIO(text, newline="")))
    header = next((i for i, line in enumerate(lines[:3]) if line[:1] == ["ID_ENTIDAD"]),
                  None)
    if header is None:
        return [f"{name}: no tiene el encabezado (ID_ENTIDAD,…) en sus primeras líneas"]
    cols = lines[header]
    if "ID_DEMARCACION" not in cols or "DEMARCACION" not in cols:
        return [f"{name}: sin ID_DEMARCACION,DEMARCACION: las candidaturas no se pueden "
                "unir al resultado de cada demarcación"]
    i, j = cols.index("ID_DEMARCACION"), cols.index("DEMARCACION")
    malas = [f"{name}, línea {n}: demarcación {row[i]!r} «{row[j]}» no es del catálogo"
             for n, row in enumerate(lines[header + 1:], start=header + 2)
             if row and (len(row) <= max(i, j) or not row[i].isdigit()
                         or nombres.get(int(row[i])) != row[j])]
    return _muestra(malas, "filas")


def sitio_demarcacion(pub: Publicado) -> list[str]:
    """The site's data of every demarcación (alcaldía) for every election: the level
    entidad → demarcación → sección → casilla → acta."""
    from prep.corte.site import demarcacion_file  # the site's own naming

    catalog = pub.catalog
    usadas = sorted({c.demarcacion_id for c in catalog.casillas})
    faltan = [f"{demarcacion_file(e.codigo, d)} ({e.nombre}, "
              f"{catalog.demarcacion_por_id[d].nombre})"
              for e in catalog.elecciones for d in usadas
              if not (pub.directory / demarcacion_file(e.codigo, d)).is_file()]
    if not faltan:
        return []
    return [f"el sitio no tiene el nivel de demarcación: falta {f}"
            for f in _muestra(faltan, "archivos")]


# --- columns that were placeholders ----------------------------------------------------

def _por_fila(pub: Publicado, mala: Callable[[dict[str, str]], str | None],
              que: str) -> list[str]:
    """``mala(row)``'s complaint about each catalog row (``None``: fine), sampled."""
    tablas, problemas = pub.tablas()
    for eleccion, tabla in tablas:
        malas = [f"{csv_name(eleccion)}: el acta {_clave(f)} {queja}"
                 for f in _actas(tabla) if (queja := mala(f)) is not None]
        problemas += _muestra(malas, f"actas de {csv_name(eleccion)} {que}")
    return problemas


def _capturada(fila: dict[str, str]) -> bool:
    return fila["TOTAL_VOTOS_CALCULADO"] not in (SIN_DATO, NO_APLICA, "")


def traslado_lleno(pub: Publicado, rules: RuleSet) -> list[str]:
    """MECANISMOS_TRASLADO: a value of Anexo 18.5's domain (F, I, D; N/A for a paquete
    delivered directly) for every captured acta of a casilla whose paquete travels, and
    for a paquete that came without its sobre (the other sin acta causes: no paquete
    travelled); ``-`` only while the paquete has not arrived (an acta published from its
    PREP Casilla photo, whose FECHA_HORA_ACOPIO is the photo's)."""
    sin_sobre = rules.sin_acta[CausaSinActa.PAQUETE_SIN_SOBRE]

    def mala(f: dict[str, str]) -> str | None:
        valor = f.get("MECANISMOS_TRASLADO")
        if valor is None:
            return "no tiene la columna MECANISMOS_TRASLADO"
        aplica = f["OBSERVACIONES"] == sin_sobre or (
            _capturada(f) and f["TIPO_CASILLA"] in TIPOS_CON_PAQUETE)
        if not aplica or valor in CODIGOS_TRASLADO:
            return None
        if valor == SIN_DATO and f.get("ORIGEN") == "CASILLA":
            return None  # published from its PREP Casilla photo: the paquete may not be in
        if valor == SIN_DATO and f.get("FECHA_HORA_ACOPIO") == SIN_DATO:
            return None
        return (f"tiene MECANISMOS_TRASLADO {valor!r}; se espera el código del mecanismo "
                f"({', '.join(sorted(CODIGOS_TRASLADO))})")
    return _por_fila(pub, mala, "sin mecanismo de traslado")


def documento_lleno(pub: Publicado) -> list[str]:
    """TIPO_DOCUMENTO: the document captured, for every captured acta."""
    def mala(f: dict[str, str]) -> str | None:
        valor = f.get("TIPO_DOCUMENTO")
        if valor is None:
            return "no tiene la columna TIPO_DOCUMENTO"
        if not _capturada(f) or valor in DOCUMENTOS:
            return None
        return (f"tiene TIPO_DOCUMENTO {valor!r}; se espera "
                f"{' o '.join(repr(d) for d in sorted(DOCUMENTOS))}")
    return _por_fila(pub, mala, "sin tipo de documento")


def verificacion_llena(pub: Publicado) -> list[str]:
    """FECHA_HORA_VERIFICACION: when the data was validated, for every captured acta."""
    def mala(f: dict[str, str]) -> str | None:
        valor = f.get("FECHA_HORA_VERIFICACION")
        if valor is None:
            return "no tiene la columna FECHA_HORA_VERIFICACION"
        if not _capturada(f) or _FECHA.fullmatch(valor):
            return None
        return (f"tiene FECHA_HORA_VERIFICACION {valor!r}; se espera el momento en que se "
                "validó (dd/mm/aaaa hh:mm:ss)")
    return _por_fila(pub, mala, "sin fecha de verificación")


# --- SIMULACRO --------------------------------------------------------------------------

def marca_simulacro(directory: Path) -> list[str]:
    """SIMULACRO on line 1 of every CSV and of the LEEME, on the manifest's first line
    and on every page of the site (in its body, before anything else)."""
    problemas: list[str] = []
    top = sorted(p for p in directory.iterdir() if p.is_file())
    for path in top:
        if path.suffix in (".csv", ".txt") or path.name == MANIFEST:
            if MARCA not in _primera_linea(path):
                problemas.append(f"{path.name}: la línea 1 no dice {MARCA}")
    if not (directory / LEEME).is_file():
        problemas.append(f"falta {LEEME}")
    if not (directory / MANIFEST).is_file():
        problemas.append(f"falta {MANIFEST}")
    pages = sorted(directory.rglob("*.html"))
    if not pages:
        problemas.append(f"el sitio no tiene páginas que marcar con {MARCA}")
    problemas += _muestra([f"{p.relative_to(directory)}: la página no abre con el aviso "
                           f"{MARCA}" for p in pages if not _pagina_marcada(p)], "páginas")
    return problemas


def forma_real(directory: Path) -> list[str]:
    """The files have the real night's shape: the zip ``PREP_<corte>.zip``, and the header
    of each CSV where a real corte has it (line 7 of an election's, line 2 of the
    others', after their title line)."""
    problemas: list[str] = []
    zip_real = f"PREP_{directory.name}.zip"
    zips = sorted(p.name for p in directory.iterdir() if p.suffix == ".zip")
    if zips != [zip_real]:
        problemas.append(f"el zip del corte debe llamarse {zip_real} (hay: "
                         f"{', '.join(zips) or 'ninguno'})")
    for path in sorted(directory.glob("*.csv")):
        lines = path.read_bytes().removeprefix(b"\xef\xbb\xbf").split(b"\r\n", 8)
        eleccion = len(lines) > 3 and lines[3].startswith(b"ACTAS_ESPERADAS,")
        donde = 6 if eleccion else 1
        if len(lines) <= donde or b"," not in lines[donde] or b"," in lines[0]:
            problemas.append(f"{path.name}: el encabezado no está en la línea {donde + 1} "
                             "tras una línea de título, como en los cortes de la noche")
    return problemas


def _primera_linea(path: Path) -> str:
    with path.open("rb") as f:
        return f.readline(4096).decode("utf-8", errors="replace").removeprefix("\ufeff")


_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_VISIBLE = re.compile(r"<(h1|h2|main|table|p)\b", re.IGNORECASE)


def _pagina_marcada(path: Path) -> bool:
    """Whether SIMULACRO shows in the page's body before its first heading, table or
    paragraph (an aviso at the end of a long page is easy to miss)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    body = _BODY.search(text)
    if body is None:
        return False
    rest = text[body.end():]
    first = _VISIBLE.search(rest)
    return MARCA in (rest if first is None else rest[:first.start()])


def lineas(revisiones: Iterable[Revision]) -> list[str]:
    """The verdict's failures: ``revisión «nombre»: problema`` for each problem."""
    return [f"revisión «{r.nombre}»: {p}" for r in revisiones for p in r.problemas]
