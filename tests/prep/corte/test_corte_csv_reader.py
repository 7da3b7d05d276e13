"""The strict reader of the published election CSV (:mod:`prep.corte.reader`): our own
output reads back, and anything off-format (BOM, line ends, field counts, summary
header, encoding, a file cut short) is refused, a stray line end on its own line."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from prep.corte.package import build_corte_files
from prep.corte.reader import CsvFormatError
from prep.corte.reader import read_eleccion_csv
from prep.corte.reader import read_resumen
from tests.prep.corte.test_corte_csv import BOM
from tests.prep.corte.test_corte_csv import CATALOG
from tests.prep.corte.test_corte_csv import CORTE
from tests.prep.corte.test_corte_csv import ESTADO
from tests.prep.corte.test_corte_csv import FUERA
from tests.prep.corte.test_corte_csv import corte_dir

pytestmark = pytest.mark.rapido

__all__ = ["corte_dir"]  # the fixture: the small corte of test_corte_csv, written to disk


def _drop_last_field_of_row_8(d: bytes) -> bytes:
    lines = d.split(b"\r\n")
    lines[7] = lines[7].rsplit(b",", 1)[0]
    return b"\r\n".join(lines)


def _lf_after_line_8(d: bytes) -> bytes:
    lines = d.split(b"\r\n")
    return b"\r\n".join([*lines[:7], lines[7] + b"\n" + lines[8], *lines[9:]])


MUTATIONS: dict[str, Callable[[bytes], bytes]] = {
    "no-bom": lambda d: d[len(BOM):],
    "lf-everywhere": lambda d: d.replace(b"\r\n", b"\n"),
    "one-lf-line": _lf_after_line_8,
    "missing-field": _drop_last_field_of_row_8,
    "extra-field": lambda d: d.replace(b",0\r\n", b",0,x\r\n", 1),
    "bad-summary-header": lambda d: d.replace(b"ACTAS_ESPERADAS,", b"ACTAS_ESPERADA,", 1),
    "latin-1": lambda d: BOM + d[len(BOM):].decode("utf-8").encode("latin-1"),
    "truncated": lambda d: d[:len(d) // 2],
}


@pytest.mark.parametrize("mutation", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_strict_reader_rejects(corte_dir: Path, mutation: Callable[[bytes], bytes]) -> None:
    data = (corte_dir / "JEFATURA_DE_GOBIERNO.csv").read_bytes()
    read_eleccion_csv(data)  # the original is fine
    bad = mutation(data)
    assert bad != data
    with pytest.raises(CsvFormatError):
        read_eleccion_csv(bad)


@pytest.mark.parametrize(("stray", "line"), [(b"\n", 10), (b"\r", 10), (b"\r\r", 9)],
                         ids=["lf", "cr", "cr-crlf"])
def test_a_stray_line_end_is_reported_on_its_line(corte_dir: Path, stray: bytes,
                                                  line: int) -> None:
    lines = (corte_dir / "JEFATURA_DE_GOBIERNO.csv").read_bytes().split(b"\r\n")
    if stray == b"\r\r":  # line 9 ends in CR CR LF
        lines[8] += b"\r"
    else:  # a bare LF or CR inside line 10
        lines[9] = lines[9].replace(b",", b"," + stray, 1)
    with pytest.raises(CsvFormatError, match=f"línea {line}: fin de línea distinto de CRLF"):
        read_eleccion_csv(b"\r\n".join(lines))


def test_summary_alone_is_line_5(corte_dir: Path, tmp_path: Path) -> None:
    path = corte_dir / "JEFATURA_DE_GOBIERNO.csv"
    assert read_resumen(path) == read_eleccion_csv(path.read_bytes()).resumen
    assert read_resumen(path)["ACTAS_CAPTURADAS"] == "5"
    for name, bad in (("sin-bom", path.read_bytes()[len(BOM):]),
                      ("a-medias", path.read_bytes()[:60]),
                      ("resumen-cambiado", path.read_bytes().replace(
                          b"ACTAS_ESPERADAS,", b"ACTAS_ESPERADA,", 1))):
        (tmp_path / name).write_bytes(bad)
        with pytest.raises(CsvFormatError):
            read_resumen(tmp_path / name)


def test_written_csv_equals_in_memory_build(corte_dir: Path) -> None:
    files, _ = build_corte_files(CATALOG, ESTADO, FUERA, CORTE)
    assert {p.name: p.read_bytes() for p in corte_dir.iterdir()} == files
    buf = io.BytesIO(files["JEFATURA_DE_GOBIERNO_CANDIDATURAS.csv"])
    assert buf.read(3) == BOM
