"""Leased capture and verification work placed in a station store as the central would
hand it out, with realistic acta images, for ``bench/gui.py`` (``next_acta_p95_ms``) and
``scripts/render_work_screens.py`` (no central needed: the leases and images are what
``POST /v1/work/next`` and ``GET /v1/blobs`` would have brought).
"""

from __future__ import annotations

import hashlib
import json
import uuid
import zlib
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from prep.catalog import Acta
from prep.records import format_time
from prep.sintetico.acta_image import ActaImageOptions
from prep.sintetico.acta_image import render_acta_image
from prep.station.models import WorkLeaseRow
from prep.station.station import Station
from prep.values import Marca
from prep.values import Valor


def written_values(acta: Acta) -> dict[str, Valor]:
    """Plausible values for ``acta`` (deterministic per CLAVE_ACTA): votes that add up
    to the total asentado, boletas and personas consistent with them."""
    votos = [c for c in acta.layout.campos if c in acta.eleccion.campos_voto_set]
    valores: dict[str, Valor] = {}
    for campo in votos:
        seed = zlib.crc32(f"{acta.clave}:{campo}".encode())
        valores[campo] = seed % (90 if campo in ("PAN", "MORENA", "PRI") else 25)
    total = sum(v for v in valores.values() if isinstance(v, int))
    valores["TOTAL_VOTOS_ASENTADO"] = total
    valores["TOTAL_PERSONAS_VOTARON"] = total
    valores["TOTAL_REP_PARTIDO_CI_VOTARON"] = 4
    valores["TOTAL_VOTOS_SACADOS"] = total
    valores["TOTAL_BOLETAS_SOBRANTES"] = max(0, acta.casilla.lista_nominal - total)
    return {c: valores[c] for c in acta.layout.campos}


def acta_image(acta: Acta, dpi: int = 200) -> bytes:
    """A scanned-looking JPEG of ``acta`` filled in with :func:`written_values`."""
    return render_acta_image(acta, written_values(acta), ActaImageOptions(
        dpi=dpi, skew_degrees=0.6, seed=zlib.crc32(acta.clave.encode())))


def _json_valores(valores: dict[str, Valor]) -> dict[str, int | str]:
    return {c: v.value if isinstance(v, Marca) else v for c, v in valores.items()}


def lease_work(station: Station, operator: str, actas: Sequence[Acta], kind: str = "captura",
               images: dict[str, bytes] | None = None, minutes: int = 600) -> list[str]:
    """Store one pending lease per acta for ``operator`` (images in the blob store);
    a verification lease carries three captures that differ in two fields; a cotejo
    lease, the published values."""
    now = datetime.now(UTC)
    ids = []
    with station.store.write() as session:
        for index, acta in enumerate(actas):
            data = (images or {}).get(acta.clave) or acta_image(acta)
            sha256 = station.blobs.put(data)
            assert sha256 == hashlib.sha256(data).hexdigest()
            lease_id = str(uuid.uuid4())
            lease: dict[str, object] = {
                "lease_id": lease_id, "clave_acta": acta.clave, "kind": kind,
                "slot": 1 if kind == "captura" else 0,
                "expires_at": format_time(now + timedelta(minutes=minutes)),
                "eleccion": acta.eleccion.codigo, "campos": list(acta.layout.campos),
                "image_sha256": sha256,
                "image": {"sha256": sha256, "bytes": len(data), "media_type": "image/jpeg",
                          "origen": "CATD", "digitalizacion": "Escáner",
                          "received_at": format_time(now)}}
            if kind == "verificacion":
                lease.update(_disagreement(acta))
            elif kind == "cotejo":  # the published data, to compare with the paper
                lease["valores"] = _json_valores(written_values(acta))
            session.add(WorkLeaseRow(
                lease_id=lease_id, operator=operator, kind=kind, clave_acta=acta.clave,
                expires_at=format_time(now + timedelta(minutes=minutes)),
                lease=json.dumps(lease), state="pending",
                received_at=format_time(now + timedelta(microseconds=index))))
            ids.append(lease_id)
    return ids


def _disagreement(acta: Acta) -> dict[str, object]:
    truth = written_values(acta)
    votos = [c for c in acta.layout.campos if c in acta.eleccion.campos_voto_set]
    a, b = votos[1], votos[4]
    one = dict(truth)
    two = {**truth, a: int(truth[a]) + 10 if isinstance(truth[a], int) else 10}
    three = {**truth, b: Marca.ILEGIBLE, a: int(truth[a]) + 1 if isinstance(truth[a], int)
             else 1}
    capturas = [{"slot": n, "valores": _json_valores(v)}
                for n, v in enumerate((one, two, three), start=1)]
    return {"capturas": capturas, "diferencias": [a, b], "imagenes": []}
