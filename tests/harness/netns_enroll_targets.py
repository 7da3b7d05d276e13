"""Enrollment over mDNS against an impostor, for ``run_in_netns`` (issue 36).

An impostor central (:class:`tests.harness.spoof.SpoofCentral`: real HTTPS that records
every request and answers enrollment as a central would) advertises itself on the
namespace's loopback with its own certificate. The station is the real command
(``prep station enroll --mdns``, a process with no terminal) and the real
:meth:`prep.station.station.Station.enroll_mdns`. Nothing here may run outside the
namespace: it sends mDNS multicast.
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.harness.netns import interface_names
from tests.harness.netns_targets import BROWSE_SECONDS
from tests.harness.netns_targets import INTERFACES
from tests.harness.netns_targets import LOOPBACK
from tests.harness.station_cli import station_cmd


def enroll_with_an_advertised_impostor() -> dict[str, Any]:
    """Which enrollment attempts hand the one-time code to an advertised impostor."""
    return asyncio.run(_enroll_with_an_advertised_impostor())


async def _enroll_with_an_advertised_impostor() -> dict[str, Any]:
    from central.api.advertise import CentralAdvertiser
    from prep.station.enroll_mdns import MdnsChoice
    from prep.station.errors import EnrollmentError
    from prep.station.station import Station
    from tests.harness.spoof import SpoofCentral

    if interface_names() != ["lo"]:  # run_in_netns checked it too; never multicast elsewhere
        raise RuntimeError(f"not in a private network namespace: {interface_names()}")
    with tempfile.TemporaryDirectory() as tmp, SpoofCentral(Path(tmp) / "spoof") as spoof:
        advertiser = CentralAdvertiser("central-impostor", spoof.port, spoof.cert_sha256,
                                       interfaces=INTERFACES)
        await advertiser.start()
        result: dict[str, Any] = {"interfaces": interface_names(), "url": spoof.url,
                                  "cert": spoof.cert_sha256}
        try:
            # A headless technician with no --expect-cert: refused, nothing sent.
            no_prefix = await asyncio.to_thread(
                station_cmd, "enroll", "--data-dir", str(Path(tmp) / "a"), "--code", "CODIGO-A",
                "--mdns", "--mdns-interface", LOOPBACK, "--mdns-timeout", str(BROWSE_SECONDS),
                stdin=subprocess.DEVNULL)
            result["no_prefix"] = {"returncode": no_prefix.returncode,
                                   "stderr": no_prefix.stderr,
                                   "codes_after": spoof.codes_received()}
            # 8 digits, as an impostor could grind to match the real central's: refused.
            short = await asyncio.to_thread(
                station_cmd, "enroll", "--data-dir", str(Path(tmp) / "c"), "--code", "CODIGO-C",
                "--mdns", "--mdns-interface", LOOPBACK, "--mdns-timeout", str(BROWSE_SECONDS),
                "--expect-cert", spoof.cert_sha256[:8], stdin=subprocess.DEVNULL)
            result["short_prefix"] = {"returncode": short.returncode, "stderr": short.stderr,
                                      "codes_after": spoof.codes_received()}

            # At a terminal the technician sees the fingerprint first and declines.
            shown: list[dict[str, Any]] = []

            def decline(choice: MdnsChoice) -> bool:
                shown.append({"cert": choice.chosen.cert_sha256, "url": choice.chosen.url,
                              "codes_when_asked": spoof.codes_received()})
                return False

            with Station.open(Path(tmp) / "b") as station:
                try:
                    await asyncio.to_thread(station.enroll_mdns, "CODIGO-B", None,
                                            timeout=BROWSE_SECONDS, interfaces=INTERFACES,
                                            confirm=decline)
                except EnrollmentError as error:
                    result["declined"] = {"error": error.code, "message": str(error)}
                result["declined_enrolled"] = station.identity is not None
            result["declined_shown"] = shown
            result["codes_at_end"] = spoof.codes_received()
        finally:
            await advertiser.stop()
        return result

