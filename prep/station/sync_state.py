"""What configures the sync agent and what it reports (:mod:`prep.station.sync`).

:class:`SyncState` is what a workstation's status bar shows: online or not, how the
central was found, the backlog, the last receipt and the last error in Spanish.
"""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass

from prep.station.batches import DEFAULT_BATCH_RECORDS

FOUND_CONFIGURED = "configurada"
FOUND_MDNS = "mDNS"
FOUND_LIST = "lista firmada"

Locator = Callable[[], Awaitable[tuple[str, str] | None]]
"""Finds the central when the current URL fails: ``(url, found_via)`` or ``None``. The
candidate must already have passed the certificate pin (see
:mod:`prep.station.discovery`); the agent's pinned TLS checks it again anyway."""


@dataclass(frozen=True)
class SyncOptions:
    """How the agent paces itself (tests shrink the delays)."""

    batch_records: int = DEFAULT_BATCH_RECORDS
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    poll_interval: float = 1.0
    heartbeat_interval: float = 60.0
    request_timeout: float = 60.0
    blob_concurrency: int = 4
    locate_after: int = 3
    """Consecutive failures to reach the central node before moving to the next node of
    the signed list (or, after every node failed, asking the locator)."""
    home_interval: float = 60.0
    """Working at a node other than the station's own: seconds between checks whether
    its own node answers again (it then goes back)."""
    bundle_interval: float = 30.0
    """Seconds between asks for a newer bundle (catalog and accounts) after successful
    passes; the first successful pass always asks."""
    cursor_interval: float = 60.0
    """Seconds between checks that the central still holds every batch it receipted
    (after a failover to a standby or a restore to an earlier point it may not: those
    batches are sent again, signed as before); the first successful pass always checks."""
    gather_seconds: float = 0.5
    """After new records wake an idle agent, how long it waits for more before sending:
    records trickle in one at a time (an acopio, a capture), and one batch of several
    costs the station and the central far less than one request and one ingest each."""


@dataclass(frozen=True)
class SyncState:
    """What the status bar shows; a snapshot, safe to read from any thread."""

    running: bool = False
    online: bool = False
    found_via: str = FOUND_CONFIGURED
    central_url: str = ""
    node: str = ""
    """Which central node the agent talks to, for the operator (Spanish): its URL and
    whether it is this station's own node, another of the signed list, or a reserve."""
    own_node: bool = True
    """Whether the agent works with this station's own node (not another one of the
    central's signed list because its own failed)."""
    backlog_records: int = 0
    backlog_bytes: int = 0
    last_receipt_at: str | None = None
    last_error: str = ""
    last_error_code: str = ""
    blocked: bool = False
    disabled: bool = False
    """The central refuses this station (a coordinator disabled it): nothing is sent
    until it is enabled again, and nothing kept here is lost."""
    bundle_version: int | None = None
    """Version of the catalog-and-accounts bundle held (``None``: none yet)."""
    bundle_error: str = ""
    """Why the last bundle was not received or kept (Spanish); empty when it was."""
