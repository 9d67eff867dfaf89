"""Day partitions on CCEE's calendar as we read it (America/Sao_Paulo: CCEE does not publish
which calendar `periodo/dia` follows), 1:1 with the lake's `dt=` folders.

`end_offset=1` makes today's (still filling) partition addressable, so the lake sensor can
load today's deliveries as they land.
"""

from datetime import date

import dagster as dg

from settings import CCEE_TZ_NAME

TIMEZONE = CCEE_TZ_NAME
START = "2024-01-01"

daily = dg.DailyPartitionsDefinition(start_date=START, timezone=TIMEZONE, end_offset=1)


def run_days(context: dg.AssetExecutionContext | dg.OpExecutionContext) -> tuple[date, date]:
    """First and last day of the run's partition (or partition range, for single-run backfills)."""
    keys = context.partition_key_range
    return date.fromisoformat(keys.start), date.fromisoformat(keys.end)


def is_partition_key(day: date) -> bool:
    """True when `day` is a partition key that exists now (not before START, not after today)."""
    return daily.has_partition_key(day.isoformat())
