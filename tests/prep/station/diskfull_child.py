"""Run by ``test_disk_full`` inside a private mount namespace whose data directory is a
tiny tmpfs: fill the disk through the station, then check what the operator saw and
that every record stored before is intact. Prints one JSON object.

    python3 -m tests.prep.station.diskfull_child DATA_DIR
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from prep.canonical import parse_json
from prep.canonical import sha256_hex
from prep.records import Record
from prep.station.errors import StationStorageError
from prep.station.station import Station
from tests.prep.station.support import clave
from tests.prep.station.support import jpeg_bytes
from tests.prep.station.support import offline_station

BALLAST = 48 * 1024  # freed at the end: room for one record's WAL frames, a page split included
SMALL_IMAGES = 4


def fill(data_dir: Path) -> dict[str, Any]:
    """Store a few small images, then one too big for the space left, then acopios
    until the database cannot grow."""
    ballast = data_dir / "ballast"
    ballast.write_bytes(bytes(BALLAST))
    station = offline_station(data_dir / "station")
    stored: list[str] = []
    image_error = record_error = ""
    for i in range(SMALL_IMAGES):
        stored.append(station.imagen(clave(i), jpeg_bytes(4_000), "image/jpeg", "d").id)
    try:
        station.imagen(clave(SMALL_IMAGES), jpeg_bytes(400_000), "image/jpeg", "d")
    except StationStorageError as exc:
        image_error = str(exc)
    for i in range(100_000):
        try:
            stored.append(station.acopio(clave(5000 + i), "a").id)
        except StationStorageError as exc:
            record_error = str(exc)
            break
    station.close()
    return {"stored": stored, "image_error": image_error, "record_error": record_error}


def check(data_dir: Path, stored: list[str]) -> dict[str, Any]:
    """Reopen after the failures: everything stored is there and verifies; with space
    freed the station writes again, continuing the same seq."""
    leftovers = [p.name for p in (data_dir / "station" / "blobs" / "tmp").iterdir()]
    with Station.open(data_dir / "station") as station:
        rows = station.store.records(limit=1_000_000)
        records = [Record.from_json(parse_json(c, 1 << 16)) for _, _, c in rows]
        hashes_ok = all(sha256_hex(c) == sha for _, sha, c in rows)
        images_ok = all(sha256_hex(station.blobs.read(str(r.body["sha256"])))
                        == r.body["sha256"] for r in records if r.kind == "imagen")
    with sqlite3.connect(data_dir / "station" / "station.sqlite3") as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    os.unlink(data_dir / "ballast")
    with Station.open(data_dir / "station") as station:
        after = station.acopio(clave(999_999), "a")
    return {"ids": [r.id for r in records], "seqs": [r.seq for r in records],
            "hashes_ok": hashes_ok, "images_ok": images_ok, "integrity": integrity,
            "temporaries": leftovers, "seq_after_freeing": after.seq}


def main() -> None:
    data_dir = Path(sys.argv[1])
    filled = fill(data_dir)
    result = {**filled, **check(data_dir, filled["stored"])}
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
