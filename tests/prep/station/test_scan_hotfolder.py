"""The scanner's hot folder over a real station store: a file written slowly in chunks
is not taken until complete; a truncated file, a blank page and a wrong QR end in
``rechazadas/`` with their reason; a good scan ends in ``procesadas/`` as an ``imagen``
record holding the very bytes the scanner wrote; and nothing breaks when files vanish.
Whatever is not a plain image of its type is rejected at once, and links planted in the
folder are never followed (issue 36)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from prep.catalog import Catalog
from prep.sintetico.acta_image import blank_page
from prep.station.scan.hotfolder import PROCESADAS
from prep.station.scan.hotfolder import RECHAZADAS
from prep.station.scan.hotfolder import Disposition
from prep.station.scan.hotfolder import HotFileResult
from prep.station.scan.hotfolder import HotFolder
from prep.station.scan.hotfolder import HotFolderOptions
from prep.station.scan.hotfolder import UnsafeFolder
from prep.station.scan.service import DigitalizacionResult
from prep.station.scan.service import DigitalizacionService
from prep.station.station import Station
from tests.prep.station.scan_support import acta_jpeg
from tests.prep.station.scan_support import nth_acta
from tests.prep.station.scan_support import station_with_catalog
from tests.prep.station.support import offline_station

pytestmark = pytest.mark.rapido

OPTIONS = HotFolderOptions(stable_seconds=2.0, poll_seconds=0.05,
                           unreadable_grace_seconds=10.0, retry_seconds=5.0)


class ManualClock:
    """The hot folder's clock, moved by the test (stability is about time passing)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def station(tmp_path: Path, small: Catalog) -> Iterator[Station]:
    with station_with_catalog(tmp_path / "estacion", small) as s:
        yield s


def _inbox(tmp_path: Path) -> tuple[Path, ManualClock]:
    """The scanner's folder, empty, and the clock its hot folder will read."""
    inbox = tmp_path / "escaner"
    inbox.mkdir()
    return inbox, ManualClock()


def _folder(station: Station, inbox: Path, clock: ManualClock,
            options: HotFolderOptions = OPTIONS) -> HotFolder:
    service = DigitalizacionService(station, "dora")
    folder = service.hot_folder(inbox, options=options)
    folder.clock = clock
    return folder


def _poll_at(folder: HotFolder, clock: ManualClock, t: float) -> list[HotFileResult]:
    clock.now = 1000.0 + t
    return folder.poll()


def test_a_file_written_slowly_is_taken_only_once_complete(
        station: Station, small: Catalog, tmp_path: Path) -> None:
    acta = nth_acta(small, 2)
    station.acopio(acta.clave, "ana")
    data = acta_jpeg(acta)
    inbox, clock = _inbox(tmp_path)
    folder = _folder(station, inbox, clock)
    target = inbox / "scan0001.jpg"
    chunks = [data[i:i + len(data) // 4 + 1] for i in range(0, len(data), len(data) // 4 + 1)]
    t = 0.0
    with target.open("wb") as f:
        for chunk in chunks[:-1]:
            f.write(chunk)
            f.flush()
            # The writer pauses longer than the stability interval: the partial file is
            # stable but does not decode, so it is left alone (within the grace).
            for _ in range(3):
                assert _poll_at(folder, clock, t) == []
                t += 1.5
            assert target.exists()
            assert station.store.kinds_for(acta.clave) == ["acopio"]
        f.write(chunks[-1])
    results = _poll_at(folder, clock, t) + _poll_at(folder, clock, t + 2.5)
    assert [(r.name, r.disposition) for r in results] == [("scan0001.jpg",
                                                            Disposition.PROCESADA)]
    assert results[0].path == inbox / PROCESADAS / "scan0001.jpg"
    assert results[0].path.read_bytes() == data and not target.exists()
    detail = results[0].detail
    assert isinstance(detail, DigitalizacionResult) and detail.record is not None
    assert station.store.kinds_for(acta.clave) == ["acopio", "imagen"]
    assert station.blobs.read(str(detail.record.body["sha256"])) == data


@pytest.mark.parametrize(("name", "make", "reason"), [
    ("truncada.jpg", lambda a: acta_jpeg(a)[:120_000], "incompleta"),
    ("blanco.jpg", lambda a: blank_page(), "en blanco"),
    ("otro-qr.jpg", lambda a: acta_jpeg(a, qr_text="WIFI:S:cafe;T:WPA;P:1234;;"),
     "no es el de un acta"),
    ("notas.txt", lambda a: b"no es una imagen", "JPEG, PNG ni TIFF"),
])
def test_bad_files_are_rejected_with_their_reason(station: Station, small: Catalog,
                                                  tmp_path: Path, name: str, make: object,
                                                  reason: str) -> None:
    acta = nth_acta(small, 3)
    inbox, clock = _inbox(tmp_path)
    data = make(acta)  # type: ignore[operator]
    (inbox / name).write_bytes(data)
    folder = _folder(station, inbox, clock)
    results = [r for t in (0, 2.5, 5, 8, 11, 14) for r in _poll_at(folder, clock, t)]
    assert [(r.name, r.disposition) for r in results] == [(name, Disposition.RECHAZADA)]
    moved = inbox / RECHAZADAS / name
    assert results[0].path == moved and moved.read_bytes() == data
    motivo = (inbox / RECHAZADAS / f"{name}.motivo.txt").read_text(encoding="utf-8")
    assert reason in motivo and reason in results[0].mensaje
    assert station.store.counts() == (0, 0)


def test_a_truncated_file_waits_for_the_grace_before_rejection(
        station: Station, small: Catalog, tmp_path: Path) -> None:
    inbox, clock = _inbox(tmp_path)
    (inbox / "a.jpg").write_bytes(acta_jpeg(nth_acta(small, 1))[:100_000])
    folder = _folder(station, inbox, clock)
    assert _poll_at(folder, clock, 0) == [] and _poll_at(folder, clock, 9) == []
    assert (inbox / "a.jpg").exists()
    assert [r.disposition for r in _poll_at(folder, clock, 10.5)] == [Disposition.RECHAZADA]


def test_a_reused_scanner_file_name_keeps_both_files(station: Station, small: Catalog,
                                                     tmp_path: Path) -> None:
    inbox, clock = _inbox(tmp_path)
    folder = _folder(station, inbox, clock)
    for i, n in enumerate((4, 5)):
        (inbox / "scan.jpg").write_bytes(acta_jpeg(nth_acta(small, n)))
        _poll_at(folder, clock, 10 * i)
        assert len(_poll_at(folder, clock, 10 * i + 3)) == 1
    assert sorted(p.name for p in (inbox / PROCESADAS).iterdir()) == ["scan-1.jpg", "scan.jpg"]


def test_vanishing_temporary_and_oversized_files(station: Station, small: Catalog,
                                                 tmp_path: Path) -> None:
    inbox, clock = _inbox(tmp_path)
    folder = _folder(station, inbox, clock, HotFolderOptions(stable_seconds=2,
                                                             max_bytes=50_000))
    (inbox / "se-va.jpg").write_bytes(b"\xff\xd8\xff" + bytes(100))
    (inbox / ".oculto.jpg").write_bytes(b"x")
    (inbox / "escaneando.jpg.part").write_bytes(b"x")
    (inbox / "enorme.jpg").write_bytes(acta_jpeg(nth_acta(small, 1)))
    assert _poll_at(folder, clock, 0) == []
    (inbox / "se-va.jpg").unlink()
    results = _poll_at(folder, clock, 3)
    assert [(r.name, r.disposition) for r in results] == [("enorme.jpg",
                                                           Disposition.RECHAZADA)]
    assert "MiB y el máximo es" in results[0].mensaje
    assert sorted(p.name for p in inbox.iterdir()) == [".oculto.jpg", "escaneando.jpg.part",
                                                       PROCESADAS, RECHAZADAS]


def test_without_a_catalog_the_file_stays_and_is_retried(small: Catalog,
                                                        tmp_path: Path) -> None:
    inbox, clock = _inbox(tmp_path)
    (inbox / "a.jpg").write_bytes(acta_jpeg(nth_acta(small, 1)))
    with offline_station(tmp_path / "sin-catalogo") as station:
        folder = _folder(station, inbox, clock)
        _poll_at(folder, clock, 0)
        results = _poll_at(folder, clock, 3)
        assert [r.disposition for r in results] == [Disposition.REINTENTAR]
        assert "aún no tiene el catálogo" in results[0].mensaje
        assert _poll_at(folder, clock, 4) == []  # not before retry_seconds
        assert [r.disposition for r in _poll_at(folder, clock, 8.5)] == [Disposition.REINTENTAR]
    assert (inbox / "a.jpg").exists()


def test_running_in_a_thread_reports_each_file(station: Station, small: Catalog,
                                               tmp_path: Path) -> None:
    acta = nth_acta(small, 7)
    inbox = tmp_path / "escaner"
    got: list[HotFileResult] = []
    arrived = threading.Event()

    def on_result(result: HotFileResult) -> None:
        got.append(result)
        arrived.set()

    service = DigitalizacionService(station, "dora")
    folder = service.hot_folder(inbox, on_result, HotFolderOptions(stable_seconds=0.2,
                                                                   poll_seconds=0.05))
    folder.start()
    try:
        (inbox / "acta.jpg").write_bytes(acta_jpeg(acta))
        assert arrived.wait(30)
    finally:
        folder.stop()
    assert [(r.name, r.disposition) for r in got] == [("acta.jpg", Disposition.PROCESADA)]
    assert station.store.kinds_for(acta.clave) == ["imagen"]


# issue 36: what is not a plain image of its type, and links planted in the folder -----

HTML = b"<html><script>alert(document.domain)</script></html>"


@pytest.mark.parametrize(("name", "make", "words"), [
    ("cola.png", lambda a: acta_jpeg(a, image_format="PNG") + HTML,
     "de otro contenido pegados después de su fin"),
    ("cola.jpg", lambda a: acta_jpeg(a) + HTML, "de otro contenido pegados después de su fin"),
    ("disfrazada.png", lambda a: acta_jpeg(a),
     "se presenta como una imagen PNG pero su contenido es JPEG"),
])
def test_an_image_with_a_tail_or_the_wrong_extension_is_rejected_at_once(
        station: Station, small: Catalog, tmp_path: Path, name: str, make: object,
        words: str) -> None:
    """The operator learns on the first look (no grace: the file is whole, just wrong),
    and nothing is stored that the central would refuse."""
    acta = nth_acta(small, 3)
    inbox, clock = _inbox(tmp_path)
    data = make(acta)  # type: ignore[operator]
    (inbox / name).write_bytes(data)
    folder = _folder(station, inbox, clock)
    results = _poll_at(folder, clock, 0) + _poll_at(folder, clock, 2.5)
    assert [(r.name, r.disposition) for r in results] == [(name, Disposition.RECHAZADA)]
    assert words in results[0].mensaje and "vuelva a digitalizar" in results[0].mensaje
    assert (inbox / RECHAZADAS / name).read_bytes() == data
    assert words in (inbox / RECHAZADAS / f"{name}.motivo.txt").read_text("utf-8")
    assert station.store.counts() == (0, 0)


def test_a_link_planted_as_a_reason_file_is_never_written_through(
        station: Station, small: Catalog, tmp_path: Path) -> None:
    inbox, clock = tmp_path / "escaner", ManualClock()
    (inbox / RECHAZADAS).mkdir(parents=True)
    victim = tmp_path / "config-de-la-estacion.toml"
    victim.write_text("no tocar\n")
    (inbox / RECHAZADAS / "malo.jpg.motivo.txt").symlink_to(victim)
    (inbox / "malo.jpg").write_bytes(b"no es una imagen")
    folder = _folder(station, inbox, clock)
    results = _poll_at(folder, clock, 0) + _poll_at(folder, clock, 11)
    assert [r.disposition for r in results] == [Disposition.RECHAZADA]
    assert victim.read_text() == "no tocar\n"
    assert (inbox / RECHAZADAS / "malo.jpg.motivo.txt").is_symlink()  # left as it was
    # The file and its reason went to a name that had neither.
    assert results[0].path == inbox / RECHAZADAS / "malo-1.jpg"
    assert "JPEG, PNG ni TIFF" in (inbox / RECHAZADAS / "malo-1.jpg.motivo.txt").read_text(
        "utf-8")


def test_a_link_in_the_folder_is_reported_once_and_never_followed(
        station: Station, small: Catalog, tmp_path: Path) -> None:
    acta = nth_acta(small, 4)
    outside = tmp_path / "fuera" / "acta.jpg"
    outside.parent.mkdir()
    data = acta_jpeg(acta)
    outside.write_bytes(data)
    inbox, clock = _inbox(tmp_path)
    (inbox / "enlace.jpg").symlink_to(outside)
    folder = _folder(station, inbox, clock)
    results = [r for t in (0, 2.5, 5, 20) for r in _poll_at(folder, clock, t)]
    assert [(r.name, r.disposition, r.path) for r in results] == [
        ("enlace.jpg", Disposition.RECHAZADA, None)]
    assert "enlace simbólico" in results[0].mensaje
    assert (inbox / "enlace.jpg").is_symlink() and outside.read_bytes() == data
    assert station.store.counts() == (0, 0)  # the image it points at was not taken


@pytest.mark.parametrize("subdir", [RECHAZADAS, PROCESADAS])
def test_a_linked_or_foreign_subfolder_is_refused_and_nothing_moves(
        station: Station, small: Catalog, tmp_path: Path, subdir: str) -> None:
    elsewhere = tmp_path / "otra-carpeta"
    elsewhere.mkdir()
    inbox, clock = _inbox(tmp_path)
    (inbox / subdir).symlink_to(elsewhere, target_is_directory=True)
    (inbox / "malo.jpg").write_bytes(b"no es una imagen")
    folder = _folder(station, inbox, clock)
    for t in (0, 11):
        with pytest.raises(UnsafeFolder, match=f"«{subdir}» es un enlace simbólico"):
            _poll_at(folder, clock, t)
    assert (inbox / "malo.jpg").exists() and list(elsewhere.iterdir()) == []
    (inbox / subdir).unlink()
    (inbox / subdir).write_text("un archivo")
    with pytest.raises(UnsafeFolder, match="no es una carpeta"):
        _poll_at(folder, clock, 20)
