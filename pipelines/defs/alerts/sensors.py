"""`alerts_sensor`: evaluates every alert rule a few minutes apart and after each pull.

It requests no run: its work is the evaluation itself (read-only on the warehouse, plus the
Dagster instance for failing pulls and failed asset checks), so an alert never waits for a run
slot and a channel that is down never fails a run. Every rule is re-evaluated at each tick
(every 2 minutes), so a finished pull or SLA materialization is judged within minutes.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from pipelines.core import alert_rules
from pipelines.core.alert_rules import CheckOutcome, Condition
from pipelines.core.alerting import evaluate
from pipelines.resources import WarehouseResource
from settings.alerts import AlertSettings, alert_settings

RESULTS = dg.AssetKey("resultados_notificacao")
RESULTS_JOB = "results_job"
#: failed pull runs looked at (newest first): enough to date a long failure streak
MAX_FAILED_RUNS = 200


def pull_failures(
    instance: dg.DagsterInstance, now: datetime, s: AlertSettings
) -> list[Condition]:
    """The results pull failing since its last success (runs of `results_job`, or any run
    that selected `resultados_notificacao`)."""
    event = instance.get_latest_materialization_event(RESULTS)
    last_success = (
        datetime.fromtimestamp(event.timestamp, UTC) if event is not None else None
    )
    runs = instance.get_run_records(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.FAILURE],
            updated_after=last_success,
        ),
        limit=MAX_FAILED_RUNS,
    )
    failures = [
        datetime.fromtimestamp(r.start_time or r.create_timestamp.timestamp(), UTC)
        for r in runs
        if r.dagster_run.job_name == RESULTS_JOB
        or RESULTS in (r.dagster_run.asset_selection or ())
    ]
    return alert_rules.pull_failing(failures, last_success, now, s)


def check_outcomes(
    instance: dg.DagsterInstance, check_keys: list[dg.AssetCheckKey]
) -> list[CheckOutcome]:
    """The latest evaluation of each check (PLANNED ones, still running, are left out)."""
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus as Status,
    )

    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(check_keys)
    out = []
    for key, rec in latest.items():
        if rec.status == Status.PLANNED:
            continue
        out.append(
            CheckOutcome(
                asset=key.asset_key.to_user_string(),
                check=key.name,
                passed=rec.status == Status.SUCCEEDED,
                em=datetime.fromtimestamp(rec.create_timestamp, UTC),
                partition=rec.partition,
            )
        )
    return out


@dg.sensor(
    minimum_interval_seconds=120,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Evaluates the alert rules (data loss, expirations, silence, quarantine spike, "
    "failing results pull, failed asset checks) and sends alerts: alerts.jsonl, webhook, "
    "e-mail.",
)
def alerts_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    now = datetime.now(UTC)
    s = alert_settings()  # a bad [alerts] table fails the tick with a clear message
    instance = context.instance
    checks = sorted(context.repository_def.asset_graph.asset_check_keys) if (
        context.repository_def is not None
    ) else []
    extra = [
        *pull_failures(instance, now, s),
        *alert_rules.failed_checks(check_outcomes(instance, checks)),
    ]
    outcome = evaluate(
        warehouse.data_dir,
        now,
        extra=extra,
        extra_rules={alert_rules.PULL_FAILING, alert_rules.FAILED_CHECK},
        settings=s,
    )
    for a in outcome.alerts:
        context.log.info(f"alert {a.estado}: {a.chave} ({a.contagem})")
    sent = sum(outcome.delivery.enviados.values())
    pending = sum(outcome.delivery.pendentes.values())
    return dg.SkipReason(
        f"{len(outcome.alerts)} alert(s) raised, {sent} message(s) sent, {pending} waiting "
        f"in the outbox; rules: {', '.join(sorted(outcome.evaluated))}"
    )
