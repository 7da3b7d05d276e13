"""When to refresh (Qt-free): at most one refresh per interval, never two at once, and
no change lost.

Every NOTIFY asks for a refresh. A burst of them (a station sending batch after batch,
a corte) becomes one refresh now and at most one more after the interval: requests
that arrive while a refresh runs mark it *dirty*, and finishing a dirty refresh asks
again. The clock is passed in, so the rule is tested without waiting.
"""

from __future__ import annotations

import math


class RefreshGate:
    """Decides when the next refresh may start; see the module docstring."""

    def __init__(self, min_interval: float = 1.0) -> None:
        if min_interval < 0:
            raise ValueError("min_interval must be >= 0")
        self.min_interval = min_interval
        self.running = False
        self.scheduled = False
        self.dirty = False
        self.last_start = -math.inf

    def request(self, now: float) -> float | None:
        """A change happened at ``now``: the delay after which to start a refresh, or
        ``None`` if one is already scheduled or running (it will cover this change)."""
        if self.running:
            self.dirty = True
            return None
        if self.scheduled:
            return None
        self.scheduled = True
        return max(0.0, self.last_start + self.min_interval - now)

    def start(self, now: float) -> None:
        """The scheduled refresh starts now (it reads everything up to this instant)."""
        self.scheduled = False
        self.running = True
        self.dirty = False
        self.last_start = now

    def finish(self, now: float) -> float | None:
        """The refresh ended: the delay of the next one if changes arrived meanwhile."""
        self.running = False
        if self.dirty:
            self.dirty = False
            return self.request(now)
        return None
