"""Properties of reconciliation through the acta fold: whatever the captures typed, the
acta ends where :func:`prep.values.conciliar` says (two equal → validada, 2 of 3 →
validada, else verificación and the verificador's values); noise never moves it; and
folding the records in any number of ingest steps, through the stored rows, gives the
state a rebuild from scratch gives."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from itertools import pairwise
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central.pipeline.state import ActaInfo
from central.pipeline.state import ActaState
from central.pipeline.state import Estado
from central.pipeline.state import Event
from central.pipeline.state import RecordEvent
from central.pipeline.state import fold
from central.pipeline.store import capture_row
from central.pipeline.store import image_row
from central.pipeline.store import state_from_rows
from central.pipeline.store import state_row
from prep.records import Kind
from prep.values import Captura
from prep.values import Resultado
from prep.values import conciliar

pytestmark = pytest.mark.rapido

CLAVE = "090001B010001"
CAMPOS = ("A", "B", "C")
INFO = ActaInfo(1, "01", CAMPOS)
IMAGE = "00000000-0000-4000-8000-0000000000aa"
IMAGE_SHA = "b" * 64
OTHER_SHA = "c" * 64  # the PREP Casilla image of the noise: never the one captured
T0 = datetime(2027, 6, 7, 2, 0, tzinfo=UTC)

valores = st.fixed_dictionaries({c: st.sampled_from([0, 1, "Ilegible", "Sin dato"])
                                 for c in CAMPOS})


def _lookup(clave: str) -> ActaInfo | None:
    return INFO if clave == CLAVE else None


class Script:
    """Builds record events with increasing times."""

    def __init__(self) -> None:
        self.n = 0

    def event(self, kind: Kind, body: dict[str, Any], operator: str = "op",
              station: str = "catd-01-aaaa", id_: str | None = None) -> RecordEvent:
        self.n += 1
        at = T0 + timedelta(seconds=self.n)
        return RecordEvent(id_ or str(uuid.uuid4()), station, operator, kind, at, at,
                           {"clave_acta": CLAVE, **body}, None)

    def work(self, kind: Kind, operator: str, sha256: str = IMAGE_SHA,
             **body: Any) -> RecordEvent:
        """A record made on the image ``sha256`` under a lease."""
        return self.event(kind, {"imagen_sha256": sha256, "lease": str(uuid.uuid4()),
                                 **body}, operator)

    def digitized(self) -> list[Event]:
        return [self.event(Kind.ACOPIO, {}),
                self.event(Kind.IMAGEN, {"sha256": IMAGE_SHA, "bytes": 9,
                                         "media_type": "image/png", "origen": "CATD",
                                         "digitalizacion": "Escáner"}, id_=IMAGE)]

    def captura(self, v: dict[str, Any], operator: str) -> RecordEvent:
        return self.work(Kind.CAPTURA, operator, valores=v)

    def verificacion(self, v: dict[str, Any]) -> RecordEvent:
        return self.work(Kind.VERIFICACION, "verificador", valores=v)


def _expected(capturas: Sequence[dict[str, Any]], verificacion: dict[str, Any] | None
              ) -> tuple[Estado, dict[str, Any] | None, str | None, int]:
    """Where conciliar leaves the acta: its state, published values and their source,
    and how many records arrived when nothing was due (captures after the decision, a
    verification of an acta not in verificación)."""
    for n in range(1, len(capturas) + 1):
        outcome = conciliar([Captura.from_json(c) for c in capturas[:n]])
        extra = len(capturas) - n
        if outcome.resultado is Resultado.VALIDADA:
            assert outcome.captura is not None
            return (Estado.VALIDADA, outcome.captura.to_json(), "captura",
                    extra + (verificacion is not None))
        if outcome.resultado is Resultado.VERIFICACION:
            if verificacion is not None:
                return Estado.VALIDADA, verificacion, "verificacion", extra
            return Estado.VERIFICACION, None, None, extra
    assert outcome.resultado is Resultado.FALTA_CAPTURA_3
    return Estado.CAPTURA_2, None, None, int(verificacion is not None)


@given(capturas=st.lists(valores, min_size=2, max_size=3),
       verificacion=st.none() | valores)
def test_any_captures_end_where_conciliar_says(capturas: list[dict[str, Any]],
                                                verificacion: dict[str, Any] | None) -> None:
    script = Script()
    events: list[Event] = script.digitized()
    events += [script.captura(v, f"capturista-{i}") for i, v in enumerate(capturas)]
    if verificacion is not None:
        events.append(script.verificacion(verificacion))

    folded = fold(events, _lookup)
    acta = folded.actas[CLAVE]

    estado, publicados, fuente, sobrantes = _expected(capturas, verificacion)
    assert acta.estado is estado
    v = acta.validacion
    assert (v.valores if v else None, v.fuente if v else None) == (publicados, fuente)
    if v is not None:
        assert (v.origen, v.imagen) == ("CATD", IMAGE)
    assert [n.type for n in folded.notes] == ["captura_sobrante"] * sobrantes


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Event], set[str]]:
    """A real history (2-3 captures, maybe a verification) with noise spliced in: a
    capture and a verification made on an image that is not the one captured, a
    repeated operator, an *ilegible* about that other image, a second image from PREP
    Casilla. Returns the events and the noise's record ids."""
    script = Script()
    events: list[Event] = script.digitized()
    capturas = draw(st.lists(valores, min_size=2, max_size=3))
    events += [script.captura(v, f"capturista-{i}") for i, v in enumerate(capturas)]
    if draw(st.booleans()):
        events.append(script.verificacion(draw(valores)))
    noise = [
        script.work(Kind.CAPTURA, "intruso", OTHER_SHA, valores=draw(valores)),
        script.work(Kind.CAPTURA, "capturista-0", valores=draw(valores)),
        script.work(Kind.VERIFICACION, "otro", OTHER_SHA, valores=draw(valores)),
        script.work(Kind.ILEGIBLE, "otro-mas", OTHER_SHA, motivo="borrosa"),
        script.event(Kind.IMAGEN, {"sha256": OTHER_SHA, "bytes": 9, "media_type": "image/png",
                                   "origen": "CASILLA", "digitalizacion": "Móvil"},
                     station="ccv-aaaa"),
    ]
    chosen = draw(st.lists(st.sampled_from(noise), max_size=4, unique_by=lambda e: e.id))
    for item in chosen:
        # After the first capture, so "capturista-0" is always the repeated one.
        events.insert(draw(st.integers(3, len(events))), item)
    return events, {e.id for e in chosen}


@given(histories())
def test_noise_never_moves_an_acta(history: tuple[list[Event], set[str]]) -> None:
    events, noise = history
    clean = [e for e in events if not (isinstance(e, RecordEvent) and e.id in noise)]
    noisy, quiet = fold(events, _lookup).actas[CLAVE], fold(clean, _lookup).actas[CLAVE]
    assert (noisy.estado, noisy.validacion) == (quiet.estado, quiet.validacion)
    assert noisy.contribuciones == quiet.contribuciones


@given(histories(), st.lists(st.integers(1, 12), max_size=6))
def test_folding_batch_by_batch_through_the_stored_rows_equals_a_rebuild(
        history: tuple[list[Event], set[str]], cuts: list[int]) -> None:
    """Ingest folds one batch at a time over the state it loads from PostgreSQL; a
    rebuild folds everything at once. Same facts, same state."""
    events, _ = history
    stored: dict[str, ActaState] = {}
    bounds = sorted({0, len(events), *(c for c in cuts if c < len(events))})
    for start, end in pairwise(bounds):
        after = fold(events[start:end], _lookup, stored).actas
        stored = {clave: _through_rows(acta) for clave, acta in after.items()}
    assert stored == fold(events, _lookup).actas


def _through_rows(acta: ActaState) -> ActaState:
    """``acta`` written as its rows and read back (store.state_row & co.)."""
    row = SimpleNamespace(**state_row(acta))
    images = [SimpleNamespace(**image_row(acta.clave, n, i))
              for n, i in enumerate(acta.imagenes, 1)]
    captures = [SimpleNamespace(**capture_row(acta.clave, n, c))
                for n, c in enumerate(acta.contribuciones, 1)]
    return state_from_rows(row, images, captures)
