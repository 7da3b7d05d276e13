"""Training mode without Qt: a prepared practice set, its practice central serving
leases of actas with known truth to the station's real work queue, the score against
that truth, the trainer's PDF read back, and a training station that has no way to a
central."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from prep.capacitacion.estacion import KEYS_LOG
from prep.capacitacion.estacion import TrainingError
from prep.capacitacion.estacion import TrainingStation
from prep.capacitacion.informe import write_informe
from prep.capacitacion.practica import CENTRAL_URL
from prep.capacitacion.practica import PracticeError
from prep.capacitacion.practica import prepare
from prep.capacitacion.puntaje import puntajes
from prep.cli import main as prep_main
from prep.records import Kind
from prep.station.store import KEY_NAME
from prep.station.work import WorkItem
from prep.station.work import WorkQueue
from tests.harness.capacitacion import CAPTURISTA
from tests.harness.capacitacion import OTRA_CAPTURISTA
from tests.harness.capacitacion import PRACTICE_PASSWORD
from tests.harness.capacitacion import VERIFICADOR
from tests.harness.capacitacion import account
from tests.harness.capacitacion import copy_practice
from tests.harness.capacitacion import prepare_practice

pytestmark = pytest.mark.rapido


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_practice(tmp_path_factory.mktemp("practica"))


class Clock:
    """The station's clock, moved by the test (a trainee's minutes per acta)."""

    def __init__(self) -> None:
        self.now = datetime(2027, 5, 20, 17, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def station(prepared: Path, tmp_path: Path, clock: Clock) -> Iterator[TrainingStation]:
    with TrainingStation.open(copy_practice(prepared, tmp_path / "estacion"),
                              clock) as opened:
        yield opened


def typed(valores: Mapping[str, str]) -> dict[str, int | str]:
    return {c: int(v) if v.isdigit() else v for c, v in valores.items()}


def lease_all(station: TrainingStation, operator: str, kind: str) -> list[WorkItem]:
    queue = WorkQueue(station, operator, kind, prefetch=10)
    outcome = queue.refill()
    assert outcome.online
    queue.close()
    return list(outcome.ready)


def test_a_practice_holds_its_actas_accounts_and_images_and_no_way_to_a_central(
        station: TrainingStation) -> None:
    practica = station.practica
    assert len(practica.actas) == 6
    assert {a.eleccion for a in practica.actas} == {"01", "02", "03"}
    identity = station.store.require_identity()
    assert identity.central_url == CENTRAL_URL and not identity.central_url.startswith("http")
    assert not (station.data_dir / KEY_NAME).exists()  # nothing can be signed for a central
    # The catalog and accounts arrived as a signed bundle, as at a real station.
    assert station.catalog().acta(practica.actas[0].clave) is not None
    operator = station.login(CAPTURISTA, PRACTICE_PASSWORD)
    assert (operator.role, operator.sitio) == ("capturista", practica.sitio)
    for acta in practica.actas:
        assert station.blobs.path_for(acta.imagen_sha256).exists()
        assert (station.data_dir / "actas" / f"{acta.clave}.jpg").exists()
        assert acta.verdad[acta.error_campo] != acta.error_valor


def test_every_way_to_a_central_is_refused_with_the_reason(station: TrainingStation) -> None:
    attempts: list[Callable[[], object]] = [
        lambda: station.enroll("https://127.0.0.1:1", "código", "0" * 64),
        lambda: station.enroll_mdns("código", "0123456789"),
        station.fetch_bundle, station.start_sync, station.agent, station.outbox,
        lambda: station.sync_until_drained(1.0), station.unblock]
    for attempt in attempts:
        with pytest.raises(TrainingError, match="CAPACITACIÓN: no se conecta"):
            attempt()
    status = station.status()
    assert status.capacitacion and status.central_url is None and status.backlog_records == 0


def test_captures_are_scored_against_the_truth(station: TrainingStation,
                                               clock: Clock) -> None:
    practica = station.practica
    ana = account(practica, CAPTURISTA)
    items = lease_all(station, ana, "captura")
    # The practice central hands out the practice actas in order, blind, slot 1.
    assert [i.clave_acta for i in items] == [a.clave for a in practica.actas]
    assert all(i.kind == "captura" and i.slot == 1 and not i.capturas for i in items)
    queue = WorkQueue(station, ana, "captura")
    first, second, third = items[:3]
    truth = {a.clave: a.verdad for a in practica.actas}
    wrong = dict(truth[first.clave_acta])
    campo = first.campos[0]
    wrong[campo] = "Sin dato" if wrong[campo] != "Sin dato" else "7"
    for _ in range(5):
        station.note_key(ana)
    clock.advance(2)
    queue.submit(first, typed(wrong))
    for _ in range(3):
        station.note_key(ana)
    clock.advance(1)
    queue.submit(second, typed(truth[second.clave_acta]))
    queue.ilegible(third, "Imagen borrosa")
    # What she did is not offered again; the rest is.
    again = lease_all(station, ana, "captura")
    assert [i.clave_acta for i in again] == [a.clave for a in practica.actas[3:]]
    # Another trainee gets the very same actas, from the first.
    berta = account(practica, OTRA_CAPTURISTA)
    assert [i.clave_acta for i in lease_all(station, berta, "captura")][:2] == \
        [first.clave_acta, second.clave_acta]

    [score] = [s for s in puntajes(station) if s.operador == ana]
    assert (score.actas, score.ilegibles) == (2, 1)
    assert score.campos == len(first.campos) + len(second.campos)
    assert score.errores == 1 and dict(score.por_campo) == {campo: 1}
    assert score.teclas == 8 and str(score.teclas_por_acta) == "4.0"
    # Two actas in the three minutes since the actas reached her screen: 40 an hour.
    assert (score.segundos, str(score.actas_por_hora)) == (180, "40.0")
    keys = [json.loads(line) for line in
            (station.data_dir / KEYS_LOG).read_text(encoding="utf-8").splitlines()]
    assert [(k["kind"], k["teclas"]) for k in keys] == [
        (Kind.CAPTURA.value, 5), (Kind.CAPTURA.value, 3), (Kind.ILEGIBLE.value, 0)]


def test_a_verificador_settles_two_captures_that_disagree(station: TrainingStation) -> None:
    practica = station.practica
    victor = account(practica, VERIFICADOR)
    items = lease_all(station, victor, "verificacion")
    assert len(items) == len(practica.actas)
    item = items[0]
    acta = practica.actas[0]
    assert item.diferencias == (acta.error_campo,)
    assert [c["valores"][acta.error_campo] for c in item.capturas] == [
        acta.verdad[acta.error_campo], acta.error_valor]
    queue = WorkQueue(station, victor, "verificacion")
    # He takes the wrong capture's value: one error.
    queue.submit(item, typed({**acta.verdad, acta.error_campo: acta.error_valor}),
                 "Se tomó la segunda captura")
    [score] = [s for s in puntajes(station) if s.operador == victor]
    assert (score.actas, score.errores, score.campos) == (1, 1, len(acta.campos))


def test_the_trainers_pdf_has_one_line_per_trainee(station: TrainingStation,
                                                   tmp_path: Path) -> None:
    practica = station.practica
    ana = account(practica, CAPTURISTA)
    [item] = lease_all(station, ana, "captura")[:1]
    WorkQueue(station, ana, "captura").submit(item, typed(practica.actas[0].verdad))
    out = tmp_path / "capacitacion.pdf"
    write_informe(practica, puntajes(station), out)
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    text = "\n".join(page.extract_text(extraction_mode="layout") for page in reader.pages)
    assert "CAPACITACIÓN · PREP" in text
    assert reader.metadata is not None and str(reader.metadata.title).startswith("CAPACITACIÓN")
    lines = {name: next(line for line in text.splitlines() if name in line).split()
             for name in (CAPTURISTA, OTRA_CAPTURISTA, VERIFICADOR)}
    # Operador (2 words + id), Rol, Actas, Tiempo…, campos, errores, errores/campo…
    ana_line = lines[CAPTURISTA]
    assert ana_line[3:5] == ["capturista", "1"]
    campos = str(len(practica.actas[0].campos))
    assert [campos, "0", "0.00", "%"] == ana_line[ana_line.index(campos):][:4]
    assert lines[VERIFICADOR][3:5] == ["verificador", "0"]
    assert "de práctica, no de ninguna elección" in text


def test_the_cli_prepares_scores_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "estacion"
    monkeypatch.setattr("sys.stdin", io.StringIO(PRACTICE_PASSWORD + "\n"))
    assert prep_main(["capacitacion", "preparar", "--data-dir", str(data), "--ccv",
                      "--alumno", "Luz Paz:capturista", "--actas", "2",
                      "--password-stdin"]) == 0
    prepared = json.loads(capsys.readouterr().out)
    assert prepared["sitio"] == "CCV" and prepared["alumnos"][0]["rol"] == "capturista"
    assert prep_main(["capacitacion", "puntaje", "--data-dir", str(data)]) == 0
    [score] = json.loads(capsys.readouterr().out)
    assert (score["nombre"], score["actas"], score["actas_por_hora"]) == ("Luz Paz", 0, None)
    assert prep_main(["capacitacion", "informe", "--data-dir", str(data), "--out",
                      str(tmp_path / "i.pdf")]) == 0
    assert (tmp_path / "i.pdf").read_bytes().startswith(b"%PDF")
    # Prepared once: a second time in the same place is refused, and so is a bad alumno.
    monkeypatch.setattr("sys.stdin", io.StringIO(PRACTICE_PASSWORD + "\n"))
    assert prep_main(["capacitacion", "preparar", "--data-dir", str(data),
                      "--alumno", "Luz Paz:capturista", "--password-stdin"]) == 2
    assert "ya tiene una práctica" in capsys.readouterr().err
    assert prep_main(["capacitacion", "preparar", "--data-dir", str(tmp_path / "otra"),
                      "--alumno", "Sin Rol", "--password-stdin"]) == 2
    assert "«Nombre:rol»" in capsys.readouterr().err


def test_a_directory_without_a_practice_is_not_opened(tmp_path: Path) -> None:
    with pytest.raises(PracticeError, match="prep capacitacion preparar"):
        TrainingStation.open(tmp_path)
    assert not any(tmp_path.iterdir())  # nothing created
    with pytest.raises(PracticeError, match="de 1 a"):
        prepare(tmp_path / "x", [("A B", "capturista")], PRACTICE_PASSWORD, actas=0)
