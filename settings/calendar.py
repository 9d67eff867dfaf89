"""CCEE's calendar: every day in the product (lake `dt=`, Dagster partition keys, CCEE's
`periodo/dia`, report periods) is a calendar day in São Paulo.

That `periodo/dia` is a São Paulo day is our reading: CCEE publishes the filter as a plain
date without naming its calendar (docs/contracts.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from settings.config_file import ENV_PREFIX, SettingsError, load_config_file

PARTITIONS_START_ENV = f"{ENV_PREFIX}PARTITIONS_START"
CCEE_TZ_NAME = "America/Sao_Paulo"
CCEE_TZ = ZoneInfo(CCEE_TZ_NAME)


def ccee_day(instant: datetime) -> date:
    """The São Paulo calendar day of an aware instant; a naive one is refused (ambiguous)."""
    if instant.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware (UTC)")
    return instant.astimezone(CCEE_TZ).date()


def partitions_start(env: Mapping[str, str] | None = None) -> date | None:
    """The first day partition, when configured: `$CCEE_WEBHOOK_PARTITIONS_START` > TOML
    `partitions_start` (YYYY-MM-DD). None lets the pipelines derive it from the lake."""
    env = os.environ if env is None else env
    raw: object = env.get(PARTITIONS_START_ENV)
    where = PARTITIONS_START_ENV
    if not raw:
        path, data = load_config_file(env)
        raw, where = data.get("partitions_start"), f"{path}: partitions_start"
    if raw in (None, ""):
        return None
    if isinstance(raw, date):  # TOML dates arrive parsed
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise SettingsError(f"{where} must be a date YYYY-MM-DD, got {raw!r}") from None
