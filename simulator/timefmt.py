"""CCEE's timestamp spellings and calendar (one place, so SOAP, ledger and metadata agree)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

#: CCEE's calendar: `periodo/dia` as a São Paulo calendar day is our reading, not CCEE's
#: publication (docs/contracts.md).
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def soap_timestamp(dt: datetime) -> str:
    """`2021-06-16T11:50:37Z`, as in the recorded listarResultadoNotificacao response."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def metadata_timestamp(dt: datetime) -> str:
    """`2021-05-11T05:30:00.000Z`, as in the callback body of CCEE's guide."""
    utc = dt.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def dia_sao_paulo(dt: datetime) -> date:
    """The São Paulo calendar day of an instant (the `dia` filter's calendar)."""
    return dt.astimezone(SAO_PAULO).date()


def to_db(dt: datetime) -> str:
    """Sortable UTC text with microseconds for SQLite."""
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def from_db(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
