"""Evaluate the rules, turn changes into alerts, deliver them: the one entry point.

Called by the Dagster sensor `alerts_sensor` (with the facts it reads from the instance:
failing pulls, failed checks) and by anything else that wants alerts now (the demo).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.core import alert_channels, alert_rules
from pipelines.core.alert_rules import Condition
from pipelines.core.alerts_log import Alert
from pipelines.core.connections import connect
from pipelines.core.incidents import Delivery, IncidentStore
from settings import tokens_from_env, warehouse_path
from settings.alerts import AlertSettings, alert_settings

log = logging.getLogger(__name__)


class Outcome:
    """What one evaluation did: the new alerts and the delivery of the outbox."""

    def __init__(self, alerts: list[Alert], delivery: Delivery, evaluated: set[str]) -> None:
        self.alerts = alerts
        self.delivery = delivery
        self.evaluated = evaluated


def _secrets(s: AlertSettings) -> tuple[str, ...]:
    try:
        tokens = tuple(t.token for t in tokens_from_env())
    except ValueError:  # a malformed token list is the receiver's error to report, not ours
        tokens = ()
    return (*s.secrets(), *tokens)


def evaluate(
    data_dir: str | os.PathLike[str],
    now: datetime | None = None,
    *,
    extra: Sequence[Condition] = (),
    extra_rules: Collection[str] = (),
    settings: AlertSettings | None = None,
    clock: Callable[[], float] = time.time,
    lock_timeout_s: float = 20.0,
) -> Outcome:
    """Warehouse rules at `now` (default: the current time) plus the `extra` conditions of
    `extra_rules`; open/resolve incidents, append to alerts.jsonl, send what is due.

    A warehouse that cannot be opened (locked by a long write, not created yet) leaves the
    warehouse rules' incidents as they are; channel failures are queued, never raised."""
    s = settings or alert_settings()
    now = (now or datetime.now(UTC)).astimezone(UTC)
    conditions = list(extra)
    evaluated = set(extra_rules)
    wh = warehouse_path(data_dir)
    if wh.exists():
        try:
            with connect(wh, read_only=True, lock_timeout_s=lock_timeout_s) as con:
                conditions += alert_rules.evaluate_warehouse(con, now, s)
            evaluated |= set(alert_rules.WAREHOUSE_RULES)
        except duckdb.Error as exc:
            log.warning("alert rules skipped: warehouse unavailable (%s)", type(exc).__name__)
    channels = alert_channels.configured(s)
    store = IncidentStore(Path(data_dir), _secrets(s))
    alerts = store.reconcile(
        conditions, evaluated, now, [c.name for c in channels], painel=s.dashboard_url,
        clock=clock,
    )
    delivery = store.flush(channels, s.max_messages_per_hour, clock)
    for name, erro in delivery.falhas.items():
        log.warning("alert channel %s failed (%s); retried later", name, erro)
    return Outcome(alerts, delivery, evaluated)


def evaluate_and_notify(
    data_dir: str | os.PathLike[str], now: datetime | None = None
) -> list[Alert]:
    """The alerts raised now (opened or resolved) by the warehouse rules; see `evaluate`."""
    return evaluate(data_dir, now).alerts
