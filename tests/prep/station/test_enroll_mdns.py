"""Enrollment finding the central with mDNS: which central is taken, and the Spanish
messages when none, several or the wrong one is found.

The network parts run inside a private network namespace (the body is
``enrollment_choices`` in ``tests/harness/netns_targets.py``); the choice itself is
also tested directly. The whole flow against a real central is ``tests/test_e2e_mdns.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from prep.station.discovery import Candidate
from prep.station.enroll_mdns import MdnsChoice
from prep.station.enroll_mdns import choice_message
from prep.station.enroll_mdns import normalize_prefix
from prep.station.enroll_mdns import select_for_enrollment
from prep.station.errors import EnrollmentError
from tests.harness.netns import run_in_netns
from tests.harness.netns_targets import BROWSE_SECONDS
from tests.harness.station_cli import station_cmd

A, B = "a1" * 32, "b2" * 32


def _at(host: str, node: str, cert: str) -> Candidate:
    return Candidate(f"https://{host}:8443", node, cert, "mDNS")


def _mdns(port: int, node: str, cert: str) -> dict[str, str]:
    return {"url": f"https://127.0.0.1:{port}", "node": node, "cert_sha256": cert,
            "source": "mDNS"}


# --- inside a network namespace ------------------------------------------------------


@pytest.fixture(scope="module")
def choices() -> dict[str, Any]:
    """One namespace run for every scenario (each advertisement takes ~1.5 s to probe)."""
    result: dict[str, Any] = run_in_netns("tests.harness.netns_targets:enrollment_choices",
                                          "central-0a", "central-0b")
    return result


@pytest.mark.netns
def test_the_station_takes_only_the_central_the_technician_names(
    choices: dict[str, Any],
) -> None:
    result = choices
    a, b = result["a"], result["b"]
    port_a, port_b = result["ports"]
    assert result["interfaces"] == ["lo"]

    assert result["nothing"]["error"] == "not_found"
    assert result["nothing"]["message"].startswith(
        "No se encontró ningún nodo central en la red local (se buscó con mDNS durante "
        f"{BROWSE_SECONDS:g} s)")

    alone = result["alone"]
    assert alone["chosen"] == _mdns(result["alone_port"], "central-0a", a)
    assert alone["by_prefix"] is False

    several = result["several"]
    assert several["error"] == "several_found"
    assert several["message"].startswith("Se encontraron 2 nodos centrales distintos")
    assert f"nodo central-0a, huella {a}, en https://127.0.0.1:{port_a}" in several["message"]
    assert f"nodo central-0b, huella {b}, en https://127.0.0.1:{port_b}" in several["message"]
    assert "No se envió el código de alta" in several["message"]

    by_prefix = result["by_prefix"]
    assert by_prefix["chosen"] == _mdns(port_b, "central-0b", b)
    assert by_prefix["by_prefix"] is True
    assert by_prefix["candidates"] == [_mdns(port_a, "central-0a", a),
                                       _mdns(port_b, "central-0b", b)]

    no_match = result["no_match"]
    assert no_match["error"] == "no_match"
    assert no_match["message"].startswith(
        "Ningún nodo central de la red local tiene un certificado cuya huella empiece por "
        f"«{result['unmatched']}»")
    assert f"huella {a}" in no_match["message"] and f"huella {b}" in no_match["message"]


@pytest.mark.netns
def test_an_impostor_copying_the_fingerprint_gets_no_code(choices: dict[str, Any]) -> None:
    result = choices
    port = result["impostor_port"]

    assert result["impostor"]["error"] == "possible_spoof"
    assert result["impostor"]["message"] == (
        f"El servidor en https://127.0.0.1:{port} se anuncia como nodo central central-0a "
        f"con la huella {result['a']} pero presenta otro certificado (posible suplantación). "
        "No se envió el código de alta; avise a su coordinador.")
    assert result["impostor_enrolled"] is False
    [refusal] = [m for level, m in result["impostor_log"] if m.startswith("possible_spoof")]
    assert "host=127.0.0.1: its TLS handshake presents certificate" in refusal


# --- the choice ----------------------------------------------------------------------


def test_the_prefix_picks_one_central_among_several() -> None:
    found = [_at("10.0.0.5", "central-a", A), _at("10.0.0.6", "central-b", B),
             _at("10.0.1.6", "central-b", B)]

    assert select_for_enrollment(found, normalize_prefix("B2:B2 b2b2 B2")) == (found[1:], True)
    assert select_for_enrollment(found[:1], None) == (found[:1], False)


def test_a_prefix_matching_several_certificates_asks_for_more_digits() -> None:
    other = "a1" * 8 + "cd" * 24
    with pytest.raises(EnrollmentError) as refused:
        select_for_enrollment([_at("10.0.0.5", "a", A), _at("10.0.0.6", "b", other)],
                              "a1a1a1a1a1")
    assert refused.value.code == "ambiguous_prefix"
    assert str(refused.value).startswith("Hay 2 nodos centrales cuya huella empieza por "
                                         "«a1a1a1a1a1»")
    assert "Escriba más dígitos" in str(refused.value)


def test_a_malformed_advertised_fingerprint_is_ignored() -> None:
    with pytest.raises(EnrollmentError) as refused:
        select_for_enrollment([_at("10.0.0.5", "central-a", "abc")], None, seconds=2)
    assert refused.value.code == "not_found"
    assert "durante 2 s" in str(refused.value)


@pytest.mark.parametrize("typed", ["", "a1a1a1", "a1a1a1a1", "a1a1a1a1a", "a1a1a1a1a1zz",
                                   "a1" * 33])
def test_a_prefix_must_be_10_to_64_hex_digits(typed: str) -> None:
    # 8 digits (32 bits) can be matched by an impostor's certificate in ~35 core-hours.
    with pytest.raises(EnrollmentError) as refused:
        normalize_prefix(typed)
    assert refused.value.code == "bad_prefix"
    assert "escriba de 10 a 64 dígitos hexadecimales" in str(refused.value)
    assert normalize_prefix("A1:A1 a1a1-a1") == "a1" * 5


def test_a_central_taken_without_a_prefix_is_said_so() -> None:
    chosen = _at("10.0.0.5", "central-a", A)
    unchecked = choice_message(MdnsChoice((chosen,), chosen, by_prefix=False))
    checked = choice_message(MdnsChoice((chosen,), chosen, by_prefix=True))

    assert unchecked.startswith("Se encontró un solo nodo central (central-a en "
                                "https://10.0.0.5:8443) y no se indicó la huella esperada")
    assert " ".join(A[i:i + 4] for i in range(0, 64, 4)) in unchecked
    assert "antes de enviar el código de alta" in unchecked
    assert "empieza por la indicada" in checked


def test_node_names_cannot_drive_the_terminal() -> None:
    sneaky = _at("10.0.0.5", "central\x1b[2J", A)
    message = choice_message(MdnsChoice((sneaky,), sneaky, by_prefix=True))
    assert "\x1b" not in message and "'central\\x1b[2J'" in message


# --- the command ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--url", "https://127.0.0.1:9", "--expect-cert", "a1a1a1a1a1"],
      "--expect-cert y --mdns-interface son para --mdns"),
     (["--mdns", "--cert-sha256", A], "Con --mdns indique la huella esperada con --expect-cert"),
     (["--mdns", "--expect-cert", "xyz"], "La huella esperada «xyz» no es válida")],
    ids=["prefix-with-url", "full-fingerprint-with-mdns", "bad-prefix"],
)
def test_enroll_refuses_mixed_options_before_looking(tmp_path: Path, args: list[str],
                                                     message: str) -> None:
    # Nothing here browses: each is refused before any network traffic.
    done = station_cmd("enroll", "--data-dir", str(tmp_path), "--code", "X", *args)
    assert done.returncode == 2
    assert message in done.stderr
