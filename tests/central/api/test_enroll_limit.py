"""Failed enrollment attempts are limited per source address and in all (issue 33):
the central's real aiohttp application over HTTPS on real PostgreSQL, in this process so
its clock can be moved instead of waiting ten minutes; requests come from several
loopback addresses; the station's own enrollment shows what to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from central.api.enroll_limit import EnrollmentLimiter
from central.api.enroll_limit import EnrollmentLimits
from prep.crypto import SigningKey
from prep.station.enroll import RATE_LIMITED
from prep.station.enroll import TooManyAttempts
from prep.station.enroll import enroll
from prep.station.errors import EnrollmentError
from tests.central.station import error_of
from tests.central.station import query
from tests.harness.inprocess_central import Clock
from tests.harness.inprocess_central import InProcessCentral
from tests.harness.inprocess_central import inprocess_central

PER_SOURCE, TOTAL, WINDOW = 4, 9, 600.0


@dataclass
class Limited(InProcessCentral):
    clock: Clock

    def rate_limited_events(self) -> list[tuple[str, dict[str, object]]]:
        return [(r[0], r[1]) for r in query(
            self.node.dsn, "SELECT actor, detail FROM audit_log WHERE event = "
            "'enrollment_rate_limited' ORDER BY id")]


@pytest.fixture
def central(pg_dsn: str, tmp_path: Path) -> Iterator[Limited]:
    clock = Clock()
    limiter = EnrollmentLimiter(EnrollmentLimits(PER_SOURCE, TOTAL, WINDOW), clock)
    with inprocess_central(pg_dsn, tmp_path / "node", limiter) as served:
        yield Limited(served.node, served.port, served.central, clock)


def test_the_attempt_past_the_limit_of_one_address_gets_429_and_others_still_enroll(
        central: Limited) -> None:
    for _ in range(PER_SOURCE):
        status, body, _ = central.enroll("ABCD-EFGH-JKLM", "127.0.0.41")
        assert status == 403 and error_of(body)[0] == "unknown_code"
    valid = central.node.enroll_code(catd=7)

    status, body, retry_after = central.enroll(valid, "127.0.0.41")  # even a good code

    assert status == 429, body
    code, message = error_of(body)
    assert code == "too_many_attempts"
    assert retry_after == "600"
    assert "Espere 10 minutos" in message and "coordinador" in message
    assert query(central.node.dsn, "SELECT count(*) FROM stations")[0][0] == 0
    # Another address is not blocked, and the code was not spent by the refused try.
    status, body, _ = central.enroll(valid, "127.0.0.42")
    assert status == 200, body
    # Refused again: one audit event for the block, not one per request.
    for _ in range(5):
        assert central.enroll("ABCD-EFGH-JKLM", "127.0.0.41")[0] == 429
    assert central.rate_limited_events() == [("origen:127.0.0.41", {
        "scope": "origen", "source": "127.0.0.41", "failures": PER_SOURCE,
        "limit": PER_SOURCE, "window_seconds": WINDOW, "retry_after": 600,
        "refused_before": 0})]


def test_successful_enrollments_do_not_count(central: Limited) -> None:
    """A site enrolling all its stations from behind one address is never stopped."""
    for number in range(PER_SOURCE + 3):
        status, body, _ = central.enroll(central.node.enroll_code(catd=number + 1),
                                         "127.0.0.43", hostname=f"catd-equipo{number}")
        assert status == 200, body
    assert central.enroll("ABCD-EFGH-JKLM", "127.0.0.43")[0] == 403


def test_the_window_expiring_admits_the_address_again(central: Limited) -> None:
    for _ in range(PER_SOURCE):
        central.enroll("ABCD-EFGH-JKLM", "127.0.0.44")
    central.clock.now += 200
    central.enroll("ABCD-EFGH-JKLM", "127.0.0.45")  # another source's failure, later

    status, _, retry_after = central.enroll("ABCD-EFGH-JKLM", "127.0.0.44")
    assert status == 429 and retry_after == "400"  # the oldest failure leaves in 400 s

    central.clock.now += 399
    status, body, retry_after = central.enroll("ABCD-EFGH-JKLM", "127.0.0.44")
    assert status == 429 and retry_after == "1"
    assert "Espere 1 minuto " in error_of(body)[1]

    central.clock.now += 1
    status, body, _ = central.enroll(central.node.enroll_code(catd=3), "127.0.0.44")
    assert status == 200, body
    for _ in range(PER_SOURCE):  # the four old failures left the window together
        assert central.enroll("ABCD-EFGH-JKLM", "127.0.0.44")[0] == 403
    assert central.enroll("ABCD-EFGH-JKLM", "127.0.0.44")[0] == 429
    events = central.rate_limited_events()
    assert [e[1]["refused_before"] for e in events] == [0, 2]  # the first block refused 2


def test_the_whole_endpoint_hammered_from_many_addresses(central: Limited) -> None:
    sources = [f"127.0.0.{50 + i}" for i in range(5)]
    failures = 0
    for source in sources:
        for _ in range(2):
            status, _, _ = central.enroll("ABCD-EFGH-JKLM", source)
            failures += status == 403
    assert failures == TOTAL  # the tenth failure in all was never tried

    status, body, retry_after = central.enroll(central.node.enroll_code(catd=9), "127.0.0.60")

    assert status == 429 and retry_after == "600"
    assert "demasiados intentos de alta" in error_of(body)[1]
    assert "avise al coordinador" in error_of(body)[1]
    events = central.rate_limited_events()
    assert [(actor, detail["scope"], detail["limit"]) for actor, detail in events] == [
        ("origen:global", "global", TOTAL)]
    central.clock.now += WINDOW
    assert central.enroll(central.node.enroll_code(catd=9), "127.0.0.60")[0] == 200


def test_the_station_says_to_wait_in_spanish(central: Limited) -> None:
    """The station's enrollment (the CLI and the CATD/CCV screen show this message)."""
    for _ in range(PER_SOURCE):
        central.enroll("ABCD-EFGH-JKLM", "127.0.0.1")
    central.clock.now += 30

    with pytest.raises(EnrollmentError) as raised:
        enroll(central.url, "ABCD-EFGH-JKLM", SigningKey.generate(), central.node.cert_sha256)

    assert isinstance(raised.value, TooManyAttempts)
    assert raised.value.code == RATE_LIMITED and raised.value.retry_after == 570
    assert "Espere 10 minutos y vuelva a intentarlo" in str(raised.value)


def test_a_difusors_registration_has_the_same_limit_on_failed_attempts(
        central: Limited) -> None:
    """Issue 62: ``/v1/difusores/registro`` took failed codes without limit. Its failures
    count with those of a station's enrollment (the same kind of one-time code): past
    the limit even a valid difusor code gets 429, and another address still registers."""
    from central.stations.difusores import alta
    from prep.protocol import DIFUSOR_REGISTRO_PATH

    registro = {"path": DIFUSOR_REGISTRO_PATH, "field": "codigo"}
    central.enroll("ABCD-EFGH-JKLM", "127.0.0.51")  # a station's failed enrollment
    for _ in range(PER_SOURCE - 1):
        status, body, _ = central.enroll("ABCD-EFGH-JKLM", "127.0.0.51", **registro)
        assert status == 403 and error_of(body)[0] == "unknown_code", body
    hecho = alta(central.central.engine, "Diario de Prueba", "https://prep.diario.example/",
                 actor="coordinador")
    status, body, retry_after = central.enroll(hecho.codigo, "127.0.0.51", **registro)
    assert status == 429 and retry_after == "600", body
    assert error_of(body)[0] == "too_many_attempts"
    assert query(central.node.dsn, "SELECT public_key IS NULL FROM difusores") == [(True,)]
    status, body, _ = central.enroll(hecho.codigo, "127.0.0.52", **registro)
    assert status == 200, body
    assert [e[0] for e in central.rate_limited_events()] == ["origen:127.0.0.51"]
