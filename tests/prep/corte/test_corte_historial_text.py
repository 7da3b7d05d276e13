"""HISTORIAL.csv lines and the site's timeline entries are joined by hand for speed
(a national corte has millions of rows): whatever a value holds, a reader must get back
exactly the rows, as the csv and json modules would have written them."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from prep.corte.anexo import format_time
from prep.corte.anexo import time_formatter
from prep.corte.historial import COLUMNS
from prep.corte.historial import _eventos
from prep.corte.historial import historial_csv
from prep.corte.historial import lineas_csv
from prep.corte.historial import lineas_por_acta
from prep.corte.model import ActaEnCorte
from prep.corte.model import Digitalizacion
from prep.corte.model import Origen
from prep.corte.site_historial import entradas_por_acta
from prep.corte.site_historial import historial_acta
from prep.corte.trayectoria import CapturaH
from prep.corte.trayectoria import CotejoH
from prep.corte.trayectoria import ImagenH
from prep.corte.trayectoria import Trayectoria
from prep.corte.trayectoria import desempacar
from prep.corte.trayectoria import empacada
from prep.rules import DEFAULT_RULES
from prep.values import Captura

pytestmark = pytest.mark.rapido

PLAIN = ("ACOPIO", "06/06/2027 20:15:03", "07", "", "", "", "", "", "")
AWKWARD = (
    ("SIN_ACTA", "06/06/2027 21:00:00", "07", "", "", "", "", "",
     'paquete sin sobre, con "acta" fuera'),
    ("COTEJO", "07/06/2027 01:02:03", "CCV", "", "", "", "", "", "línea 1\r\nlínea 2"),
    ("VALIDACION", "07/06/2027 01:02:04", "", "1", "1", "ab" * 32, "CATD", "Escáner",
     "ruta C:\\actas\tcon tabulador"),
)


def _read(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _as_csv_module(filas: dict[str, list[tuple[str, ...]]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(("HISTORIAL DE LAS ACTAS",))  # its title line, in a real corte too
    w.writerow(COLUMNS)
    for clave, rows in filas.items():
        w.writerows((f"'{clave}'", *row) for row in rows)
    return buf.getvalue().encode("utf-8-sig")


def test_historial_rows_read_back_whatever_they_hold() -> None:
    filas = {"090010001B01": [PLAIN], "090010002B01": [PLAIN, *AWKWARD],
             "090010003B01": list(AWKWARD)}
    data = historial_csv(filas)
    assert data == _as_csv_module(filas)
    rows = _read(data)
    assert rows[:2] == [["HISTORIAL DE LAS ACTAS"], list(COLUMNS)]
    expected = [[f"'{clave}'", *row] for clave, acta in filas.items() for row in acta]
    assert rows[2:] == expected


def test_site_timeline_entry_is_json_of_the_rows() -> None:
    for rows in ([PLAIN], [PLAIN, *AWKWARD], list(AWKWARD)):
        entry = json.loads("{" + historial_acta("090010002B01", rows) + "}")
        assert entry == {"090010002B01": [list(r) for r in rows]}


def test_times_are_published_in_mexico_city_whatever_zone_they_arrive_in() -> None:
    fmt = time_formatter()
    start = datetime(2027, 6, 6, 23, 59, 58, tzinfo=UTC)
    for seconds in range(0, 4 * 3600, 37):
        when = start + timedelta(seconds=seconds)
        for zone in (UTC, ZoneInfo("Etc/UTC"), ZoneInfo("America/Mexico_City"),
                     ZoneInfo("Asia/Kolkata")):
            local = when.astimezone(zone)
            assert fmt(local) == format_time(when)


def test_trajectory_events_are_the_same_packed_or_not() -> None:
    # A corte keeps each acta's trajectory packed (times in microseconds, SHA-256 as its
    # bytes) and makes its history from the packed fields: the same rows as from the
    # named tuples, whatever the zone and sub-second part of each time.
    t0 = datetime(2027, 6, 6, 23, 59, 59, 999_999, tzinfo=ZoneInfo("America/Mexico_City"))
    sha = "c0" * 32
    t = Trayectoria("07", "", (
        ImagenH("1", t0, "07", "ab" * 32, "CATD", "Escáner"),
        ImagenH("2", t0 + timedelta(minutes=3, microseconds=1), "", sha, "CASILLA", "Móvil",
                True)), (
        CapturaH(False, 1, 1, "1", t0 + timedelta(seconds=61), "07",
                 t0 + timedelta(seconds=62)),
        CapturaH(False, 2, 1, "2", (t0 + timedelta(minutes=5)).astimezone(UTC), "07",
                 t0 + timedelta(minutes=5, seconds=1)),
        CapturaH(True, 2, 0, "2", t0 + timedelta(minutes=7), "CCV",
                 t0 + timedelta(minutes=7))), (
        CotejoH(t0 + timedelta(hours=1), "07", False, t0 + timedelta(hours=1), 3),))
    empacada_ = empacada(t)
    assert desempacar(empacada_) == t and desempacar(None) == Trayectoria()
    # The same trajectory packs to the same bytes (snapshots are compared by value).
    assert empacada(Trayectoria(*t)) == empacada_ and len(empacada_) < 250
    est = ActaEnCorte("090010001B01", acopio=t0 - timedelta(hours=1),
                      captura=Captura(("A",), (3,)), fecha_captura=t0 + timedelta(minutes=7),
                      fecha_verificacion=t0 + timedelta(minutes=7, seconds=2),
                      origen=Origen.CASILLA, digitalizacion=Digitalizacion.MOVIL, sha256=sha)
    publicada = ("20270607_0100", t0 + timedelta(hours=2))
    fmt = time_formatter()
    a_mano = _eventos(est, t, publicada, True, fmt, DEFAULT_RULES)
    assert _eventos(est, empacada_, publicada, True, fmt, DEFAULT_RULES) == a_mano
    assert [r[0] for r in a_mano] == ["ACOPIO", "DIGITALIZACION", "CAPTURA", "DIGITALIZACION",
                                      "CAPTURA", "VERIFICACION", "VALIDACION", "COTEJO",
                                      "PUBLICACION"]
    assert a_mano[1][1] == format_time(t0) and a_mano[6][3:5] == ("2", "2")


def test_a_trajectory_past_the_compact_form_packs_and_comes_back_whole() -> None:
    # The compact form has fields of fixed size (a count of images up to 255, a round of
    # 32 bits, a SHA-256 of 32 bytes): what does not fit is packed another way and still
    # comes back as given, the same bytes each time.
    t0 = datetime(2027, 6, 6, 20, 0, tzinfo=UTC)
    imagen = ImagenH("1", t0, "07", "ab" * 32, "CATD", "Escáner")
    muchas = Trayectoria("07", "", tuple(imagen._replace(record=str(n)) for n in range(300)))
    ronda_enorme = Trayectoria("07", "", (imagen,), (
        CapturaH(False, 2**40, 1, "1", t0, "07", t0),))
    compacta = Trayectoria("CCV", "07", (imagen,), (
        CapturaH(True, 3, 0, None, t0, "CCV", t0 + timedelta(microseconds=1)),), (
        CotejoH(t0, "07", True, t0, None), CotejoH(t0, "07", False, t0, 2)))
    for t in (muchas, ronda_enorme, compacta):
        empacada_ = empacada(t)
        assert desempacar(empacada_) == t
        assert empacada(Trayectoria(*t)) == empacada_
    assert len(empacada(compacta)) < len(empacada(muchas)) / 100


def test_a_tramo_history_is_cut_per_acta_only_where_that_is_safe() -> None:
    """A tramo made again takes its unchanged actas' history from the previous corte's
    text, cut per acta: the cut gives back each acta's exact lines and site entry, and
    refuses (None) a text it could cut wrongly."""
    filas = {"A1": [PLAIN, (*PLAIN[:-1], "detalle")], "A3": [PLAIN]}
    claves = ["A1", "A2", "A3"]  # A2: no history (not published)
    texto = b"".join(lineas_csv(c, r).encode() for c, r in filas.items())
    assert lineas_por_acta(texto, claves) == {c: lineas_csv(c, r).encode()
                                              for c, r in filas.items()}
    entradas = b",".join(historial_acta(c, r).encode() for c, r in filas.items())
    assert entradas_por_acta(entradas, claves) == {c: historial_acta(c, r).encode()
                                                   for c, r in filas.items()}
    assert lineas_por_acta(b"", claves) == {} == entradas_por_acta(b"", claves)
    # A quoted value could hold a line break that looks like another acta's line.
    raro = lineas_csv("A1", [AWKWARD[1]]).encode() + lineas_csv("A3", [PLAIN]).encode()
    assert b'"' in raro and lineas_por_acta(raro, claves) is None
    # A line of an acta not in the tramo, or the actas out of order: not cut.
    assert lineas_por_acta(texto + lineas_csv("B9", [PLAIN]).encode(), claves) is None
    assert lineas_por_acta(texto, ["A3", "A2", "A1"]) is None
    assert entradas_por_acta(entradas, ["A3", "A1"]) is None
    # A key CSV or JSON would write otherwise than its mark.
    assert lineas_por_acta(texto, ["A1", 'A"2', "A3"]) is None
