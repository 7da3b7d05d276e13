"""The Consejo's rules on public cortes (issue 28), through ``prep central`` as a
coordinator runs it: an on-demand corte outside the window is refused unless a reason is
given (audited), exactly one último corte after which the schedule and on-demand cortes
are refused, an audited reopening, and ``serve`` checked against the window."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy import text

from central.db import make_engine
from central.publication.corte import CorteSettings
from central.publication.schedule import Scheduler
from central.publication.schedule import Ventana
from central.publication.schedule import cortes_while
from central.publication.ventana import fijar_ventana
from central.stations.operators import add_operator
from prep.catalog import generate_catalog
from prep.cli import main
from prep.corte.nombres import NOMBRE_CORTE
from prep.crypto import SigningKey
from tests.harness.corte_data import prepare_database

MOTIVO = "Acuerdo CG-07/2027: prueba de publicación ante la prensa"


@dataclass
class Nodo:
    """A central's data directory and database with a catalog loaded."""

    data_dir: Path
    dsn: str
    engine: Engine

    def prep(self, *args: str) -> int:
        return main(["central", *args, "--data-dir", str(self.data_dir), "--dsn", self.dsn])

    def cortes(self) -> list[tuple[str, bool]]:
        with self.engine.connect() as conn:
            return [(r[0], r[1]) for r in conn.execute(text(
                "SELECT directorio, ultimo FROM cortes ORDER BY id"))]

    def events(self, event: str) -> list[dict[str, object]]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(text(
                "SELECT detail FROM audit_log WHERE event = :e ORDER BY id"), {"e": event})]

    def publicados(self) -> list[str]:
        pub = self.data_dir / "publicacion"
        return sorted(p.name for p in pub.iterdir() if p.is_dir() and not p.is_symlink()
                      and NOMBRE_CORTE.fullmatch(p.name)) if pub.is_dir() else []


@pytest.fixture
def nodo(pg_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
         ) -> Iterator[Nodo]:
    prepare_database(pg_database, generate_catalog(8, 0.005))
    data_dir = tmp_path / "central"
    assert main(["central", "init", "--data-dir", str(data_dir), "--dsn", pg_database]) == 0
    capsys.readouterr()
    engine = make_engine(pg_database, pool_size=1)
    yield Nodo(data_dir, pg_database, engine)
    engine.dispose()


PASSWORD = "sala-de-control-7"


def _coordinators(nodo: Nodo) -> tuple[str, str]:
    return tuple(add_operator(nodo.engine, name, "coordinador", "CENTRAL", PASSWORD,
                              actor="pruebas").id
                 for name in ("Olga Rivas", "Pablo Mena"))  # type: ignore[return-value]


def test_an_on_demand_corte_outside_the_window_needs_a_coordinator_s_reason(
        nodo: Nodo, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # No window fixed: refused, saying how to fix it or give the reason.
    assert nodo.prep("corte") == 1
    err = capsys.readouterr().err
    assert "no ha fijado la ventana de publicación" in err
    assert "prep central ventana --inicio" in err and "--fuera-de-ventana" in err
    # The Consejo's window opens in two hours: a corte now is refused and audited.
    inicio = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    assert nodo.prep("ventana", "--inicio", inicio.isoformat(), "--horas", "12") == 0
    assert json.loads(capsys.readouterr().out)["dentro"] is False
    assert nodo.prep("corte") == 1
    err = capsys.readouterr().err
    assert "fuera de la ventana de publicación que fijó el Consejo" in err
    assert "aún no empieza" in err
    assert nodo.publicados() == [] and nodo.cortes() == []
    refused = nodo.events("corte_refused")
    assert [e["code"] for e in refused] == ["sin_ventana", "fuera_de_ventana"]
    assert refused[-1]["inicio"] == inicio.replace(microsecond=0).isoformat()
    assert refused[-1]["motivo"] == "a_pedido"
    # An override without a reason is refused before anything is tried.
    assert nodo.prep("corte", "--fuera-de-ventana") == 2
    assert "--fuera-de-ventana requiere --motivo" in capsys.readouterr().err
    assert nodo.prep("corte", "--fuera-de-ventana", "--motivo", "   ") == 2
    assert "escriba el motivo" in capsys.readouterr().err
    assert len(nodo.events("corte_refused")) == 2 and nodo.cortes() == []
    # A trivial reason is refused (issue 62), and so is one coordinator alone.
    assert nodo.prep("corte", "--fuera-de-ventana", "--motivo", "prueba") == 2
    assert "no explica el corte fuera de la ventana" in capsys.readouterr().err
    assert nodo.prep("corte", "--fuera-de-ventana", "--motivo", MOTIVO) == 2
    assert "lo piden dos coordinadores" in capsys.readouterr().err
    olga, pablo = _coordinators(nodo)
    override = ["corte", "--fuera-de-ventana", "--motivo", MOTIVO, "--coordinador", olga,
                "--segundo-coordinador", pablo, "--password-stdin"]
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\nno-es-la-suya\n"))
    assert nodo.prep(*override) == 2
    assert f"usuario o contraseña incorrectos ({pablo})" in capsys.readouterr().err
    assert len(nodo.events("corte_refused")) == 2 and nodo.cortes() == []
    # With the reason and two coordinators' passwords it is published, audited with both.
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n{PASSWORD}\n"))
    assert nodo.prep(*override) == 0
    hecho = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert nodo.publicados() == [hecho["corte"]]
    [outside] = nodo.events("corte_outside_window")
    assert (outside["corte"], outside["reason"], outside["ultimo"], outside["segundo"]) == (
        hecho["corte"], MOTIVO, False, pablo)
    [published] = nodo.events("corte_published")
    assert published["corte"] == hecho["corte"]


def test_the_ultimo_corte_ends_public_cortes_until_an_audited_reopening(
        nodo: Nodo, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    inicio = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    assert nodo.prep("ventana", "--inicio", inicio.isoformat()) == 0
    assert json.loads(capsys.readouterr().out)["dentro"] is True
    assert nodo.prep("corte") == 0  # inside the window: no reason needed
    olga, pablo = _coordinators(nodo)
    ultimo_args = ["corte", "--ultimo", "--motivo", "100 % de las actas publicadas"]
    # The último ends publication: a coordinator's decision, refused without a login.
    assert nodo.prep(*ultimo_args) == 2
    assert "--coordinador" in capsys.readouterr().err
    assert [u for _, u in nodo.cortes()] == [False]
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    assert nodo.prep(*ultimo_args, "--coordinador", olga, "--password-stdin") == 0
    out = capsys.readouterr()
    ultimo = json.loads(out.out.strip().splitlines()[-1])["corte"]
    assert "Es el último corte" in out.err
    assert [u for _, u in nodo.cortes()] == [False, True]
    [closed] = nodo.events("publication_closed")
    assert (closed["corte"], closed["reason"], closed["motivo"]) == (
        ultimo, "100 % de las actas publicadas", "a_pedido")
    # Exactly one último corte: nothing public after it, not even with a reason and two
    # coordinators...
    for args in (["corte"], ["corte", "--ultimo", "--coordinador", olga, "--password-stdin"],
                 ["corte", "--fuera-de-ventana", "--motivo", MOTIVO, "--coordinador", olga,
                  "--segundo-coordinador", pablo, "--password-stdin"]):
        monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n{PASSWORD}\n"))
        assert nodo.prep(*args) == 1
        err = capsys.readouterr().err
        assert f"la publicación terminó con el último corte {ultimo}" in err
        assert "prep central reabrir-publicacion --motivo" in err
    assert [e["code"] for e in nodo.events("corte_refused")] == ["publicacion_cerrada"] * 3
    # ...nor from the schedule of a running serve (refused, only logged).
    ventana = Ventana(datetime.now(UTC) + timedelta(seconds=1), 2 / 3600,
                      timedelta(minutes=1))
    fijar_ventana(nodo.engine, ventana.inicio, ventana.horas, actor="pruebas",
                  motivo="ventana corta de la prueba")
    scheduler = Scheduler(nodo.engine, SigningKey.generate(),
                          CorteSettings(tmp_path / "programados", None, sitio=False), ventana)
    asyncio.run(cortes_while(_until(scheduler), scheduler))
    assert (scheduler.hechos, scheduler.rechazados) == (0, 2)
    assert len(nodo.cortes()) == 2 and not (tmp_path / "programados").exists()
    assert nodo.prep("ventana") == 0
    assert f"terminó con el último corte {ultimo}" in capsys.readouterr().err
    # Reopening needs a reason and is audited; then cortes are public again.
    with pytest.raises(SystemExit) as exit_:
        nodo.prep("reabrir-publicacion")
    assert exit_.value.code == 2
    assert "--motivo" in capsys.readouterr().err
    inicio = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
    fijar_ventana(nodo.engine, inicio, 24, actor="pruebas", motivo="se amplía la ventana")
    reabrir = ["reabrir-publicacion", "--motivo", "Acuerdo CG-09: faltaban actas"]
    assert nodo.prep(*reabrir) == 2  # a coordinator's: refused without a login
    assert "--coordinador" in capsys.readouterr().err and nodo.events("publication_reopened") == []
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    assert nodo.prep(*reabrir, "--coordinador", pablo, "--password-stdin") == 0
    assert f"el corte {ultimo} deja de ser el último" in capsys.readouterr().err
    [reopened] = nodo.events("publication_reopened")
    assert reopened == {"ultimo_corte": ultimo, "reason": "Acuerdo CG-09: faltaban actas"}
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    assert nodo.prep("reabrir-publicacion", "--motivo", "otra vez", "--coordinador", pablo,
                     "--password-stdin") == 2
    assert "no está cerrada" in capsys.readouterr().err
    assert nodo.prep("corte") == 0
    assert len(nodo.cortes()) == 3


async def _until(scheduler: Scheduler) -> None:
    while not scheduler.terminado:
        await asyncio.sleep(0.01)


def test_the_window_is_changed_only_with_the_consejo_s_reason(
        nodo: Nodo, capsys: pytest.CaptureFixture[str]) -> None:
    assert nodo.prep("ventana") == 0
    assert json.loads(capsys.readouterr().out)["inicio"] is None
    assert nodo.prep("ventana", "--inicio", "2027-06-06T20:00") == 0
    state = json.loads(capsys.readouterr().out)
    assert (state["inicio"], state["fin"]) == ("2027-06-07T02:00:00+00:00",
                                              "2027-06-08T02:00:00+00:00")
    assert nodo.prep("ventana", "--inicio", "2027-06-06T20:00") == 0  # the same: no change
    capsys.readouterr()
    assert nodo.prep("ventana", "--inicio", "2027-06-06T19:00", "--horas", "30") == 2
    assert "hasta 24 horas" in capsys.readouterr().err
    assert nodo.prep("ventana", "--inicio", "2027-06-06T19:00") == 2
    err = capsys.readouterr().err
    assert "ya está fijada (del 06/06/2027 20:00 al 07/06/2027 20:00" in err
    assert "--motivo" in err
    assert nodo.prep("ventana", "--inicio", "2027-06-06T19:00", "--horas", "20",
                     "--motivo", "Acuerdo CG-03/2027") == 0
    capsys.readouterr()
    events = nodo.events("publication_window_set")
    assert [(e["inicio"], e["anterior_inicio"], e["reason"]) for e in events] == [
        ("2027-06-07T02:00:00+00:00", None, None),
        ("2027-06-07T01:00:00+00:00", "2027-06-07T02:00:00+00:00", "Acuerdo CG-03/2027")]


def test_serve_s_start_of_publication_is_checked_against_the_consejo_s_window(
        nodo: Nodo, capsys: pytest.CaptureFixture[str]) -> None:
    assert nodo.prep("ventana", "--inicio", "2027-06-06T20:00") == 0
    capsys.readouterr()
    assert nodo.prep("serve", "--port", "0", "--publicacion-inicio", "2027-06-06T18:00") == 2
    err = capsys.readouterr().err
    assert "la ventana de publicación que fijó el Consejo es del 06/06/2027 20:00" in err
    assert "--publicacion-inicio pide del 06/06/2027 18:00" in err
    assert "prep central ventana --inicio" in err
    assert len(nodo.events("central_started")) == 0  # refused before serving
