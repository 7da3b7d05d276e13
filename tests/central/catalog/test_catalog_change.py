"""``prep central catalog load`` over a central that holds results (issue 35, High 2):
the change is shown and nothing is stored without ``--confirmar``; a catalog that would
take published actas out of the catalog is refused unless forced with a reason; every
outcome is audited."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from central.catalog.catalog_change import changed_actas
from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.catalog import write_catalog
from tests.central.station import central_cli
from tests.central.station import query
from tests.harness.central import CentralNode
from tests.harness.work import WorkStation
from tests.harness.work import capturistas
from tests.harness.work import load_catalog
from tests.harness.work import truth


def _validate_one(node: CentralNode, catalog: Catalog) -> str:
    """Take one acta of CATD 01 to *validada* the honest way (acopio, image, two blind
    captures through leases, each at its own station of the CATD); its clave."""
    acta = next(a for a in catalog.iter_actas() if a.casilla.distrito_id == 1)
    ana, beto = capturistas(node)

    async def scenario() -> None:
        async with WorkStation.enroll(node, 1) as station, \
                WorkStation.enroll(node, 1) as neighbour:
            await station.digitize([acta])  # by the site's acopiador and digitalizador
            for operator, capturing in ((ana, station), (beto, neighbour)):
                [lease] = await capturing.next(operator)
                await capturing.capture(operator, lease, truth(acta))

    asyncio.run(scenario())
    assert _estado(node, acta.clave) == "validada"
    return acta.clave


def _estado(node: CentralNode, clave: str) -> str:
    [(estado,)] = query(node.dsn, "SELECT estado FROM acta_states WHERE clave_acta = %s", clave)
    return str(estado)


def _versions(node: CentralNode) -> int:
    [(n,)] = query(node.dsn, "SELECT count(*) FROM catalog_versions")
    return int(n)


def _refusals(node: CentralNode) -> list[dict[str, Any]]:
    return [r[0] for r in query(node.dsn, "SELECT detail FROM audit_log WHERE event = "
                                "'catalog_refused' ORDER BY id")]


def test_a_catalog_that_orphans_published_actas_is_refused_unless_forced(
        central_node: CentralNode, tmp_path: Path) -> None:
    node = central_node
    catalog = load_catalog(node)  # seed 4
    clave = _validate_one(node, catalog)
    other = tmp_path / "sin-la-casilla"
    write_catalog(catalog, other)
    _drop_casilla(other / "casillas.csv", clave)

    for options in ((), ("--confirmar",)):
        done = central_cli(node, "catalog", "load", str(other), *options)
        assert done.returncode == 3, done.stderr
        assert "No se cargó el catálogo" in done.stderr and clave in done.stderr
        assert "--forzar --motivo" in done.stderr
        assert _versions(node) == 1 and _estado(node, clave) == "validada"
    assert [d["impact"]["removed_published"] for d in _refusals(node)] == [[clave], [clave]]

    done = central_cli(node, "catalog", "load", str(other), "--forzar")
    assert done.returncode == 2 and "--motivo" in done.stderr, done.stderr
    assert _versions(node) == 1

    done = central_cli(node, "catalog", "load", str(other), "--forzar", "--motivo",
                       "El instituto reemplazó el catálogo por acuerdo del Consejo")
    assert done.returncode == 0, done.stderr
    assert _versions(node) == 2 and _estado(node, clave) == "fuera_de_catalogo"
    [(detail,)] = query(node.dsn, "SELECT detail FROM audit_log WHERE event = "
                        "'catalog_loaded' AND (detail->>'version')::int = 2")
    assert detail["force_reason"].startswith("El instituto reemplazó")
    assert detail["impact"]["removed_published"] == [clave]


def test_a_change_over_results_needs_a_confirmation_and_shows_what_changes(
        central_node: CentralNode, tmp_path: Path) -> None:
    node = central_node
    catalog = load_catalog(node)
    clave = _validate_one(node, catalog)
    # The same catalog with one casilla more (three actas, one per election).
    bigger = tmp_path / "con-una-casilla-mas"
    write_catalog(catalog, bigger)
    casillas = bigger / "casillas.csv"
    lines = casillas.read_text(encoding="utf-8").splitlines(keepends=True)
    last = lines[-1]
    casillas.write_text("".join(lines) + _next_casilla(last), encoding="utf-8")

    done = central_cli(node, "catalog", "load", str(bigger))
    assert done.returncode == 3, done.stderr
    assert "ya tiene resultados" in done.stderr and "--confirmar" in done.stderr
    assert "Actas nuevas en el catálogo: 3." in done.stderr, done.stderr
    assert _versions(node) == 1
    done = central_cli(node, "catalog", "load", str(bigger), "--confirmar")
    assert done.returncode == 0, done.stderr
    assert _versions(node) == 2 and _estado(node, clave) == "validada"
    [(detail,)] = query(node.dsn, "SELECT detail FROM audit_log WHERE event = "
                        "'catalog_loaded' AND (detail->>'version')::int = 2")
    assert detail["confirmed"] is True and detail["impact"]["added"] == 3
    assert central_cli(node, "rebuild-state", "--check").returncode == 0


def test_actas_whose_data_changed_under_the_same_clave_are_shown_before_confirming(
        central_node: CentralNode, tmp_path: Path) -> None:
    """Issue 35: a catalog with the same CLAVE_ACTA but another lista nominal or other
    asociaciones was loaded with «Actas nuevas: 0 · que saldrían: 0», as if nothing
    changed; the validated acta would be published with the new data."""
    node = central_node
    catalog = load_catalog(node)
    clave = _validate_one(node, catalog)
    other = tmp_path / "otros-datos"
    write_catalog(catalog, other)
    _edit_casilla(other / "casillas.csv", clave, "LISTA_NOMINAL", lambda v: str(int(v) + 50))
    # The lista nominal is the casilla's: every acta of it (one per election) changes.
    acta = catalog.acta(clave)
    assert acta is not None
    de_la_casilla = {a.clave for a in catalog.actas_de_casilla(acta.casilla)}
    assert len(de_la_casilla) > 1
    eleccion3 = [a for a in catalog.iter_actas() if a.eleccion.codigo == "03"]
    _rename_asociacion(other / "asociaciones.csv", "03")
    changed = len(de_la_casilla | {a.clave for a in eleccion3})

    done = central_cli(node, "catalog", "load", str(other))
    assert done.returncode == 3, done.stderr
    said = done.stderr
    assert "Actas nuevas en el catálogo: 0." in said and \
        "Actas que saldrían del catálogo: 0." in said, said
    assert (f"Actas que siguen en el catálogo pero con otros datos: {changed} "
            f"(asociaciones y campos del acta en {len(eleccion3)}, lista nominal en "
            f"{len(de_la_casilla)}).") in said, said
    assert ("1 acta ya publicadas (validadas o sin acta) se publicarían con los datos "
            f"nuevos en el próximo corte: {clave}.") in said, said
    assert _versions(node) == 1
    [refused] = _refusals(node)
    assert refused["impact"]["changed"] == changed
    assert refused["impact"]["changed_published"] == [clave]

    done = central_cli(node, "catalog", "load", str(other), "--confirmar")
    assert done.returncode == 0, done.stderr
    [(detail,)] = query(node.dsn, "SELECT detail FROM audit_log WHERE event = "
                        "'catalog_loaded' AND (detail->>'version')::int = 2")
    assert detail["confirmed"] is True
    assert detail["impact"]["changed_fields"] == {"asociaciones y campos del acta":
                                                  len(eleccion3),
                                                  "lista nominal": len(de_la_casilla)}


def test_what_changed_in_each_acta_is_named() -> None:
    old = generate_catalog(4, 0.005)
    moved, counted, same = old.casillas[0], old.casillas[1], old.casillas[2]
    casillas = tuple(replace(c, distrito_id=c.distrito_id + 1) if c is moved else
                     replace(c, lista_nominal=c.lista_nominal + 1, boletas=c.boletas + 1)
                     if c is counted else c for c in old.casillas)
    new = replace(old, casillas=casillas)
    changes = changed_actas(old, new)
    assert set(changes) == {a.clave for c in (moved, counted) for a in old.actas_de_casilla(c)}
    for acta in old.actas_de_casilla(moved):
        assert "distrito" in changes[acta.clave]
    for acta in old.actas_de_casilla(counted):
        assert changes[acta.clave] == ("lista nominal", "boletas")
    assert not any(a.clave in changes for a in old.actas_de_casilla(same))
    assert changed_actas(old, generate_catalog(4, 0.005)) == {}  # the same data


def _edit_casilla(casillas: Path, clave: str, column: str, change: Any) -> None:
    """Change ``column`` of the casilla of acta ``clave`` in casillas.csv."""
    key = [str(int(clave[2:6])), clave[6], str(int(clave[7:9])), str(int(clave[9:11]))]
    lines = casillas.read_text(encoding="utf-8").splitlines(keepends=True)
    at = lines[0].rstrip("\r\n").split(",").index(column)
    edited = 0
    for i, line in enumerate(lines):
        cells = line.rstrip("\r\n").split(",")
        if cells[2:6] == key:
            cells[at] = change(cells[at])
            lines[i] = ",".join(cells) + "\n"
            edited += 1
    assert edited == 1
    casillas.write_text("".join(lines), encoding="utf-8")


def _rename_asociacion(asociaciones: Path, eleccion: str) -> None:
    """Give the first asociación of ``eleccion`` another name (every acta of it changes)."""
    lines = asociaciones.read_text(encoding="utf-8").splitlines(keepends=True)
    i = next(i for i, line in enumerate(lines) if line.startswith(f"{eleccion},"))
    cells = lines[i].split(",")
    cells[2] = cells[2] + " (nuevo nombre)"
    lines[i] = ",".join(cells)
    asociaciones.write_text("".join(lines), encoding="utf-8")


def _drop_casilla(casillas: Path, clave: str) -> None:
    """Remove from casillas.csv the casilla of acta ``clave`` (SSSS T NN EE after the
    entidad: sección, tipo, número, extensión)."""
    key = [str(int(clave[2:6])), clave[6], str(int(clave[7:9])), str(int(clave[9:11]))]
    lines = casillas.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if line.split(",")[2:6] != key]
    assert len(kept) == len(lines) - 1
    casillas.write_text("".join(kept), encoding="utf-8")


def _next_casilla(line: str) -> str:
    """A copy of the casillas.csv row ``line`` as casilla number 9 of its sección."""
    cells = line.rstrip("\r\n").split(",")
    cells[4] = "9"  # ID_CASILLA
    return ",".join(cells) + "\n"
