"""Helpers for the pipeline tests: the asset lists, a runner type, read-only queries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from pipelines.defs.catalog.assets import eventos_entidades
from pipelines.defs.lake.assets import notificacoes_e_metadados, quarentena
from pipelines.defs.results.assets import resultados_notificacao
from pipelines.defs.sla.assets import sla_entrega
from pipelines.resources import CCEEResource, WarehouseResource

LAKE_ASSETS = [notificacoes_e_metadados, eventos_entidades, quarentena]
ALL_ASSETS = [*LAKE_ASSETS, resultados_notificacao, sla_entrega]

Runner = Callable[..., dg.ExecuteInProcessResult]


def make_runner(data_dir: Path) -> Runner:
    def _run(partition: str, assets: Sequence[Any] = tuple(ALL_ASSETS),
             ccee: CCEEResource | None = None, run_config: Any = None,
             raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            list(assets),
            resources={"warehouse": WarehouseResource(data_dir=str(data_dir)),
                       "ccee": ccee or CCEEResource()},
            partition_key=partition,
            run_config=run_config,
            raise_on_error=raise_on_error,
            instance=dg.DagsterInstance.ephemeral(),
        )

    return _run


def query(data_dir: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def checks_of(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    """`asset:check` → passed, for every check evaluated in the run."""
    return {
        f"{e.asset_key.to_user_string()}:{e.check_name}": e.passed
        for e in result.get_asset_check_evaluations()
    }
