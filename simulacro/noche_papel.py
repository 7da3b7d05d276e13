"""``prep simulacro noche``: a simulacro with paper run by the drill's virtual operators
(issue 32), from the output of ``prep simulacro preparar``.

The central is real (``prep central init --simulacro``, the prepared catalog, ``serve``
over HTTPS with its embedded PostgreSQL), and so are the stations: one process per CATD
that has printed actas (:mod:`simulacro.estacion`, the real station services) and the
CCV. Each CATD's acopiador registers its paquetes (the sin acta ones with their cause,
the fuera-de-catálogo sheets as read), then its digitalizador scans the stack: the
CATD's PDF rendered page by page by ``pdftoppm`` into the station's hot folder, where
the real digitalización reads each page's QR. The capturistas take leases from the
central and type each acta from the expected results (``--error-de-captura`` makes them
all type one value wrong, to see the informe catch it). When the stations are idle the
último corte is published and ``prep simulacro informe`` compares it: ``COINCIDE`` only
if every acta and contest published is the expected one.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from prep.papel.actas import catd_pdf_name
from prep.papel.actas import paginas_de_control
from prep.papel.esperados import sin_acta_caso
from prep.papel.informe import Informe
from prep.papel.informe import compare_publicacion
from prep.papel.informe import load_esperados
from prep.papel.informe import write_informe
from prep.sintetico.capturas import SIN_ACTA_CASOS
from prep.sintetico.capturas import Caso
from prep.sintetico.plan import Llegada
from prep.sintetico.plan import PlanEstacion
from simulacro.espera import EsperaAgotada
from simulacro.estaciones import Estaciones
from simulacro.nodo import Nodo
from simulacro.nodo import NodoError
from simulacro.salida import MARKER
from simulacro.salida import prepare_out

log = logging.getLogger("simulacro")

#: Simulated seconds per real second: a capturista types an acta in 90 simulated
#: seconds (:mod:`simulacro.estacion.captura`), here 0.09 s.
VELOCIDAD = 1000.0
#: Seconds between the stations' status reports (the drill's 10 s is for 34 stations).
REPORTE_S = 1.0
#: Seconds between looks at the stations while the night runs.
MIRAR_S = 0.5


class NocheError(ValueError):
    """The night cannot start (bad input); the message is for the operator."""


@dataclass(frozen=True)
class ErrorDeCaptura:
    """Every capturista types ``valor`` in ``campo`` of acta ``clave``."""

    clave: str
    campo: str
    valor: str

    @classmethod
    def parse(cls, text: str) -> ErrorDeCaptura:
        clave, _, resto = text.partition(":")
        campo, _, valor = resto.partition("=")
        if not clave or not campo or not valor:
            raise NocheError(f"«{text}»: escriba CLAVE_ACTA:CAMPO=VALOR, por ejemplo "
                             "090123B0100JG:PAN=17")
        return cls(clave.strip("'"), campo, valor)


@dataclass
class PlanPapel:
    """The stations of the paper night and what their operators know: the truth they
    type (the expected results) and the errors asked for."""

    estaciones: list[PlanEstacion]
    verdad: dict[str, dict[str, str]]
    erradas: dict[str, list[str]] = field(default_factory=dict)
    #: Per CATD station: its PDF and the first acta page (after the control sheet).
    papel: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Pages expected to be refused (the fuera-de-catálogo sheets).
    hojas_fuera: int = 0

    def write(self, path: Path) -> None:
        """The shared file every station reads (the drill's format)."""
        path.write_text(json.dumps({"verdad": self.verdad, "errores": {}, "ilegibles": [],
                                    "erradas": self.erradas, "cotejo_rate": 0.0},
                                   ensure_ascii=False), encoding="utf-8")

    @property
    def con_papel(self) -> int:
        """Actas that arrive with their paper (each is captured twice)."""
        return len(self.verdad)


def plan_papel(esperados: Mapping[str, Any], actas_dir: Path,
               errores: Sequence[ErrorDeCaptura] = ()) -> PlanPapel:
    """One CATD station per printed PDF (its paquetes: acopio or sin acta; the first
    also reads the fuera-de-catálogo sheets, as :func:`prep.papel.actas.plan_catd`
    printed them), and the CCV."""
    catds = sorted(int(p.stem.rsplit("_", 1)[1]) for p in actas_dir.glob("actas_CATD_*.pdf"))
    if not catds:
        raise NocheError(f"no hay actas impresas en {actas_dir}: indique el directorio "
                         "--out de «prep simulacro preparar»")
    estaciones = {d: PlanEstacion(f"catd{d:02d}", "catd", d) for d in catds}
    verdad: dict[str, dict[str, str]] = {}
    paginas = dict.fromkeys(catds, 0)
    for acta in esperados["actas"]:
        estacion = estaciones.get(int(acta["catd"]))
        if estacion is None:
            raise NocheError(f"falta {catd_pdf_name(int(acta['catd']))} en {actas_dir}")
        if sin_acta_caso(acta["caso"]):
            causa = SIN_ACTA_CASOS[Caso(acta["caso"])].value
            estacion.llegadas.append(Llegada(0.0, acta["clave"], "sin_acta", causa=causa))
        else:
            estacion.llegadas.append(Llegada(0.0, acta["clave"], "acopio"))
            verdad[acta["clave"]] = dict(acta["valores"])
            paginas[estacion.sitio or 0] += 1
    primera = estaciones[catds[0]]
    for fuera in esperados["fuera"]:
        primera.llegadas.append(Llegada(0.0, fuera["codigo"], "fuera",
                                        eleccion=fuera["eleccion"] or ""))
    paginas[catds[0]] += len(esperados["fuera"])
    papel = {}
    for d, estacion in estaciones.items():
        sin_acta = sum(1 for ll in estacion.llegadas if ll.tipo == "sin_acta")
        papel[estacion.nombre] = {"papel": {
            "pdf": str((actas_dir / catd_pdf_name(d)).resolve()),
            "primera": paginas_de_control(paginas[d] + sin_acta) + 1}}
    erradas: dict[str, list[str]] = {}
    for error in errores:
        valores = verdad.get(error.clave)
        if valores is None:
            raise NocheError(f"{error.clave}: no es un acta con papel de estos resultados "
                             "esperados")
        if error.campo not in valores:
            raise NocheError(f"{error.clave}: el acta no tiene el campo {error.campo}; "
                             f"tiene {', '.join(valores)}")
        erradas[error.clave] = [error.campo, error.valor]
    return PlanPapel([*estaciones.values(), PlanEstacion("ccv", "ccv", None)], verdad,
                     erradas, papel, len(esperados["fuera"]))


@dataclass
class ResultadoNoche:
    """What the night did and the informe of its último corte."""

    informe: Informe | None = None
    archivos: list[Path] = field(default_factory=list)  # informe.json, informe.pdf
    hojas: int = 0
    hojas_rechazadas: int = 0
    capturas: int = 0
    segundos: float = 0.0
    avisos: list[str] = field(default_factory=list)
    fallas: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.fallas and self.informe is not None and self.informe.ok


class NochePapel:
    """One paper night into ``out`` (``OUT/central``, ``OUT/estaciones``,
    ``OUT/publicacion``, ``OUT/informe``, ``OUT/simulacro.json``)."""

    def __init__(self, esperados_dir: Path, out: Path, *, dpi: int = 200,
                 errores: Sequence[ErrorDeCaptura] = (), espera_s: float = 900.0,
                 catalogo: Path | None = None, reglas: Path | None = None,
                 say: Callable[[str], None] = lambda _: None) -> None:
        self.esperados_dir = esperados_dir
        self.out = out
        self.dpi = dpi
        self.espera_s = espera_s
        self.say = say
        self.catalogo = catalogo or esperados_dir / "catalogo"
        self.reglas = reglas
        if not (self.catalogo / "catalogo.toml").exists():
            raise NocheError(f"no hay catálogo en {self.catalogo}: repita «prep simulacro "
                             "preparar» (ahora guarda una copia) o indique --catalogo")
        if shutil.which("pdftoppm") is None:
            raise NocheError("falta pdftoppm (paquete poppler-utils): con él se «escanean» "
                             "las páginas de las actas impresas")
        self.esperados = load_esperados(esperados_dir)
        self.plan = plan_papel(self.esperados, esperados_dir / "actas", errores)
        self.resultado = ResultadoNoche()

    def run(self) -> ResultadoNoche:
        started = time.perf_counter()
        prepare_out(self.out)
        (self.out / MARKER).write_text('{"estado": "en curso"}\n', encoding="utf-8")
        nodo = Nodo(self.out / "central", self.out / "publicacion", self.out / "bitacoras",
                    reglas=self.reglas)
        estaciones = Estaciones(self.out)
        try:
            self.say("Nodo central del simulacro: esquema, catálogo y servicio HTTPS")
            nodo.init(self.catalogo)
            nodo.serve()
            self.say(f"{len(self.plan.estaciones)} estaciones: "
                     + ", ".join(e.nombre for e in self.plan.estaciones))
            extra = {e.nombre: {"reporte_s": REPORTE_S, **self.plan.papel.get(e.nombre, {})}
                     for e in self.plan.estaciones}
            estaciones.set_up(self.plan, nodo, speed=VELOCIDAD, dpi=self.dpi, extra=extra)
            estaciones.start_the_night()
            self.say(f"Acopio y escaneo de las actas impresas a {self.dpi} dpi; captura de "
                     f"{self.plan.con_papel} actas desde los resultados esperados")
            self._esperar(estaciones)
            self.resultado.fallas += estaciones.stop()
            self.resultado.fallas += estaciones.esperas_agotadas  # a station that hung
            self._contar(estaciones)
            self.say("Último corte")
            nodo.corte(ultimo=True)
        except (NodoError, OSError, EsperaAgotada) as exc:
            self.resultado.fallas.append(f"la noche se interrumpió: {exc}")
        finally:
            estaciones.kill()
            nodo.close()
        self._informe()
        self.resultado.segundos = round(time.perf_counter() - started, 1)
        self._marcar()
        return self.resultado

    def _esperar(self, estaciones: Estaciones) -> None:
        """Until the stations are idle (stack scanned, every acta captured twice and
        every record delivered to the central) in two looks more than a status report
        apart, so no count is older than the backlog it was read with; or ``espera_s``
        passed (the informe then says which actas are not final); or a station reported
        an error (there is no point in waiting for it)."""
        deadline = time.monotonic() + self.espera_s
        ociosas_desde: float | None = None
        while time.monotonic() < deadline:
            estaciones.check()
            states = estaciones.states()
            if any(s.get("errores") for s in states.values()):
                return  # a station failed (e.g. pdftoppm): its errors go to the fallas
            if not self._ociosas(states):
                ociosas_desde = None
            elif ociosas_desde is None:
                ociosas_desde = time.monotonic()
            elif time.monotonic() - ociosas_desde > 1.5 * REPORTE_S:
                return
            time.sleep(MIRAR_S)
        self.resultado.avisos.append(f"tras {self.espera_s:.0f} s las estaciones aún "
                                     "tenían trabajo: el informe dice qué actas no son "
                                     "finales")

    def _ociosas(self, states: Mapping[str, Mapping[str, Any]]) -> bool:
        if len(states) < len(self.plan.estaciones):
            return False
        capturas = sum(int(s.get("counts", {}).get("capturas", 0)) for s in states.values())
        return capturas >= 2 * self.plan.con_papel and all(
            s.get("llegadas_pendientes") == 0 and s.get("backlog_records") == 0
            and s.get("hojas_pendientes") == 0
            and (s.get("papel_escaneado") or name not in self.plan.papel)
            for name, s in states.items())

    def _contar(self, estaciones: Estaciones) -> None:
        r = self.resultado
        for name, state in estaciones.states().items():
            counts = state.get("counts", {})
            r.hojas += int(counts.get("hojas", 0))
            r.hojas_rechazadas += int(counts.get("hojas_rechazadas", 0))
            r.capturas += int(counts.get("capturas", 0))
            r.fallas += [f"{name}: {e}" for e in state.get("errores", [])]
        if r.hojas_rechazadas != self.plan.hojas_fuera:
            r.avisos.append(f"{r.hojas_rechazadas} hojas rechazadas al escanear; se esperaban "
                            f"{self.plan.hojas_fuera} (las fuera de catálogo): vea las "
                            "bitácoras de las estaciones")

    def _informe(self) -> None:
        publicacion = self.out / "publicacion"
        try:
            informe = compare_publicacion(self.esperados, publicacion)
        except ValueError as exc:  # InformeError: no corte was published
            self.resultado.fallas.append(str(exc))
            return
        self.resultado.informe = informe
        self.resultado.archivos = write_informe(informe, self.out / "informe")

    def _marcar(self) -> None:
        r = self.resultado
        informe = r.informe
        (self.out / MARKER).write_text(json.dumps({
            "tipo": "noche con papel", "esperados": str(self.esperados_dir),
            "dpi": self.dpi, "segundos": r.segundos, "hojas": r.hojas,
            "hojas_rechazadas": r.hojas_rechazadas, "capturas": r.capturas,
            "errores_de_captura": self.plan.erradas,
            "veredicto": informe.veredicto if informe is not None else None,
            "actas": informe.actas if informe is not None else None,
            "coinciden": informe.coinciden if informe is not None else None,
            "diferencias": [d.clave for d in informe.diferencias] if informe else None,
            "avisos": r.avisos, "fallas": r.fallas, "ok": r.ok,
        }, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
