"""CCEE's retry rule as arithmetic: "re-sent every 5 minutes for 24 hours" (CCEE's guide).

Our reading of that sentence (CCEE publishes no more): retries sit on a grid
t0 + k × 5 min, where t0 is the notification's `dataOrigem`, and continue while their due time
is within the window, the end included: k × 5 min ≤ 24 h. The first attempt comes `first_delay`
after t0 (CCEE's recorded results show 9–10 minutes; see `simulator.knobs`), and the retries
take the grid slots after it. With no delay, k runs 0…288: **289 attempts in all** (the first
send plus 288 retries), the last one at exactly t0 + 24 h; with the default 9 min 30 s, the
first attempt replaces slots 0 and 1: 288 attempts. If the last fails too, the notification
is EXPIRADO. Due times are computed from k, not from the previous attempt's end, so a slow
destination does not stretch the schedule and the count is exact.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec


class RedeliveryRule(msgspec.Struct, frozen=True):
    interval: timedelta = timedelta(minutes=5)
    window: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if self.interval <= timedelta(0) or self.window < timedelta(0):
            raise ValueError("retry interval must be > 0 and window >= 0")

    @property
    def max_attempts(self) -> int:
        """1 + window // interval with no first-attempt delay: 289 for CCEE's 5 min / 24 h."""
        return self.attempts()

    def first_slot(self, first_delay: timedelta = timedelta(0)) -> int:
        """Grid index of the first retry: the first slot strictly after the first attempt."""
        return first_delay // self.interval + 1

    def attempts(self, first_delay: timedelta = timedelta(0)) -> int:
        """Attempts in all: the first, plus one per grid slot after it within the window."""
        return 1 + max(0, self.window // self.interval - self.first_slot(first_delay) + 1)

    def due(self, t0: datetime, attempt: int, first_delay: timedelta = timedelta(0)) -> datetime:
        if attempt == 0:
            return t0 + first_delay
        return t0 + (self.first_slot(first_delay) + attempt - 1) * self.interval

    def deadline(self, t0: datetime, first_delay: timedelta = timedelta(0)) -> datetime:
        return self.due(t0, self.attempts(first_delay) - 1, first_delay)


#: CCEE's published rule (5 min / 24 h), read as above.
CCEE_RETRY = RedeliveryRule()
