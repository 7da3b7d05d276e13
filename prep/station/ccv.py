"""What a CCV station asks the central about the PREP Casilla intake (its panel,
``docs/ccv.md``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from prep.station.errors import SyncError
from prep.station.station import Station

INTAKE_PATH = "/v1/ccv/intake"


@dataclass(frozen=True)
class IntakeCounts:
    """The intake at a glance: photos accepted and where their actas stand, files
    refused by reason."""

    recibidas: int
    aceptadas: int
    rechazadas: dict[str, int]
    en_captura: int
    redigitalizacion: int
    validadas: int
    validadas_con_foto: int
    at: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IntakeCounts:
        return cls(int(data["recibidas"]), int(data["aceptadas"]),
                   {str(k): int(v) for k, v in dict(data["rechazadas"]).items()},
                   int(data["en_captura"]), int(data["redigitalizacion"]),
                   int(data["validadas"]), int(data["validadas_con_foto"]), str(data["at"]))

    @property
    def total_rechazadas(self) -> int:
        return sum(self.rechazadas.values())


def fetch_intake(station: Station, timeout: float = 10.0) -> IntakeCounts:
    """Ask the central now (blocking: call it from a worker). Raises :class:`SyncError`
    offline or when the central refuses (the message says why, in Spanish)."""
    identity = station.store.require_identity()
    url = station.status().central_url or identity.central_url

    async def ask() -> tuple[int, Any]:
        async with station.work_client(timeout, url) as client:
            return await client.get_json(INTAKE_PATH)
    status, data = asyncio.run(ask())
    if status != 200 or not isinstance(data, dict):
        message = data.get("message") if isinstance(data, dict) else None
        raise SyncError("refused", str(message or f"el nodo central respondió {status}"),
                        retry=False)
    try:
        return IntakeCounts.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise SyncError("malformed", f"Respuesta del nodo central ilegible ({exc}).",
                        retry=False) from None
