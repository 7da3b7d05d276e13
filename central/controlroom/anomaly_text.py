"""Anomalies in words (Qt-free): their type's name and their detail as a Spanish sentence.

An anomaly's ``detail`` is a JSON object whose keys depend on who raised it (the acta
pipeline, ingest, the record checks, the PREP Casilla intake…). The coordinator reads
``Acta 090123B0100JG · operador op-01-ana · registro 3f2a9c1e…`` instead of the JSON;
keys this module does not know are still shown, with their name made readable, so a new
kind of anomaly is never hidden. The raw JSON stays in the row's tooltip for the
technician.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from central.audit.anomalies import declared_anomaly_types
from prep.corte.anexo import TZ

#: Each anomaly type's Spanish name, as declared once in central/audit/anomaly_types.toml.
ANOMALY_LABELS = {t: spec.label for t, spec in declared_anomaly_types().items()}

#: Known keys, in the order they are told, with their Spanish name.
KEY_LABELS = {
    "casilla": "casilla",
    "clave_acta": "acta",
    "operator": "operador",
    "kind": "registro de",
    "estado": "estado del acta",
    "number": "lote",
    "skew_seconds": "desfase",
    "distrito": "distrito",
    "catd": "corresponde al CATD",
    "sitio_operador": "sitio del operador",
    "sitio_estacion": "sitio del equipo",
    "rol": "rol del operador",
    "estacion": "equipo",
    "code": "código",
    "reason": "motivo",
    "motivo": "motivo",
    "build": "software",
    "path": "solicitud",
    "source": "origen",
    "claimed": "dice ser",
    "count": "veces",
    "status": "estado de la asignación",
    "expires_at": "venció",
    "record": "registro",
    "first": "primer registro",
    "sin_acta": "registro «sin acta»",
    "causa": "causa",
    "actas_sin_acta": "actas «sin acta»",
    "actas_con_datos": "actas con imagen o votos",
    "otra_captura": "otra captura",
    "lease": "asignación",
    "received_at": "recibido",
    "since": "desde",
    "until": "hasta",
    "declarado": "tipo declarado",
    "declared": "tipo declarado",
    "real": "tipo real",
}
KIND_WORDS = {"captura": "captura", "verificacion": "verificación", "acopio": "acopio",
              "sin_acta": "sin acta", "imagen": "imagen", "ilegible": "ilegible",
              "cotejo": "cotejo", "heartbeat": "latido"}
ESTADO_WORDS = {"esperada": "esperada", "acopiada": "acopiada", "digitalizada": "digitalizada",
                "redigitalizacion": "en redigitalización", "captura_1": "en captura 1",
                "captura_2": "en captura 2", "verificacion": "en verificación",
                "validada": "validada", "sin_acta": "sin acta"}
CAUSA_WORDS = {"casilla_no_instalada": "casilla no instalada",
               "paquete_no_entregado": "paquete no entregado",
               "paquete_sin_sobre": "paquete entregado sin sobre"}
ROLE_WORDS = {"catd": "CATD", "ccv": "CCV", "recepcion_casilla": "recepción de PREP Casilla"}
MAX_VALUE = 80


def anomaly_label(type_: str) -> str:
    """The anomaly type's name for people (unknown types: made readable)."""
    return ANOMALY_LABELS.get(type_, type_.replace("_", " ").capitalize())


def describe(detail: Mapping[str, Any]) -> str:
    """``detail`` as one line: ``Acta … · operador … · registro …`` (known keys first,
    identifiers shortened, times in Mexico City)."""
    keys = [k for k in KEY_LABELS if k in detail]
    keys += sorted(k for k in detail if k not in KEY_LABELS)
    parts = []
    for key in keys:
        shown = _value(key, detail[key])
        if shown:
            parts.append(f"{KEY_LABELS.get(key, key.replace('_', ' '))} {shown}")
    text = " · ".join(parts)
    return text[:1].upper() + text[1:] if text else "Sin detalle."


def _value(key: str, value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return ""
    special = _FORMATS.get(key)
    if special is not None:
        return special(value)
    if isinstance(value, bool):
        return "sí" if value else "no"
    if isinstance(value, list):
        return ", ".join(_value(key, v) for v in value[:10]) + (" …" if len(value) > 10
                                                               else "")
    if isinstance(value, dict):
        return ", ".join(f"{k} {_value(k, v)}" for k, v in list(value.items())[:10])
    return _clip(str(value))


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def _short_id(value: Any) -> str:
    text = str(value)
    return text[:8] + "…" if len(text) > 12 else text


def _seconds(value: Any) -> str:
    try:
        return f"{float(value):+g} s"
    except (TypeError, ValueError):
        return _clip(str(value))


def _time(value: Any) -> str:
    try:
        return datetime.fromisoformat(str(value)).astimezone(TZ).strftime(
            "%d/%m/%Y %H:%M:%S")
    except ValueError:
        return _clip(str(value))


def _word(words: Mapping[str, str]) -> Callable[[Any], str]:
    return lambda value: words.get(str(value), _clip(str(value)))


_FORMATS: dict[str, Callable[[Any], str]] = {
    "record": _short_id, "first": _short_id, "sin_acta": _short_id,
    "otra_captura": _short_id, "lease": _short_id,
    "skew_seconds": _seconds, "received_at": _time, "expires_at": _time, "since": _time,
    "until": _time, "kind": _word(KIND_WORDS), "estado": _word(ESTADO_WORDS),
    "estacion": _word(ROLE_WORDS), "causa": _word(CAUSA_WORDS),
    "distrito": lambda v: f"{int(v):02d}" if isinstance(v, int) else _clip(str(v)),
    "catd": lambda v: f"{int(v):02d}" if isinstance(v, int) else _clip(str(v)),
}
