"""Hourly pull of the CCEE days still open (today and yesterday: a notification stays open 24 h)."""

from datetime import timedelta

import dagster as dg

from pipelines.partitions import TIMEZONE, daily

results_job = dg.define_asset_job(
    "results_job",
    selection=dg.AssetSelection.assets("resultados_notificacao", "sla_entrega"),
    partitions_def=daily,
    tags={"ccee-webhook/warehouse": "writer"},
)


@dg.schedule(
    job=results_job,
    cron_schedule="7 * * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Re-pull today's and yesterday's results (still open), then their SLA.",
)
def hourly_results_pull(context: dg.ScheduleEvaluationContext):
    hoje = context.scheduled_execution_time.date()
    for dia in (hoje - timedelta(days=1), hoje):
        key = dia.isoformat()
        if daily.has_partition_key(key):
            yield dg.RunRequest(
                run_key=f"{key}@{context.scheduled_execution_time.isoformat()}", partition_key=key
            )
