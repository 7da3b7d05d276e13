"""Each trainee's score, from what the practice store recorded and the known truth.

Per operator: the actas done (captures and verifications of practice actas; acopios and
images for acopiadores and digitalizadores), the time from the first acta received to
the last one recorded, actas per hour, fields typed and how many differ from the truth
(errors per field), actas marked *ilegible* (every practice image is legible), and the
keys pressed per acta (counted by the workstation, ``teclas.jsonl``).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from decimal import ROUND_DOWN
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from prep.capacitacion.estacion import TrainingStation
from prep.capacitacion.estacion import read_keys
from prep.records import Kind
from prep.records import parse_time
from prep.station.models import WorkLeaseRow
from prep.values import check_valor
from prep.values import format_valor
from prep.values import parse_valor

#: The record kinds that count as an acta done, per role.
_ACTAS = {Kind.CAPTURA.value, Kind.VERIFICACION.value, Kind.ACOPIO.value,
          Kind.SIN_ACTA.value, Kind.IMAGEN.value, Kind.COTEJO.value}


@dataclass
class Puntaje:
    """One trainee's score."""

    operador: str
    nombre: str
    rol: str
    actas: int = 0
    campos: int = 0
    errores: int = 0
    ilegibles: int = 0
    teclas: int = 0
    inicio: datetime | None = None
    fin: datetime | None = None
    por_campo: Counter[str] = field(default_factory=Counter)

    @property
    def segundos(self) -> int:
        if self.inicio is None or self.fin is None:
            return 0
        return max(0, int((self.fin - self.inicio).total_seconds()))

    @property
    def actas_por_hora(self) -> Decimal | None:
        """``None`` before a whole acta was timed."""
        if not self.actas or not self.segundos:
            return None
        return _one_decimal(Decimal(self.actas * 3600) / Decimal(self.segundos))

    @property
    def errores_por_campo(self) -> Decimal | None:
        """Share of the fields typed that differ from the truth (0–1, 4 decimals)."""
        if not self.campos:
            return None
        return (Decimal(self.errores) / Decimal(self.campos)).quantize(
            Decimal("0.0001"), rounding=ROUND_DOWN)

    @property
    def teclas_por_acta(self) -> Decimal | None:
        if not self.actas:
            return None
        return _one_decimal(Decimal(self.teclas) / Decimal(self.actas))

    def to_json(self) -> dict[str, Any]:
        def text(value: Decimal | None) -> str | None:
            return None if value is None else str(value)
        return {"operador": self.operador, "nombre": self.nombre, "rol": self.rol,
                "actas": self.actas, "segundos": self.segundos,
                "actas_por_hora": text(self.actas_por_hora), "campos": self.campos,
                "errores": self.errores, "errores_por_campo": text(self.errores_por_campo),
                "ilegibles": self.ilegibles, "teclas": self.teclas,
                "teclas_por_acta": text(self.teclas_por_acta),
                "campos_con_errores": dict(self.por_campo.most_common())}


def puntajes(station: TrainingStation) -> list[Puntaje]:
    """The score of every trainee of the practice, in the order they were listed."""
    practica = station.practica
    scores = {a.id: Puntaje(a.id, a.nombre, a.rol) for a in practica.alumnos}
    keys = read_keys(station.data_dir)
    for _, _, canonical in station.store.records(limit=1_000_000):
        record = json.loads(canonical)
        score = scores.get(str(record["operator"]))
        if score is None:
            continue
        at = parse_time(str(record["at"]))
        score.fin = at if score.fin is None else max(score.fin, at)
        score.inicio = at if score.inicio is None else min(score.inicio, at)
        score.teclas += keys.get(str(record["id"]), 0)
        kind, body = str(record["kind"]), record["body"]
        if kind == Kind.ILEGIBLE.value:
            score.ilegibles += 1
        elif kind in _ACTAS:
            score.actas += 1
        acta = practica.acta(str(body.get("clave_acta", "")))
        if kind in (Kind.CAPTURA.value, Kind.VERIFICACION.value) and acta is not None:
            for campo, verdad in acta.verdad.items():
                score.campos += 1
                if _text(body["valores"].get(campo)) != verdad:
                    score.errores += 1
                    score.por_campo[campo] += 1
    # The clock starts when the first acta reached the operator's screen, not at the
    # first record: the first acta's typing counts too.
    with station.store.query() as conn:
        first = {str(row[0]): str(row[1]) for row in conn.execute(
            select(WorkLeaseRow.operator, func.min(WorkLeaseRow.received_at))
            .group_by(WorkLeaseRow.operator))}
    for operador, received in first.items():
        score = scores.get(operador)
        if score is not None and score.inicio is not None:
            score.inicio = min(score.inicio, parse_time(received))
    return list(scores.values())


def _text(valor: object) -> str:
    try:
        return format_valor(parse_valor(valor) if isinstance(valor, str)
                            else check_valor(valor))
    except ValueError:
        return "?"


def _one_decimal(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_DOWN)
