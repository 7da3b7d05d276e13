"""What the difusor did last (``estado.json`` in its data directory), for ``status``."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from prep.durable import fsync_dir
from prep.durable import write_synced

ESTADO = "estado.json"
_GUARDADOS = 20


def ahora() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Estado:
    corte: str | None = None  # the corte served (latest)
    origen: str | None = None  # the origin it came from
    publicado_en: str | None = None
    ultimo_intento: str | None = None
    ultimo_exito: str | None = None  # last poll that found a valid index
    error: str | None = None  # why the last poll failed (None: it did not)
    #: When the central wrote the last valid index read: an origin that keeps serving an
    #: old one (frozen, or replayed) shows here while the night goes on.
    indice_generado: str | None = None
    errores: list[dict[str, str]] = field(default_factory=list)  # the last few, newest last
    descargas: dict[str, dict[str, Any]] = field(default_factory=dict)  # per corte
    rechazados: dict[str, str] = field(default_factory=dict)  # corte → manifest SHA-256
    #: Everything refused since the difusor started (a signature, a hash, a path, a size,
    #: a rollback): ``errores`` keeps only the last few, and mixes in an origin down.
    rechazos: int = 0
    #: The last report the central accepted (registered difusores only): what it said
    #: and when; ``reporte_falla``: why the last attempt failed (None: it did not).
    reporte_corte: str | None = None
    reporte_error: str | None = None
    reporte_en: str | None = None
    reporte_falla: str | None = None
    #: The size of the log checkpoint whose cosignature the last accepted report carried.
    reporte_cofirma: int | None = None
    #: The central's latest corte, as its answer to the last report said.
    ultimo_corte_central: str | None = None

    def anotar_error(self, origen: str, mensaje: str) -> None:
        self.errores = [*self.errores, {"hora": ahora(), "origen": origen,
                                        "mensaje": mensaje}][-_GUARDADOS:]

    def anotar_descarga(self, nombre: str, datos: dict[str, Any]) -> None:
        self.descargas[nombre] = datos
        for viejo in list(self.descargas)[:-_GUARDADOS]:
            del self.descargas[viejo]


def cargar(datos: Path) -> Estado:
    try:
        data = json.loads((datos / ESTADO).read_bytes())
    except FileNotFoundError:
        return Estado()
    known = Estado.__dataclass_fields__
    return Estado(**{k: v for k, v in data.items() if k in known})


def guardar(datos: Path, estado: Estado) -> None:
    tmp = datos / f".{ESTADO}.tmp-{os.getpid()}"
    write_synced(tmp, json.dumps(asdict(estado), ensure_ascii=False, indent=1).encode())
    os.replace(tmp, datos / ESTADO)
    fsync_dir(datos)
