"""The acta lifecycle: every transition of the pure fold (a table), then the states in
PostgreSQL as ingest leaves them, seeded by a catalog load and recomputed from the
records by ``prep central rebuild-state``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from central.pipeline.state import ActaInfo
from central.pipeline.state import Estado
from central.pipeline.state import Event
from central.pipeline.state import RecordEvent
from central.pipeline.state import fold
from prep.catalog import generate_catalog
from prep.catalog import write_catalog
from prep.records import Kind
from tests.central.station import PNG
from tests.central.station import Station
from tests.central.station import central_cli
from tests.central.station import image_body
from tests.central.station import query
from tests.harness.central import CentralNode
from tests.harness.work import site_account

CLAVE = "090001B010001"
INFO = ActaInfo(1, "01", ("A", "B"))
T0 = datetime(2027, 6, 7, 2, 0, tzinfo=UTC)
_clock = iter(range(10**6))


def _lookup(clave: str) -> ActaInfo | None:
    return INFO if clave == CLAVE else None


def rec(kind: Kind, body: dict[str, Any] | None = None, *, operator: str = "op",
        station: str = "catd-01-aaaa", replaces: str | None = None,
        id_: str | None = None, clave: str = CLAVE) -> RecordEvent:
    at = T0 + timedelta(seconds=next(_clock))
    return RecordEvent(id_ or str(uuid.uuid4()), station, operator, kind, at, at,
                       {"clave_acta": clave, **(body or {})}, replaces)


def work(kind: Kind, image: str | None, lease: str | None = "lease", **body: Any) -> dict[str, Any]:
    """The body of a record made on ``image`` (an image record id of these tests)."""
    return {"imagen_sha256": SHA.get(image or "", "f" * 64),
            "lease": None if lease is None else str(uuid.uuid4()), **body}


def acopio(**kw: Any) -> RecordEvent:
    return rec(Kind.ACOPIO, **kw)


def sin_acta(**kw: Any) -> RecordEvent:
    return rec(Kind.SIN_ACTA, {"causa": "paquete_no_entregado"}, **kw)


def imagen(id_: str = "00000000-0000-4000-8000-000000000001", origen: str = "CATD",
           **kw: Any) -> RecordEvent:
    body = {"sha256": SHA[id_], "bytes": 10, "media_type": "image/png", "origen": origen,
            "digitalizacion": "Escáner"}
    return rec(Kind.IMAGEN, body, id_=id_, **kw)


IMG = "00000000-0000-4000-8000-000000000001"
IMG2 = "00000000-0000-4000-8000-000000000002"
IMG3 = "00000000-0000-4000-8000-000000000003"
SHA = {IMG: "a" * 64, IMG2: "b" * 64, IMG3: "c" * 64}


def captura(a: int, b: int = 0, operator: str = "c1", lease: str | None = "lease",
            image: str | None = IMG, **kw: Any) -> RecordEvent:
    return rec(Kind.CAPTURA, work(Kind.CAPTURA, image, lease, valores={"A": a, "B": b}),
               operator=operator, **kw)


def verificacion(a: int, operator: str = "v1", image: str | None = IMG) -> RecordEvent:
    return rec(Kind.VERIFICACION, work(Kind.VERIFICACION, image, valores={"A": a, "B": 0}),
               operator=operator)


def ilegible(image: str = IMG) -> RecordEvent:
    return rec(Kind.ILEGIBLE, work(Kind.ILEGIBLE, image, motivo="borrosa"), operator="c9")


DIGITIZED = [acopio, imagen]

# (history, event, expected estado, expected anomalies); histories are callables so each
# case gets fresh record ids.
TRANSITIONS: list[tuple[str, Sequence[Any], Any, Estado, tuple[str, ...]]] = [
    ("acopio", [], acopio, Estado.ACOPIADA, ()),
    ("sin acta", [], sin_acta, Estado.SIN_ACTA, ()),
    ("image before acopio (PREP Casilla)", [], imagen, Estado.DIGITALIZADA, ()),
    ("image after acopio", [acopio], imagen, Estado.DIGITALIZADA, ()),
    ("the same record again (a batch resent after a partial restore)",
     [lambda: acopio(id_=IMG2)], lambda: acopio(id_=IMG2, station="catd-02-bbbb"),
     Estado.ACOPIADA, ()),
    ("second acopio elsewhere", [acopio], lambda: acopio(station="catd-02-bbbb"),
     Estado.ACOPIADA, ("acopio_duplicado",)),
    ("acopio after sin acta", [sin_acta], acopio, Estado.ACOPIADA, ("acopio_tras_sin_acta",)),
    ("sin acta over an acopiada", [acopio], sin_acta, Estado.ACOPIADA,
     ("sin_acta_en_conflicto",)),
    ("image of a sin acta", [sin_acta], imagen, Estado.DIGITALIZADA, ("imagen_tras_sin_acta",)),
    ("first capture", DIGITIZED, lambda: captura(1), Estado.CAPTURA_1, ()),
    ("capture made without a lease (counts: the state reads only records)", DIGITIZED,
     lambda: captura(1, lease=None), Estado.CAPTURA_1, ()),
    ("capture before any image", [acopio], lambda: captura(1, image=None), Estado.ACOPIADA,
     ("captura_sobrante",)),
    ("capture missing a field", DIGITIZED,
     lambda: rec(Kind.CAPTURA, work(Kind.CAPTURA, IMG, valores={"A": 1})),
     Estado.DIGITALIZADA, ("captura_campos_invalidos",)),
    ("equal second capture", [*DIGITIZED, lambda: captura(1)],
     lambda: captura(1, operator="c2"), Estado.VALIDADA, ()),
    ("different second capture", [*DIGITIZED, lambda: captura(1)],
     lambda: captura(2, operator="c2"), Estado.CAPTURA_2, ()),
    ("same operator twice", [*DIGITIZED, lambda: captura(1)], lambda: captura(1),
     Estado.CAPTURA_1, ("operador_repetido",)),
    ("third equals the first", [*DIGITIZED, lambda: captura(1), lambda: captura(2, operator="c2")],
     lambda: captura(1, operator="c3"), Estado.VALIDADA, ()),
    ("third equals the second",
     [*DIGITIZED, lambda: captura(1), lambda: captura(2, operator="c2")],
     lambda: captura(2, operator="c3"), Estado.VALIDADA, ()),
    ("three different", [*DIGITIZED, lambda: captura(1), lambda: captura(2, operator="c2")],
     lambda: captura(3, operator="c3"), Estado.VERIFICACION, ()),
    ("verification decides",
     [*DIGITIZED, lambda: captura(1), lambda: captura(2, operator="c2"),
      lambda: captura(3, operator="c3")], lambda: verificacion(7), Estado.VALIDADA, ()),
    ("verification by a capturista of the acta",
     [*DIGITIZED, lambda: captura(1), lambda: captura(2, operator="c2"),
      lambda: captura(3, operator="c3")], lambda: verificacion(7, operator="c2"),
     Estado.VERIFICACION, ("operador_repetido",)),
    ("verification nobody asked for", DIGITIZED, lambda: verificacion(7),
     Estado.DIGITALIZADA, ("captura_sobrante",)),
    ("capture of a validated acta",
     [*DIGITIZED, lambda: captura(1), lambda: captura(1, operator="c2")],
     lambda: captura(1, operator="c3"), Estado.VALIDADA, ("captura_sobrante",)),
    ("unreadable image", [*DIGITIZED, lambda: captura(1)], ilegible, Estado.REDIGITALIZACION,
     ()),
    ("unreadable, said of an image already replaced",
     [*DIGITIZED, lambda: imagen(IMG2, replaces=IMG)], ilegible, Estado.DIGITALIZADA,
     ("ilegible_obsoleto",)),
    ("unreadable, said of a validated acta",
     [*DIGITIZED, lambda: captura(1), lambda: captura(1, operator="c2")], ilegible,
     Estado.VALIDADA, ("ilegible_obsoleto",)),
    ("capture on an image sent back as unreadable", [*DIGITIZED, ilegible],
     lambda: captura(1), Estado.REDIGITALIZACION, ("captura_sobrante",)),
    ("new image after unreadable", [*DIGITIZED, lambda: captura(1), ilegible],
     lambda: imagen(IMG2), Estado.DIGITALIZADA, ()),
    ("unreadable, after a re-scan of an image that was not the current one",
     [acopio, lambda: imagen(IMG3, origen="CASILLA"), lambda: imagen(IMG),
      lambda: imagen(IMG2, replaces=IMG)], lambda: ilegible(IMG3), Estado.DIGITALIZADA, ()),
    ("capture on the old image after a re-scan",
     [*DIGITIZED, lambda: imagen(IMG2, replaces=IMG)], lambda: captura(1, image=IMG),
     Estado.DIGITALIZADA, ("captura_imagen_reemplazada",)),
    ("re-scan restarts the captures",
     [*DIGITIZED, lambda: captura(1), lambda: imagen(IMG2, replaces=IMG)],
     lambda: captura(1, operator="c2", image=IMG2), Estado.CAPTURA_1, ()),
    ("another image of a digitized acta (PREP Casilla + CATD)", DIGITIZED,
     lambda: imagen(IMG2, origen="CASILLA"), Estado.DIGITALIZADA, ()),
    ("image of a validated acta",
     [*DIGITIZED, lambda: captura(1), lambda: captura(1, operator="c2")],
     lambda: imagen(IMG2, replaces=IMG), Estado.VALIDADA, ()),
    ("acopio of an acta outside the catalog", [],
     lambda: acopio(clave="090999B019901"), Estado.FUERA_DE_CATALOGO, ()),
]


@pytest.mark.rapido
@pytest.mark.parametrize("history, event, estado, notes",
                         [t[1:] for t in TRANSITIONS], ids=[t[0] for t in TRANSITIONS])
def test_transition(history: Sequence[Any], event: Any, estado: Estado,
                    notes: tuple[str, ...]) -> None:
    past: list[Event] = [h() for h in history]
    new: Event = event()
    before = fold(past, _lookup)
    after = fold([new], _lookup, before.actas)

    assert after.actas[new.clave].estado is estado
    assert tuple(n.type for n in after.notes) == notes
    assert fold([*past, new], _lookup).actas == after.actas  # incremental = from scratch


@pytest.mark.rapido
def test_a_rescan_publishes_the_new_image_and_keeps_both() -> None:
    events = [acopio(), imagen(), captura(1), imagen(IMG2, replaces=IMG),
              captura(5, operator="c2", image=IMG2), captura(5, operator="c3", image=IMG2)]
    acta = fold(events, _lookup).actas[CLAVE]
    assert acta.estado is Estado.VALIDADA and acta.ronda == 2
    assert acta.validacion is not None and acta.validacion.imagen == IMG2
    assert acta.validacion.valores == {"A": 5, "B": 0}
    assert [i.record for i in acta.imagenes] == [IMG, IMG2]


@pytest.mark.rapido
def test_a_complaint_arriving_after_the_rescan_goes_on_with_the_newest_image() -> None:
    # Seen in a drill: a PREP Casilla photo was the current image; the CATD scanned the
    # acta, then scanned it again when a capturista (at another station) found the photo
    # unreadable; the complaint reached the central after both scans. Waiting for yet
    # another scan left the acta unpublished for good.
    events = [acopio(), imagen(IMG3, origen="CASILLA"), imagen(IMG), imagen(IMG2, replaces=IMG),
              ilegible(IMG3)]
    acta = fold(events, _lookup).actas[CLAVE]
    assert acta.estado is Estado.DIGITALIZADA and acta.imagen_actual == IMG2
    assert acta.ronda == 2
    done = fold([captura(4, image=IMG2), captura(4, operator="c2", image=IMG2)], _lookup,
                {CLAVE: acta}).actas[CLAVE]
    assert done.estado is Estado.VALIDADA and done.validacion is not None
    assert done.validacion.imagen == IMG2


@pytest.mark.rapido
def test_an_acopio_registered_fuera_de_catalogo_is_kept_as_read() -> None:
    event = rec(Kind.ACOPIO, {"codigo_leido": "09|001|X", "eleccion": "01",
                              "fuera_de_catalogo": True})
    folded = fold([event], _lookup)
    assert folded.actas == {}
    assert [f.codigo_leido for f in folded.fuera.values()] == ["09|001|X"]


# --- in PostgreSQL -----------------------------------------------------------------

def _load_catalog_cli(node: CentralNode, tmp_path: Path, seed: int, scale: float,
                      *options: str) -> int:
    directory = tmp_path / f"catalogo-{seed}-{scale}"
    catalog = generate_catalog(seed, scale)
    write_catalog(catalog, directory)
    done = central_cli(node, "catalog", "load", str(directory), *options)
    assert done.returncode == 0, done.stderr
    return catalog.total_actas


def _estados(node: CentralNode) -> dict[str, int]:
    return dict(query(node.dsn, "SELECT estado, count(*) FROM acta_states GROUP BY estado"))


def test_loading_a_catalog_seeds_one_esperada_row_per_acta(central_node: CentralNode,
                                                            tmp_path: Path) -> None:
    node = central_node
    total = _load_catalog_cli(node, tmp_path, 4, 0.005)
    assert _estados(node) == {"esperada": total}
    assert _load_catalog_cli(node, tmp_path, 4, 0.005) == total  # same files: no change
    assert _estados(node) == {"esperada": total}

    # An acta with a record that the next version no longer holds becomes fuera de
    # catálogo; the others of the old version go, the new version's are seeded.
    station = Station.enroll(node, 1)
    acopiador = site_account(node, "acopiador", "01")
    old = query(node.dsn, "SELECT clave_acta FROM acta_states ORDER BY clave_acta LIMIT 1")[0][0]
    assert station.post(station.batch(station.records(1, Kind.ACOPIO, {"clave_acta": old},
                                                      operator=acopiador))[1])[0] == 200
    new_total = _load_catalog_cli(node, tmp_path, 5, 0.01, "--confirmar")
    claves = dict(query(node.dsn, "SELECT clave_acta, estado FROM acta_states"))
    new_catalog = generate_catalog(5, 0.01)
    expected = {a.clave: "esperada" for a in new_catalog.iter_actas()}
    expected[old] = "acopiada" if old in expected else "fuera_de_catalogo"
    assert claves == expected and len(expected) in (new_total, new_total + 1)
    assert query(node.dsn, "SELECT count(*) FROM audit_log WHERE event = "
                 "'acta_states_rebuilt' AND detail->>'reason' = 'catalog_load'") == [(3,)]
    assert central_cli(node, "rebuild-state", "--check").returncode == 0


def test_rebuild_state_agrees_with_ingest_and_repairs_a_tampered_table(
        central_node: CentralNode, tmp_path: Path) -> None:
    node = central_node
    _load_catalog_cli(node, tmp_path, 4, 0.005)
    claves = [r[0] for r in query(node.dsn, "SELECT clave_acta FROM acta_states "
                                  "ORDER BY clave_acta LIMIT 4")]
    # Two workstations of CATD 01 (the actas are distrito 1's), real accounts of its site.
    catd, other = Station.enroll(node, 1), Station.enroll(node, 1)
    acopio, digit = (site_account(node, role, "01") for role in ("acopiador", "digitalizador"))
    assert catd.put_blob(PNG)[0] == 200
    image = {**image_body(PNG), "clave_acta": claves[2]}
    records = [
        *catd.records(1, Kind.ACOPIO, {"clave_acta": claves[0]}, operator=acopio),
        *catd.records(1, Kind.SIN_ACTA, {"clave_acta": claves[1],
                                         "causa": "casilla_no_instalada"}, operator=acopio),
        *catd.records(1, Kind.ACOPIO, {"clave_acta": claves[2]}, operator=acopio),
        *catd.records(1, Kind.IMAGEN, image, operator=digit),
        *catd.records(1, Kind.ACOPIO, {"clave_acta": "090999B019901"}, operator=acopio),
        # Another entidad's acta: well-formed, outside the catalog.
        *catd.records(1, Kind.ACOPIO, {"codigo_leido": "150001B010001", "eleccion": "01",
                                       "fuera_de_catalogo": True}, operator=acopio),
        # A misread is no acta, whatever the station says (issue 38): quarantined.
        *catd.records(1, Kind.ACOPIO, {"codigo_leido": "XK93&&zz!!", "eleccion": "",
                                       "fuera_de_catalogo": True}, operator=acopio),
    ]
    assert catd.post(catd.batch(records)[1])[0] == 200
    assert other.post(other.batch(other.records(1, Kind.ACOPIO, {"clave_acta": claves[0]},
                                                operator=acopio))[1])[0] == 200
    states = dict(query(node.dsn, "SELECT clave_acta, estado FROM acta_states "
                        "WHERE estado <> 'esperada'"))
    assert states == {claves[0]: "acopiada", claves[1]: "sin_acta",
                      claves[2]: "digitalizada", "090999B019901": "fuera_de_catalogo"}
    assert query(node.dsn, "SELECT codigo_leido FROM fuera_de_catalogo") == [("150001B010001",)]
    assert query(node.dsn, "SELECT reason FROM quarantined_records") == [("codigo_no_es_acta",)]
    assert query(node.dsn, "SELECT count(*) FROM anomalies WHERE type = 'codigo_no_es_acta'"
                 ) == [(1,)]
    duplicate = query(node.dsn, "SELECT id::text FROM records WHERE station = %s", other.id)
    assert [(r[0]["record"],) for r in query(
        node.dsn, "SELECT detail FROM anomalies WHERE type = 'acopio_duplicado'")] == duplicate
    assert central_cli(node, "rebuild-state", "--check").returncode == 0

    with psycopg.connect(node.dsn) as conn:  # someone edits the derived tables by hand
        conn.execute("UPDATE acta_states SET estado = 'validada' WHERE clave_acta = %s",
                     (claves[0],))
        conn.execute("DELETE FROM acta_images WHERE clave_acta = %s", (claves[2],))
    checked = central_cli(node, "rebuild-state", "--check")
    assert checked.returncode == 1
    report = json.loads(checked.stdout)
    assert report["differences"] == 2 and report["written"] is False
    assert {(d["clave_acta"], tuple(d["fields"])) for d in report["sample"]} == {
        (claves[0], ("estado",)), (claves[2], ("imagenes",))}

    repaired = central_cli(node, "rebuild-state")
    assert repaired.returncode == 0 and json.loads(repaired.stdout)["written"] is True
    assert central_cli(node, "rebuild-state", "--check").returncode == 0
    assert dict(query(node.dsn, "SELECT clave_acta, estado FROM acta_states WHERE "
                      "clave_acta = ANY(%s)", claves[:3])) == {
        claves[0]: "acopiada", claves[1]: "sin_acta", claves[2]: "digitalizada"}
