"""`ccee-webhook demo`: the whole product end to end on one machine, in under two minutes.

A local CCEE (the simulator) and the receiver run as child processes on free loopback ports;
the participant's subscriptions are applied from a YAML file by the `prefs apply` function;
CCEE lives through a week: six history days replayed quickly, then a live business day in
accelerated time with a receiver outage, invalid callbacks and one subscription left on a
decommissioned endpoint; Dagster loads every day, pulls CCEE's delivery results, builds the
SLA tables and the HTML reports; the summary reconciles CCEE's ledger with the warehouse.

This module is the command and the run order; the phases are in phases.py and days.py.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from types import FrameType

import click
import msgspec
from rich.console import Console

from ccee_webhook.demo import phases
from ccee_webhook.demo.context import Context
from ccee_webhook.demo.days import history, live_day
from ccee_webhook.demo.folder import (
    CONFIG_NAME,
    DemoError,
    default_dir,
    prepare_folder,
    write_config,
)
from ccee_webhook.demo.processes import ChildError
from ccee_webhook.demo.services import Secrets, Services
from ccee_webhook.demo.summary import CceeSide, Injected, Summary, read_warehouse, render
from ccee_webhook.demo.timeline import Options, Timeline, hhmm
from ccee_webhook.demo.warmup import Warmup

DEFAULTS = Options()


class Interrupted(KeyboardInterrupt):
    """SIGINT/SIGTERM while the demo runs: stop the children and exit 130."""


#: names of the signals received (Dagster may turn the interrupt into a failed run)
INTERRUPTED: list[str] = []


@contextlib.contextmanager
def interrupts_raise() -> Iterator[None]:
    """Ctrl-C and SIGTERM become `Interrupted`, so every `finally` runs and children stop."""

    def handler(signum: int, frame: FrameType | None) -> None:
        INTERRUPTED.append(signal.Signals(signum).name)
        raise Interrupted(INTERRUPTED[-1])

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


#: the run order: (timing label, phase)
PHASES: list[tuple[str, Callable[[Context], None]]] = [
    ("start", phases.start),
    ("subscribe", phases.subscribe),
    ("history", history),
    ("live day", live_day),
    ("expire", phases.expire),
    ("dagster", phases.pipeline),  # with the alert rules, before the reports
]


def run(ctx: Context) -> Summary:
    t = time.perf_counter()
    warmup = Warmup()
    try:
        for label, phase in PHASES:
            if label == "history":
                # Imports and the charts' bundle while the history replays: its ticks wait on
                # the simulator and the receiver far more than they use the CPU; the live day,
                # paced by the clock, is left alone (its CCEE latencies stay the receiver's).
                warmup.start()
            if label == "dagster":
                assert ctx.services.receiver is not None
                ctx.services.receiver.stop()  # graceful: the lake is complete before Dagster
                warmup.finish()
            phase(ctx)
            now = time.perf_counter()
            ctx.record.timings[label] = round(now - t, 2)
            t = now
    finally:
        warmup.stop()
    assert ctx.services.sim is not None
    ctx.services.sim.stop()
    return summarize(ctx)


def summarize(ctx: Context) -> Summary:
    s, r, tl = ctx.services, ctx.record, ctx.timeline
    final = r.final
    assert final is not None and s.sim is not None and s.sim.url is not None
    assert s.receiver is not None and s.receiver.url is not None
    warehouse = ctx.folder / "warehouse.duckdb"
    return Summary(
        data_dir=str(ctx.folder),
        simulator_url=s.sim.url,
        receiver_url=s.receiver.url,
        warehouse=str(warehouse),
        lake=str(ctx.folder / "lake"),
        reports=sorted(str(p) for p in (ctx.folder / "reports").glob("*.html")),
        simulator_db=str(ctx.folder / "simulator.sqlite3"),
        logs=str(s.logs),
        dagster_home=str(ctx.folder / "dagster_home"),
        dias=[d.isoformat() for d in tl.days],
        particoes=[d.isoformat() for d in r.partitions],
        inicio_particoes=_partitions_start(ctx.folder).isoformat(),
        escala=ctx.options.time_scale,
        ccee=CceeSide(
            notificacoes=final.notificacoes,
            notificado=final.por_situacao.get("NOTIFICADO", 0),
            expirado=final.por_situacao.get("EXPIRADO", 0),
            aguardando=final.aguardando,
            tentativas=final.tentativas,
            tentativas_201=final.tentativas_201,
            respostas_201_perdidas=final.respostas_201_perdidas,
            max_tentativas=final.max_attempts,
        ),
        injetado=Injected(
            invalidos=r.invalid_ids,
            quarentena_esperada=r.quarantine_expected,
            codigo_aposentado=phases.RETIRED_CODE,
            endereco_aposentado=s.dead_url,
            outage_inicio=hhmm(tl.outage_start) if tl.has_outage else "-",
            outage_fim=hhmm(tl.outage_end) if tl.has_outage else "-",
            notificacoes_na_fila_ao_religar=r.queued_at_restart,
            taxa_anomalias=ctx.options.anomaly_rate,
            anomalias=r.anomalies,
        ),
        armazem=read_warehouse(warehouse),
        checks_falhos=r.checks_failed,
        dagster_runs=r.dagster_runs,
        segundos=r.timings,
        acumulado=ctx.kept,
        config=str(ctx.folder / CONFIG_NAME),
        alertas=r.alerts,
    )


def _partitions_start(folder: Path) -> date:
    data = tomllib.loads((folder / CONFIG_NAME).read_text(encoding="utf-8"))
    return date.fromisoformat(str(data["partitions_start"]))


def _first_partition(folder: Path, timeline: Timeline, keep: bool) -> date:
    """Where the demo's day partitions start: its first CCEE day, or earlier data it keeps."""
    first = timeline.first_day
    if keep and (folder / CONFIG_NAME).exists():
        with contextlib.suppress(KeyError, ValueError, OSError, tomllib.TOMLDecodeError):
            first = min(first, _partitions_start(folder))
    return min([first, *phases.lake_days(folder)]) if keep else first


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--days", default=DEFAULTS.days, show_default=True, type=click.IntRange(1, 31),
              help="CCEE days to generate, ending at today's midnight (São Paulo): all but the "
              "last are replayed quickly, the last runs live with the outage.")
@click.option("--events-per-day", default=DEFAULTS.events_per_day, show_default=True,
              type=click.IntRange(1, 20000),
              help="Business events per CCEE day (contracts and energy amounts).")
@click.option("--time-scale", default=DEFAULTS.time_scale, show_default=True,
              type=click.FloatRange(60, 100000),
              help="CCEE seconds per real second while the live day runs (3600: an hour a "
              "second).")
@click.option("--outage-hours", default=DEFAULTS.outage_hours, show_default=True,
              type=click.FloatRange(0, 12),
              help="How long the receiver is down, from 09:00 CCEE time of the live (last) day "
              "(0: no outage).")
@click.option("--invalid", default=DEFAULTS.invalid, show_default=True, type=click.IntRange(0, 20),
              help="Invalid callbacks to inject (each is re-sent by CCEE for 24 h and "
              "quarantined on every attempt).")
@click.option("--lose-201-rate", default=DEFAULTS.lose_201_rate, show_default=True,
              type=click.FloatRange(0, 0.5),
              help="Share of 201 answers lost on the way back to CCEE (it re-sends: duplicates).")
@click.option("--anomaly-rate", default=DEFAULTS.anomaly_rate, show_default=True,
              type=click.FloatRange(0, 1),
              help="Share of generated events that break a contract's lifecycle on purpose "
              "(a handful in the default week); the summary lists them and the contract "
              "report must show exactly those, with their reasons.")
@click.option("--seed", default=DEFAULTS.seed, show_default=True, type=int,
              help="Seed of the event generator and of the fault knobs.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The demo's own folder, wiped at start unless --keep "
              "[default: $CCEE_WEBHOOK_DATA_DIR/demo, i.e. ./data/demo].")
@click.option("--keep", is_flag=True,
              help="Keep the previous demo's data (lake, warehouse, CCEE ledger) and add to it.")
@click.option("--json-summary", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the summary as JSON to this file ('-' for stdout).")
def demo(
    days: int,
    events_per_day: int,
    time_scale: float,
    outage_hours: float,
    invalid: int,
    lose_201_rate: float,
    anomaly_rate: float,
    seed: int,
    data_dir: Path | None,
    keep: bool,
    json_summary: Path | None,
) -> None:
    """Run the whole product end to end on this machine (under two minutes).

    Starts a local CCEE (the simulator) and the receiver on free loopback ports, applies the
    demo's subscriptions through the real SOAP client (`prefs apply`), replays a week of CCEE
    business (the last day live, in accelerated time, with a receiver outage, lost 201s,
    invalid callbacks and one event code still subscribed to a decommissioned receiver), lets
    CCEE's 24-hour retry window run out, then materializes every Dagster asset over every day
    (lake → typed tables, CCEE's delivery results, SLA, HTML reports) and prints what
    happened and what to try next. Nothing keeps running afterwards.
    """
    console = Console(stderr=True, highlight=False)
    out = Console(highlight=False)
    options = Options(days, events_per_day, time_scale, outage_hours, invalid, lose_201_rate,
                      seed, anomaly_rate)
    folder = (data_dir or default_dir()).resolve()
    kept = keep and (folder / "warehouse.duckdb").exists()
    prepare_folder(folder, keep)
    timeline = Timeline.plan(options)
    write_config(folder, _first_partition(folder, timeline, kept))
    ctx = Context(folder, options, timeline, Services(folder, Secrets()), console, kept=kept)
    console.print(
        f"[bold]ccee-webhook demo[/] in {folder}: {days} CCEE day(s) from "
        f"{timeline.first_day.isoformat()} (the last one live, time × {time_scale:g}), "
        f"~{events_per_day} events/day"
    )
    try:
        with interrupts_raise():
            summary = run(ctx)
    except BaseException as exc:
        if isinstance(exc, SystemExit):
            raise
        if isinstance(exc, KeyboardInterrupt) or INTERRUPTED:
            ctx.services.stop_all()
            console.print(
                f"[red]interrupted ({INTERRUPTED[-1] if INTERRUPTED else 'SIGINT'}):[/] "
                "the simulator and the receiver were stopped"
            )
            sys.exit(130)
        if isinstance(exc, DemoError):
            raise
        logs = ctx.services.logs
        if isinstance(exc, ChildError | TimeoutError):
            raise DemoError(f"{exc} (logs in {logs})") from None
        raise DemoError(f"the demo failed: {type(exc).__name__}: {exc} (logs in {logs})") from None
    finally:
        ctx.services.stop_all()
    to_stdout = json_summary is not None and str(json_summary) == "-"
    render(summary, console if to_stdout else out)  # stdout stays parseable JSON with '-'
    encoded = msgspec.json.format(msgspec.json.encode(summary)).decode()
    if to_stdout:
        click.echo(encoded)
    elif json_summary is not None:
        json_summary.write_text(encoded + "\n", encoding="utf-8")
