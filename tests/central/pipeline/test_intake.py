"""PREP Casilla intake at the central (``prep central import-casilla``): photos of actas
named by their QR or their file name become image records of the intake station and
go through the pipeline; every bad file ends in quarantine with its reason and an
anomaly; an acta that also came from its CATD is processed once with both images."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from prep.catalog import Acta
from prep.catalog import Catalog
from prep.sintetico.acta_image import ActaImageOptions
from prep.sintetico.acta_image import blank_page
from prep.sintetico.acta_image import render_acta_image
from prep.station.ccv import fetch_intake
from prep.station.errors import SyncError
from prep.station.station import Station
from tests.central.station import central_cli
from tests.central.station import query
from tests.harness.central import CentralNode
from tests.harness.central import running_central
from tests.harness.espera import esperar
from tests.harness.espera import holgado
from tests.harness.work import WorkStation
from tests.harness.work import add_operators
from tests.harness.work import load_catalog
from tests.harness.work import truth


def _photo(acta: Acta, **options: Any) -> bytes:
    return render_acta_image(acta, truth(acta), ActaImageOptions(photo=True, **options))


def _run(node: CentralNode, *args: str) -> dict[str, Any]:
    done = central_cli(node, "import-casilla", *args)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def _anomalies(node: CentralNode) -> dict[str, str]:
    return {d["archivo"]: d["motivo"] for (d,) in query(
        node.dsn, "SELECT detail FROM anomalies WHERE type = 'casilla_rechazada'")}


@pytest.fixture
def catalog(central_node: CentralNode) -> Catalog:
    return load_catalog(central_node)


def test_a_directory_of_good_and_bad_files(central_node: CentralNode, catalog: Catalog,
                                           tmp_path: Path) -> None:
    node = central_node
    actas = list(catalog.iter_actas())
    inbox = tmp_path / "casilla"
    inbox.mkdir()
    good, by_name, other = actas[0], actas[1], actas[2]
    files = {
        "foto-1.jpg": _photo(good),
        # The QR did not survive the photo: the CLAVE_ACTA in the name says which acta.
        f"{by_name.clave}.jpg": _photo(by_name, qr_text=""),
        "otra-vez.jpg": _photo(good),  # the very same bytes again
        "notas.txt": b"no es una imagen",
        "cortada.jpg": _photo(other)[:5000],
        "en-blanco.png": blank_page(ActaImageOptions(image_format="PNG")),
        "sin-qr.jpg": _photo(other, qr_text=""),
        "acta-ajena.jpg": _photo(other, qr_text="09|999|2|9999|01|B|00|1"),
        "090999X999999.jpg": _photo(other, qr_text=""),  # a clave not in the catalog
    }
    for name, data in files.items():
        (inbox / name).write_bytes(data)

    counts = _run(node, str(inbox))

    assert counts["recibidas"] == len(files)
    assert counts["aceptadas"] == 2
    rejected = {"otra-vez.jpg": "duplicado", "notas.txt": "tipo_no_admitido",
                "cortada.jpg": "incompleta", "en-blanco.png": "en_blanco",
                "sin-qr.jpg": "sin_qr", "acta-ajena.jpg": "acta_desconocida",
                "090999X999999.jpg": "sin_qr"}
    assert _anomalies(node) == rejected
    assert sorted(p.name for p in (inbox / "procesadas").iterdir()) == sorted(
        ["foto-1.jpg", f"{by_name.clave}.jpg"])
    quarantine = inbox / "rechazadas"
    for name in rejected:
        assert (quarantine / name).read_bytes() == files[name]  # kept as they came
        assert (quarantine / f"{name}.motivo.txt").read_text("utf-8").strip()
    assert "renómbrela con la CLAVE_ACTA" in (quarantine / "sin-qr.jpg.motivo.txt").read_text(
        "utf-8")
    for name in rejected:  # photos from a phone: no scanner to adjust
        reason = (quarantine / f"{name}.motivo.txt").read_text("utf-8")
        assert "escáner" not in reason and "digitalizar" not in reason, (name, reason)
    assert "pida al CAE" in (quarantine / "en-blanco.png.motivo.txt").read_text("utf-8")
    assert list(inbox.glob("*.*")) == []  # nothing left behind, nothing dropped

    images = query(node.dsn, "SELECT clave_acta, origen, digitalizacion, sha256 FROM "
                   "acta_images ORDER BY clave_acta")
    assert sorted(images) == sorted([
        (good.clave, "CASILLA", "Móvil", hashlib.sha256(files["foto-1.jpg"]).hexdigest()),
        (by_name.clave, "CASILLA", "Móvil",
         hashlib.sha256(files[f"{by_name.clave}.jpg"]).hexdigest())])
    assert dict(query(node.dsn, "SELECT clave_acta, estado FROM acta_states WHERE "
                      "estado <> 'esperada'")) == {good.clave: "digitalizada",
                                                   by_name.clave: "digitalizada"}
    # The bytes stored are the file's bytes.
    sha = hashlib.sha256(files["foto-1.jpg"]).hexdigest()
    assert (node.data_dir / "blobs" / sha[:2] / sha[2:]).read_bytes() == files["foto-1.jpg"]
    assert query(node.dsn, "SELECT role, sitio, hostname FROM stations") == [
        ("ccv", "CCV", "import-casilla")]

    # A second run enrolls nothing new and chains on.
    (inbox / "foto-2.jpg").write_bytes(_photo(other))
    assert _run(node, str(inbox))["aceptadas"] == 1
    assert query(node.dsn, "SELECT count(*), max(last_batch) FROM stations") == [(1, 3)]
    assert central_cli(node, "rebuild-state", "--check").returncode == 0

    # The CCV's panel reads the same numbers from the central; a CATD may not ask.
    ccv = Station.open(tmp_path / "ccv")
    ccv.enroll(node.url, node.enroll_code(None, "ccv"), node.cert_sha256)
    counts = fetch_intake(ccv)
    assert (counts.recibidas, counts.aceptadas, counts.en_captura, counts.validadas) == (
        len(files) + 1, 3, 3, 0)
    assert counts.rechazadas == {m: list(rejected.values()).count(m)
                                 for m in set(rejected.values())}
    catd = Station.open(tmp_path / "catd")
    catd.enroll(node.url, node.enroll_code(1), node.cert_sha256)
    with pytest.raises(SyncError, match="solo para los equipos del CCV"):
        fetch_intake(catd)
    ccv.close()
    catd.close()


def test_an_acta_from_a_casilla_and_its_catd_is_processed_once(
        central_node: CentralNode, catalog: Catalog, tmp_path: Path) -> None:
    node = central_node
    first_catd, first_casilla = [a for a in catalog.iter_actas()
                                 if a.casilla.distrito_id == 1][:2]
    ana, beto = add_operators(node, [("Ana Casilla", "capturista", "01"),
                                     ("Beto Casilla", "capturista", "01")])
    inbox = tmp_path / "casilla"
    inbox.mkdir()
    (inbox / "a.jpg").write_bytes(_photo(first_casilla))

    async def catd_first() -> None:
        async with WorkStation.enroll(node, 1) as station:
            await station.digitize([first_catd])
    asyncio.run(catd_first())
    assert _run(node, str(inbox))["aceptadas"] == 1  # the photo of the other one first
    shutil.rmtree(inbox)
    inbox.mkdir()
    (inbox / "b.jpg").write_bytes(_photo(first_catd))  # the CATD's acta, from its casilla
    assert _run(node, str(inbox))["aceptadas"] == 1

    async def catd_later_and_capture() -> None:
        # Two stations of CATD 01: an acta's two captures never come from one station.
        async with WorkStation.enroll(node, 1) as station, \
                WorkStation.enroll(node, 1) as neighbour:
            await station.digitize([first_casilla])  # its CATD scan arrives later
            for operator, capturing in ((ana, station), (beto, neighbour)):
                for lease in await capturing.next(operator, prefetch=5):
                    acta = first_catd if lease["clave_acta"] == first_catd.clave \
                        else first_casilla
                    await capturing.capture(operator, lease, truth(acta))
    asyncio.run(catd_later_and_capture())

    rows = query(node.dsn, "SELECT clave_acta, position, origen FROM acta_images "
                 "ORDER BY clave_acta, position")
    assert sorted(rows) == sorted([(first_catd.clave, 1, "CATD"),
                                   (first_catd.clave, 2, "CASILLA"),
                                   (first_casilla.clave, 1, "CASILLA"),
                                   (first_casilla.clave, 2, "CATD")])
    published = dict((c, (e, o)) for c, e, o in query(
        node.dsn, "SELECT clave_acta, estado, validada_origen FROM acta_states WHERE "
        "clave_acta = ANY(%s)", [first_catd.clave, first_casilla.clave]))
    assert published == {first_catd.clave: ("validada", "CATD"),
                         first_casilla.clave: ("validada", "CASILLA")}
    assert query(node.dsn, "SELECT count(*) FROM acta_captures") == [(4,)]  # 2 per acta
    assert central_cli(node, "rebuild-state", "--check").returncode == 0


def test_a_watched_directory_takes_files_as_they_arrive(pg_dsn: str, tmp_path: Path) -> None:
    with running_central(tmp_path / "central", pg_dsn) as node:
        catalog = load_catalog(node)
        acta = next(iter(catalog.iter_actas()))
        inbox = tmp_path / "casilla"
        inbox.mkdir()
        watcher = subprocess.Popen(
            [sys.executable, "-m", "prep", "central", "import-casilla", str(inbox), "--watch",
             "--poll", "0.1", "--stable", "0.3", "--data-dir", str(node.data_dir),
             "--dsn", node.dsn], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert watcher.stdout is not None
            assert json.loads(watcher.stdout.readline()) == {"vigilando": str(inbox)}
            data = _photo(acta)
            with (inbox / "llegando.jpg").open("wb") as f:  # written slowly, in halves
                f.write(data[:len(data) // 2])
                f.flush()
                time.sleep(0.6)
                assert not (inbox / "procesadas").exists() or not list(
                    (inbox / "procesadas").iterdir())
                f.write(data[len(data) // 2:])
            esperar(lambda: query(node.dsn, "SELECT 1 FROM acta_images WHERE clave_acta = %s",
                                  acta.clave), holgado(60),
                    "la imagen, completa, no llegó al nodo central", cada_s=0.1)
            assert (inbox / "procesadas" / "llegando.jpg").read_bytes() == data
        finally:
            watcher.terminate()
            out, err = watcher.communicate(timeout=30)
        assert watcher.returncode == 0, err
        assert json.loads(out.splitlines()[-1])["aceptadas"] == 1
        assert "Acta " + acta.clave in err


def test_non_images_and_planted_links_never_get_through_nor_written_through(
        central_node: CentralNode, catalog: Catalog, tmp_path: Path) -> None:
    """Issue 36: a PNG carrying an HTML page, a JPEG named .png, a link to a photo
    elsewhere and a link planted where a reason file goes: each refused or left alone,
    with its reason and anomaly, and nothing outside the folder read or written."""
    node = central_node
    good, tailed, renamed, linked = list(catalog.iter_actas())[:4]
    inbox = tmp_path / "casilla"
    (inbox / "rechazadas").mkdir(parents=True)
    victim = tmp_path / "postgresql.conf"
    victim.write_text("listen_addresses = 'localhost'\n")
    (inbox / "rechazadas" / "cola.png.motivo.txt").symlink_to(victim)
    outside = tmp_path / "fuera" / "foto.jpg"
    outside.parent.mkdir()
    outside.write_bytes(_photo(linked))
    (inbox / "enlace.jpg").symlink_to(outside)
    files = {"buena.jpg": _photo(good),
             "cola.png": render_acta_image(tailed, truth(tailed), ActaImageOptions(
                 image_format="PNG")) + b"<html><script>alert(1)</script></html>",
             "disfrazada.png": _photo(renamed)}
    for name, data in files.items():
        (inbox / name).write_bytes(data)

    counts = _run(node, str(inbox))

    assert (counts["recibidas"], counts["aceptadas"]) == (4, 1)
    assert _anomalies(node) == {"cola.png": "datos_anexos",
                                "disfrazada.png": "tipo_no_coincide",
                                "enlace.jpg": "enlace_simbolico"}
    assert victim.read_text() == "listen_addresses = 'localhost'\n"
    quarantine = inbox / "rechazadas"
    assert (quarantine / "cola.png.motivo.txt").is_symlink()
    assert (quarantine / "cola-1.png").read_bytes() == files["cola.png"]
    reason = (quarantine / "cola-1.png.motivo.txt").read_text("utf-8")
    assert "de otro contenido pegados después de su fin" in reason and "PREP Casilla" in reason
    assert "se presenta como una imagen PNG pero su contenido es JPEG" in (
        quarantine / "disfrazada.png.motivo.txt").read_text("utf-8")
    assert (inbox / "enlace.jpg").is_symlink() and outside.read_bytes() == _photo(linked)
    # Only the good photo is an image of an acta, stored byte for byte.
    sha = hashlib.sha256(files["buena.jpg"]).hexdigest()
    assert query(node.dsn, "SELECT clave_acta, sha256 FROM acta_images") == [(good.clave, sha)]
    assert (node.data_dir / "blobs" / sha[:2] / sha[2:]).read_bytes() == files["buena.jpg"]

    # A quarantine that is itself a link is refused before any file is taken.
    second = tmp_path / "casilla-2"
    second.mkdir()
    elsewhere = tmp_path / "otra"
    elsewhere.mkdir()
    (second / "rechazadas").symlink_to(elsewhere, target_is_directory=True)
    (second / "notas.txt").write_text("no es una imagen")
    done = central_cli(node, "import-casilla", str(second))
    assert done.returncode == 2
    assert "«rechazadas» es un enlace simbólico" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert (second / "notas.txt").exists() and list(elsewhere.iterdir()) == []


def test_file_names_that_are_not_utf8(central_node: CentralNode, catalog: Catalog,
                                      tmp_path: Path) -> None:
    """A phone or a USB stick may name a file in another encoding (Latin-1 «ñ» is the
    byte 0xF1): the file is taken or refused like any other, its rejection stored with
    the name readable, and nothing is left behind."""
    node = central_node
    acta = next(iter(catalog.iter_actas()))
    inbox = tmp_path / "casilla"
    inbox.mkdir()
    good, bad = os.fsdecode(b"foto-compa\xf1ero.jpg"), os.fsdecode(b"notas-a\xf1o.txt")
    (inbox / good).write_bytes(_photo(acta))
    (inbox / bad).write_bytes(b"no es una imagen")

    counts = _run(node, str(inbox))

    assert (counts["recibidas"], counts["aceptadas"]) == (2, 1)
    assert list(_anomalies(node).values()) == ["tipo_no_admitido"]
    [archivo] = _anomalies(node)
    assert archivo.startswith("notas-a") and archivo.endswith("o.txt")
    assert os.listdir(os.fsencode(inbox / "procesadas")) == [os.fsencode(good)]
    assert sorted(os.listdir(os.fsencode(inbox / "rechazadas"))) == sorted(
        [os.fsencode(bad), os.fsencode(bad) + b".motivo.txt"])
    assert list(inbox.glob("*.*")) == []
