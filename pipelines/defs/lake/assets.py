"""Raw lake → deduplicated `notificacoes` and verbatim `metadados`, and the `quarentena` table."""

import dagster as dg
import pyarrow as pa

from ingest.lake_files import partition_files, read_table
from ingest.lake_schema import QUARENTENA, QUARENTENA_SCHEMA, conform
from ingest.quarantine import entry_id
from pipelines.core import checks, lake_tables
from pipelines.core.connections import transaction
from pipelines.partitions import daily, run_days
from pipelines.resources import WarehouseResource

GROUP = "lake"
WAREHOUSE_TAG = {"ccee-webhook/warehouse": "writer"}

UNICO = dg.AssetCheckSpec(
    "uma_linha_por_transaction_id",
    asset="notificacoes",
    description="Every transaction_id appears exactly once in notificacoes (all partitions).",
)
CONTAGEM = dg.AssetCheckSpec(
    "contagem_confere_com_lago",
    asset="notificacoes",
    description="Rows per day equal the transaction_ids first seen in that lake dt= folder, "
    "recounted from the lake files.",
)
METADADOS_UNICO = dg.AssetCheckSpec(
    "uma_linha_por_posicao",
    asset="metadados",
    description="One row per (transaction_id, posicao).",
)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "notificacoes",
            group_name=GROUP,
            kinds={"duckdb"},
            description="One row per transaction_id: first/last receipt, deliveries seen.",
        ),
        dg.AssetSpec(
            "metadados",
            group_name=GROUP,
            kinds={"duckdb"},
            description="One row per metadata entry, verbatim except 'null' → NULL.",
        ),
    ],
    check_specs=[UNICO, CONTAGEM, METADADOS_UNICO],
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    op_tags=WAREHOUSE_TAG,
)
def notificacoes_e_metadados(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Replace the partition's rows (lake days ±1 are read so retries across midnight count)."""
    d0, d1 = run_days(context)
    with warehouse.connect() as con:
        carga = lake_tables.load_notificacoes(con, warehouse.data_dir, d0, d1)
        dup = checks.duplicate_keys(con, "notificacoes")
        dup_meta = con.execute(
            "SELECT count(*) FROM (SELECT transaction_id, posicao FROM metadados "
            "GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()[0]  # type: ignore[index]
        contagens = checks.counts_vs_lake(con, warehouse.data_dir, d0, d1)
    context.log.info(
        f"{d0}..{d1}: {carga.arquivos} lake files, {carga.entregas_lidas} deliveries → "
        f"{carga.notificacoes} notificacoes, {carga.metadados} metadados"
    )
    divergentes = {d: {"notificacoes": r, "lago": e} for d, (r, e) in contagens.items() if r != e}
    yield dg.MaterializeResult(
        asset_key="notificacoes",
        metadata={
            "linhas": carga.notificacoes,
            "entregas_lidas": carga.entregas_lidas,
            "arquivos_lidos": carga.arquivos,
        },
    )
    yield dg.MaterializeResult(asset_key="metadados", metadata={"linhas": carga.metadados})
    yield dg.AssetCheckResult(
        check_name=UNICO.name,
        asset_key="notificacoes",
        passed=dup == 0,
        metadata={"transaction_ids_duplicados": dup},
    )
    yield dg.AssetCheckResult(
        check_name=CONTAGEM.name,
        asset_key="notificacoes",
        passed=not divergentes,
        metadata={"dias_divergentes": divergentes, "dias_verificados": len(contagens)},
    )
    yield dg.AssetCheckResult(
        check_name=METADADOS_UNICO.name,
        asset_key="metadados",
        passed=int(dup_meta) == 0,
        metadata={"chaves_duplicadas": int(dup_meta)},
    )


QUARENTENA_DDL = """
CREATE TABLE IF NOT EXISTS quarentena (
    recebido_em TIMESTAMPTZ, destino VARCHAR, perfil VARCHAR, motivo VARCHAR, detalhe VARCHAR,
    status_http INTEGER, content_type VARCHAR, tamanho BIGINT, corpo VARCHAR, instancia VARCHAR,
    dt DATE NOT NULL
);
-- issue 14: the ids read from the body (links an expired notification to its refused
-- attempts) and the entry's id for `ccee-webhook quarantine show`
ALTER TABLE quarentena ADD COLUMN IF NOT EXISTS transaction_id VARCHAR;
ALTER TABLE quarentena ADD COLUMN IF NOT EXISTS evento_notificacao VARCHAR;
ALTER TABLE quarentena ADD COLUMN IF NOT EXISTS id VARCHAR;
"""


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb"},
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    op_tags=WAREHOUSE_TAG,
    description="Rejected requests from authenticated senders, one row each (delivery health).",
)
def quarentena(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Replace the partition's rows; the raw body is decoded as UTF-8 with replacement chars."""
    d0, d1 = run_days(context)
    tables = []
    for day in lake_tables.days_between(d0, d1):
        for f in partition_files(warehouse.data_dir, QUARENTENA, day):
            t = conform(QUARENTENA, read_table(f))
            rows = t.select(["recebido_em", "instancia", "destino", "motivo", "corpo"]).to_pylist()
            ids = [entry_id(**r) for r in rows]
            corpo = [
                None if b is None else b.decode("utf-8", "replace")
                for b in t.column("corpo").to_pylist()
            ]
            t = t.set_column(
                t.schema.get_field_index("corpo"), "corpo", pa.array(corpo, pa.string())
            )
            t = t.append_column("dt", pa.array([day] * t.num_rows, pa.date32()))
            t = t.append_column("id", pa.array(ids, pa.string()))
            tables.append(t.select([*QUARENTENA_SCHEMA.names, "dt", "id"]))
    with warehouse.connect() as con:
        con.execute(QUARENTENA_DDL)
        with transaction(con):
            con.execute("DELETE FROM quarentena WHERE dt BETWEEN ? AND ?", [d0, d1])
            if tables:
                novo = pa.concat_tables(tables, promote_options="default")
                con.register("_quarentena", novo)
                con.execute(
                    "INSERT INTO quarentena BY NAME SELECT * FROM _quarentena ORDER BY recebido_em"
                )
                con.unregister("_quarentena")
    n = sum(t.num_rows for t in tables)
    context.log.info(f"{d0}..{d1}: {n} quarantined requests")
    return dg.MaterializeResult(metadata={"linhas": n})
