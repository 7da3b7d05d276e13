"""Enrollment with one-time codes, as a technician at a CATD and the coordinator see it."""

from __future__ import annotations

import json
import re

import psycopg

from central.stations.enrollment import code_sha256
from prep.crypto import SigningKey
from tests.central.station import central_cli
from tests.central.station import error_of
from tests.central.station import query
from tests.harness.central import CentralNode


def _enroll(node: CentralNode, code: str, key: SigningKey | None = None,
            hostname: str = "catd07-equipo3", source: str | None = None) -> tuple[int, bytes]:
    return node.request("POST", "/v1/enroll", json.dumps({
        "code": code, "public_key": (key or SigningKey.generate()).public.b64(),
        "hostname": hostname}).encode(), source=source)


def _refusals(node: CentralNode, hostname: str) -> list[str]:
    """The refusals of enrollments by ``hostname``: traced by source address (the first
    ones of a source are written one by one: these tests use addresses of their own)."""
    return [r[0] for r in query(node.dsn, "SELECT detail->>'code' FROM audit_log WHERE "
                                "event = 'enrollment_refused' AND detail->>'hostname' = %s "
                                "AND actor LIKE 'origen:%%' ORDER BY id", hostname)]


def test_a_code_enrolls_one_station_once(shared_central: CentralNode) -> None:
    node = shared_central
    code = node.enroll_code(catd=7)
    key = SigningKey.generate()

    status, body = _enroll(node, code.lower().replace("-", " "), key)  # as typed by hand

    assert status == 200, body
    answer = json.loads(body)
    assert re.fullmatch(r"catd-07-[0-9a-f]{4}", answer["station_id"])
    assert answer | {"station_id": None} == {
        "station_id": None, "role": "catd", "sitio": "07", "node": node.node,
        "central_key": node.central_key.b64(), "cert_sha256": node.cert_sha256}
    assert query(node.dsn, "SELECT role, sitio, public_key, enabled FROM stations "
                 "WHERE id = %s", answer["station_id"]) == [("catd", "07", key.public.raw(),
                                                             True)]

    status, body = _enroll(node, code, hostname="otro-equipo", source="127.0.0.31")
    assert status == 403
    assert error_of(body) == ("used_code", "Este código de alta ya se usó: cada código sirve "
                              "una sola vez. Pida uno nuevo al coordinador.")
    assert _refusals(node, "otro-equipo") == ["used_code"]


def test_unknown_and_expired_codes_are_refused(shared_central: CentralNode) -> None:
    node = shared_central
    status, body = _enroll(node, "ABCD-EFGH-JKLM", hostname="equipo-desconocido",
                           source="127.0.0.32")
    assert status == 403 and error_of(body)[0] == "unknown_code"
    assert "no existe" in error_of(body)[1]

    code = node.enroll_code(catd=12)
    with node_db(node) as conn:
        conn.execute("UPDATE enrollment_codes SET expires_at = now() - interval '1 minute' "
                     "WHERE sitio = '12' AND used_at IS NULL")
    status, body = _enroll(node, code, hostname="equipo-tarde", source="127.0.0.32")
    assert status == 403 and error_of(body) == ("expired_code", "El código de alta venció. "
                                                "Pida uno nuevo al coordinador.")
    assert _refusals(node, "equipo-desconocido") == ["unknown_code"]
    assert _refusals(node, "equipo-tarde") == ["expired_code"]


def test_a_ccv_code_enrolls_a_ccv_station(shared_central: CentralNode) -> None:
    status, body = _enroll(shared_central, shared_central.enroll_code(None, "ccv"))
    assert status == 200
    answer = json.loads(body)
    assert re.fullmatch(r"ccv-[0-9a-f]{4}", answer["station_id"])
    assert (answer["role"], answer["sitio"]) == ("ccv", "CCV")


def test_a_malformed_enrollment_is_refused(shared_central: CentralNode) -> None:
    status, body = shared_central.request("POST", "/v1/enroll", b'{"code": "X"}')
    assert status == 400 and error_of(body)[0] == "malformed"


def test_coordinator_makes_codes_from_the_command_line(shared_central: CentralNode) -> None:
    node = shared_central
    done = central_cli(node, "enroll-code", "--catd", "07", "--role", "catd")
    assert done.returncode == 0, done.stderr
    code = done.stdout.strip()
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    assert "CATD 07" in done.stderr and "un solo uso" in done.stderr
    # Stored only hashed.
    assert query(node.dsn, "SELECT count(*) FROM enrollment_codes WHERE code_sha256 = %s",
                 code) == [(0,)]
    assert _enroll(node, code)[0] == 200

    wrong = central_cli(node, "enroll-code", "--ccv", "--role", "catd")
    assert wrong.returncode == 2
    assert "el rol catd requiere --catd" in wrong.stderr


def test_coordinator_makes_a_code_per_catd_in_one_command(shared_central: CentralNode) -> None:
    node = shared_central
    done = central_cli(node, "enroll-code", "--catd", "21", "22", "3", "--role", "catd")

    assert done.returncode == 0, done.stderr
    codes = done.stdout.splitlines()
    assert len(set(codes)) == 3
    assert all(re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code) for code in codes)
    assert "CATD 21, 22, 03" in done.stderr and "un solo uso" in done.stderr
    for code, sitio in zip(codes, ("21", "22", "03"), strict=True):
        assert query(node.dsn, "SELECT role, sitio, used_at FROM enrollment_codes WHERE "
                     "code_sha256 = %s", code_sha256(code)) == [("catd", sitio, None)]
        status, body = _enroll(node, code, hostname=f"catd{sitio}-equipo1")
        assert status == 200, body
        assert json.loads(body)["sitio"] == sitio


def test_a_repeated_catd_makes_no_code(shared_central: CentralNode) -> None:
    node = shared_central
    before = query(node.dsn, "SELECT count(*) FROM enrollment_codes WHERE sitio = '05'")

    done = central_cli(node, "enroll-code", "--catd", "5", "6", "05", "--role", "catd")

    assert done.returncode == 2 and "CATD repetido en --catd: 5" in done.stderr
    assert done.stdout == ""
    assert query(node.dsn, "SELECT count(*) FROM enrollment_codes WHERE sitio = '05'") == before


def node_db(node: CentralNode) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(node.dsn, autocommit=True)
