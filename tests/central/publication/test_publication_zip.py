"""The corte's zip made while HISTORIAL.csv is written is the very file made from the
finished files (central.publication.zip_corte)."""

from __future__ import annotations

import hashlib
import random
import threading
import zipfile
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest

from central.publication import zip_corte
from central.publication.zip_corte import ZipConHistorial
from central.publication.zip_corte import write_zip

pytestmark = pytest.mark.rapido

CORTE = datetime(2027, 6, 7, 14, 5, tzinfo=UTC)


def _files(rng: random.Random) -> dict[str, bytes]:
    def texto(n: int) -> bytes:
        return "".join(rng.choice("0123456789,'-ABCáé\r\n") for _ in range(n)).encode()
    return {"ALCALDIAS.csv": texto(5_000), "AVANCE_CATD.csv": texto(300),
            "JEFATURA_DE_GOBIERNO.csv": texto(7_000), "LEEME.txt": texto(900),
            "ZZZ_CANDIDATURAS.csv": texto(200), "llave_publica.pem": b"no va en el zip"}


def _streamed(tmp: Path, files: dict[str, bytes], historial: bytes,
              rng: random.Random, agregados: frozenset[str] = frozenset(),
              en_partes: frozenset[str] = frozenset()) -> bytes:
    """The zip made as a corte makes it; ``agregados``: the members given as soon as
    they are made (``agregar``), ``en_partes`` piece by piece (``abrir``), both
    written beside the history, their bytes not kept."""
    on_disk = tmp / "HISTORIAL.csv"
    path = tmp / "streamed.zip"
    zipped = ZipConHistorial(path, {n: d for n, d in files.items()
                                    if n not in agregados | en_partes}, on_disk, CORTE)
    for name in sorted(agregados):
        zipped.agregar(name, files[name])
        (tmp / name).write_bytes(files[name])
    for name in sorted(en_partes):
        write, data = zipped.abrir(name), files[name]
        with (tmp / name).open("wb") as f:
            at = 0
            while at < len(data):
                piece = data[at:at + rng.randint(1, 1_500)]
                f.write(piece)
                write(piece)
                at += len(piece)
        zipped.cerrar(name)
    zipped.start()
    with on_disk.open("wb") as f:
        at = 0
        while at < len(historial):  # pieces of any size, as the corte writes them
            piece = historial[at:at + rng.randint(1, 4_000)]
            f.write(piece)
            zipped.write(piece)
            at += len(piece)
    digest = zipped.finish(path)
    data = path.read_bytes()
    assert digest == hashlib.sha256(data).hexdigest()
    return data


def _whole(tmp: Path, files: dict[str, bytes]) -> bytes:
    path = tmp / "whole.zip"
    digest = write_zip(path, files=files, en_disco={"HISTORIAL.csv": tmp / "HISTORIAL.csv"},
                       corte=CORTE)
    data = path.read_bytes()
    assert digest == hashlib.sha256(data).hexdigest()
    return data


@pytest.mark.parametrize(("seed", "bloque"), [(1, None), (2, None), (3, None), (4, 3_000),
                                              (5, 4_096)])
def test_the_zip_made_with_the_history_is_the_zip_of_the_finished_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, bloque: int | None) -> None:
    # ISA-L's deflate depends on how its input is cut: the members are given to it in
    # blocks (small here, so that the pieces fall across many of them).
    if bloque is not None:
        monkeypatch.setattr(zip_corte, "BLOQUE_DEFLATE", bloque)
    rng = random.Random(seed)
    files = _files(rng)
    historial = bytes(rng.randrange(256) for _ in range(60_000)) * 3
    streamed = _streamed(tmp_path, files, historial, rng)
    assert streamed == _whole(tmp_path, files)
    with zipfile.ZipFile(tmp_path / "streamed.zip") as archive:
        assert archive.read("HISTORIAL.csv") == historial
        assert archive.testzip() is None
        # The history first (written as the corte makes it), then by name.
        assert archive.namelist() == ["HISTORIAL.csv", *sorted(
            n for n in files if n != "llave_publica.pem")]
        assert archive.testzip() is None  # every member's CRC
        for name in files:
            if name != "llave_publica.pem":
                assert archive.read(name) == files[name]


def test_a_history_that_needs_zip64_headers_is_zipped_again_the_same_way(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The writer depends on the members' final size (zipfile's zip64 past ~2 GB): with
    # a small limit, a small history takes the path a huge one would.
    monkeypatch.setattr(zip_corte, "LIMITE", 50_000)
    rng = random.Random(4)
    files = {"A.csv": b"1,2\r\n", "LEEME.txt": b"hola", "Z.csv": b"3,4\r\n"}
    historial = bytes(rng.randrange(256) for _ in range(80_000))
    streamed = _streamed(tmp_path, files, historial, rng)
    assert streamed == _whole(tmp_path, files)
    with zipfile.ZipFile(tmp_path / "streamed.zip") as archive:
        assert archive.read("HISTORIAL.csv") == historial
        assert archive.testzip() is None


@pytest.mark.parametrize("limite", [None, 50_000])
def test_members_given_as_they_are_made_give_the_same_zip(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limite: int | None) -> None:
    # The election CSVs are handed over as each is made and not kept: deflated at once
    # (the zip's own path), or read back from beside the history (zipfile's, zip64).
    if limite is not None:
        monkeypatch.setattr(zip_corte, "LIMITE", limite)
    rng = random.Random(6)
    files = _files(rng)
    historial = bytes(rng.randrange(256) for _ in range(80_000))
    agregados = frozenset({"AVANCE_CATD.csv", "LEEME.txt", "llave_publica.pem"})
    en_partes = frozenset({"ALCALDIAS.csv", "JEFATURA_DE_GOBIERNO.csv"})
    streamed = _streamed(tmp_path, files, historial, rng, agregados, en_partes)
    assert streamed == _whole(tmp_path, files)
    with zipfile.ZipFile(tmp_path / "streamed.zip") as archive:
        assert archive.namelist() == ["HISTORIAL.csv", *sorted(
            n for n in files if n != "llave_publica.pem")]
        for name in (agregados | en_partes) - {"llave_publica.pem"}:
            assert archive.read(name) == files[name]


def test_a_member_given_in_pieces_and_never_closed_fails_the_zip(tmp_path: Path) -> None:
    zipped = ZipConHistorial(tmp_path / "z.zip", {}, tmp_path / "HISTORIAL.csv", CORTE)
    zipped.abrir("A.csv")(b"1,2\r\n")
    zipped.start()
    (tmp_path / "HISTORIAL.csv").write_bytes(b"")
    with pytest.raises(RuntimeError, match="sin cerrar"):
        zipped.finish(tmp_path / "z.zip")
    assert not [t for t in threading.enumerate() if t.name.startswith("corte-zip")]


def test_a_member_given_twice_is_refused(tmp_path: Path) -> None:
    zipped = ZipConHistorial(tmp_path / "z.zip", {"A.csv": b"1"}, tmp_path / "H.csv", CORTE)
    with pytest.raises(ValueError, match="ya está en el zip"):
        zipped.agregar("A.csv", b"2")
    with pytest.raises(ValueError, match="ya está en el zip"):
        zipped.abrir("A.csv")
    zipped.close()


def test_a_failure_deflating_the_history_fails_the_zip_and_leaves_no_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The history is deflated into the zip by a thread of its own: a full disk there
    # must fail the corte at finish, not vanish with the thread.
    escribir = zip_corte._Escritor._write
    escrito = [0]

    def lleno(self: zip_corte._Escritor, data: bytes) -> None:
        escrito[0] += len(data)
        # Only the history's thread meets the full disk: its error alone must surface.
        if escrito[0] > 20_000 and threading.current_thread().name.startswith(
                "corte-zip-historial"):
            raise OSError(28, "No space left on device")
        escribir(self, data)

    monkeypatch.setattr(zip_corte._Escritor, "_write", lleno)
    # Blocks smaller than the history, so that its thread deflates and writes some
    # (ISA-L gives its output in runs of about 100 KB).
    monkeypatch.setattr(zip_corte, "BLOQUE_DEFLATE", 4_096)
    rng = random.Random(5)
    historial = "".join(rng.choice("0123456789,ACTA-áé\r\n") for _ in range(600_000)).encode()
    with pytest.raises(OSError, match="No space left"):
        _streamed(tmp_path, _files(rng), historial, rng)
    assert not [t for t in threading.enumerate() if t.name.startswith("corte-zip-historial")]
