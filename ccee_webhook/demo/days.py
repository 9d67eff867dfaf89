"""CCEE's days in the demo: history replayed quickly, then the live day with the outage.

History days (every subscription reaching the receiver) run by fast-forwarding the
simulator's clock in ticks while its generator emits events at the chosen rate: days of
business in seconds, every notification delivered within a tick. The live day starts with a
stale subscriptions file applied (one code back on the decommissioned receiver) and runs in
accelerated real time, so the receiver can be stopped at 09:00 and restarted hours later
while CCEE keeps retrying; invalid callbacks are injected once the receiver is back (and
stays up), so every one of CCEE's attempts is quarantined.
"""

from __future__ import annotations

import time
from datetime import datetime

from rich.progress import Progress, TaskID

from ccee_webhook.demo.context import Context
from ccee_webhook.demo.folder import DemoError
from ccee_webhook.demo.phases import RETIRED_CODE, retire_old_receiver
from ccee_webhook.demo.processes import ChildError
from ccee_webhook.demo.timeline import HISTORY_TICK_SECONDS, hhmm

#: callbacks the receiver must refuse, under both the strict and the liberal acceptance rule
#: (not JSON, no transactionId, eventoNotificacao not a string); each is re-sent for 24 h
INVALID_BODIES = (
    '{"eventoNotificacao": "CONTRATO.VALIDADO", "metadados": [{"nome": "ID_CONTRATO", "val',
    '{"eventoNotificacao": "CONTRATO.VALIDADO", "metadados": []}',
    '{"eventoNotificacao": 42, "metadados": [], '
    '"transactionId": "5c7d0a4e-0000-4000-8000-000000000000"}',
)
INVALID_CODE = "CONTRATO.VALIDADO"


def _status(ctx: Context, down: bool = False) -> tuple[float, str]:
    st = ctx.admin.stats()
    hours = (st.now - ctx.timeline.start).total_seconds() / 3600
    info = (
        f"{hhmm(st.now)} · {st.notificacoes} notifications · "
        f"{st.por_situacao.get('NOTIFICADO', 0)} delivered · {st.aguardando} waiting"
        + (" · [red]receiver DOWN[/]" if down else "")
    )
    return hours, info


def history(ctx: Context) -> None:
    """Faults on, the generator on; then every day but the last, fast-forwarded an hour at
    a time."""
    admin, tl, opts = ctx.admin, ctx.timeline, ctx.options
    # One PUT sets every fault knob (those left out go back to their defaults).
    admin.set_faults(
        lose_201_rate=opts.lose_201_rate, lifecycle_anomaly_rate=opts.anomaly_rate
    )
    admin.generator(paused=False, events_per_hour=opts.events_per_day / 24)
    hours = tl.history_days * 24
    if not hours:
        return
    t0 = time.perf_counter()
    with ctx.progress() as progress:
        task = progress.add_task("history days", total=hours, info="")
        for _ in range(hours):
            admin.fast_forward(3600, tick_seconds=HISTORY_TICK_SECONDS)
            done, info = _status(ctx)
            progress.update(task, completed=done, info=info)
    st = admin.stats()
    ctx.console.print(
        f"[green]✓[/] {tl.history_days} history day(s) replayed in "
        f"{time.perf_counter() - t0:.1f} s: {st.generated} business events, "
        f"{st.notificacoes} notifications"
    )


def _ticks_until(ctx: Context, until: datetime, progress: Progress, task: TaskID) -> None:
    """Quiet hours: fast-forward in ticks (as the history), an hour per call."""
    while (left := (until - ctx.admin.now()).total_seconds()) > 0:
        ctx.admin.fast_forward(min(3600.0, left), tick_seconds=HISTORY_TICK_SECONDS)
        done, info = _status(ctx)
        progress.update(task, completed=done, info=info)


def inject_invalid(ctx: Context) -> None:
    """Invalid callbacks while the receiver is up (and stays up): every one of CCEE's
    attempts reaches it and is quarantined, so the expected count is exact."""
    for k in range(ctx.options.invalid):
        body = INVALID_BODIES[k % len(INVALID_BODIES)]
        ctx.record.invalid_ids += ctx.admin.inject(INVALID_CODE, raw_body=body)


def live_day(ctx: Context) -> None:
    """The last day in accelerated real time, with the outage and the invalid callbacks."""
    admin, tl, opts, services = ctx.admin, ctx.timeline, ctx.options, ctx.services
    scale = opts.time_scale
    if tl.history_days:  # midnight: a stale subscriptions file is applied
        retire_old_receiver(ctx)
    # One cancellation validated right after midnight: it goes to the retired endpoint.
    ctx.record.retired_ids += admin.inject(RETIRED_CODE)
    outage_done = not tl.has_outage
    restarted = outage_done
    total = (tl.end - tl.start).total_seconds() / 3600
    with ctx.progress() as progress:
        task = progress.add_task("CCEE days", total=total, info="")
        _ticks_until(ctx, tl.live_from, progress, task)
        if restarted:  # no outage: the receiver is up for every attempt from the start
            inject_invalid(ctx)
        admin.set_scale(scale)
        # Generous: the day's real length, plus slack for restarts on a busy machine.
        deadline = time.monotonic() + 3 * 24 * 3600 / scale + 120
        while True:
            sim = services.sim
            assert sim is not None
            if not sim.running():
                raise ChildError(f"the simulator exited; see {sim.log_path}")
            if time.monotonic() > deadline:
                raise TimeoutError("CCEE time did not reach the end of the day in time")
            now = admin.now()
            done, info = _status(ctx, down=outage_done and not restarted)
            progress.update(task, completed=min(done, total), info=info)
            if not outage_done and now >= tl.outage_start:
                admin.set_scale(0)
                assert services.receiver is not None
                services.receiver.stop()
                progress.console.print(
                    f"[yellow]![/] receiver stopped at {hhmm(admin.now())} CCEE time: "
                    "CCEE keeps retrying every 5 minutes"
                )
                outage_done, restarted = True, False
                admin.set_scale(scale)
                continue
            if not restarted and now >= tl.outage_end:
                back_at = admin.set_scale(0)
                waiting = admin.stats().aguardando
                services.start_receiver(2)
                services.wait_receiver()
                restarted = True
                ctx.record.queued_at_restart = waiting
                inject_invalid(ctx)
                progress.console.print(
                    f"[green]✓[/] receiver restarted at {hhmm(back_at)} CCEE time, "
                    f"{waiting} notifications waiting; {opts.invalid} invalid callback(s) "
                    "injected (the receiver quarantines them)"
                )
                admin.set_scale(scale)
                continue
            if now >= tl.live_until and outage_done and restarted:
                admin.set_scale(0)
                _ticks_until(ctx, tl.end, progress, task)
                admin.generator(paused=True)
                break
            # Poll often enough to meet the next milestone within a few CCEE minutes.
            nxt = tl.live_until if outage_done and restarted else (
                tl.outage_start if not outage_done else tl.outage_end
            )
            real = (nxt - now).total_seconds() / max(scale, 1e-9)
            time.sleep(min(0.2, max(0.01, real)))
        progress.update(task, completed=total)
    if not ctx.record.retired_ids:
        raise DemoError(f"{RETIRED_CODE} produced no notification: is it subscribed?")
    st = admin.stats()
    ctx.console.print(
        f"[green]✓[/] {len(tl.days)} CCEE day(s) generated: {st.generated} business events, "
        f"{st.notificacoes} notifications"
    )


__all__ = ["history", "inject_invalid", "live_day"]
