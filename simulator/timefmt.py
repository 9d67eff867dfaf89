"""CCEE's timestamp spellings, in one place so SOAP, ledger and metadata agree.

CCEE's calendar (which day an instant belongs to) lives in `settings.calendar`.
"""

from __future__ import annotations

from datetime import UTC, datetime


def soap_timestamp(dt: datetime) -> str:
    """`2021-06-16T11:50:37Z`, as in the recorded listarResultadoNotificacao response."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def metadata_timestamp(dt: datetime) -> str:
    """`2021-05-11T05:30:00.000Z`, as in the callback body of CCEE's guide."""
    utc = dt.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def to_db(dt: datetime) -> str:
    """Sortable UTC text with microseconds for SQLite."""
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def from_db(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
