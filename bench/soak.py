"""Soak test of the real system (issue 33): a real central (``prep central serve`` over its
embedded PostgreSQL), N headless station processes making acopio and image records
without pause, a loopback fault proxy per station between it and the central, and
random faults of every kind on a schedule drawn from the seed; then a drain and an
exact comparison of every station's records and images with the central's.

    python3 bench/soak.py --minutes 10 [--estaciones 4] [--semilla 1]
    python3 bench/soak.py --carriles --minutes 2
    python3 bench/soak.py --faltas-por-tipo 1000 --minutes 85 --estaciones 8

Prints one JSON line: ``{"minutes", "faults_by_kind", "faults_total", "records",
"blobs", "lost", "doubled", "mismatched", "ok", …}``. Exit status 0 when ``ok``.

By default faults come one at a time, each held 3–8 s where it lasts (each picks a
station at random where it applies). With ``--carriles`` (implied by
``--faltas-por-tipo``) they run concurrently on independent lanes, held 0.5–3 s
(``bench/soak_lanes.py``): one lane per station for the station-level kinds, one for
``central_kill`` and one for ``postgres_kill``, which overlap each other and the
station faults. ``--faltas-por-tipo N`` runs until every kind reached ``N`` (``--minutes``
is then the upper bound), printing a progress line to stderr every minute.
``--nice-estaciones N`` runs the stations at nice ``N``: on a real night they are other
machines, and on one small box their work would otherwise slow every ``serve`` restart
(a long run's ``central_kill`` rate halved once the load doubled).

Faults:

- ``station_kill``: SIGKILL of a station process, restarted 0.5–2 s later (0.2–1 s on
  lanes).
- ``central_kill``: SIGKILL of ``serve``, restarted on the same port.
- ``postgres_kill``: SIGKILL of the embedded PostgreSQL's postmaster (pid from
  ``postmaster.pid``; the soak is the child subreaper of the processes it starts, so the
  dead postmaster is reaped at once, as systemd would, and its pid does not linger as a
  zombie that keeps the lock file held); ``serve``'s watchdog starts it again
  (``central.db.embedded``) or, if the soak gets there first, once its orphaned
  backends are gone the soak does, the way ``serve`` does (``pg_ctl`` as the
  ``pgserver`` account when run as root), and ``serve`` must then carry on by itself:
  if no record
  reaches the database within ``RECOVERY_SECONDS`` it is restarted and counted in
  ``serve_restarts_after_postgres`` (that would be a defect: ``ok`` is false).
- ``link_cut``: the station's proxy resets every connection and refuses new ones.
- ``reset_mid_upload``: the proxy resets each connection after a few KiB more upstream
  (mid image upload: the images are ≈19 KB), 1–3 times (one that reset nothing within 20 s is not
  counted: ``reset_mid_upload_idle``).
- ``slow_link``: 0.2–1 s delivery delay on every chunk, both directions.
- ``disk_full``: every station's data directory is a tmpfs of its own (``size=``
  :func:`tmpfs_mb`) mounted in a private mount namespace (``unshare -m``, held by a
  ``sleep`` process; the stations run in it through ``nsenter``; the soak reads their
  files through ``/proc/PID/root``): the fault fills it with a file until ``ENOSPC``,
  then deletes it. Needs root (or ``unshare -m`` permission); without it the stations
  run on the ordinary disk and ``disk_full`` is reported missing.
- ``clock_jump``: the station's clock jumps by ±5 min to ±2 days, then back: the
  station opens its store with a clock that adds the offset in a control file
  (``bench/soak_station.py``; ``Station.open(clock=…)``, the store's and the sync
  client's clock: record times and ``X-Prep-Clock``).

Drain: faults lifted, every process running, stations stop making records and deliver
everything; stations are stopped; then for every station every SQLite record must be in
the central's ``records`` exactly once with the same canonical bytes (rebuilt from the
row: ``prep.records.Record``) and every blob file byte-identical in the central's blob
store; ``prep central verify-audit`` and ``prep central rebuild-state --check`` must
pass.

The central and its PostgreSQL are driven by ``bench/soak_central.py``; the station
processes, the mount namespace and how children are started by ``bench/soak_procs.py``.
"""

from __future__ import annotations

import argparse
import base64
import errno
import hashlib
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import bench.soak_procs as procs  # noqa: E402
from bench.soak_central import Central  # noqa: E402
from bench.soak_central import become_subreaper  # noqa: E402
from bench.soak_central import reap_orphans  # noqa: E402
from bench.soak_lanes import Lanes  # noqa: E402
from bench.soak_procs import MountNamespace  # noqa: E402
from bench.soak_procs import SoakError  # noqa: E402
from bench.soak_procs import StationProc  # noqa: E402
from bench.soak_procs import run_checked  # noqa: E402
from prep.catalog.files import load_catalog  # noqa: E402
from prep.records import Kind  # noqa: E402
from prep.records import Record  # noqa: E402
from tests.harness.proxy import FaultProxy  # noqa: E402

KINDS = ("station_kill", "central_kill", "postgres_kill", "link_cut", "reset_mid_upload",
         "slow_link", "disk_full", "clock_jump")
TMPFS_MB = 64
#: What a station keeps grows by ≈2 MB a minute (every image is a new blob, kept after its
#: receipt): an 8-station run of 66 minutes filled 64 MB disks after ≈35 minutes, and the
#: lanes then found nothing to fault but «disco lleno» (2026-11-26).
TMPFS_MB_PER_MINUTE = 4

RECOVERY_SECONDS = 30.0
DRAIN_TIMEOUT = 300.0
CATALOG_SCALE = "0.01"  # 33 distritos, 391 actas


def tmpfs_mb(minutes: float) -> int:
    """Each station's disk: room for the whole run besides what ``disk_full`` fills."""
    return TMPFS_MB + int(TMPFS_MB_PER_MINUTE * minutes)


class Soak:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.rng = random.Random(f"prep-soak:{args.semilla}")
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.central = Central(work / "central", self.logs)
        self.central.on_event = self.event
        self.ns: MountNamespace | None = MountNamespace() if MountNamespace.available() else None
        self.stations: list[StationProc] = []
        self.proxies: list[FaultProxy] = []
        self.faults: Counter[str] = Counter()
        self.notes: Counter[str] = Counter()
        self.kinds = [k for k in KINDS if k != "disk_full" or self.ns is not None]
        self.lanes = bool(args.carriles or args.faltas_por_tipo)
        #: how long a fault lasts, and a killed process stays down (seconds)
        self.hold_seconds = (0.5, 3.0) if self.lanes else (3.0, 8.0)
        self.restart_seconds = (0.2, 1.0) if self.lanes else (0.5, 2.0)
        self.counting = threading.Lock()
        self.events = self.logs / "soak-events.log"
        #: held to (re)start ``serve`` and while the postmaster is killed and restarted
        self.central_lock = threading.RLock()
        #: cleared while postgres_kill waits for a running serve to carry on by itself
        self.postgres_settled = threading.Event()
        self.postgres_settled.set()

    # setup ---------------------------------------------------------------------------

    def setup(self) -> None:
        n = self.args.estaciones
        catalogo = self.work / "catalogo"
        run_checked(sys.executable, "-m", "prep", "catalog", "generate", "--seed",
             str(self.args.semilla), "--scale", CATALOG_SCALE, "--out", str(catalogo))
        self.central.cli("init", "--simulacro")
        self.central.cli("catalog", "load", str(catalogo))
        distritos = sorted({a.casilla.distrito_id for a in load_catalog(catalogo).iter_actas()})
        for catd in range(1, n + 1):  # as the drill does (simulacro.nodo)
            others = [d for d in distritos if d != catd and (d - 1) % n + 1 == catd]
            if others:
                self.central.cli("catd-distritos", "--catd", str(catd), "--distritos",
                                 *map(str, others))
        table = self.work / "operadores.csv"
        table.write_text("nombre,rol,sitio\n" + "".join(
            f"Acopio {c},acopiador,{c}\nDigitaliza {c},digitalizador,{c}\n"
            for c in range(1, n + 1)), encoding="utf-8")
        accounts = json.loads(self.central.cli("operator", "import", str(table),
                                               "--credenciales",
                                               str(self.work / "credenciales.csv")))
        operators = [str(a["id"]) for a in accounts]
        codes = self.central.cli("enroll-code", "--catd", *map(str, range(1, n + 1)),
                                 "--role", "catd").split()
        self.central.serve()
        for i in range(n):
            name = f"catd{i + 1:02d}"
            proxy = FaultProxy("127.0.0.1", self.central.port)
            self.proxies.append(proxy)
            ctl = self.work / "ctl" / name
            ctl.mkdir(parents=True)
            data_dir = self.work / "estaciones" / name
            if self.ns is not None:
                self.ns.mount_tmpfs(data_dir, tmpfs_mb(self.args.minutes))
                view, prefix = self.ns.view(data_dir), self.ns.prefix()
            else:
                data_dir.mkdir(parents=True)
                view, prefix = data_dir, []
            if self.args.nice_estaciones:
                prefix = [*prefix, "nice", "-n", str(self.args.nice_estaciones)]
            config = {"name": name, "catd": i + 1, "catds": n, "data_dir": str(data_dir),
                      "ctl_dir": str(ctl), "url": proxy.url_for(self.central.url),
                      "acopiador": operators[2 * i], "digitalizador": operators[2 * i + 1],
                      "code": codes[i], "cert_sha256": self.central.cert_sha256,
                      "interval": self.args.intervalo, "seed": self.args.semilla}
            config_path = ctl / "config.json"
            config_path.write_text(json.dumps(config), encoding="utf-8")
            self.stations.append(StationProc(name, config_path, ctl, data_dir, view,
                                             self.logs, prefix))
        for station in self.stations:
            station.start()
        for station in self.stations:
            station.wait_ready()

    # faults --------------------------------------------------------------------------

    def schedule(self, minutes: float) -> None:
        """Faults one after another until ``minutes`` have passed and every kind was
        done at least once (the first round is every kind in a random order)."""
        end = time.monotonic() + minutes * 60
        first = list(self.kinds)
        self.rng.shuffle(first)
        while first or time.monotonic() < end:
            self.keep_alive()
            kind = first.pop(0) if first else self.rng.choice(self.kinds)
            self.fault(kind, self.rng.randrange(len(self.stations)), self.rng)
            gap = self.rng.uniform(1.0, 4.0)
            if not first:
                gap = min(gap, max(0.0, end - time.monotonic()))
            time.sleep(gap)

    def fault(self, kind: str, i: int, rng: random.Random) -> None:
        """Inject one fault of ``kind`` (on station ``i`` where it applies), hold it and
        lift it; counted once lifted, unless it did not happen (a reset rule that no
        upload reached: noted as ``reset_mid_upload_idle``)."""
        where = "" if kind in ("central_kill", "postgres_kill") else f" {self.stations[i].name}"
        self.event(f"{kind}{where} begins")
        if getattr(self, f"fault_{kind}")(i, rng) is False:
            self.count(self.notes, f"{kind}_idle")
            return
        self.count(self.faults, kind)
        self.event(f"{kind}{where} lifted")

    def count(self, counter: Counter[str], name: str, n: int = 1) -> None:
        with self.counting:
            counter[name] += n
        if counter is self.notes and n:
            self.event(f"note {name} +{n}")

    def event(self, text: str) -> None:
        """One timestamped line in ``logs/soak-events.log`` (what happened when, to
        read a finding against the central's and the stations' logs)."""
        line = f"{time.strftime('%H:%M:%S')}.{int(time.time() * 1000) % 1000:03d} {text}\n"
        with self.counting, self.events.open("a", encoding="utf-8") as out:
            out.write(line)

    def keep_alive(self) -> None:
        """A station or serve that died by itself is a finding: restart and count it."""
        self.keep_central_alive()
        for station in self.stations:
            self.keep_station_alive(station)

    def keep_central_alive(self) -> None:
        with self.central_lock:
            if not self.central.alive():
                self.count(self.notes, "serve_died")
                self.central.serve()

    def keep_station_alive(self, station: StationProc) -> None:
        if not station.alive():
            self.count(self.notes, "station_died")
            station.start()
            station.wait_ready()

    def hold(self, rng: random.Random) -> float:
        seconds = rng.uniform(*self.hold_seconds)
        time.sleep(seconds)
        return seconds

    def fault_station_kill(self, i: int, rng: random.Random) -> None:
        station = self.stations[i]
        station.kill()
        time.sleep(rng.uniform(*self.restart_seconds))
        station.start()
        station.wait_ready()

    def fault_central_kill(self, i: int, rng: random.Random) -> None:
        """Kill ``serve`` and start it again; records must then reach the database
        within ``RECOVERY_SECONDS`` of serving (:meth:`records_flow`)."""
        # Not while postgres_kill waits for the serve that was running to reconnect by
        # itself (that check would never see a serve live through a postmaster kill).
        self.postgres_settled.wait()
        self.central.kill()  # but even while the postmaster is down
        time.sleep(rng.uniform(*self.restart_seconds))
        with self.central_lock:  # but not started then (see postgres_kill)
            if not self.central.alive():  # (postgres_kill's remedy may have started one)
                self.central.serve()
        if not self.records_flow(self.central.record_count()):
            self.count(self.notes, "no_records_after_serve_restart")

    def fault_postgres_kill(self, i: int, rng: random.Random) -> None:
        """Kill and restart the postmaster, then insist that records reach the database
        again (:meth:`records_flow`): through the ``serve`` that was running (it must
        reconnect by itself) or, when the central lane killed that one meanwhile,
        through its successor. ``serve`` is never started while the postmaster is down
        (``central_lock``): starting the embedded server is ``serve``'s start, not this
        fault. If they do not, ``serve`` is restarted and that counted: a defect."""
        with self.central_lock:
            if not self.central.kill_postgres():
                raise SoakError("no postmaster to kill")
            self.event("postmaster killed")
            time.sleep(rng.uniform(*self.restart_seconds))
            self.central.start_postgres()
            self.event("postmaster ready")
            starts = self.central.starts
            serving = self.central.serving()
            if serving:
                self.postgres_settled.clear()
        try:
            flowed = self.records_flow(self.central.record_count())
        finally:
            self.postgres_settled.set()
        if flowed:
            self.count(self.notes, "postgres_recovered_by_same_serve"
                       if self.central.starts == starts and serving
                       else "postgres_recovered_by_next_serve")
            return
        self.count(self.notes, "serve_restarts_after_postgres")
        with self.central_lock:
            self.central.kill()
            self.central.serve()

    def records_flow(self, before: int | None) -> bool:
        """Whether the central's record count rises above ``before`` (``None``: as it
        is now) within ``RECOVERY_SECONDS`` of ``serve`` and the postmaster both being
        up: the clock starts again whenever another lane has one of them down (a
        ``serve`` still starting counts as down), so a slow machine or an overlapping
        fault is not mistaken for a defect; at most ``6 × RECOVERY_SECONDS`` in all."""
        started = time.monotonic()
        give_up = started + 6 * RECOVERY_SECONDS
        up_since: float | None = None
        first = before
        while time.monotonic() < give_up:
            now = self.central.record_count()
            if before is not None and now is not None and now > before:
                return True
            before = before if before is not None else now
            if not (self.central.serving() and self.central.postgres_running()):
                up_since = None
            elif up_since is None:
                up_since = time.monotonic()
            elif time.monotonic() - up_since > RECOVERY_SECONDS:
                break
            time.sleep(0.5)
        self.event(f"no records for {time.monotonic() - started:.1f} s (serving "
                   f"{time.monotonic() - (up_since or time.monotonic()):.1f} s): count "
                   f"{first} then {before}, serve start {self.central.starts}")
        return False

    def fault_link_cut(self, i: int, rng: random.Random) -> None:
        self.proxies[i].cut()
        self.hold(rng)
        self.proxies[i].restore()

    def fault_reset_mid_upload(self, i: int, rng: random.Random) -> bool:
        proxy = self.proxies[i]
        times = rng.randint(1, 3)
        before = proxy.stats().resets
        proxy.reset_after(rng.randint(1024, 12 * 1024), times=times)
        deadline = time.monotonic() + 20
        while proxy.stats().resets < before + times and time.monotonic() < deadline:
            time.sleep(0.1)
        proxy.reset_after(None)
        resets = proxy.stats().resets - before
        self.count(self.notes, "proxy_resets", resets)
        return resets > 0

    def fault_slow_link(self, i: int, rng: random.Random) -> None:
        self.proxies[i].delay(rng.uniform(0.2, 1.0))
        self.hold(rng)
        self.proxies[i].delay(0)

    def fault_disk_full(self, i: int, rng: random.Random) -> None:
        station = self.stations[i]
        filler = station.view / "relleno"
        before = station.estado().get("counts", {}).get("disco_lleno", 0)
        chunk = b"\0" * (1 << 20)
        with filler.open("wb", buffering=0) as out:
            for size in (len(chunk), 4096):  # then the last kilobytes
                try:
                    while True:
                        out.write(chunk[:size])
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
        self.hold(rng)
        filler.unlink()
        after = station.estado().get("counts", {}).get("disco_lleno", 0)
        self.count(self.notes, "disk_full_refusals", max(0, after - before))

    def fault_clock_jump(self, i: int, rng: random.Random) -> None:
        offset = rng.choice((-1, 1)) * rng.uniform(300, 2 * 86400)
        path = self.stations[i].ctl / "clock_offset"
        path.write_text(f"{offset:.3f}", encoding="ascii")
        self.hold(rng)
        path.write_text("0", encoding="ascii")

    # drain and checks ----------------------------------------------------------------

    def drain(self) -> float:
        started = time.monotonic()
        for proxy in self.proxies:
            proxy.restore()
            proxy.delay(0)
            proxy.reset_after(None)
        for station in self.stations:
            (station.ctl / "clock_offset").write_text("0", encoding="ascii")
            (station.view / "relleno").unlink(missing_ok=True)
        self.keep_alive()
        for station in self.stations:
            (station.ctl / "quiet").touch()
        deadline = started + DRAIN_TIMEOUT
        while time.monotonic() < deadline:
            self.keep_alive()
            if all(s.backlog() == 0 for s in self.stations):
                break
            time.sleep(2.0)
        for station in self.stations:
            if station.proc is not None and station.alive():
                station.proc.send_signal(signal.SIGTERM)
        for station in self.stations:
            if station.proc is not None:
                try:
                    station.proc.wait(90)
                except subprocess.TimeoutExpired:
                    station.kill()
        return time.monotonic() - started

    def compare(self) -> dict[str, Any]:
        with self.central.connect() as conn:
            rows = conn.execute("SELECT id::text, station, seq, kind, operator, at, "
                                "replaces::text, body, sha256 FROM records").fetchall()
            anomalies = dict(conn.execute("SELECT type, count(*) FROM anomalies "
                                          "GROUP BY type").fetchall())
        central: dict[str, list[Record]] = {}
        by_station: Counter[str] = Counter()
        for rid, station_id, seq, kind, operator, at, replaces, body, _sha in rows:
            record = Record(rid, station_id, seq, Kind(kind), operator, at, body, replaces)
            central.setdefault(rid, []).append(record)
            by_station[station_id] += 1
        blob_root = self.central.data_dir / "blobs"
        out: dict[str, Any] = {"anomalies": dict(sorted(anomalies.items())), "records": 0,
                               "lost": 0, "doubled": 0, "mismatched": 0, "blobs": 0,
                               "blobs_lost": 0, "blobs_mismatched": 0, "backlog": 0,
                               "extra": 0}
        for station in self.stations:
            held = station.dump(full=True)
            if "error" in held:
                raise SoakError(f"{station.name}: {held['error']}")
            out["backlog"] += held["backlog"]
            records, blobs = held["records"], held["blobs"]
            out["records"] += len(records)
            for rid, canonical, sha in records:
                found = central.get(rid, [])
                if not found:
                    out["lost"] += 1
                    continue
                out["doubled"] += len(found) - 1
                if found[0].canonical() != base64.b64decode(canonical) or found[0].sha256 != sha:
                    out["mismatched"] += 1
            out["extra"] += max(0, by_station[held["station_id"]] - len(records))
            for sha, rel, file_sha in blobs:
                out["blobs"] += 1
                mine = (station.view / rel).read_bytes()  # a plain read crosses /proc/PID/root
                theirs_path = blob_root / sha[:2] / sha[2:]
                if not theirs_path.exists():
                    out["blobs_lost"] += 1
                elif (theirs_path.read_bytes() != mine or file_sha != sha
                      or hashlib.sha256(mine).hexdigest() != sha):
                    out["blobs_mismatched"] += 1
        out["doubled"] += out.pop("extra")  # a central record no station holds
        return out

    def checks(self) -> dict[str, bool]:
        result = {}
        for name, args in (("verify_audit", ("verify-audit",)),
                           ("rebuild_state", ("rebuild-state", "--check"))):
            try:
                self.central.cli(*args, timeout=600)
                result[name] = True
            except SoakError as exc:
                (self.logs / f"{name}.err").write_text(str(exc), encoding="utf-8")
                result[name] = False
        return result

    def close(self) -> None:
        for station in self.stations:
            station.kill()
        self.central.stop()
        self.central.stop_postgres()
        for proxy in self.proxies:
            proxy.close()
        if self.ns is not None:
            self.ns.close()
        reap_orphans()


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="soak-", dir=args.dir))
    procs.PYCACHE = work / "pycache"
    subreaper = become_subreaper()
    soak = Soak(args, work)
    started = time.monotonic()
    result: dict[str, Any] = {"minutes": args.minutes}
    lanes: Lanes | None = None
    try:
        soak.setup()
        if soak.lanes:
            lanes = Lanes(soak, args.minutes, args.faltas_por_tipo)
            lanes.run()
            fault_seconds = lanes.seconds
        else:
            fault_started = time.monotonic()
            soak.schedule(args.minutes)
            fault_seconds = time.monotonic() - fault_started
        drain_seconds = soak.drain()
        compared = soak.compare()
        checks = soak.checks()
        reached = (args.faltas_por_tipo is None
                   or all(soak.faults[k] >= args.faltas_por_tipo for k in soak.kinds))
        ok = (all(checks.values()) and compared["backlog"] == 0 and compared["records"] > 0
              and not any(compared[k] for k in ("lost", "doubled", "mismatched", "blobs_lost",
                                                "blobs_mismatched"))
              and soak.notes["serve_restarts_after_postgres"] == 0
              and soak.notes["no_records_after_serve_restart"] == 0
              and not soak.notes["serve_died"] and not soak.notes["station_died"]
              and reached and not (lanes is not None and lanes.errors))
        fault_minutes = fault_seconds / 60
        result.update({
            "faults_by_kind": dict(sorted(soak.faults.items())),
            "faults_total": sum(soak.faults.values()),
            "faults_per_minute": {k: round(n / fault_minutes, 2)
                                  for k, n in sorted(soak.faults.items())},
            "fault_minutes": round(fault_minutes, 2),
            "mode": "carriles" if soak.lanes else "secuencial",
            "faltas_por_tipo": args.faltas_por_tipo, "target_reached": reached,
            "lane_errors": lanes.errors if lanes is not None else [],
            "subreaper": subreaper,
            "records": compared["records"], "lost": compared["lost"],
            "doubled": compared["doubled"], "mismatched": compared["mismatched"],
            "ok": ok, "estaciones": args.estaciones, "semilla": args.semilla,
            "blobs": compared["blobs"], "blobs_lost": compared["blobs_lost"],
            "blobs_mismatched": compared["blobs_mismatched"],
            "backlog_left": compared["backlog"], **checks,
            "missing_kinds": [k for k in KINDS if k not in soak.kinds],
            "notes": dict(sorted(soak.notes.items())),
            "central_anomalies": compared["anomalies"],
            "drain_seconds": round(drain_seconds, 1),
            "wall_seconds": round(time.monotonic() - started, 1)})
    except Exception as exc:  # the one JSON line says what failed
        result.update({"ok": False, "error": f"{type(exc).__name__}: {exc}"[-4000:],
                       "faults_by_kind": dict(sorted(soak.faults.items())),
                       "faults_total": sum(soak.faults.values())})
        if lanes is not None:
            result["lane_errors"] = lanes.errors
    finally:
        soak.close()
        if result.get("ok") and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            result["dir"] = str(work)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, required=True,
                        help="how long faults go on (with --faltas-por-tipo: at most)")
    parser.add_argument("--carriles", action="store_true",
                        help="faults concurrently on lanes, held 0.5-3 s (bench/soak_lanes.py)")
    parser.add_argument("--faltas-por-tipo", type=int, default=None, metavar="N",
                        help="on lanes until every kind reached N faults")
    parser.add_argument("--estaciones", type=int, default=4)
    parser.add_argument("--semilla", type=int, default=1)
    parser.add_argument("--intervalo", type=float, default=0.5,
                        help="seconds between a station's records (default 0.5)")
    parser.add_argument("--nice-estaciones", type=int, default=0, metavar="N",
                        help="run the stations at nice N: they stand for other machines, "
                             "so on one box they should not slow serve's restarts")
    parser.add_argument("--dir", default="/tmp",
                        help="where the work directory goes (short: PostgreSQL's socket)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if args.estaciones < 4:
        parser.error("--estaciones must be at least 4")
    result = run(args)
    print(json.dumps(result), flush=True)
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    from bench.requisitos import ejecutar

    sys.exit(ejecutar("bench.soak", main))
