"""`resultados_notificacao`: ListarResultadoNotificacaoBSv2 per CCEE day and per profile."""

from datetime import UTC, datetime

import dagster as dg

from pipelines.core import results
from pipelines.core.lake_tables import days_between
from pipelines.defs.lake.assets import WAREHOUSE_TAG
from pipelines.partitions import daily, run_days
from pipelines.resources import CCEEResource, CCEEUnavailable, WarehouseResource


@dg.asset(
    group_name="results",
    kinds={"duckdb"},
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    op_tags=WAREHOUSE_TAG,
    description="Delivery results CCEE reports, latest state per transaction_id, every profile.",
)
def resultados_notificacao(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, ccee: CCEEResource
) -> dg.MaterializeResult:
    """Pull each (perfil, dia), resuming an interrupted pull at its next page; upsert each page.

    With no CCEE profile configured this logs a warning and materializes nothing new.
    """
    d0, d1 = run_days(context)
    with warehouse.connect() as con:
        results.ensure_tables(con)
    try:
        perfis = ccee.perfis()
    except CCEEUnavailable as exc:
        context.log.warning(f"results pull skipped: {exc}")
        perfis = {}
    linhas = paginas = 0
    falhas: dict[str, str] = {}
    for nome, perfil in perfis.items():
        for dia in days_between(d0, d1):
            with warehouse.connect() as con:
                inicio = results.iniciar(con, perfil, dia, datetime.now(UTC))
            if inicio > 1:
                context.log.info(f"{perfil} {dia}: resuming at page {inicio}")
            try:
                for pagina in ccee.paginas_resultados(nome, dia, start_page=inicio):
                    with warehouse.connect() as con:
                        linhas += results.save_page(con, perfil, dia, pagina, datetime.now(UTC))
                    paginas += 1
                    context.log.debug(
                        f"{perfil} {dia}: page {pagina.numero}/{pagina.total_paginas}"
                    )
                with warehouse.connect() as con:
                    results.concluir(con, perfil, dia, datetime.now(UTC))
            except Exception as exc:  # one profile failing must not hide the others
                falhas[f"{perfil} {dia}"] = f"{type(exc).__name__}: {exc}"
                context.log.error(f"{perfil} {dia}: pull failed ({type(exc).__name__}: {exc})")
    if falhas:
        raise dg.Failure(
            description=f"results pull failed for {len(falhas)} (perfil, dia); "
            "the next run resumes after the last page saved",
            metadata={"falhas": falhas, "linhas_gravadas": linhas},
        )
    return dg.MaterializeResult(
        metadata={
            "perfis": len(perfis),
            "paginas": paginas,
            "linhas_upsert": linhas,
            "sem_credenciais": not perfis,
        },
    )
