"""Daily compaction of the lake's small files into one file per day folder."""

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from ingest.lake_files import partition_days
from ingest.lake_schema import NOTIFICACOES, QUARENTENA
from pipelines.core.compaction import compact_day
from pipelines.partitions import TIMEZONE
from pipelines.resources import WarehouseResource


class CompactionConfig(dg.Config):
    incluir_hoje: bool = False
    """Also compact today's folder (safe: only files present at the start are touched)."""
    min_arquivos: int = 2


@dg.op(description="Compact every closed lake day folder that holds several files.")
def compact_lake(
    context: dg.OpExecutionContext, config: CompactionConfig, warehouse: WarehouseResource
) -> dg.Output[int]:
    hoje = datetime.now(ZoneInfo(TIMEZONE)).date()
    feitos = 0
    for table in (NOTIFICACOES, QUARENTENA):
        for day in partition_days(warehouse.data_dir, table):
            if day >= hoje and not config.incluir_hoje:
                continue
            r = compact_day(warehouse.data_dir, table, day, min_files=config.min_arquivos)
            if r.destino:
                feitos += 1
                context.log.info(
                    f"{table} dt={day}: {r.arquivos} files, {r.linhas} rows → {r.destino}"
                )
            if r.sobras_removidas:
                context.log.info(f"{table} dt={day}: removed {r.sobras_removidas} leftovers")
    return dg.Output(feitos, metadata={"pastas_compactadas": feitos})


@dg.job(description="Compact small lake files (one file per day folder).")
def compaction_job() -> None:
    compact_lake()


daily_compaction = dg.ScheduleDefinition(
    name="daily_compaction",
    job=compaction_job,
    cron_schedule="30 3 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
