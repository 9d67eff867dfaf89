"""Hourly pull of the CCEE days still open (today and yesterday: a notification stays open 24 h)."""

from datetime import timedelta

import dagster as dg

from pipelines.partitions import TIMEZONE, diario

resultados_job = dg.define_asset_job(
    "resultados_job",
    selection=dg.AssetSelection.assets("resultados_notificacao", "sla_entrega"),
    partitions_def=diario,
    tags={"ccee-webhook/warehouse": "writer"},
)


@dg.schedule(
    job=resultados_job,
    cron_schedule="7 * * * *",
    execution_timezone=TIMEZONE,
    description="Re-pull today's and yesterday's results (still open), then their SLA.",
)
def resultados_por_hora(context: dg.ScheduleEvaluationContext):
    hoje = context.scheduled_execution_time.date()
    for dia in (hoje - timedelta(days=1), hoje):
        key = dia.isoformat()
        if diario.has_partition_key(key):
            yield dg.RunRequest(
                run_key=f"{key}@{context.scheduled_execution_time.isoformat()}", partition_key=key
            )
