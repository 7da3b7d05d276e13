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

from prep.corte.anexo import format_time
from prep.corte.anexo import time_formatter
from prep.corte.historial import COLUMNS
from prep.corte.historial import historial_csv
from prep.corte.site_historial import historial_acta

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
    assert rows[0] == list(COLUMNS)
    expected = [[f"'{clave}'", *row] for clave, acta in filas.items() for row in acta]
    assert rows[1:] == expected


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
