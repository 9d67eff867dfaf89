"""Day partitions on CCEE's calendar as we read it (America/Sao_Paulo: CCEE does not publish
which calendar `periodo/dia` follows), 1:1 with the lake's `dt=` folders.

They start where the data starts, so Dagster's UI shows days materialized rather than years
of missing ones: the configured `partitions_start` (`$CCEE_WEBHOOK_PARTITIONS_START` or the
TOML file), else the lake's first `dt=` folder, else today; read when the definitions load.
`end_offset=1` makes today's (still filling) partition addressable, so the lake sensor can
load today's deliveries as they land.
"""

from __future__ import annotations

from datetime import date, datetime

import dagster as dg

from ingest.lake_files import partition_days
from ingest.lake_schema import NOTIFICACOES, QUARENTENA
from settings import CCEE_TZ, CCEE_TZ_NAME, data_dir, partitions_start

TIMEZONE = CCEE_TZ_NAME


def first_day() -> date:
    """Configured start > the lake's first `dt=` day > today (São Paulo)."""
    configured = partitions_start()
    if configured is not None:
        return configured
    folder = data_dir()
    lake = [d for t in (NOTIFICACOES, QUARENTENA) for d in partition_days(folder, t)[:1]]
    return min(lake, default=datetime.now(CCEE_TZ).date())


START = first_day().isoformat()

daily = dg.DailyPartitionsDefinition(start_date=START, timezone=TIMEZONE, end_offset=1)


def run_days(context: dg.AssetExecutionContext | dg.OpExecutionContext) -> tuple[date, date]:
    """First and last day of the run's partition (or partition range, for single-run backfills)."""
    keys = context.partition_key_range
    return date.fromisoformat(keys.start), date.fromisoformat(keys.end)


def is_partition_key(day: date) -> bool:
    """True when `day` is a partition key that exists now (not before START, not after today)."""
    return daily.has_partition_key(day.isoformat())
