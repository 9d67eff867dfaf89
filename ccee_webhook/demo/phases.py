"""The demo's phases around CCEE's days: start, subscribe, let retries expire, Dagster.

Each is a function of the shared `Context`; `command.py` runs them in order. The days
themselves (history and the live day) are in `days.py`.
"""

from __future__ import annotations

import os
import warnings
from datetime import date, datetime, timedelta
from pathlib import Path

import msgspec

from ccee.domain import lifecycle
from ccee_webhook.demo.context import Context
from ccee_webhook.demo.folder import DemoError, scoped_env
from ccee_webhook.demo.processes import wait_until
from ccee_webhook.demo.services import PERFIL
from ccee_webhook.demo.summary import InjectedAnomaly
from ccee_webhook.demo.timeline import hhmm
from ingest.lake_schema import NOTIFICACOES, QUARENTENA
from settings import CCEE_TZ
from simulator.generator import AnomaliaInjetada

SUBSCRIPTIONS = Path(__file__).with_name("subscriptions.yaml")
#: the code whose preference still points at the decommissioned receiver (see the YAML)
RETIRED_CODE = "CONTRATO.CANCELAMENTO_VALIDADO"
IDLE_TIMEOUT = 120.0
#: the retry window is run in ticks of this many CCEE seconds (see Simulator.fast_forward)
EXPIRE_TICK_SECONDS = 60.0


def start(ctx: Context) -> None:
    """The local CCEE (clock frozen at the first day's midnight) and the first receiver."""
    s = ctx.services
    with ctx.console.status("Starting the local CCEE and the receiver…"):
        s.start_simulator(ctx.timeline.start, ctx.options.seed)
        s.start_receiver(1)
        sim_url = s.wait_simulator()
        rec_url = s.wait_receiver()
    ctx.console.print(
        f"[green]✓[/] local CCEE at {sim_url} (profile {PERFIL}, CCEE time frozen at "
        f"{hhmm(ctx.timeline.start)}); receiver at {rec_url} (URL token generated, never printed)"
    )


def _yaml_env(ctx: Context, retired_live: bool) -> dict[str, str]:
    """The variables the subscriptions file uses. Before the live day the old receiver's
    address still reached the new receiver (`retired_live=False`); on the live day it is dead."""
    s = ctx.services
    assert s.receiver is not None and s.receiver.url is not None
    old_url, old_token = (s.dead_url, s.keys.old_token) if retired_live else (
        s.receiver.url, s.keys.token
    )
    return s.client_env() | {
        "CCEE_WEBHOOK_DEMO_RECEIVER": s.receiver.url,
        "CCEE_WEBHOOK_TOKEN": s.keys.token,
        "CCEE_WEBHOOK_DEMO_OLD_RECEIVER": old_url,
        "CCEE_WEBHOOK_OLD_TOKEN": old_token,
        "CCEE_WEBHOOK_TOKENS": f"{PERFIL}:{s.keys.token}",
    }


def apply_subscriptions(ctx: Context, retired: bool) -> str:
    """`prefs apply` of the demo YAML: the same function as the CLI's, through the real SOAP
    client (zeep, WS-Security); then `prefs plan` must show nothing left to change."""
    from ccee.subscriptions import sync

    env = _yaml_env(ctx, retired)
    with ctx.console.status("Applying the subscriptions (SOAP)…"):
        applied = sync(SUBSCRIPTIONS, env=env, apply=True)
        if sync(SUBSCRIPTIONS, env=env).plano.has_changes:
            raise DemoError("CCEE's preferences do not match the subscriptions file after apply")
    return f"{applied.plano.summary()}"


def retire_old_receiver(ctx: Context) -> None:
    """The stale subscriptions file: one code back on the decommissioned receiver."""
    from ccee.subscriptions import Redactor

    summary = apply_subscriptions(ctx, retired=True)
    s = ctx.services
    redact = Redactor.from_env(_yaml_env(ctx, True))
    ctx.console.print(
        f"[green]✓[/] subscriptions re-applied through SOAP ({summary}): {RETIRED_CODE} → "
        f"{redact(s.dead_url + '/ccee/' + s.keys.old_token)}, a decommissioned receiver"
    )


def subscribe(ctx: Context) -> None:
    """The week's subscriptions (every code reaches the receiver; on a one-day run, the live
    day's file directly)."""
    if ctx.timeline.history_days == 0:
        retire_old_receiver(ctx)
        return
    summary = apply_subscriptions(ctx, retired=False)
    ctx.console.print(f"[green]✓[/] subscriptions applied through SOAP: {summary}")


def expire(ctx: Context) -> None:
    """CCEE time runs 24 h more (in ticks), so the retired endpoint's retries expire."""
    admin = ctx.admin
    total = 24 * 3600 + 10 * 60
    with ctx.progress() as progress:
        task = progress.add_task("retry window (24 h)", total=total, info="")
        done = 0.0
        while done < total:
            chunk = min(3600.0, total - done)
            now = admin.fast_forward(chunk, tick_seconds=EXPIRE_TICK_SECONDS)
            done += chunk
            st = admin.stats()
            progress.update(
                task, completed=done,
                info=f"{hhmm(now)} · {st.aguardando} waiting · "
                f"{st.por_situacao.get('EXPIRADO', 0)} expired",
            )
    wait_until(lambda: admin.stats().idle, IDLE_TIMEOUT, "the CCEE dispatcher to go idle")
    final = ctx.record.final = admin.stats()
    ctx.record.quarantine_expected = _quarantine_expected(ctx)
    ctx.record.anomalies = injected_anomalies(ctx)
    ctx.console.print(
        f"[green]✓[/] dispatcher idle at {hhmm(final.now)} CCEE time: "
        f"{final.por_situacao.get('NOTIFICADO', 0)} NOTIFICADO, "
        f"{final.por_situacao.get('EXPIRADO', 0)} EXPIRADO, {final.tentativas} attempts"
    )


def _quarantine_expected(ctx: Context) -> int:
    """Attempts of the invalid callbacks that the receiver answered (each one is a row)."""
    n = 0
    for tx in ctx.record.invalid_ids:
        n += sum(1 for a in ctx.admin.notification(tx)["attempts"] if a["status_http"] is not None)
    return n


def injected_anomalies(ctx: Context) -> list[InjectedAnomaly]:
    """The lifecycle anomalies the generator injected on purpose, one per profile that
    receives the contract's events, from its truth (kept only in the simulator's memory)."""
    truth = msgspec.convert(ctx.admin.truth()["anomalias"], list[AnomaliaInjetada])
    return [
        InjectedAnomaly(
            perfil=p,
            id_contrato=a.id_contrato,
            motivo=lifecycle.motivo(a.tipo, a.de, a.para),
            tipo=a.tipo,
            de=a.de,
            para=a.para,
            data_origem=a.data_origem,
        )
        for a in truth
        for p in a.perfis
    ]


def lake_days(folder: Path) -> list[date]:
    from ingest.lake_files import partition_days

    return sorted({d for t in (NOTIFICACOES, QUARENTENA) for d in partition_days(folder, t)})


def pipeline(ctx: Context) -> None:
    """Every day partition in one Dagster run (single-run backfill), the alert rules, then the
    reports (which show the open alerts)."""
    from ccee_webhook.demo.pipeline import materialize, prepare_home

    home = prepare_home(ctx.folder / "dagster_home")
    lake = lake_days(ctx.folder)
    first = min([ctx.timeline.first_day, *lake])
    last = max([ctx.timeline.end.astimezone(CCEE_TZ).date(), *lake])
    last = min(last, datetime.now(CCEE_TZ).date())  # Dagster's newest partition is today
    # the user's alert channels (CCEE_WEBHOOK_ALERT_*) pass through: the demo's alerts reach them
    channels = {k: v for k, v in os.environ.items() if k.startswith("CCEE_WEBHOOK_ALERT_")}
    env = ctx.services.client_env() | channels | {"DAGSTER_HOME": str(home)}
    with ctx.console.status("Dagster: materializing…") as status, scoped_env(env), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tables, html = materialize(
            home,
            first,
            last,
            on_step=lambda m: status.update(f"Dagster: materializing {m}…"),
            after_tables=lambda: alerts(ctx),
        )
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    ctx.console.print(
        f"[green]✓[/] Dagster run {tables.run_id[:8]}: {', '.join(tables.materialized)} "
        f"× {len(days)} day partitions {first} … {last} ({tables.seconds:.1f} s)"
    )
    ctx.console.print(
        f"[green]✓[/] Dagster run {html.run_id[:8]}: {', '.join(html.materialized)} "
        f"({html.seconds:.1f} s)"
    )
    r = ctx.record
    r.dagster_runs = [tables.run_id, html.run_id]
    r.checks_failed = [*tables.checks_failed, *html.checks_failed]
    r.partitions = days


def alerts(ctx: Context) -> None:
    """The alert rules as of the outage (CCEE time) and as of the end: the outage opens a
    silence incident that the end resolves; the expirations stay open. Channels set in the
    user's environment (CCEE_WEBHOOK_ALERT_*) receive them; alerts.jsonl always."""
    from pipelines.core.alerting import evaluate_and_notify
    from settings import SettingsError

    final = ctx.record.final
    assert final is not None
    instants = [final.now]
    if ctx.timeline.has_outage:
        instants.insert(0, ctx.timeline.outage_end - timedelta(minutes=1))
    try:
        raised = [a for t in instants for a in evaluate_and_notify(ctx.folder, t)]
    except SettingsError as exc:
        ctx.console.print(f"[yellow]![/] alerts not evaluated: {exc}")
        return
    ctx.record.alerts = [f"{a.estado} {a.chave} at {hhmm(a.em)}: {a.titulo}" for a in raised]
    ctx.console.print(f"[green]✓[/] {len(raised)} alert(s) raised (alerts.jsonl)")
