"""While PostgreSQL cannot be reached, the central answers every request 503 (the
stations retry) and says so in its log once a minute, with how many it left out, not
once per request: the soak's outages of a few seconds wrote thousands of identical
lines. The real aiohttp app on a real PostgreSQL, reached through a socket directory
that loses its link to the server's socket and gets it back
(``tests.harness.postgres.socket_link``)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.test_utils import TestServer

from central.api.enroll_limit import EnrollmentLimits
from central.api.http_common import Central
from central.api.server import build_app
from central.db import make_engine
from central.node.config import DataDir
from central.node.config import load_identity
from prep.crypto import SigningKey
from tests.harness.central import CentralNode
from tests.harness.postgres import socket_link

ENROLL = {"code": "ABCD-EFGH-JKLM", "hostname": "catd-prueba"}


def test_an_outage_is_one_log_line_and_every_request_a_503(
        pg_database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    node = CentralNode(tmp_path / "nodo", pg_database)  # `prep central init`, not started
    with socket_link(pg_database) as link:
        engine = make_engine(link.dsn)
        data_dir = DataDir(node.data_dir)
        central = Central.open(data_dir, load_identity(data_dir), engine,
                               enroll_limits=EnrollmentLimits(per_source=10**9, total=10**9))
        body = json.dumps({**ENROLL, "public_key": SigningKey.generate().public.b64()})

        async def answers(count: int) -> list[tuple[int, str]]:
            async with TestClient(TestServer(build_app(central))) as client:
                said = []
                for _ in range(count):
                    async with client.post("/v1/enroll", data=body) as response:
                        said.append((response.status, (await response.json())["error"]))
                return said
        try:
            [(status, _)] = asyncio.run(answers(1))
            assert status < 500  # the database answers: an unknown code is refused
            caplog.set_level(logging.WARNING, logger="central.server")
            link.cut()  # PostgreSQL out of reach
            engine.dispose()
            down = asyncio.run(answers(40))
            link.restore()  # back
            [(status, _)] = asyncio.run(answers(1))
        finally:
            central.executor.shutdown()
            engine.dispose()
    assert down == [(503, "database_unavailable")] * 40
    lines = [r.getMessage() for r in caplog.records if "PostgreSQL no disponible" in
             r.getMessage()]
    assert len(lines) == 1, lines
    assert "/v1/enroll" in lines[0] and "se responde 503" in lines[0]
    assert status < 500  # serving again as soon as PostgreSQL is back
