"""`sla_entrega`: CCEE's delivery results against the lake, per day × perfil × event code."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from pipelines.core import sla
from pipelines.defs.lake.assets import WAREHOUSE_TAG
from pipelines.partitions import daily, run_days
from pipelines.resources import WarehouseResource

PRESENTES = dg.AssetCheckSpec(
    "notificado_presente_no_lago",
    asset="sla_entrega",
    description="No delivery CCEE reports NOTIFICADO (after the grace period) is missing "
    "from the lake: a 201 we answered must be on disk.",
)

# The notifications of CCEE day D reach the lake on D or D+1.
_LAKE_NEXT_DAY = dg.TimeWindowPartitionMapping(
    start_offset=0, end_offset=1, allow_nonexistent_upstream_partitions=True
)


class SlaConfig(dg.Config):
    carencia_minutos: float = 60.0
    """NOTIFICADO results younger than this may not be loaded yet and are not alarmed on."""


@dg.asset(
    deps=[
        dg.AssetDep("notificacoes", partition_mapping=_LAKE_NEXT_DAY),
        dg.AssetDep("metadados", partition_mapping=_LAKE_NEXT_DAY),
        "resultados_notificacao",
    ],
    group_name="sla",
    kinds={"duckdb"},
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[PRESENTES],
    op_tags=WAREHOUSE_TAG,
    description="Volumes, states, latency percentiles and lake-vs-CCEE gaps per CCEE day.",
)
def sla_entrega(context: dg.AssetExecutionContext, config: SlaConfig, warehouse: WarehouseResource):
    d0, d1 = run_days(context)
    antes_de = datetime.now(UTC) - timedelta(minutes=config.carencia_minutos)
    with warehouse.connect() as con:
        carga = sla.load_sla(con, d0, d1)
        ausentes = sla.notified_missing_from_lake(con, d0, d1, antes_de)
    if carga.notificado_ausente_no_lago:
        context.log.warning(
            f"{carga.notificado_ausente_no_lago} notifications CCEE reports as delivered are "
            "absent from the lake"
        )
    yield dg.MaterializeResult(
        metadata={
            "linhas": carga.linhas,
            "notificacoes": carga.notificacoes,
            "notificado_ausente_no_lago": carga.notificado_ausente_no_lago,
            "no_lago_sem_resultado": carga.no_lago_sem_resultado,
        }
    )
    yield dg.AssetCheckResult(
        check_name=PRESENTES.name,
        passed=not ausentes,
        metadata={
            "ausentes": len(ausentes),
            "exemplos": ausentes[:20],
            "carencia_minutos": config.carencia_minutos,
        },
    )
