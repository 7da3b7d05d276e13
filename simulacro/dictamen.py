"""The full drill's last phase, once everything has stopped: its verdict over what was
published (the checks themselves are :mod:`simulacro.veredicto`).

Every corte against the truth (those judged during the drain by
:class:`~simulacro.veredicto.EarlyChecks` are not judged again), the public ``prep
verify-corte`` on the last one (a subprocess, on the other core meanwhile), the cotejo's
corrections and COTEJADA, the committee's review of the last corte's files
(:mod:`simulacro.revision`), every incident carried out, and the stations' own errors.
Everything found goes into the report's failures.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prep.catalog import Catalog
from prep.corte.verify import HashCache
from prep.rules import RuleSet
from prep.sintetico.plan import Plan
from simulacro.estaciones import Estaciones
from simulacro.informe import DrillReport
from simulacro.informe import station_totals
from simulacro.informe import warnings
from simulacro.revision import lineas
from simulacro.revision import revisar
from simulacro.veredicto import CorteVerdict
from simulacro.veredicto import EarlyChecks
from simulacro.veredicto import ErradaRows
from simulacro.veredicto import ExpectedRows
from simulacro.veredicto import check_correcciones
from simulacro.veredicto import check_corte
from simulacro.veredicto import check_cotejadas
from simulacro.veredicto import check_historial_creciente
from simulacro.veredicto import cortes_in
from simulacro.veredicto import cotejos_de


@dataclass
class Dictamen:
    """What the verdict judges and where its findings go."""

    out: Path
    plan: Plan
    catalog: Catalog
    rules: RuleSet
    cotejo_rate: float
    report: DrillReport
    estaciones: Estaciones
    #: Caches shared with the drain's checks: images hashed once, rows derived once.
    hashed: HashCache
    expected: ExpectedRows
    erradas: ErradaRows

    def run(self, early: EarlyChecks | None, say: Callable[[str], None]) -> None:
        say("Veredicto: cada corte contra la verdad del simulacro")
        cortes = cortes_in(self.out / "publicacion")
        if not cortes:
            self.report.failures.append("no se publicó ningún corte")
            return
        judged = early.results() if early is not None else {}
        # The public command on the last corte, on the other core meanwhile.
        command = subprocess.Popen([sys.executable, "-m", "prep", "verify-corte",
                                    str(cortes[-1])], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        try:
            self._cortes(cortes, judged)
        except BaseException:  # Ctrl+C, or a bug: the command must not outlive the drill
            command.kill()
            command.wait()
            raise
        last = self.report.cortes[-1]
        self.report.published, self.report.mismatches = last.publicadas, last.mismatches
        self._cotejo(cortes)
        self.report.revision = revisar(cortes[-1], self.catalog, self.rules, self.plan.sim.fuera)
        self.report.failures += lineas(self.report.revision)
        output, _ = command.communicate()
        if command.returncode != 0:
            self.report.failures.append(f"prep verify-corte {cortes[-1].name}: "
                                        + output[-500:])
        totals = station_totals(self.estaciones.states().values())
        self.report.metrics["estaciones"] = totals
        self._incidents(totals["counts"], final_ok=last.mismatches == 0 and last.final)
        for name, state in self.estaciones.states().items():
            self.report.failures += [f"{name}: {e}" for e in state.get("errores", [])]
        self.report.avisos = warnings(totals["counts"])

    def _cortes(self, cortes: list[Path], judged: dict[str, CorteVerdict]) -> None:
        """Each corte against the truth; the last one always here, in full."""
        for i, directory in enumerate(cortes):
            final = i == len(cortes) - 1
            verdict = judged.get(directory.name) if not final else None
            if verdict is None:
                verdict = check_corte(self.catalog, self.plan.sim, directory, self.rules,
                                      final=final, hashed=self.hashed,
                                      expected=self.expected, erradas=self.erradas)
            self.report.cortes.append(verdict)
            self.report.failures += verdict.failures

    def _incidents(self, counts: dict[str, int], final_ok: bool) -> None:
        """Every scheduled incident happened; the stations' own, as often as planned
        (by their counters); sin acta and fuera de catálogo, by the last corte."""
        report = self.report
        for incidente in report.incidentes:
            if incidente.minuto >= 0 and not incidente.hecho and incidente.nombre not in (
                    "sin_acta", "fuera"):
                if incidente.agotada:
                    report.esperas_agotadas.append(f"incidente {incidente.nombre}: "
                                                   f"{incidente.detalle}")
                else:
                    report.failures.append(f"el incidente {incidente.nombre} no ocurrió"
                                           + (f": {incidente.detalle}"
                                              if incidente.detalle else ""))
        for what, counter in (("acta_duplicada", "incidente_duplicado_rechazado"),
                              ("reescaneo", "incidente_reescaneo"),
                              ("imagen_ilegible", "incidente_ilegible")):
            planned = sum(1 for i in report.incidentes if i.nombre == what)
            seen = int(counts.get(counter, 0))
            for incidente in report.incidentes:
                if incidente.nombre == what:
                    incidente.hecho = seen >= planned
            if seen < planned:
                report.failures.append(f"incidente {what}: planeados {planned}, "
                                       f"ocurrieron {seen}")
        for incidente in report.incidentes:
            if incidente.nombre in ("sin_acta", "fuera"):
                incidente.hecho = final_ok

    def _cotejo(self, cortes: list[Path]) -> None:
        """Each planned correction published after its error, with its ``correccion`` in
        diferencias.json; COTEJADA=1 in the last corte exactly for the confirmed actas
        and the corrected ones."""
        plan = self.plan
        publicadas, problemas = check_correcciones(cortes, self.report.cortes, plan.erradas,
                                                   plan.verdad())
        confirmadas, diferentes = cotejos_de(self.out / "estaciones")
        problemas += check_cotejadas(cortes[-1], self.catalog, confirmadas, diferentes)
        problemas += check_historial_creciente(cortes)
        self.report.failures += problemas
        self.report.metrics["cotejo"] = {
            "tasa": self.cotejo_rate, "cotejos": len(confirmadas) + len(diferentes),
            "confirmados": len(confirmadas), "correcciones": len(diferentes),
            "erradas_planeadas": len(plan.erradas), "correcciones_publicadas": publicadas,
            "erradas": {c: {"campo": campo, "publicado": valor}
                        for c, (campo, valor) in sorted(plan.erradas.items())}}
