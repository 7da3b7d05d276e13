"""The central advertises itself over mDNS; a station finds it and trusts only the
pinned certificate.

Everything that sends multicast runs inside a private network namespace through
``run_in_netns`` (the bodies are in ``tests/harness/netns_targets.py``); the tests here
check what the namespace reports back. The pure parts (TXT parsing, ``choose``) are
also tested directly.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from zeroconf.asyncio import AsyncServiceInfo

from central.api.advertise import SERVICE_TYPE as ADVERTISED_TYPE
from central.api.advertise import CentralAdvertiser
from central.api.advertise import instance_name
from central.api.advertise import txt_properties
from prep.station.discovery import SERVICE_TYPE
from prep.station.discovery import Candidate
from prep.station.discovery import candidates_from_info
from prep.station.discovery import choose
from tests.central.station import central_cli
from tests.central.station import query
from tests.harness.central import CentralNode
from tests.harness.netns import run_in_netns

TARGETS = "tests.harness.netns_targets"
PIN = "ab" * 32
OTHER = "cd" * 32
SPOOF_MESSAGE = (
    "El nodo central en 127.0.0.1:{port} presenta un certificado distinto del registrado "
    "(posible suplantación). No se enviarán datos; avise al coordinador."
)


def _mdns(url: str, node: str, cert: str) -> dict[str, Any]:
    return {"url": url, "node": node, "cert_sha256": cert, "source": "mDNS"}


def _spoof_warnings(log: list[list[str]]) -> list[str]:
    return [message for level, message in log
            if level == "WARNING" and message.startswith("possible_spoof")]


# --- inside a network namespace ------------------------------------------------------


@pytest.mark.netns
def test_station_finds_the_advertised_central() -> None:
    result = run_in_netns(f"{TARGETS}:advertise_and_find", "central-01")
    port, cert = result["port"], result["cert"]
    url = f"https://127.0.0.1:{port}"

    assert result["interfaces"] == ["lo"]
    assert result["registered_name"] == "PREP central central-01._prep-central._tcp.local."
    assert result["txt"] == {"v": "1", "node": "central-01", "port": str(port), "cert": cert}
    assert result["srv_port"] == port
    assert result["addresses"] == ["127.0.0.1"]
    assert result["candidates"] == [_mdns(url, "central-01", cert)]
    assert result["found"] == _mdns(url, "central-01", cert)
    assert _spoof_warnings(result["log"]) == []


@pytest.mark.netns
def test_every_serve_node_of_a_central_is_advertised() -> None:
    """Two serve nodes of one central on one machine (issue 31): two instances, each
    with its own port and the central's node and certificate; a station browsing
    finds both."""
    result = run_in_netns(f"{TARGETS}:two_serve_nodes", "central-01")
    cert = result["cert"]
    assert len(set(result["names"])) == 2
    assert sorted(c["url"] for c in result["candidates"]) == sorted(
        f"https://127.0.0.1:{port}" for port in result["ports"])
    assert {(c["node"], c["cert_sha256"]) for c in result["candidates"]} == {
        ("central-01", cert)}


@pytest.mark.netns
def test_spoofer_with_another_certificate_is_refused_and_logged() -> None:
    result = run_in_netns(f"{TARGETS}:spoofer_with_other_cert", "central-01", "central-99")
    genuine, spoof = result["genuine"], result["spoof"]
    genuine_url = f"https://127.0.0.1:{genuine['port']}"
    genuine_candidate = _mdns(genuine_url, "central-01", genuine["cert"])

    assert result["interfaces"] == ["lo"]
    assert result["candidates"] == [
        genuine_candidate,
        _mdns(f"https://127.0.0.1:{spoof['port']}", "central-99", spoof["cert"]),
    ]
    assert result["chosen"] == genuine_candidate
    [refusal] = _spoof_warnings(result["choose_log"])
    assert "node='central-99'" in refusal
    assert "host=127.0.0.1" in refusal
    assert spoof["cert"] in refusal

    assert result["found"] == genuine_candidate
    assert len(_spoof_warnings(result["find_log"])) == 1

    # A configured URL passes through the same handshake check: the genuine one is
    # taken as configured, the spoofer's is refused and mDNS finds the genuine central.
    assert result["configured_genuine"] == {
        "url": genuine_url, "node": "", "cert_sha256": genuine["cert"], "source": "configurada",
    }
    assert result["configured_spoof"] == genuine_candidate
    handshake_refusal, txt_refusal = _spoof_warnings(result["configured_log"])
    assert f"presents certificate {spoof['cert']}" in handshake_refusal
    assert "node='central-99'" in txt_refusal


@pytest.mark.netns
def test_copied_fingerprint_is_caught_by_the_handshake() -> None:
    result = run_in_netns(
        f"{TARGETS}:spoofer_copying_fingerprint", "central-01", "central-00"
    )
    cert, spoof_port = result["cert"], result["spoof_port"]
    spoof_url = f"https://127.0.0.1:{spoof_port}"

    assert result["interfaces"] == ["lo"]
    # TXT cannot tell them apart: the spoofer claims the genuine node and fingerprint.
    assert result["candidates"] == [_mdns(spoof_url, "central-01", cert)]
    assert result["chosen"] == _mdns(spoof_url, "central-01", cert)
    assert result["choose_log"] == []
    # The handshake can.
    assert result["spoof_error"] == {
        "message": SPOOF_MESSAGE.format(port=spoof_port),
        "url": spoof_url,
        "presented": result["spoof_cert"],
    }
    [refusal] = _spoof_warnings(result["verify_log"])
    assert "node='central-01'" in refusal and "host=127.0.0.1" in refusal
    assert f"presents certificate {result['spoof_cert']}" in refusal
    # With only the impostor around, the station finds no central at all.
    assert result["found_alone"] is None
    assert len(_spoof_warnings(result["find_log"])) == 1

    # With the genuine central up too, the impostor (tried first) is skipped.
    both = result["both"]
    assert result["found_with_genuine"] == _mdns(
        f"https://127.0.0.1:{both['genuine_port']}", "central-01", cert
    )
    [refusal] = _spoof_warnings(result["both_log"])
    assert "node='central-00'" in refusal
    assert "host=127.0.0.1" in refusal


@pytest.mark.netns
def test_nothing_advertised_finds_nothing_within_the_timeout() -> None:
    result = run_in_netns(f"{TARGETS}:nothing_advertised", PIN)

    assert result["interfaces"] == ["lo"]
    assert result["candidates"] == []
    assert result["found"] is None
    # Each listened its whole timeout; one that never returned would have run into the
    # namespace run's own bound (how much later it returned is the machine's load).
    timeout = result["timeout"]
    assert timeout <= result["browse_seconds"]
    assert timeout <= result["find_seconds"]


# --- pure parts ----------------------------------------------------------------------


def test_both_sides_use_the_same_service_type() -> None:
    assert ADVERTISED_TYPE == SERVICE_TYPE == "_prep-central._tcp.local."


def _info(properties: dict[str, str], addresses: list[str]) -> AsyncServiceInfo:
    return AsyncServiceInfo(
        SERVICE_TYPE, instance_name("central-01"), port=8443, properties=properties,
        server="prep-central-central-01.local.", parsed_addresses=addresses,
    )


def test_txt_record_becomes_one_candidate_per_address() -> None:
    info = _info(txt_properties("central-01", 8443, PIN), ["10.0.0.5", "fd00::5"])

    assert candidates_from_info(info) == [
        Candidate("https://10.0.0.5:8443", "central-01", PIN, "mDNS"),
        Candidate("https://[fd00::5]:8443", "central-01", PIN, "mDNS"),
    ]


@pytest.mark.parametrize(
    "properties",
    [
        {**txt_properties("central-01", 8443, PIN), "v": "2"},
        {"v": "1", "node": "central-01", "port": "8443"},
        {**txt_properties("central-01", 8443, PIN), "port": "https"},
    ],
    ids=["other-version", "no-cert", "bad-port"],
)
def test_foreign_or_incomplete_txt_gives_no_candidate(properties: dict[str, str]) -> None:
    assert candidates_from_info(_info(properties, ["10.0.0.5"])) == []


def test_choose_takes_only_the_pinned_certificate(caplog: pytest.LogCaptureFixture) -> None:
    impostor = Candidate("https://10.0.0.66:8443", "central-01", OTHER, "mDNS")
    genuine = Candidate("https://10.0.0.5:8443", "central-01", PIN, "mDNS")

    with caplog.at_level(logging.WARNING, logger="prep.station.discovery"):
        assert choose([impostor, genuine], PIN.upper()) == genuine
        assert choose([impostor], PIN) is None

    refusals = [r.getMessage() for r in caplog.records]
    assert len(refusals) == 2
    assert all(m.startswith("possible_spoof") and "host=10.0.0.66" in m for m in refusals)


def test_choose_needs_a_pinned_fingerprint() -> None:
    with pytest.raises(ValueError, match="64 hex digits"):
        choose([], "")


@pytest.mark.parametrize(
    ("node", "port", "cert"),
    [("", 8443, PIN), ("x" * 60, 8443, PIN), ("central-01", 0, PIN),
     ("central-01", 8443, PIN.upper()), ("central-01", 8443, "ab:cd")],
)
def test_advertiser_refuses_bad_settings(node: str, port: int, cert: str) -> None:
    with pytest.raises(ValueError):
        CentralAdvertiser(node, port, cert, interfaces=["127.0.0.1"])


# --- prep central serve --------------------------------------------------------------


def test_serve_without_mdns_advertises_nothing(shared_central: CentralNode) -> None:
    [(detail,)] = query(shared_central.dsn, "SELECT detail FROM audit_log WHERE event = "
                        "'central_started' ORDER BY id LIMIT 1")
    assert detail["mdns"] is None
    assert "mDNS" not in shared_central.log_path.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--mdns-interface", "127.0.0.1"], "--mdns-interface requiere --mdns"),
     (["--mdns", "--mdns-interface", "eth0"], "«eth0» no es una dirección IP")],
    ids=["interface-without-mdns", "interface-not-an-ip"],
)
def test_serve_refuses_bad_mdns_options(shared_central: CentralNode, args: list[str],
                                        message: str) -> None:
    # Refused before anything starts: nothing is advertised, nothing listens.
    done = central_cli(shared_central, "serve", "--port", "0", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""
