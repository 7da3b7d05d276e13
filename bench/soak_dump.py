"""What a soak station holds, as one JSON line (``bench/soak.py`` runs it with
``nsenter`` inside the stations' mount namespace): ``python3 bench/soak_dump.py
DATA_DIR [--full]``. Standard library only, so it starts fast.

SQLite resolves symbolic links in a database's path itself, so the soak cannot open a
station's database through ``/proc/PID/root/…`` (it would open the file of that path
in its own namespace instead); it asks this from inside.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import sqlite3
import sys
from pathlib import Path


def dump(data_dir: Path, full: bool) -> dict[str, object]:
    db = data_dir / "station.sqlite3"
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True,
                                            timeout=10)) as conn:
        (backlog,) = conn.execute("SELECT count(*) FROM outbox WHERE NOT delivered").fetchone()
        out: dict[str, object] = {"backlog": int(backlog)}
        if full:
            (out["station_id"],) = conn.execute("SELECT station_id FROM identity").fetchone()
            out["records"] = [[rid, base64.b64encode(canonical).decode("ascii"), sha]
                              for rid, canonical, sha in conn.execute(
                                  "SELECT id, canonical, sha256 FROM records")]
            out["blobs"] = [[sha, rel, hashlib.sha256((data_dir / rel).read_bytes()).hexdigest()]
                            for sha, rel in conn.execute("SELECT sha256, path FROM blobs")]
    return out


def main(argv: list[str]) -> int:
    try:
        print(json.dumps(dump(Path(argv[0]), "--full" in argv[1:])))
    except sqlite3.Error as exc:
        print(json.dumps({"error": str(exc)}))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
