"""What the site should show, worked out from the published CSV files alone (read with
:mod:`csv`, columns found by name) and the catalog's list of asociaciones, independently
of :mod:`prep.corte.site`: the tests compare the pages with these figures."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from dataclasses import replace

from prep.catalog import Catalog
from prep.catalog.model import Ambito
from prep.catalog.model import Eleccion
from prep.catalog.model import TipoAsociacion
from prep.corte.anexo import es_fuera
from prep.corte.reader import CsvEleccion
from prep.corte.reader import resumen_desde_filas


def truncado(count: int, base: int) -> str:
    """count × 100 / base truncated to 4 decimals, written independently of the code."""
    diezmilesimas = count * 1_000_000 // base if base else 0
    return f"{diezmilesimas // 10_000}.{diezmilesimas % 10_000:04d}"


def demarcacion_de(catalog: Catalog, fila: dict[str, str]) -> int:
    """The demarcación of a CSV row: its ID_DEMARCACION column where the CSV has one (an
    election per demarcación), else the catalog's casilla of its CLAVE_CASILLA."""
    if "ID_DEMARCACION" in fila:
        return int(fila["ID_DEMARCACION"])
    acta = catalog.acta(fila["CLAVE_ACTA"].strip("'"))
    assert acta is not None
    return acta.casilla.demarcacion_id


def es_mesa(fila: dict[str, str]) -> bool:
    """A mesa's row (voto anticipado, prisión preventiva, extranjero): in no sección."""
    return fila["SECCION"] == "N/A"


def en_contienda(catalog: Catalog, fila: dict[str, str], nivel: Ambito) -> bool:
    """Whether a mesa's row counts in a territory of ``nivel``: only where that territory
    is the contest of its election (DOMAIN.md: the mesas belong to no sección)."""
    acta = catalog.acta(fila["CLAVE_ACTA"].strip("'"))
    assert acta is not None
    return acta.eleccion.ambito is nivel


def filas_de(csv_e: CsvEleccion, catalog: Catalog, *, distrito: int | None = None,
             demarcacion: int | None = None, seccion: int | None = None) -> CsvEleccion:
    """The CSV restricted to the catalog rows of one territory (a mesa's only in the
    territory that is its contest)."""
    filas = tuple(
        f for f in csv_e.filas if not es_fuera(f)
        and (distrito is None or f["ID_DISTRITO_LOCAL"] == str(distrito))
        and (demarcacion is None or demarcacion_de(catalog, f) == demarcacion)
        and (seccion is None or f["SECCION"] == str(seccion))
        and not (es_mesa(f) and (
            (distrito is not None and not en_contienda(catalog, f, Ambito.DISTRITO))
            or (demarcacion is not None
                and not en_contienda(catalog, f, Ambito.DEMARCACION)))))
    return replace(csv_e, filas=filas)


def resumen(csv_e: CsvEleccion) -> dict[str, str]:
    return resumen_desde_filas(csv_e)


def sumas(csv_e: CsvEleccion, campos: list[str]) -> dict[str, int]:
    """Votes per vote column over the counted rows (Ilegible, Sin dato and N/A count 0)."""
    total = dict.fromkeys(campos, 0)
    for fila in csv_e.filas:
        if fila["CONTABILIZADA"] == "1":
            for campo in campos:
                if fila[campo].isdigit():
                    total[campo] += int(fila[campo])
    return total


@dataclass(frozen=True)
class Candidatura:
    clave: str
    nombre: str
    campos: tuple[str, ...]
    tipo: str


def candidaturas(eleccion: Eleccion, ambito_id: int) -> list[Candidatura]:
    """The candidaturas of a contest as docs/sitio.md describes them: the parties of a
    coalition competing there, with all its combinations, are one; NO_REGISTRADAS and
    NULOS last."""
    compiten = [a for a in eleccion.asociaciones if a.compite_en(ambito_id)]
    grupos: list[set[str]] = []
    for a in compiten:
        if a.tipo is TipoAsociacion.COALICION:
            juntos = set(a.partidos)
            for g in [g for g in grupos if g & juntos]:
                juntos |= g
                grupos.remove(g)
            grupos.append(juntos)
    out: list[Candidatura] = []
    vistos: set[int] = set()
    for a in compiten:
        grupo = next((i for i, g in enumerate(grupos) if set(a.partidos or ("",)) <= g), None)
        if grupo is None or a.tipo is TipoAsociacion.INDEPENDIENTE:
            out.append(Candidatura(a.clave, a.nombre, (a.clave,), str(a.tipo)))
        elif grupo not in vistos:
            vistos.add(grupo)
            miembros = [b for b in compiten if b.tipo is not TipoAsociacion.INDEPENDIENTE
                        and set(b.partidos) <= grupos[grupo]]
            mayor = max((b for b in miembros if b.tipo is TipoAsociacion.COALICION),
                        key=lambda b: len(b.partidos))
            partidos = [b.clave for b in miembros if b.tipo is TipoAsociacion.PARTIDO]
            out.append(Candidatura("_".join(partidos), mayor.nombre,
                                   tuple(b.clave for b in miembros), "coalicion"))
    out.append(Candidatura("NO_REGISTRADAS", "Candidaturas no registradas",
                           ("NO_REGISTRADAS",), "otro"))
    out.append(Candidatura("NULOS", "Votos nulos", ("NULOS",), "otro"))
    return out


def votos_candidatura(csv_e: CsvEleccion, cands: list[Candidatura]) -> dict[str, int]:
    campos = [c for cand in cands for c in cand.campos]
    s = sumas(csv_e, campos)
    return {cand.clave: sum(s[c] for c in cand.campos) for cand in cands}


def leer_candidaturas(data: bytes, eleccion: Eleccion) -> dict[tuple[int, str], tuple[str, str]]:
    """A published candidaturas CSV: (ámbito id, PARTIDO_CI) → (propietaria, suplente).
    The header is the first line naming PARTIDO_CI (a drill's file may open with a
    SIMULACRO line); the ámbito column is the election's."""
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    start = next(i for i, line in enumerate(lines) if "PARTIDO_CI" in line)
    header = lines[start]
    columna = {Ambito.DISTRITO: "ID_DISTRITO_LOCAL",
               Ambito.DEMARCACION: "ID_DEMARCACION"}.get(eleccion.ambito)
    out = {}
    for values in lines[start + 1:]:
        if not values:
            continue
        fila = dict(zip(header, values, strict=True))
        ambito = int(fila[columna]) if columna else 0
        out[(ambito, fila["PARTIDO_CI"])] = (fila["CANDIDATURA_PROPIETARIA"],
                                             fila["CANDIDATURA_SUPLENTE"])
    return out


def personas(cand: Candidatura, ambito_id: int, eleccion: Eleccion,
             nombres: dict[tuple[int, str], tuple[str, str]]) -> list[str]:
    """The names line(s) the candidatura view shows for ``cand``: the names registered for
    its coalition's combinations if any, else its parties'; one line when they agree."""
    if cand.tipo == "otro":
        return []
    por_tipo = {a.clave: a.tipo for a in eleccion.asociaciones}
    combos = [c for c in cand.campos if por_tipo.get(c) is TipoAsociacion.COALICION]
    combos.sort(key=lambda c: -c.count("_"))
    otros = [c for c in cand.campos if c not in combos]
    for claves in (combos, otros):
        filas = [(k, nombres[(ambito_id, k)]) for k in claves if (ambito_id, k) in nombres]
        if filas:
            if len({n for _, n in filas}) == 1:
                return [persona(eleccion, *filas[0][1])]
            return [f"{k}: {persona(eleccion, p, s)}" for k, (p, s) in filas]
    return ["Sin nombres en el registro de candidaturas"]


def persona(eleccion: Eleccion, propietaria: str, suplente: str) -> str:
    """How the candidatura view names a registered person: «Propietario(a)» and
    «Suplente» where the office has a suplente, «Candidato(a)» alone where it has none."""
    if eleccion.suplente:
        return f"Propietario(a): {propietaria} · Suplente: {suplente or '—'}"
    return f"Candidato(a): {propietaria}"
