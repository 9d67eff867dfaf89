"""Real Dagster materializations of the pipeline assets, and read-only warehouse queries."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import dagster as dg
import duckdb

from pipelines.defs.catalog.assets import eventos_entidades
from pipelines.defs.lake.assets import notificacoes_e_metadados, quarentena
from pipelines.defs.results.assets import resultados_notificacao
from pipelines.defs.sla.assets import sla_entrega
from pipelines.resources import CCEEResource, WarehouseResource
from settings import ccee_day

LAKE_ASSETS = [notificacoes_e_metadados, eventos_entidades, quarentena]
RESULTS_ASSETS = [resultados_notificacao]
SLA_ASSETS = [sla_entrega]
ALL_ASSETS = [*LAKE_ASSETS, *RESULTS_ASSETS, *SLA_ASSETS]

Runner = Callable[..., dg.ExecuteInProcessResult]


def materialize(
    data_dir: Path,
    assets: Sequence[Any],
    partition: str,
    ccee: CCEEResource | None = None,
    raise_on_error: bool = True,
    run_config: Any = None,
    instance: Literal["on_disk", "ephemeral"] = "on_disk",
) -> dg.ExecuteInProcessResult:
    """Materialize `assets` for one day partition on the warehouse of `data_dir`.

    `on_disk` runs on a Dagster instance in `<data_dir>/../dagster_home` (its event logs are
    then files the secret scan reads); `ephemeral` keeps the instance in memory.
    """
    resources = {
        "warehouse": WarehouseResource(data_dir=str(data_dir)),
        "ccee": ccee or CCEEResource(),
    }
    if instance == "ephemeral":
        return dg.materialize(
            list(assets),
            resources=resources,
            partition_key=partition,
            run_config=run_config,
            raise_on_error=raise_on_error,
            instance=dg.DagsterInstance.ephemeral(),
        )
    home = data_dir.parent / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    with dg.DagsterInstance.local_temp(str(home)) as on_disk:
        return dg.materialize(
            list(assets),
            resources=resources,
            partition_key=partition,
            instance=on_disk,
            raise_on_error=raise_on_error,
            run_config=run_config,
        )


def make_runner(data_dir: Path) -> Runner:
    """`run(partition, assets=ALL_ASSETS, ...)` on an ephemeral instance."""

    def _run(partition: str, assets: Sequence[Any] = tuple(ALL_ASSETS), **kw: Any
             ) -> dg.ExecuteInProcessResult:
        return materialize(data_dir, assets, partition, instance="ephemeral", **kw)

    return _run


def query(data_dir: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Read-only SQL on the warehouse (session time zone UTC)."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, list(params)).fetchall()


def checks_of(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    """`asset:check` → passed, for every check evaluated in the run."""
    return {
        f"{e.asset_key.to_user_string()}:{e.check_name}": e.passed
        for e in result.get_asset_check_evaluations()
    }


def days(stamps: Iterable[datetime]) -> list[str]:
    """The distinct CCEE calendar days of `stamps`, as partition keys."""
    return sorted({ccee_day(s).isoformat() for s in stamps})
