"""The published corte directory: atomic publication (a reader never sees half a
corte), cortes in the same minute, images by hash, the difference from the previous
corte, and a corte that cannot be made leaving nothing behind."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import time
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb
from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db import make_engine
from central.db.publicacion import CorteRow
from central.publication.corte import A_PEDIDO
from central.publication.corte import CorteHecho
from central.publication.corte import CorteSettings
from central.publication.corte import make_corte
from central.publication.feed import INDICE
from central.publication.feed import INDICE_FIRMA
from central.publication.publicar import CorteError
from central.publication.transparencia import TRANSPARENCIA
from prep.catalog import Catalog
from prep.catalog import generate_catalog
from prep.corte.anexo import es_fuera
from prep.corte.package import MANIFEST
from prep.corte.package import slug
from prep.corte.reader import read_eleccion_csv
from prep.corte.verify import verify_corte
from prep.crypto import SigningKey
from prep.sintetico.capturas import simulate
from tests.harness.corte_data import day_after
from tests.harness.corte_data import image_bytes
from tests.harness.corte_data import image_sha256
from tests.harness.corte_data import prepare_database
from tests.harness.corte_data import write_states

SEED = 5
KEY = SigningKey.generate()
INDICE_FILES = (INDICE, INDICE_FIRMA)  # the signed index for difusores (issue 30)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate_catalog(SEED, 0.01)


@pytest.fixture
def engine(pg_database: str, catalog: Catalog, tmp_path: Path) -> Iterator[Engine]:
    prepare_database(pg_database, catalog)
    corte = day_after(catalog, time(6, 0))
    write_states(pg_database, catalog, simulate(catalog, SEED, corte, pendientes=0.1),
                 tmp_path / "blobs")
    engine = make_engine(pg_database)
    yield engine
    engine.dispose()


def _corte(engine: Engine, tmp_path: Path) -> CorteHecho:
    return make_corte(engine, KEY, CorteSettings(tmp_path / "publicacion", tmp_path / "blobs"),
                      motivo=A_PEDIDO, actor="pruebas")


def _complete(directory: Path) -> list[str]:
    """What a reader finds missing in a published corte (nothing, if complete)."""
    if not (directory / MANIFEST).is_file() or not (directory / f"{MANIFEST}.sig").is_file():
        return [f"{directory.name}: sin manifiesto firmado"]
    lines = [ln for ln in (directory / MANIFEST).read_text(encoding="utf-8").splitlines()
             if not ln.startswith("#")]  # comments sha256sum skips (the audit chain's head)
    return [f"{directory.name}: falta {name}" for name in (ln.split("  ", 1)[1] for ln in lines)
            if not (directory / name).is_file()]


def test_a_reader_polling_never_sees_a_partial_corte(engine: Engine, tmp_path: Path) -> None:
    publicacion = tmp_path / "publicacion"
    publicacion.mkdir()
    seen: set[str] = set()
    problems: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        last = False
        while not last:
            last = stop.is_set()  # one more look after the last corte
            for entry in os.listdir(publicacion):
                if entry.startswith(".") or entry in ("latest.txt", TRANSPARENCIA,
                                                      *INDICE_FILES):
                    continue  # temporary directories are hidden, by contract
                # A reader resolves latest once, then reads that corte.
                path = publicacion / (os.readlink(publicacion / entry) if entry == "latest"
                                      else entry)
                try:
                    problems.extend(_complete(path))
                except FileNotFoundError:
                    problems.append(f"{entry}: desapareció mientras se leía")
                if entry != "latest":
                    seen.add(entry)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        hechos = [_corte(engine, tmp_path) for _ in range(3)]
    finally:
        stop.set()
        thread.join()
    assert problems == []
    names = [h.publicado.name for h in hechos]
    assert seen == set(names)
    # Cortes in the same minute never collide: the later ones take a suffix.
    base = names[0]
    assert names == sorted(names) and len(set(names)) == 3
    assert all(n == base or n.startswith(base + "_") or n > base for n in names)
    assert (publicacion / "latest").resolve() == (publicacion / names[-1]).resolve()
    assert (publicacion / "latest.txt").read_text() == names[-1] + "\n"
    assert not [e for e in os.listdir(publicacion) if e.startswith(".")]
    for name in names:
        result = verify_corte(publicacion / name)
        assert result.ok, result.report()


def test_same_minute_cortes_get_a_suffix_and_a_row_each(engine: Engine, tmp_path: Path) -> None:
    first, second = _corte(engine, tmp_path), _corte(engine, tmp_path)
    if first.publicado.name[:13] == second.publicado.name[:13]:
        assert second.publicado.name == first.publicado.name + "_2"
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT directorio, motivo, actas_capturadas "
                                    "FROM cortes ORDER BY id").all()
        events = conn.exec_driver_sql("SELECT detail->>'corte' FROM audit_log WHERE event = "
                                      "'corte_published' ORDER BY id").scalars().all()
    assert [r[0] for r in rows] == [first.publicado.name, second.publicado.name]
    assert {r[1] for r in rows} == {"a_pedido"}
    assert rows[0][2] == first.actas_capturadas > 0
    assert events == [first.publicado.name, second.publicado.name]


def test_images_are_published_by_their_hash(engine: Engine, tmp_path: Path) -> None:
    hecho = _corte(engine, tmp_path)
    images = sorted((hecho.publicado.path / "imagenes").iterdir())
    assert images and len(images) == hecho.publicado.imagenes
    for image in images:
        assert hashlib.sha256(image.read_bytes()).hexdigest() == image.stem
        assert image.suffix == ".png"
    # The next corte links the same files instead of copying them again.
    again = _corte(engine, tmp_path)
    first = images[0]
    assert (again.publicado.path / "imagenes" / first.name).stat().st_ino == first.stat().st_ino


def _valores(catalog: Catalog, clave: str, delta: int = 0) -> dict[str, int]:
    acta = catalog.acta(clave)
    assert acta is not None
    return {c: 10 + delta for c in acta.layout.campos}


def _validate(dsn: str, blobs: Path, clave: str, valores: dict[str, int],
              version: int = 1, fuente: str = "captura") -> str:
    """Give ``clave`` new validated data made on a new image (as ingest would), by two
    matching captures or (``fuente="verificacion"``) by a verificador."""
    data = image_bytes(clave, version)
    sha = hashlib.sha256(data).hexdigest()
    (blobs / sha[:2]).mkdir(exist_ok=True)
    (blobs / sha[:2] / sha[2:]).write_bytes(data)
    now = datetime.now(UTC)
    with psycopg.connect(dsn) as conn:
        image = conn.execute(
            "INSERT INTO acta_images (record_id, clave_acta, position, sha256, bytes, "
            "media_type, origen, digitalizacion, station, operator, at, received_at) "
            "VALUES (gen_random_uuid(), %s, 9, %s, %s, 'image/png', 'CATD', 'Escáner', "
            "'st', 'op', %s, %s) RETURNING record_id",
            (clave, sha, len(data), now, now)).fetchone()
        assert image is not None
        conn.execute(
            "UPDATE acta_states SET estado = 'validada', sin_acta_causa = NULL, "
            "sin_acta_record = NULL, validada_fuente = %s, "
            "validada_record = gen_random_uuid(), validada_at = %s, "
            "validada_received_at = %s, validada_valores = %s, validada_imagen = %s, "
            "validada_origen = 'CATD', validada_digitalizacion = 'Escáner', "
            "acopio_at = coalesce(acopio_at, %s) WHERE clave_acta = %s",
            (fuente, now, now, Jsonb(valores), image[0], now, clave))
    return sha


def test_the_difference_from_the_previous_corte_says_what_changed_and_why(
        engine: Engine, pg_database: str, catalog: Catalog, tmp_path: Path) -> None:
    first = _corte(engine, tmp_path)
    eleccion = catalog.elecciones[0]
    csv_name = f"{slug(eleccion.nombre)}.csv"
    rows = {r["CLAVE_ACTA"].strip("'"): r for r in read_eleccion_csv(
        (first.publicado.path / csv_name).read_bytes()).filas if not es_fuera(r)}
    initial = json.loads((first.publicado.path / "diferencias.json").read_bytes())
    assert initial["corte_anterior"] is None
    assert len(initial["elecciones"][eleccion.nombre]["agregadas"]) == sum(
        1 for c, r in rows.items() if c != "-" and r["CONTABILIZADA"] != "-")

    pendiente = next(c for c, r in rows.items() if c != "-" and r["CONTABILIZADA"] == "-")
    sin_acta = next(c for c, r in rows.items() if r["OBSERVACIONES"].startswith("Sin Acta"))
    normal = [c for c, r in rows.items() if r["OBSERVACIONES"] == "-"
              and r["CONTABILIZADA"] == "1"]
    corregida, reimagen, verificada = normal[0], normal[1], normal[2]
    blobs = tmp_path / "blobs"
    _validate(pg_database, blobs, pendiente, _valores(catalog, pendiente))
    _validate(pg_database, blobs, sin_acta, _valores(catalog, sin_acta))
    with psycopg.connect(pg_database) as conn:
        conn.execute("UPDATE acta_states SET validada_valores = jsonb_set(validada_valores, "
                     "'{NULOS}', to_jsonb((validada_valores->>'NULOS')::int + 1)) "
                     "WHERE clave_acta = %s", (corregida,))
        [valores] = conn.execute("SELECT validada_valores FROM acta_states WHERE "
                                 "clave_acta = %s", (reimagen,)).fetchone() or (None,)
    new_sha = _validate(pg_database, blobs, reimagen, valores, version=2)
    # Another image whose captures disagreed: a verificador decided other values.
    _validate(pg_database, blobs, verificada, _valores(catalog, verificada, 1), version=2,
              fuente="verificacion")

    second = _corte(engine, tmp_path)
    diff = json.loads((second.publicado.path / "diferencias.json").read_bytes())
    assert diff["corte_anterior"] == first.publicado.name
    changes = diff["elecciones"][eleccion.nombre]
    assert changes["agregadas"] == [pendiente]
    assert changes["retiradas"] == []
    modificadas = {m["clave_acta"]: m for m in changes["modificadas"]}
    assert set(modificadas) == {sin_acta, corregida, reimagen, verificada}
    assert modificadas[sin_acta]["motivo"] == "llegó el acta después de registrarse sin acta"
    assert modificadas[corregida]["motivo"] == "se corrigieron los datos capturados"
    nulos = int(rows[corregida]["NULOS"])
    assert modificadas[corregida]["cambios"]["NULOS"] == [str(nulos), str(nulos + 1)]
    # Validated again by two matching captures: FECHA_HORA_VERIFICACION changes (every
    # validated acta has one), yet no verificador was involved.
    assert modificadas[reimagen]["motivo"] == "se publica otra imagen del acta"
    assert modificadas[reimagen]["cambios"]["CODIGO_INTEGRIDAD"] == [
        rows[reimagen]["CODIGO_INTEGRIDAD"], new_sha]
    assert "FECHA_HORA_VERIFICACION" in modificadas[reimagen]["cambios"]
    assert modificadas[verificada]["motivo"] == (
        "se publica otra imagen del acta; se corrigieron los datos capturados; "
        "el acta pasó por verificación")
    for other in catalog.elecciones[1:]:
        assert diff["elecciones"][other.nombre]["modificadas"] == []
        assert diff["elecciones"][other.nombre]["agregadas"] == []
    assert verify_corte(second.publicado.path).ok


def test_a_missing_or_damaged_image_publishes_nothing(
        engine: Engine, pg_database: str, catalog: Catalog, tmp_path: Path) -> None:
    first = _corte(engine, tmp_path)
    blobs = tmp_path / "blobs"
    with engine.connect() as conn:
        clave = conn.exec_driver_sql("SELECT clave_acta FROM acta_states WHERE estado = "
                                     "'validada' LIMIT 1").scalar_one()
    sha = _validate(pg_database, blobs, clave, _valores(catalog, clave), version=3)
    blob = blobs / sha[:2] / sha[2:]
    blob.write_bytes(b"no es la imagen")
    with pytest.raises(CorteError, match="no coincide con su SHA-256"):
        _corte(engine, tmp_path)
    blob.unlink()
    with pytest.raises(CorteError, match="falta la imagen"):
        _corte(engine, tmp_path)
    publicacion = tmp_path / "publicacion"
    assert sorted(e for e in os.listdir(publicacion) if not e.startswith("latest")
                  and e not in (TRANSPARENCIA, *INDICE_FILES)) == [
        first.publicado.name]
    assert (publicacion / "latest").resolve() == first.publicado.path.resolve()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM cortes").scalar_one() == 1
        reasons = conn.exec_driver_sql("SELECT detail->>'reason' FROM audit_log WHERE "
                                       "event = 'corte_failed' ORDER BY id").scalars().all()
    assert len(reasons) == 2 and sha in reasons[0] and sha in reasons[1]
    assert image_sha256(clave, 3) == sha



def test_cortes_back_to_back_never_claim_the_same_second(engine: Engine,
                                                          tmp_path: Path) -> None:
    """Line 2 gives a corte's time to the second (issue 61): cortes made one right after
    another (a small one takes a fraction of a second) each claim a second of their own,
    in the CSVs' line 2 and in the table."""
    cortes = [_corte(engine, tmp_path) for _ in range(3)]
    lineas = [(c.publicado.path / "JEFATURA_DE_GOBIERNO.csv").read_bytes()
              .decode("utf-8-sig").split("\r\n")[1] for c in cortes]
    assert len(set(lineas)) == 3, lineas
    with Session(engine) as session:
        segundos = [at.replace(microsecond=0) for at in session.scalars(
            select(CorteRow.corte_at).order_by(CorteRow.id))]
    assert segundos == sorted(set(segundos)), segundos
