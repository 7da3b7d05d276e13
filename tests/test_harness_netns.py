"""mDNS works inside a private network namespace, and only there.

Every function that touches the network here runs in the child started by
``run_in_netns``; the test bodies only check what it reports back.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest

from tests.harness.netns import NetnsError
from tests.harness.netns import interface_names
from tests.harness.netns import run_in_netns

SERVICE_TYPE = "_prep-smoke._tcp.local."


def zeroconf_round_trip(name: str, port: int, properties: dict[str, str]) -> dict[str, Any]:
    """Register ``name`` with one Zeroconf instance, then browse and resolve it from a
    second one. Runs inside the namespace."""
    from zeroconf import ServiceBrowser
    from zeroconf import ServiceInfo
    from zeroconf import ServiceStateChange
    from zeroconf import Zeroconf

    full_name = f"{name}.{SERVICE_TYPE}"
    seen = threading.Event()

    def on_change(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if name == full_name and state_change is ServiceStateChange.Added:
            seen.set()

    publisher = Zeroconf(interfaces=["127.0.0.1"])
    try:
        publisher.register_service(
            ServiceInfo(
                SERVICE_TYPE,
                full_name,
                addresses=[socket.inet_aton("127.0.0.1")],
                port=port,
                properties=properties,
                server=f"{name}.local.",
            )
        )
        finder = Zeroconf(interfaces=["127.0.0.1"])
        try:
            browser = ServiceBrowser(finder, SERVICE_TYPE, handlers=[on_change])
            browsed = seen.wait(timeout=10)
            browser.cancel()
            info = finder.get_service_info(SERVICE_TYPE, full_name, timeout=5000)
        finally:
            finder.close()
    finally:
        publisher.unregister_all_services()
        publisher.close()

    assert info is not None, f"{full_name} did not resolve"
    return {
        "interfaces": interface_names(),
        "browsed": browsed,
        "port": info.port,
        "addresses": info.parsed_addresses(),
        "properties": {
            key.decode(): value.decode() if value is not None else None
            for key, value in info.properties.items()
        },
    }


def fail_inside(message: str) -> None:
    """Raise inside the namespace, to check that the parent reports it."""
    raise RuntimeError(message)


@pytest.mark.netns
def test_mdns_service_is_found_inside_the_namespace() -> None:
    result = run_in_netns(
        f"{__name__}:zeroconf_round_trip", "centro-01", 8443, {"rol": "central", "v": "1"}
    )
    assert result == {
        "interfaces": ["lo"],
        "browsed": True,
        "port": 8443,
        "addresses": ["127.0.0.1"],
        "properties": {"rol": "central", "v": "1"},
    }


@pytest.mark.netns
def test_failure_inside_the_namespace_reaches_the_parent() -> None:
    with pytest.raises(NetnsError, match="nothing works in here"):
        run_in_netns(f"{__name__}:fail_inside", "nothing works in here")
