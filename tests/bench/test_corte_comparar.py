"""bench.corte_comparar sets aside only the run's clock: the audit head line, the
signatures and indice.json's hashes; any other byte, or a missing file, is a difference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.corte_comparar import comparar

pytestmark = pytest.mark.rapido

_SUMA = "0" * 64


def _corte(raiz: Path, bitacora: str, fila: str) -> Path:
    (raiz / "corte1").mkdir(parents=True)
    (raiz / "corte1" / "MANIFIESTO.sha256").write_text(
        f"# BITACORA eventos=3 id=3 sha256={bitacora}\n{_SUMA}  GUB.csv\n", encoding="utf-8")
    (raiz / "corte1" / "MANIFIESTO.sha256.sig").write_bytes(bitacora.encode())
    (raiz / "corte1" / "GUB.csv").write_text(fila, encoding="utf-8")
    (raiz / "indice.json").write_text(json.dumps(
        {"generado": bitacora, "cortes": [{"nombre": "corte1", "sha256": bitacora}]}),
        encoding="utf-8")
    return raiz


def test_only_the_clock_is_set_aside(tmp_path: Path) -> None:
    a = _corte(tmp_path / "a", "a" * 64, "1,2,3\n")
    b = _corte(tmp_path / "b", "b" * 64, "1,2,3\n")
    assert comparar(a, b)["distintos"] == 0

    c = _corte(tmp_path / "c", "a" * 64, "1,2,4\n")
    assert comparar(a, c)["primeros"] == ["corte1/GUB.csv"]

    (b / "corte1" / "LEEME.txt").write_text("x", encoding="utf-8")
    assert comparar(a, b)["primeros"] == ["corte1/LEEME.txt"]


def test_a_manifest_line_other_than_the_head_counts(tmp_path: Path) -> None:
    a = _corte(tmp_path / "a", "a" * 64, "1\n")
    b = _corte(tmp_path / "b", "a" * 64, "1\n")
    manifiesto = b / "corte1" / "MANIFIESTO.sha256"
    manifiesto.write_text(manifiesto.read_text(encoding="utf-8").replace(_SUMA, "1" * 64),
                          encoding="utf-8")
    assert comparar(a, b)["primeros"] == ["corte1/MANIFIESTO.sha256"]


def _transparencia(raiz: Path, manifiesto: str, nombre: str, cabeza: str) -> Path:
    log = raiz / "publicacion" / "transparencia"
    (log / "entradas").mkdir(parents=True)
    (log / "entradas" / "0").write_text(
        f"prep-corte/v1\nnombre {nombre}\nmanifiesto {manifiesto}\n", encoding="utf-8")
    (log / "checkpoint").write_text(f"prep\n1\n{cabeza}\n", encoding="utf-8")
    return raiz


def test_the_transparency_log_is_compared_by_its_structure(tmp_path: Path) -> None:
    """The log's hashes follow the manifest's clock line; its files, their sizes and
    each entry's other lines still count."""
    a = _transparencia(tmp_path / "a", "a" * 64, "20270607_0800", "x" * 44)
    b = _transparencia(tmp_path / "b", "b" * 64, "20270607_0800", "y" * 44)
    assert comparar(a, b)["distintos"] == 0

    c = _transparencia(tmp_path / "c", "a" * 64, "20270607_0805", "x" * 44)
    assert comparar(a, c)["primeros"] == ["publicacion/transparencia/entradas/0"]

    d = _transparencia(tmp_path / "d", "a" * 64, "20270607_0800", "x" * 45)
    assert comparar(a, d)["primeros"] == ["publicacion/transparencia/checkpoint"]

    (b / "publicacion" / "transparencia" / "llave").write_text("k", encoding="utf-8")
    assert comparar(a, b)["primeros"] == ["publicacion/transparencia/llave"]
