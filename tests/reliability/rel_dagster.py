"""Real Dagster materializations and a real simulator for the reliability suite.

Runs use an on-disk Dagster instance under the test's temp dir, so Dagster's own event logs
are part of what the final secret scan reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from settings import CCEE_TZ
from pipelines.defs.catalog.assets import eventos_entidades
from pipelines.defs.lake.assets import notificacoes_e_metadados, quarentena
from pipelines.defs.results.assets import resultados_notificacao
from pipelines.defs.sla.assets import sla_entrega
from pipelines.resources import CCEEResource, WarehouseResource
from simulator.core import SimulatorConfig
from simulator.knobs import DeliverySettings
from simulator.participants import Participant

LAKE_ASSETS = [notificacoes_e_metadados, eventos_entidades, quarentena]
RESULTS = [resultados_notificacao]
SLA = [sla_entrega]


def sp_day(ts: datetime) -> date:
    return ts.astimezone(CCEE_TZ).date()


def materialize(
    data_dir: Path,
    assets: Sequence[Any],
    partition: str,
    ccee: CCEEResource | None = None,
    raise_on_error: bool = True,
    run_config: Any = None,
) -> dg.ExecuteInProcessResult:
    home = data_dir.parent / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        return dg.materialize(
            list(assets),
            resources={
                "warehouse": WarehouseResource(data_dir=str(data_dir)),
                "ccee": ccee or CCEEResource(),
            },
            partition_key=partition,
            instance=instance,
            raise_on_error=raise_on_error,
            run_config=run_config,
        )


def query(data_dir: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, list(params)).fetchall()


def sim_config(tmp: Path, participant: Participant, start: datetime, **kw: Any) -> SimulatorConfig:
    # first attempt at once: these tests count attempts from dataOrigem
    kw.setdefault("delivery", DeliverySettings(first_attempt_delay_s=0.0))
    return SimulatorConfig(
        participants=[participant],
        db_path=str(tmp / "simulator.sqlite3"),
        time_scale=0.0,
        start=start,
        events_per_hour=0.0,
        **kw,
    )


def use_simulator_profile(
    monkeypatch: pytest.MonkeyPatch, url: str, username: str, password: str, perfil: str
) -> None:
    """The env-var profile `default`, as an operator would configure it for the simulator."""
    for k in ("CERT", "KEY", "CERT_PASSWORD", "CA_BUNDLE", "CONFIG"):
        monkeypatch.delenv(f"CCEE_WEBHOOK_{k}", raising=False)
    monkeypatch.setenv("CCEE_WEBHOOK_CCEE_URL", url)
    monkeypatch.setenv("CCEE_WEBHOOK_USERNAME", username)
    monkeypatch.setenv("CCEE_WEBHOOK_PASSWORD", password)
    monkeypatch.setenv("CCEE_WEBHOOK_PERFIL", perfil)


def days(stamps: Iterable[datetime]) -> list[str]:
    return sorted({sp_day(s).isoformat() for s in stamps})
