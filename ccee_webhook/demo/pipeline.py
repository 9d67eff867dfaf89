"""The demo's analytical half: Dagster materializations in process, then the warehouse figures.

Runs go to a Dagster instance in the demo folder (`DAGSTER_HOME=<demo>/dagster_home`), so
`dg dev` opened on that folder afterwards shows the demo's runs, materializations and checks.
Every day-partitioned asset (found in the definitions, so new ones join without a change
here) runs as ONE run over the partition range (their backfill policy is single-run):
`sla_entrega` matches CCEE's day D against lake days D and D+1, so every lake day must be
loaded before any SLA day is computed, which a single range run guarantees. The assets
without partitions (the reports) run next, in a second run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import msgspec

#: day-partitioned assets the demo relies on (the run covers every partitioned asset)
REQUIRED = (
    "notificacoes",
    "metadados",
    "quarentena",
    "eventos_entidades",
    "resultados_notificacao",
    "sla_entrega",
)

DAGSTER_YAML = """\
# Written by `ccee-webhook demo`: the demo's own Dagster instance (SQLite, telemetry off).
telemetry:
  enabled: false
storage:
  sqlite:
    base_dir:
      env: DAGSTER_HOME
"""


class PipelineError(RuntimeError):
    """A Dagster run failed or a check did not pass (the message names which)."""


class RunReport(msgspec.Struct, frozen=True):
    run_id: str
    seconds: float
    materialized: list[str]
    checks_failed: list[str]


def prepare_home(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")
    return home


def materialize(
    home: Path,
    first: date,
    last: date,
    on_step: Callable[[str], None] | None = None,
    after_tables: Callable[[], None] | None = None,
) -> tuple[RunReport, RunReport]:
    """Every partitioned asset over [first, last] in one run, then `after_tables` (the alert
    rules, so the reports show the alerts they raised), then every other asset.

    Reads `CCEE_WEBHOOK_*` and `DAGSTER_HOME` from the environment (the caller scopes them).
    """
    import dagster as dg

    from pipelines.definitions import defs as load_defs

    instance = dg.DagsterInstance.from_config(str(home))
    try:
        defs = load_defs()
        job = defs.resolve_implicit_global_asset_job_def()
        graph = defs.resolve_asset_graph()
        keys = [k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable]
        partitioned = sorted(
            k.to_user_string() for k in keys if graph.get(k).partitions_def is not None
        )
        others = sorted(k.to_user_string() for k in keys if graph.get(k).partitions_def is None)
        missing = [k for k in REQUIRED if k not in partitioned]
        if missing:
            raise PipelineError(f"the Dagster definitions lack asset(s) {', '.join(missing)}")
        tags = {
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
            "ccee-webhook/origem": "demo",
        }
        if on_step:
            on_step(f"{len(partitioned)} assets × days {first} … {last}")
        # A week of results in a few large pages (the simulator allows 500, like the CLI's
        # `results --page-size`), instead of the production default's many small ones.
        tables = _run(job, instance, partitioned, tags, {"ccee": {"config": {"page_size": 500}}})
        if after_tables:
            after_tables()
        if on_step:
            on_step(f"{len(others)} assets without partitions (the reports)")
        html = _run(job, instance, others, {"ccee-webhook/origem": "demo"})
    finally:
        instance.dispose()
    return tables, html


def _run(
    job: object,
    instance: object,
    keys: list[str],
    tags: dict[str, str],
    resources: dict[str, object] | None = None,
) -> RunReport:
    import dagster as dg

    assert isinstance(job, dg.JobDefinition)
    assert isinstance(instance, dg.DagsterInstance)
    t0 = time.perf_counter()
    result = job.execute_in_process(
        instance=instance,
        asset_selection=[dg.AssetKey.from_user_string(k) for k in keys],
        tags=tags,
        raise_on_error=False,
        # Progress is the demo's own display; Dagster's event log stays in its instance.
        run_config={
            "loggers": {"console": {"config": {"log_level": "ERROR"}}},
            **({"resources": resources} if resources else {}),
        },
    )
    seconds = time.perf_counter() - t0
    if not result.success:
        failures = [
            f"{e.step_key}: {e.event_specific_data.error.message.strip()}"  # type: ignore[union-attr]
            for e in result.all_events
            if e.is_step_failure and e.event_specific_data is not None
        ]
        raise PipelineError(
            f"Dagster run {result.run_id} failed: " + ("; ".join(failures) or "see dg dev")
        )
    materialized = sorted(
        {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()
         if e.asset_key is not None}
    )
    failed_checks = sorted(
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in result.get_asset_check_evaluations()
        if not e.passed
    )
    return RunReport(result.run_id, seconds, materialized, failed_checks)
