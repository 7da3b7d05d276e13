"""The central's HTTP API fuzzed through its real aiohttp app (``central.api.server.
build_app``) on a real PostgreSQL: random and mutated bodies and headers for every
station endpoint, signed by an enrolled station or not.

Property: never a 5xx; every 4xx is JSON ``{"error": code, "message": Spanish}``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from bench.fuzzing.core import HOSTILE_TEXTS
from bench.fuzzing.core import Target
from bench.fuzzing.core import Violation
from bench.fuzzing.core import json_mutated
from bench.fuzzing.core import mutated
from bench.fuzzing.core import spanish
from bench.fuzzing.files import image_seeds
from bench.fuzzing.parsers import sample_records
from prep.canonical import canonical_bytes
from prep.crypto import SigningKey
from prep.crypto import b64encode
from prep.protocol import GENESIS
from prep.protocol import make_batch
from prep.protocol import request_message

#: The admin DSN of a PostgreSQL server to make the target's database on (the CI test
#: sets its session server); else ``PREP_TEST_DSN`` or an embedded server.
ADMIN_DSN: str | None = None

_ENDPOINTS = ("enroll", "batch", "blob_put", "work_next", "lease", "get", "path")
_GETS = ("/v1/health", "/v1/stations/{station}/cursor", "/v1/station/bundle",
         "/v1/blobs/{sha}", "/v1/ccv/intake", "/v1/stations/otra-estacion/cursor")
_HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80)


@dataclass
class _Central:
    loop: asyncio.AbstractEventLoop
    client: Any
    station: str
    key: SigningKey
    operator: str
    batch_raw: dict[str, Any]


@contextmanager
def _central() -> Iterator[_Central]:
    from aiohttp.test_utils import TestClient
    from aiohttp.test_utils import TestServer

    from central.api.enroll_limit import EnrollmentLimits
    from central.api.server import Central
    from central.api.server import build_app
    from central.db import make_engine
    from central.node.config import DataDir
    from central.node.config import load_identity
    from central.stations.enrollment import Site
    from central.stations.enrollment import create_code
    from central.stations.operators import add_operator
    from tests.harness.central import CentralNode
    from tests.harness.postgres import server_dsn
    from tests.harness.postgres import temporary_database
    from tests.harness.work import PASSWORD
    from tests.harness.work import load_catalog

    with ExitStack() as stack:
        base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fuzz-http-")))
        (base / "pg").mkdir()
        admin = ADMIN_DSN or stack.enter_context(server_dsn(base / "pg"))
        dsn = stack.enter_context(temporary_database(admin, prefix="prep_fuzz"))
        node = CentralNode(base / "node", dsn)  # `prep central init`, not started
        load_catalog(node, scale=0.001)
        engine = make_engine(dsn)
        stack.callback(engine.dispose)
        data_dir = DataDir(node.data_dir)
        # Every case reaches the enrollment parser, not the 429 of the failed-attempt
        # limit (tests/central/api/test_enroll_limit.py tests that).
        unlimited = EnrollmentLimits(per_source=10**12, total=10**12)
        central = Central.open(data_dir, load_identity(data_dir), engine,
                               enroll_limits=unlimited)
        stack.callback(central.executor.shutdown)
        loop = asyncio.new_event_loop()
        stack.callback(loop.close)
        client = TestClient(TestServer(build_app(central)), loop=loop)
        loop.run_until_complete(client.start_server())
        stack.callback(lambda: loop.run_until_complete(client.close()))
        key = SigningKey.generate()
        code = create_code(engine, Site.of(7, "catd"), actor="fuzz")
        response = loop.run_until_complete(client.post("/v1/enroll", data=json.dumps({
            "code": code, "public_key": key.public.b64(), "hostname": "fuzz"}).encode()))
        station = loop.run_until_complete(response.json())["station_id"]
        operator = add_operator(engine, "Capturista Fuzz", "capturista", "07", PASSWORD,
                                actor="fuzz").id
        records = [replace(r, station=station) for r in sample_records()]
        batch, _ = make_batch(key, station, 1, GENESIS, records)
        yield _Central(loop, client, station, key, operator, batch.to_json())


def _plan() -> st.SearchStrategy[dict[str, Any]]:
    enroll = {"code": "ABCD-EFGH-JKLM", "public_key": b64encode(bytes(32)), "hostname": "x"}
    work = {"operator": "{operator}", "kind": "captura", "prefetch": 1, "done": [],
            "espera": 0, "nonce": "{nonce}"}
    return st.fixed_dictionaries({
        "endpoint": st.sampled_from(_ENDPOINTS),
        "json": st.one_of(json_mutated([enroll]), json_mutated([work]), st.just(None)),
        "bytes": st.one_of(st.binary(max_size=300), mutated([json.dumps(enroll).encode()])),
        "batch_edits": st.integers(0, 3),
        "image": st.one_of(st.sampled_from(image_seeds()), mutated(image_seeds())),
        "right_sha": st.booleans(),
        "sign": st.sampled_from(("good", "good", "none", "garbage", "other_key")),
        "text": st.one_of(st.sampled_from(HOSTILE_TEXTS), st.text(max_size=70)),
        "content_type": st.sampled_from(("application/json", "image/png", "image/jpeg",
                                         "image/tiff", "text/html", "image/", "x")),
        "headers": st.dictionaries(st.sampled_from(("X-Prep-Clock", "If-None-Match",
                                                    "X-Prep-Station", "X-Prep-Signature",
                                                    "Content-Encoding", "Transfer-Encoding",
                                                    "Expect")), _HEADER_TEXT, max_size=2),
        "get": st.sampled_from(_GETS),
        "lease_op": st.sampled_from(("renew", "release")),
        "mutated_batch": st.data(),
    })


def _strategy(_: Any) -> st.SearchStrategy[dict[str, Any]]:
    return _plan()


def _body_json(plan: dict[str, Any], ctx: _Central) -> bytes:
    value = plan["json"]
    text = json.dumps(value, ensure_ascii=plan["right_sha"])
    text = text.replace("{operator}", ctx.operator).replace("{nonce}", str(uuid.uuid4()))
    data = text.encode("utf-8", "surrogatepass")
    try:
        parsed = json.loads(data)
        if isinstance(parsed, dict) and type(parsed.get("espera")) is int \
                and parsed["espera"] > 0:  # a long poll waits by design: not the finding
            parsed["espera"] = 0
            data = json.dumps(parsed).encode("utf-8", "surrogatepass")
    except ValueError:
        pass
    return data


def _request(plan: dict[str, Any], ctx: _Central) -> tuple[str, str, bytes, str]:
    """(method, path, body, what the signature covers)."""
    endpoint = plan["endpoint"]
    if endpoint == "enroll":
        body = _body_json(plan, ctx) if plan["json"] is not None else plan["bytes"]
        return "POST", "/v1/enroll", body, ""
    if endpoint == "batch":
        raw = ctx.batch_raw
        if plan["batch_edits"]:
            raw = plan["mutated_batch"].draw(json_mutated([raw], plan["batch_edits"]))
        try:
            canonical = canonical_bytes(raw)
            signature = b64encode(ctx.key.sign(canonical))
        except ValueError:
            signature = "x"
        body = json.dumps({"batch": raw, "signature": signature}, ensure_ascii=False
                          ).encode("utf-8", "surrogatepass")
        if plan["sign"] == "garbage":
            body = plan["bytes"]
        return "POST", "/v1/batches", body, ""
    if endpoint == "blob_put":
        data = plan["image"]
        sha = hashlib.sha256(data).hexdigest() if plan["right_sha"] else quote(
            _utf8(plan["text"]), safe="") or "x"
        return "PUT", f"/v1/blobs/{sha}", data, sha
    if endpoint == "work_next":
        body = _body_json(plan, ctx) if plan["json"] is not None else plan["bytes"]
        return "POST", "/v1/work/next", body, hashlib.sha256(body).hexdigest()
    if endpoint == "lease":
        lease = quote(_utf8(plan["text"]), safe="") or str(uuid.uuid4())
        return "POST", f"/v1/work/{lease}/{plan['lease_op']}", b"", \
            hashlib.sha256(b"").hexdigest()
    if endpoint == "get":
        path = plan["get"].format(station=ctx.station, sha="ab" * 32)
        return "GET", path, b"", hashlib.sha256(b"").hexdigest()
    path = "/v1/" + quote(_utf8(plan["text"]), safe="/")
    return "POST", path, plan["bytes"], hashlib.sha256(plan["bytes"]).hexdigest()


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _check(ctx: _Central, plan: dict[str, Any]) -> None:
    method, path, body, covered = _request(plan, ctx)
    headers = {"Content-Type": plan["content_type"]}
    if plan["sign"] in ("good", "other_key"):
        key = ctx.key if plan["sign"] == "good" else SigningKey.generate()
        headers["X-Prep-Station"] = ctx.station
        headers["X-Prep-Signature"] = b64encode(key.sign(request_message(method, path,
                                                                         covered)))
    elif plan["sign"] == "garbage":
        headers["X-Prep-Station"] = plan["text"].encode("latin-1", "replace").decode("latin-1")
        headers["X-Prep-Signature"] = "AAAA"
    headers.update(plan["headers"])

    async def send() -> tuple[int, bytes]:
        # Through the test client's session, not ``client.request``: the test client
        # keeps every response it made until it closes (≈4 KB a case, measured).
        async with ctx.client.session.request(method, ctx.client.make_url(path), data=body,
                                              headers=headers,
                                              skip_auto_headers=("Content-Type",)
                                              ) as response:
            return response.status, await response.read()
    try:
        status, answer = ctx.loop.run_until_complete(asyncio.wait_for(send(), 10))
    except ValueError:  # aiohttp's client refused to send such a request: not the server
        return
    if status >= 500:
        raise Violation(f"{method} {path.split('/')[2] if path.count('/') > 1 else path}: "
                        f"{status} {answer[:200]!r}")
    if status >= 400:
        if status in (400, 417) and {"Transfer-Encoding", "Expect"} & set(plan["headers"]) \
                and not answer.startswith(b"{"):
            return  # aiohttp's HTTP layer refused the framing before any handler ran
        try:
            error = json.loads(answer)
            ok = isinstance(error["error"], str) and spanish(" " + error["message"])
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            raise Violation(f"{method} {path[:30]}: {status} without a JSON error: "
                            f"{answer[:200]!r}")


HTTP = Target("http", "central.api.server.build_app on a real PostgreSQL via aiohttp's test "
              "client: enrollment, batches, blob upload, work, leases, cursor, bundle",
              _strategy, _check, setup=_central, max_seconds=2.0)
