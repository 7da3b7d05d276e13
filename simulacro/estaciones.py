"""The drill's station processes, as the drill sees them: set up (operators, enrollment
codes, one config each), forked from the zygote, released at minute 0, watched through
their status files, signalled for the incidents and stopped at the end.

Each station itself (what runs in those processes) is :mod:`simulacro.estacion`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from typing import Protocol

from prep.sintetico.plan import PlanEstacion
from prep.sintetico.plan import station_config
from simulacro.espera import esperar
from simulacro.espera import ritmo
from simulacro.nodo import Nodo
from simulacro.nodo import NodoError
from simulacro.zygote import ForkedStation
from simulacro.zygote import Zygote

ROLES_CATD = ("acopiador", "digitalizador", "capturista", "capturista", "verificador")
ROLES_CCV = ("capturista", "capturista", "verificador")
START_FILE = "inicio.json"
#: Reference seconds per station (:mod:`simulacro.espera`) to fork, enroll and write its
#: first status file, and to deliver its last records and end after SIGTERM: the
#: stations share two cores, so the bound grows with how many there are.
ESTACION_LISTA_S = 10.0
ESTACION_PARA_S = 5.0


class PlanDeEstaciones(Protocol):
    """What the stations are set up from: the drill's :class:`~prep.sintetico.plan.Plan`,
    or the paper night's (:mod:`simulacro.noche_papel`)."""

    @property
    def estaciones(self) -> Sequence[PlanEstacion]: ...

    def write(self, path: Path) -> None: ...


class Estaciones:
    """Every station process of one drill (data and status files under
    ``OUT/estaciones``, logs under ``OUT/bitacoras``)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.processes: dict[str, ForkedStation] = {}
        self.zygote: Zygote | None = None
        self.configs: dict[str, Path] = {}
        self.expected_exit: set[str] = set()
        #: Stations that did not end within their bound after SIGTERM (:meth:`stop`).
        self.esperas_agotadas: list[str] = []

    # setup -------------------------------------------------------------------------

    def set_up(self, plan: PlanDeEstaciones, nodo: Nodo, *, speed: float, dpi: int,
               extra: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """Operators (one ``operator import``) and enrollment codes (one
        ``enroll-code`` for the CATDs, one for the CCV), then one process per station;
        ``extra``: more config for some stations, by name (the paper night's PDF)."""
        rows: list[tuple[str, str, int | None]] = []
        owners: list[tuple[str, str]] = []
        for estacion in plan.estaciones:
            roles = ROLES_CATD if estacion.rol == "catd" else ROLES_CCV
            for i, role in enumerate(roles):
                rows.append((f"{role.capitalize()} {i + 1} {estacion.nombre.upper()}", role,
                             estacion.sitio))
                owners.append((estacion.nombre, role))
        ids = nodo.operators(rows, self.out / "central")
        codes = nodo.enroll_codes([e.sitio for e in plan.estaciones])
        made = [(name, role, op) for (name, role), op in zip(owners, ids, strict=True)]
        made += [(e.nombre, "codigo", code)
                 for e, code in zip(plan.estaciones, codes, strict=True)]
        shared = self.out / "estaciones" / "compartido.json"
        shared.parent.mkdir(parents=True, exist_ok=True)
        plan.write(shared)
        for n, estacion in enumerate(plan.estaciones):
            mine = [(role, value) for name, role, value in made if name == estacion.nombre]
            operadores = {"capturistas": [v for r, v in mine if r == "capturista"],
                          **{r: v for r, v in mine if r not in ("capturista", "codigo")}}
            config = station_config(
                estacion, data_dir=str(self.out / "estaciones" / estacion.nombre),
                # With two serve nodes the stations spread over them: each enrolls at
                # one (its own node) and holds both in its signed node list.
                url=nodo.urls[n % len(nodo.urls)], cert_sha256=nodo.cert_sha256,
                code=next(v for r, v in mine if r == "codigo"), operadores=operadores,
                inicio=str(self.out / "estaciones" / START_FILE),
                speed=speed, compartido=str(shared),
                avisos=str(self.out / "estaciones" / "avisos"), dpi=dpi,
                publicacion=str(self.out / "publicacion"),
                estado=str(self.out / "estaciones" / f"{estacion.nombre}.estado.json"),
                **(extra or {}).get(estacion.nombre, {}))
            path = self.out / "estaciones" / f"{estacion.nombre}.json"
            path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
            self.configs[estacion.nombre] = path
            self.start(estacion.nombre)

    def start_the_night(self) -> float:
        """Minute 0 once every station is enrolled, its operators ready and its signal
        handlers set (34 processes take a while to start on two cores; a signal before
        that would kill one): each writes its status file, then waits for START_FILE.
        Returns minute 0 (``time.time()``)."""
        esperar(lambda: len(self.states()) >= len(self.processes),
                f"las {len(self.processes)} estaciones quedan listas (cada una con su "
                "archivo de estado)", ESTACION_LISTA_S * len(self.processes),
                revisar=self.check, cada=0.2, base=f"vea {self.out / 'bitacoras'}")
        t0 = time.time() + 1.0
        start = self.out / "estaciones" / START_FILE
        tmp = start.with_suffix(".tmp")
        tmp.write_text(json.dumps({"t0": t0}), encoding="utf-8")
        os.replace(tmp, start)
        return t0

    def start(self, name: str) -> None:
        """Fork the station's process from the zygote (started with the first): the
        modules are imported once for all stations (:mod:`.zygote`)."""
        if self.zygote is None:
            self.zygote = Zygote(self.out / "bitacoras" / "arranque_estaciones.log")
        self.processes[name] = self.zygote.start(
            name, self.out / "bitacoras" / f"{name}.log", self.configs[name])

    # watching ----------------------------------------------------------------------

    def states(self) -> dict[str, dict[str, Any]]:
        """Each station's last status file, by name (a station not yet ready has none)."""
        states: dict[str, dict[str, Any]] = {}
        for path in (self.out / "estaciones").glob("*.estado.json"):
            try:
                states[path.name.split(".")[0]] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
        return states

    def check(self) -> None:
        """Raise :class:`NodoError` if a station ended without being told to."""
        for name, process in self.processes.items():
            if process.poll() is not None and name not in self.expected_exit:
                raise NodoError(f"la estación {name} terminó sola (código {process.returncode});"
                                f" vea {self.out / 'bitacoras' / (name + '.log')}")

    # incidents ---------------------------------------------------------------------

    def send(self, name: str, sig: int, what: str) -> str:
        """Signal one station (``SIGUSR1`` cuts its link, ``SIGUSR2`` restores it)."""
        self.processes[name].send_signal(sig)
        return f"{name}: {what}"

    def kill_restart(self, name: str) -> str:
        """``SIGKILL`` one station, then start it again over the same data."""
        self.processes[name].kill()
        self.processes[name].wait()
        time.sleep(1.0)
        self.start(name)
        return f"{name}: proceso terminado con SIGKILL y vuelto a arrancar"

    # the end -----------------------------------------------------------------------

    def stop(self) -> list[str]:
        """``SIGTERM`` to every station (each delivers what it can); the failures of
        those that did not end cleanly."""
        failures: list[str] = []
        self.expected_exit = set(self.processes)
        for process in self.processes.values():
            process.send_signal(signal.SIGTERM)
        # 34 stations delivering their last records at once share two cores: give them
        # together time in proportion before calling one stuck.
        started = time.monotonic()
        limite = ritmo().limite(ESTACION_PARA_S * len(self.processes))
        for name, process in self.processes.items():
            try:
                code = process.wait(max(1.0, started + limite - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                self.esperas_agotadas.append(
                    f"espera agotada: la estación {name} termina tras SIGTERM; se esperó "
                    f"{time.monotonic() - started:.0f} s (vea bitacoras/{name}.log)")
                continue
            if code != 0:
                failures.append(f"la estación {name} terminó con código {code} "
                                f"(vea bitacoras/{name}.log)")
        return failures

    def kill(self) -> None:
        """``SIGKILL`` whatever still runs, and close the zygote."""
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
        if self.zygote is not None:
            self.zygote.close()  # reaped, so its children's CPU counts as the drill's
            self.zygote = None
