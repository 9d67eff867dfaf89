"""`contratos` and `montantes_vigentes`: contract state and amounts in force per partition.

Each run recomputes the keys its days touched from all history (see
`pipelines.core.contract_state`), and returns its checks with the materialization.
"""

import dagster as dg

from pipelines.core import contract_state as cs
from pipelines.defs.lake.assets import WAREHOUSE_TAG
from pipelines.partitions import daily, run_days
from pipelines.resources import WarehouseResource

GROUP = "contracts"

CONTRATO_UNICO = dg.AssetCheckSpec(
    "uma_linha_por_contrato",
    asset="contratos",
    description="One row per (perfil, id_contrato).",
)
CONTRATO_CONFERE = dg.AssetCheckSpec(
    "eventos_conferem",
    asset="contratos",
    description="Every keyed CONTRATO event is counted exactly once (sum of eventos equals "
    "the distinct transaction_ids of eventos_contrato with an id_contrato).",
)
MONTANTE_UNICO = dg.AssetCheckSpec(
    "uma_linha_por_chave",
    asset="montantes_vigentes",
    description="One row per (perfil, id_contrato, mes_referencia, submercado).",
)
MONTANTE_CONFERE = dg.AssetCheckSpec(
    "declaracoes_conferem",
    asset="montantes_vigentes",
    description="Every keyed MONTANTE_ENERGIA event is counted exactly once (sum of "
    "declaracoes equals the distinct transaction_ids of eventos_montante_energia).",
)


@dg.asset(
    deps=["eventos_entidades"],
    group_name=GROUP,
    kinds={"duckdb"},
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[CONTRATO_UNICO, CONTRATO_CONFERE],
    op_tags=WAREHOUSE_TAG,
    description="One row per (perfil, id_contrato): current state by CCEE's event time, "
    "event count, first/last event, ambiente, and the lifecycle rule broken (if any).",
)
def contratos(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    d0, d1 = run_days(context)
    with warehouse.connect() as con:
        carga = cs.load_contratos(con, d0, d1)
        dups = cs.duplicated_keys(con, "contratos", "perfil, id_contrato")
        contados, fonte = cs.events_reconcile(con, "contratos", cs.CONTRATO_EVENTOS)
    if carga.anomalias:
        context.log.warning(f"{carga.anomalias} contract(s) break the lifecycle")
    yield dg.MaterializeResult(
        metadata={"contratos_recalculados": carga.chaves, "com_anomalia": carga.anomalias}
    )
    yield dg.AssetCheckResult(
        check_name=CONTRATO_UNICO.name, passed=not dups, metadata={"chaves_repetidas": dups}
    )
    yield dg.AssetCheckResult(
        check_name=CONTRATO_CONFERE.name,
        passed=contados == fonte,
        metadata={"eventos_na_tabela": contados, "eventos_na_fonte": fonte},
    )


@dg.asset(
    deps=["eventos_entidades"],
    group_name=GROUP,
    kinds={"duckdb"},
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[MONTANTE_UNICO, MONTANTE_CONFERE],
    op_tags=WAREHOUSE_TAG,
    description="One row per (perfil, id_contrato, mes_referencia, submercado): the amount "
    "(MWh) of the declaration with the latest data_origem_evento, and how many were made.",
)
def montantes_vigentes(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    d0, d1 = run_days(context)
    with warehouse.connect() as con:
        carga = cs.load_montantes(con, d0, d1)
        dups = cs.duplicated_keys(
            con, "montantes_vigentes", "perfil, id_contrato, mes_referencia, submercado"
        )
        contados, fonte = cs.events_reconcile(con, "montantes_vigentes", cs.MONTANTE_EVENTOS)
    yield dg.MaterializeResult(metadata={"chaves_recalculadas": carga.chaves})
    yield dg.AssetCheckResult(
        check_name=MONTANTE_UNICO.name, passed=not dups, metadata={"chaves_repetidas": dups}
    )
    yield dg.AssetCheckResult(
        check_name=MONTANTE_CONFERE.name,
        passed=contados == fonte,
        metadata={"declaracoes_na_tabela": contados, "declaracoes_na_fonte": fonte},
    )
