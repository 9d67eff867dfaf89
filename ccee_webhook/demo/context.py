"""What the phases share: the run's folder, options, calendar, services, display and record.

The phases (ccee_webhook/demo/phases.py, days.py) are plain functions of a `Context`; each
writes what it did and saw into the `Record`, from which the summary is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ccee_webhook.demo.services import Services
from ccee_webhook.demo.summary import InjectedAnomaly
from ccee_webhook.demo.timeline import Options, Timeline
from simulator.admin_client import LedgerStats, SimAdmin


@dataclass(slots=True)
class Record:
    """Filled phase by phase: the demo's own doings, with CCEE's transaction ids."""

    retired_ids: list[str] = field(default_factory=list)
    invalid_ids: list[str] = field(default_factory=list)
    queued_at_restart: int = 0
    quarantine_expected: int = 0
    final: LedgerStats | None = None
    dagster_runs: list[str] = field(default_factory=list)
    checks_failed: list[str] = field(default_factory=list)
    partitions: list[date] = field(default_factory=list)
    #: the lifecycle anomalies the generator injected (its truth, read before it stops)
    anomalies: list[InjectedAnomaly] = field(default_factory=list)
    #: alerts raised by the rules, "estado chave at hh:mm: what"
    alerts: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class Context:
    folder: Path
    options: Options
    timeline: Timeline
    services: Services
    console: Console
    record: Record = field(default_factory=Record)
    #: True when --keep added this run to an earlier one
    kept: bool = False

    @property
    def admin(self) -> SimAdmin:
        assert self.services.admin is not None, "the simulator is not started"
        return self.services.admin

    def progress(self) -> Progress:
        return Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
