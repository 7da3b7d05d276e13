"""``prep central catalog load`` over a central that holds results (issue 35, High 2):
the change is shown and nothing is stored without ``--confirmar``; a catalog that would
take published actas out of the catalog is refused unless forced with a reason; every
outcome is audited."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from prep.catalog import Catalog, write_catalog
from tests.central.station import central_cli, query
from tests.harness.central import CentralNode
from tests.harness.work import WorkStation, add_operators, load_catalog, truth


def _validate_one(node: CentralNode, catalog: Catalog) -> str:
    """Take one acta of CATD 01 to *validada* the honest way (acopio, image, two blind
    captures through leases); its clave."""
    acta = next(a for a in catalog.iter_actas() if a.casilla.distrito_id == 1)
    ana, beto = add_operators(node, [("Ana", "capturista", "01"), ("Beto", "capturista", "01")])

    async def scenario() -> None:
        async with WorkStation.enroll(node, 1) as station:
            await station.digitize([acta])  # by the site's acopiador and digitalizador
            for operator in (ana, beto):
                [lease] = await station.next(operator)
                await station.capture(operator, lease, truth(acta))

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
