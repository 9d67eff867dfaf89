"""CCEE's retry rule as arithmetic: "re-sent every 5 minutes for 24 hours".

Attempt k (k = 0, 1, 2, …) is due at t0 + k × 5 min, where t0 is the notification's
`dataOrigem`. Attempts continue while their due time is within the window, i.e. while
k × 5 min ≤ 24 h, so k runs 0…288: **289 attempts in all** (the first send plus 288
retries), the last one at exactly t0 + 24 h. If that one fails too, the notification is
EXPIRADO. Due times are computed from k, not from the previous attempt's end, so a slow
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
        """1 + window // interval: 289 for CCEE's 5 min / 24 h."""
        return self.window // self.interval + 1

    def due(self, t0: datetime, attempt: int) -> datetime:
        return t0 + attempt * self.interval

    def deadline(self, t0: datetime) -> datetime:
        return self.due(t0, self.max_attempts - 1)


#: CCEE's published rule.
CCEE_RETRY = RedeliveryRule()
