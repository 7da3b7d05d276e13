"""The simulacro report: a published corte against the expected results.

Per acta, the published row is compared with the expected one (every captured field,
TOTAL_VOTOS_CALCULADO, OBSERVACIONES, CONTABILIZADA), and every difference is explained:
the paquete never arrived (no acopio), it arrived and is not captured yet, it was
captured (or registered sin acta) wrong, or the acta is missing from the file. Per
contest, the votes of the published contabilizadas actas against the expected totals,
and whether the winner (or the tie) is the expected one. The verdict is COINCIDE only
when everything matches, 100 %. With the corte's HISTORIAL.csv, the times per phase and
per CATD and the actas captured wrong and corrected after a cotejo (:mod:`.tiempos`).

The corte is read with :mod:`prep.corte.reader` (strict: a malformed file is an error,
never a guess); the expected results are ``esperados.json`` of ``prep simulacro
preparar``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from prep.corte.anexo import es_fuera
from prep.corte.package import MANIFEST
from prep.corte.reader import CsvFormatError
from prep.corte.reader import read_eleccion_csv
from prep.papel.esperados import ESPERADOS_JSON
from prep.papel.esperados import FORMATO
from prep.papel.esperados import sumar
from prep.papel.tiempos import Tiempos
from prep.papel.tiempos import leer_tiempos

INFORME_JSON = "informe.json"
INFORME_PDF = "informe.pdf"
SIN_DATO = "-"

NO_LLEGO = "no_llego"
PENDIENTE = "pendiente"
ERRONEA = "capturada_con_error"
FALTA = "falta_en_el_corte"
#: What each kind of difference means, for the committee.
EXPLICACIONES: dict[str, str] = {
    NO_LLEGO: "nunca llegó: el paquete no tiene acopio en el corte",
    PENDIENTE: "aún no capturada: llegó al CATD y su captura no se ha publicado",
    ERRONEA: "capturada con error: lo publicado difiere de lo esperado",
    FALTA: "falta en el corte: el acta no aparece en el archivo de su elección",
}
COINCIDE, CON_DIFERENCIAS = "COINCIDE", "CON DIFERENCIAS"
#: A corte directory's name: its local time, and a number when a minute had several.
_CORTE = re.compile(r"[0-9]{8}_[0-9]{4}(?:_[0-9]+)?")


class InformeError(ValueError):
    """The expected results or the corte cannot be read; the message says why."""


@dataclass
class Diferencia:
    """One acta whose publication is not the expected one."""

    clave: str
    eleccion: str
    catd: int
    tipo: str  # a key of EXPLICACIONES
    explicacion: str
    campos: list[tuple[str, str, str]] = field(default_factory=list)  # (campo, esperado, publicado)


@dataclass
class ContiendaInforme:
    """One contest: expected and published votes."""

    nombre: str
    eleccion: str
    esperado: dict[str, int]
    publicado: dict[str, int]
    ganador_esperado: str
    ganador_publicado: str

    @property
    def coincide(self) -> bool:
        return self.esperado == self.publicado

    def diferencias(self) -> list[tuple[str, int, int]]:
        columnas = list(self.esperado) + [c for c in self.publicado if c not in self.esperado]
        return [(c, self.esperado.get(c, 0), self.publicado.get(c, 0)) for c in columnas
                if self.esperado.get(c, 0) != self.publicado.get(c, 0)]


@dataclass(frozen=True)
class ResumenCorte:
    """How one corte of the night compared (the informe "per corte")."""

    corte: str
    fecha: str
    coinciden: int
    actas: int
    por_tipo: dict[str, int]


@dataclass
class Informe:
    """The whole report."""

    corte: str  # the corte directory's name
    fecha_corte: str  # line 2 of its CSVs
    semilla: int
    actas: int
    coinciden: int
    diferencias: list[Diferencia]
    contiendas: list[ContiendaInforme]
    fuera: dict[str, tuple[int, int]]  # election name → (expected, published)
    problemas: list[str] = field(default_factory=list)  # files that could not be read
    #: From HISTORIAL.csv (None: the corte has none): times per CATD and phase, and the
    #: actas captured wrong and corrected after a cotejo.
    tiempos: Tiempos | None = None
    #: Every corte of the publication compared, oldest first (this one last).
    cortes: list[ResumenCorte] = field(default_factory=list)
    #: Actas published wrong in an earlier corte and right in this one.
    corregidas_entre_cortes: list[str] = field(default_factory=list)

    @property
    def porcentaje(self) -> float:
        return 100.0 * self.coinciden / self.actas if self.actas else 0.0

    @property
    def ok(self) -> bool:
        return (not self.diferencias and not self.problemas
                and all(c.coincide for c in self.contiendas)
                and all(e == p for e, p in self.fuera.values()))

    @property
    def veredicto(self) -> str:
        return COINCIDE if self.ok else CON_DIFERENCIAS

    def por_tipo(self) -> dict[str, int]:
        out = dict.fromkeys(EXPLICACIONES, 0)
        for d in self.diferencias:
            out[d.tipo] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "corte": self.corte, "fecha_corte": self.fecha_corte, "semilla": self.semilla,
            "veredicto": self.veredicto, "actas": self.actas, "coinciden": self.coinciden,
            "porcentaje": round(self.porcentaje, 4), "por_tipo": self.por_tipo(),
            "diferencias": [asdict(d) for d in self.diferencias],
            "contiendas": [{**asdict(c), "coincide": c.coincide,
                            "diferencias": c.diferencias()} for c in self.contiendas],
            "fuera_de_catalogo": {k: {"esperadas": e, "publicadas": p}
                                  for k, (e, p) in self.fuera.items()},
            "problemas": self.problemas,
            "tiempos_por_catd": None if self.tiempos is None else {
                catd: {fase: asdict(p) for fase, p in fases.items()}
                for catd, fases in self.tiempos.por_catd.items()},
            "corregidas": None if self.tiempos is None else self.tiempos.corregidas,
            "cortes": [asdict(c) for c in self.cortes],
            "corregidas_entre_cortes": self.corregidas_entre_cortes,
        }


def resolve_corte(path: Path) -> Path:
    """``path`` if it is a corte (it has a manifest), else its latest corte: a
    ``publicacion`` directory holds one directory per corte, named by time."""
    return list_cortes(path)[-1]


def list_cortes(path: Path) -> list[Path]:
    """``[path]`` if it is a corte, else every corte of the publication directory
    ``path``, oldest first (their names are their local times, ``YYYYMMDD_HHMM``)."""
    if (path / MANIFEST).is_file():
        return [path]
    # Only the corte directories themselves: not ``latest`` (a link to one of them) nor
    # a half-written ``.tmp`` one; in order even past ``_9`` (``…_0654_10``).
    cortes = sorted((p for p in path.iterdir() if _CORTE.fullmatch(p.name)
                     and not p.is_symlink() and (p / MANIFEST).is_file()),
                    key=lambda p: [int(n) for n in p.name.split("_")]) \
        if path.is_dir() else []
    if not cortes:
        raise InformeError(f"{path} no es un corte publicado (no tiene {MANIFEST}) ni un "
                           "directorio de publicación con cortes")
    return cortes


def compare_publicacion(esperados: dict[str, Any], path: Path) -> Informe:
    """The informe of the latest corte under ``path`` (or of the corte ``path``), with
    how every corte of the night compared and the actas published wrong in an earlier
    corte that the latest one publishes right."""
    informes = [compare(esperados, corte) for corte in list_cortes(path)]
    final = informes[-1]
    final.cortes = [ResumenCorte(i.corte, i.fecha_corte, i.coinciden, i.actas, i.por_tipo())
                    for i in informes]
    erroneas = {d.clave for i in informes[:-1] for d in i.diferencias if d.tipo == ERRONEA}
    pendientes = {d.clave for d in final.diferencias}
    final.corregidas_entre_cortes = sorted(erroneas - pendientes)
    return final


def load_esperados(directory: Path) -> dict[str, Any]:
    """``esperados.json`` of ``prep simulacro preparar``."""
    path = directory / ESPERADOS_JSON if directory.is_dir() else directory
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InformeError(f"no existe {path}: indique el directorio --out de "
                           "«prep simulacro preparar»") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InformeError(f"{path} no es un archivo de resultados esperados ({exc})") from None
    if not isinstance(data, dict) or data.get("formato") != FORMATO:
        raise InformeError(f"{path}: formato de resultados esperados desconocido")
    return data


def compare(esperados: dict[str, Any], corte: Path) -> Informe:
    """The report of the corte at ``corte`` against ``esperados``."""
    actas = {a["clave"]: a for a in esperados["actas"]}
    contiendas = {c["clave"]: c for c in esperados["contiendas"]}
    publicado: dict[str, dict[str, int]] = {k: {} for k in contiendas}
    diferencias: list[Diferencia] = []
    problemas: list[str] = []
    fuera: dict[str, tuple[int, int]] = {}
    fecha = ""
    coinciden = 0
    for eleccion in esperados["elecciones"]:
        propias = [a for a in actas.values() if a["eleccion"] == eleccion["codigo"]]
        path = corte / eleccion["archivo"]
        try:
            parsed = read_eleccion_csv(path.read_bytes())
        except (OSError, CsvFormatError) as exc:
            problemas.append(f"{eleccion['archivo']}: {exc}")
            filas: dict[str, dict[str, str]] = {}
            publicados_fuera = 0
        else:
            fecha = fecha or parsed.corte
            filas = {f["CLAVE_ACTA"].strip("'"): f for f in parsed.filas
                     if not es_fuera(f)}
            publicados_fuera = sum(1 for f in parsed.filas if es_fuera(f))
        fuera[eleccion["nombre"]] = (
            sum(1 for f in esperados["fuera"] if f["eleccion"] in (eleccion["codigo"], "")),
            publicados_fuera)
        for acta in propias:
            fila = filas.get(acta["clave"])
            diferencia = _diferencia(acta, fila)
            if diferencia is None:
                coinciden += 1
            else:
                diferencias.append(diferencia)
            if fila is not None and fila["CONTABILIZADA"] == "1":
                sumar(publicado[acta["contienda"]], fila, eleccion["campos_voto"])
    informes = []
    for clave, c in contiendas.items():
        esperado = {k: v for k, v in c["totales"].items() if v}
        pub = {k: v for k, v in publicado[clave].items() if v}
        informes.append(ContiendaInforme(c["nombre"], c["eleccion"], esperado, pub,
                                         _ganador(esperado), _ganador(pub)))
    return Informe(corte.name, fecha, int(esperados["semilla"]), len(actas), coinciden,
                   diferencias, informes, fuera, problemas, leer_tiempos(corte))


def _diferencia(acta: dict[str, Any], fila: dict[str, str] | None) -> Diferencia | None:
    def make(tipo: str, campos: list[tuple[str, str, str]] | None = None) -> Diferencia:
        return Diferencia(acta["clave"], acta["eleccion"], acta["catd"], tipo,
                          EXPLICACIONES[tipo], campos or [])

    if fila is None:
        return make(FALTA)
    if fila["FECHA_HORA_ACOPIO"] == SIN_DATO:
        return make(NO_LLEGO)
    if fila["CONTABILIZADA"] == SIN_DATO:
        return make(PENDIENTE)
    esperado = {**acta["valores"], "TOTAL_VOTOS_CALCULADO": acta["total"],
                "OBSERVACIONES": acta["observaciones"], "CONTABILIZADA": acta["contabilizada"]}
    campos = [(c, v, fila.get(c, "")) for c, v in esperado.items() if fila.get(c) != v]
    return make(ERRONEA, campos) if campos else None


def _ganador(totales: dict[str, int]) -> str:
    """The leading column, ``EMPATE A y B`` when the first two tie, ``—`` with no votes."""
    orden = sorted(((c, v) for c, v in totales.items()
                    if c not in ("NO_REGISTRADAS", "NULOS")), key=lambda cv: (-cv[1], cv[0]))
    if not orden:
        return "—"
    if len(orden) > 1 and orden[0][1] == orden[1][1]:
        return f"EMPATE {orden[0][0]} y {orden[1][0]}"
    return orden[0][0]


def write_informe(informe: Informe, out: Path) -> list[Path]:
    """``informe.json`` and ``informe.pdf`` under ``out``."""
    from prep.papel.informe_pdf import write_informe_pdf

    out.mkdir(parents=True, exist_ok=True)
    path = out / INFORME_JSON
    path.write_text(json.dumps(informe.to_json(), ensure_ascii=False, indent=1) + "\n",
                    encoding="utf-8")
    write_informe_pdf(informe, out / INFORME_PDF)
    return [path, out / INFORME_PDF]
