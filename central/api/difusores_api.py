"""The difusores' two requests (issue 30; docs/difusores.md, «Registro de difusores»):
``POST /v1/difusores/registro`` spends a one-time code with the difusor's public key,
``POST /v1/difusores/reporte`` takes its signed report of the corte it serves. The work
is :mod:`central.stations.difusores`; this module only reads the bodies and answers."""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable

from aiohttp import web

from central.api.http_common import CENTRAL
from central.api.http_common import read_body
from central.publication.transparencia import origen
from central.stations.auth import SIGNATURE_HEADER
from central.stations.auth import SignedRequest
from central.stations.difusores import MAX_REGISTRO_BYTES
from central.stations.difusores import MAX_REPORTE_BYTES
from central.stations.difusores import AuditoriaReportes
from central.stations.difusores import registrar
from central.stations.difusores import reportar
from prep.canonical import sha256_hex
from prep.protocol import DIFUSOR_HEADER
from prep.protocol import DIFUSOR_REGISTRO_PATH
from prep.protocol import DIFUSOR_REPORTE_PATH

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: Which accepted reports reach the audit log (one per difusor and minute).
AUDITORIA = web.AppKey("difusores_auditoria", AuditoriaReportes)


def add_difusor_routes(app: web.Application, limited: Callable[[Handler], Handler]) -> None:
    """The difusores' routes; ``limited`` puts the registration behind the limits on
    failed attempts that a station's enrollment has (:mod:`central.api.enroll_limit`)."""
    app[AUDITORIA] = AuditoriaReportes()
    app.router.add_post(DIFUSOR_REGISTRO_PATH, limited(_registro))
    app.router.add_post(DIFUSOR_REPORTE_PATH, _reporte)


async def _registro(request: web.Request) -> web.Response:
    central = request.app[CENTRAL]
    body = await read_body(request, MAX_REGISTRO_BYTES)
    registrado = await central.run(registrar, central.engine, body)
    identity = central.identity
    return web.json_response({"difusor": registrado.id, "nombre": registrado.nombre,
                              "url": registrado.url, "node": identity.node,
                              "central_key": identity.key.public.b64(),
                              "cert_sha256": identity.cert_sha256})


async def _reporte(request: web.Request) -> web.Response:
    central = request.app[CENTRAL]
    body = await read_body(request, MAX_REPORTE_BYTES)
    signed = SignedRequest(request.headers.get(DIFUSOR_HEADER),
                           request.headers.get(SIGNATURE_HEADER), "POST", request.path,
                           sha256_hex(body))
    answer = await central.run(reportar, central.engine, signed, body,
                               request.app[AUDITORIA], central.identity.key.public, origen)
    return web.json_response(answer)
