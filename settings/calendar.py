"""CCEE's calendar: every day in the product (lake `dt=`, Dagster partition keys, CCEE's
`periodo/dia`, report periods) is a calendar day in São Paulo.

That `periodo/dia` is a São Paulo day is our reading: CCEE publishes the filter as a plain
date without naming its calendar (docs/contracts.md).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

CCEE_TZ_NAME = "America/Sao_Paulo"
CCEE_TZ = ZoneInfo(CCEE_TZ_NAME)


def ccee_day(instant: datetime) -> date:
    """The São Paulo calendar day of an aware instant; a naive one is refused (ambiguous)."""
    if instant.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware (UTC)")
    return instant.astimezone(CCEE_TZ).date()
