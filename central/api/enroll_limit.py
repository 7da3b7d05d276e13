"""How many failed enrollment attempts the central takes, per source and in all
(issue 33, "Least privilege"; docs/seguridad.md, "Un código de alta robado").

A code has 60 bits, so guessing one is hopeless; what a flood of ``POST /v1/enroll``
costs is a PostgreSQL transaction and an audit trace per attempt. So an attempt that
fails (unknown, used or expired code, malformed request, key in use) counts against its
source (an IPv4 address or an IPv6 /64, as :func:`central.api.refusals.source_of`) and
against the whole endpoint, in a sliding window. Past :attr:`EnrollmentLimits.per_source`
failures of one source, or :attr:`EnrollmentLimits.total` of all of them, within
:attr:`EnrollmentLimits.window` seconds, the central answers ``429`` with
``Retry-After`` (the seconds until the oldest failure leaves the window) before reading
the request or touching the database.

A successful enrollment does not count: each one spends a code only a coordinator can
make, and a site enrolling a dozen stations from behind one address must not be
stopped. An attempt counts from the moment it is admitted (so concurrent attempts from
one source cannot all pass the check at once) and is handed back if it succeeds or if
the central could not judge it (a 5xx).

Each time a source (or the endpoint) becomes blocked, one ``enrollment_rate_limited``
audit event is due, with how many requests the previous block of the same scope
refused: a flood leaves one row per block, not one per request. Counts live in the
memory of each ``serve`` process (several processes each apply the limit). The event
loop alone touches this state.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

#: Failed attempts of one source, and of all sources, within the window.
PER_SOURCE = 10
TOTAL = 600
WINDOW_SECONDS = 600.0
#: Sources remembered at once; failures from more share the source ``*``.
MAX_SOURCES = 4096
OVERFLOW = "*"
#: The scope of a block: one source, or the whole endpoint.
GLOBAL = "global"


@dataclass(frozen=True)
class EnrollmentLimits:
    """The limits of :class:`EnrollmentLimiter` (defaults: module constants)."""

    per_source: int = PER_SOURCE
    total: int = TOTAL
    window: float = WINDOW_SECONDS


@dataclass(frozen=True)
class Blocked:
    """An attempt refused by a limit: ``scope`` is the source or :data:`GLOBAL`;
    ``retry_after`` whole seconds until it would be admitted; ``audit`` is set on the
    first refusal of a block (with how many the previous block of that scope refused)."""

    scope: str
    retry_after: int
    failures: int
    audit: bool
    refused_before: int


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)
    blocked: bool = False  # a block of this scope is under way (its event written)
    refused: int = 0  # requests refused in the current block
    refused_before: int = 0  # ... and in the previous one, for the next event


@dataclass(frozen=True)
class Attempt:
    """An admitted attempt, counted as a failure until :meth:`EnrollmentLimiter.forgive`."""

    source: str
    at: float


class EnrollmentLimiter:
    """Failed enrollment attempts per source and in all (see the module)."""

    def __init__(self, limits: EnrollmentLimits | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 max_sources: int = MAX_SOURCES) -> None:
        self.limits = limits or EnrollmentLimits()
        self.clock = clock
        self.max_sources = max_sources
        self._sources: dict[str, _Failures] = {}
        self._all = _Failures()

    def admit(self, source: str) -> Attempt | Blocked:
        """Count an attempt from ``source`` as failed unless a limit refuses it."""
        now = self.clock()
        source = self._key(source, now)
        mine = self._sources.setdefault(source, _Failures())
        for scope, failures, limit in ((source, mine, self.limits.per_source),
                                       (GLOBAL, self._all, self.limits.total)):
            self._expire(failures, now)
            if len(failures.times) >= limit:
                return self._blocked(scope, failures, now)
            if failures.blocked:  # the block ended: its count goes in the next event
                failures.blocked, failures.refused_before = False, failures.refused
                failures.refused = 0
        mine.times.append(now)
        self._all.times.append(now)
        return Attempt(source, now)

    def forgive(self, attempt: Attempt) -> None:
        """The attempt succeeded (or the central could not judge it): it does not count."""
        for failures in (self._sources.get(attempt.source), self._all):
            if failures is not None and attempt.at in failures.times:
                failures.times.remove(attempt.at)

    def _blocked(self, scope: str, failures: _Failures, now: float) -> Blocked:
        first = not failures.blocked
        failures.blocked = True
        failures.refused += 1
        wait = failures.times[0] + self.limits.window - now
        return Blocked(scope, max(1, math.ceil(wait)), len(failures.times), first,
                       failures.refused_before if first else 0)

    def _expire(self, failures: _Failures, now: float) -> None:
        while failures.times and now - failures.times[0] >= self.limits.window:
            failures.times.popleft()

    def _key(self, source: str, now: float) -> str:
        if source in self._sources or len(self._sources) < self.max_sources:
            return source
        for key, failures in list(self._sources.items()):
            self._expire(failures, now)
            if not failures.times:  # a block's count is lost with it: a flood of sources
                del self._sources[key]
        return source if len(self._sources) < self.max_sources else OVERFLOW
