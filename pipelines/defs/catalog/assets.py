"""`eventos_entidades`: one asset writing every `eventos_<entidade>` table for a day partition."""

import dagster as dg

from pipelines.core import checks, entity_tables
from pipelines.defs.lake.assets import WAREHOUSE_TAG
from pipelines.partitions import daily, run_days
from pipelines.resources import WarehouseResource

TAXA = dg.AssetCheckSpec(
    "taxa_erros_conversao",
    asset="eventos_entidades",
    description="Share of typed metadata values that failed to parse stays under the limit.",
)
UNICO = dg.AssetCheckSpec(
    "uma_linha_por_transaction_id",
    asset="eventos_entidades",
    description="Every eventos_<entidade> table has one row per transaction_id.",
)


class EntityTablesConfig(dg.Config):
    limite_taxa_erros_conversao: float = 0.01
    """Highest acceptable failed-cast share (failed / typed values) for the partition."""


@dg.asset(
    deps=["notificacoes", "metadados"],
    group_name="catalog",
    kinds={"duckdb"},
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[TAXA, UNICO],
    op_tags=WAREHOUSE_TAG,
    description="Wide typed table per entity (eventos_contrato, eventos_montante_energia, …); "
    "unparsable values kept in erros_conversao.",
)
def eventos_entidades(
    context: dg.AssetExecutionContext, config: EntityTablesConfig, warehouse: WarehouseResource
):
    d0, d1 = run_days(context)
    with warehouse.connect() as con:
        carga = entity_tables.load_entity_tables(con, d0, d1)
        tabelas = entity_tables.entity_tables(con)
        dups = {t: checks.duplicate_keys(con, t) for t in sorted(tabelas.values())}
    if carga.tabelas_novas:
        context.log.info(f"new entity tables: {', '.join(carga.tabelas_novas)}")
    if carga.colunas_novas:
        context.log.info(f"new columns: {', '.join(carga.colunas_novas)}")
    if carga.erros_conversao:
        context.log.warning(
            f"{carga.erros_conversao} of {carga.valores_tipados} typed values did not parse "
            "(kept raw in erros_conversao)"
        )
    yield dg.MaterializeResult(
        asset_key="eventos_entidades",
        metadata={
            "linhas_por_tabela": dict(carga.linhas),
            "valores_tipados": carga.valores_tipados,
            "erros_conversao": carga.erros_conversao,
            "tabelas": sorted(tabelas.values()),
            "tabelas_novas": carga.tabelas_novas,
            "colunas_novas": carga.colunas_novas,
        },
    )
    yield dg.AssetCheckResult(
        check_name=TAXA.name,
        asset_key="eventos_entidades",
        passed=carga.taxa_erros <= config.limite_taxa_erros_conversao,
        metadata={
            "taxa": carga.taxa_erros,
            "limite": config.limite_taxa_erros_conversao,
            "erros_conversao": carga.erros_conversao,
            "valores_tipados": carga.valores_tipados,
        },
    )
    ruins = {t: n for t, n in dups.items() if n}
    yield dg.AssetCheckResult(
        check_name=UNICO.name,
        asset_key="eventos_entidades",
        passed=not ruins,
        metadata={"tabelas_com_duplicados": ruins},
    )
