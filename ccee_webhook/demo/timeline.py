"""The demo's options and its CCEE calendar: which days, when the outage, when it ends.

The run covers `days` CCEE days ending at today's midnight (São Paulo). All but the last are
history, replayed quickly in ticks of CCEE time; the last is the live day, whose hours around
the receiver outage (from 09:00) run in accelerated real time, the quiet hours in ticks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import msgspec

from settings import CCEE_TZ

#: the outage starts at this CCEE hour of the live day (São Paulo), business hours
OUTAGE_AT_HOUR = 9
#: history days are replayed in ticks of this many CCEE seconds: the deliveries due within a
#: tick go out together at its end (CCEE's retry period, so the retry rule is untouched)
HISTORY_TICK_SECONDS = 300.0


class Options(msgspec.Struct, frozen=True):
    """What the user chose (the click options of `ccee-webhook demo`)."""

    days: int = 7
    events_per_day: int = 480
    time_scale: float = 3600.0
    outage_hours: float = 3.0
    invalid: int = 2
    lose_201_rate: float = 0.02
    seed: int = 7
    #: share of generated events that break a contract's lifecycle on purpose (a handful in
    #: the default week: the contract report shows real anomalies with their reasons)
    anomaly_rate: float = 0.002


@dataclass(frozen=True, slots=True)
class Timeline:
    """The run's instants (UTC), derived from the options and today's São Paulo date."""

    first_day: date
    start: datetime
    live_start: datetime
    end: datetime
    outage: timedelta

    @classmethod
    def plan(cls, options: Options, today: date | None = None) -> Timeline:
        today = today or datetime.now(CCEE_TZ).date()
        first = today - timedelta(days=options.days)
        start = datetime.combine(first, datetime.min.time(), CCEE_TZ).astimezone(UTC)
        live = datetime.combine(
            today - timedelta(days=1), datetime.min.time(), CCEE_TZ
        ).astimezone(UTC)
        end = datetime.combine(today, datetime.min.time(), CCEE_TZ).astimezone(UTC)
        return cls(first, start, live, end, timedelta(hours=options.outage_hours))

    @property
    def days(self) -> list[date]:
        n = (self.end.astimezone(CCEE_TZ).date() - self.first_day).days
        return [self.first_day + timedelta(days=i) for i in range(n)]

    @property
    def history_days(self) -> int:
        return len(self.days) - 1

    @property
    def outage_start(self) -> datetime:
        return self.live_start + timedelta(hours=OUTAGE_AT_HOUR)

    @property
    def outage_end(self) -> datetime:
        return self.outage_start + self.outage

    @property
    def live_from(self) -> datetime:
        """Accelerated real time starts an hour before the outage (ticks before)."""
        return self.outage_start - timedelta(hours=1)

    @property
    def live_until(self) -> datetime:
        """...and ends two hours after the receiver is back (ticks after, to midnight)."""
        return min(self.end, self.outage_end + timedelta(hours=2))

    @property
    def has_outage(self) -> bool:
        return self.outage > timedelta(0)


def hhmm(t: datetime) -> str:
    """An instant as CCEE's clock shows it: São Paulo day/month hour:minute."""
    return t.astimezone(CCEE_TZ).strftime("%d/%m %H:%M")
