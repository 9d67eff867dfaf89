"""`ccee-webhook demo`: the whole product end to end on one machine, in about a minute.

A local CCEE (the simulator) and the receiver run as child processes on free loopback ports;
the participant's subscriptions are applied from a YAML file through the real SOAP client
(the `prefs apply` path); CCEE then lives through a business day in accelerated time with a
receiver outage, a few invalid callbacks and one subscription left on a decommissioned
endpoint; Dagster loads the lake, pulls CCEE's delivery results and builds the SLA tables and
the HTML reports; the summary reconciles CCEE's ledger with the warehouse.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import sys
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import FrameType

import click
import httpx
import msgspec
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ccee_webhook.demo.processes import Child, ChildError, wait_until
from ccee_webhook.demo.summary import CceeSide, Injected, Summary, read_warehouse, render
from ingest.lake_schema import NOTIFICACOES, QUARENTENA
from settings import CCEE_TZ as SP
from settings import data_dir
from simulator.admin_client import LedgerStats, SimAdmin

SUBSCRIPTIONS = Path(__file__).with_name("subscriptions.yaml")
MARKER = ".ccee-webhook-demo"
PERFIL = "88888"
USERNAME = "demo.integracao"
#: the code whose preference still points at the decommissioned receiver (see the YAML)
RETIRED_CODE = "CONTRATO.CANCELAMENTO_VALIDADO"
#: the outage starts at this CCEE hour of the first day (São Paulo), business hours
OUTAGE_AT_HOUR = 9
#: callbacks whose body the receiver must reject; each is re-sent by CCEE for 24 h
INVALID_BODIES = (
    '{"eventoNotificacao": "CONTRATO.VALIDADO", "metadados": [{"nome": "ID_CONTRATO", "val',
    '{"eventoNotificacao": "CONTRATO.VALIDADO", "metadados": []}',
    '{"eventoNotificacao": "CONTRATO.VALIDADO", "metadados": [], "transactionId": 42}',
)
INVALID_CODE = "CONTRATO.VALIDADO"
START_TIMEOUT = 60.0
IDLE_TIMEOUT = 120.0


class DemoError(click.ClickException):
    """A failure with a message for the user; exit code 1."""


class Interrupted(KeyboardInterrupt):
    """SIGINT/SIGTERM while the demo runs: stop the children and exit 130."""


#: names of the signals received (Dagster may turn the interrupt into a failed run)
INTERRUPTED: list[str] = []


def _default_dir() -> Path:
    return data_dir() / "demo"


def prepare_folder(folder: Path, keep: bool) -> None:
    """Start fresh (or keep with --keep), refusing to wipe a folder the demo did not create."""
    folder = folder.resolve()
    if folder.exists() and not folder.is_dir():
        raise DemoError(f"{folder} exists and is not a folder")
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).exists():
            what = "add demo data to" if keep else "wipe"
            raise DemoError(
                f"{folder} is not empty and was not created by `ccee-webhook demo`; refusing to "
                f"{what} it. Choose another --data-dir (the demo only ever touches its own "
                "folder)."
            )
        if not keep:
            shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text(
        "Created by `ccee-webhook demo`; re-running the demo wipes this folder.\n",
        encoding="utf-8",
    )


@contextlib.contextmanager
def scoped_env(values: dict[str, str]) -> Iterator[None]:
    """os.environ without any CCEE_WEBHOOK_* of the user's, plus `values`; restored after.

    Dagster resources and the CCEE client read their configuration from the environment; the
    demo must never pick up a user's production profile or certificate by accident."""
    saved = dict(os.environ)
    try:
        for k in [k for k in os.environ if k.startswith("CCEE_WEBHOOK_")]:
            del os.environ[k]
        os.environ.update(values)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


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


def _reserve_dead_port() -> socket.socket:
    """A loopback port bound but never listening: connections are refused, like a
    decommissioned server's, and no other process can take the port while the demo runs."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def _hhmm(t: datetime) -> str:
    return t.astimezone(SP).strftime("%d/%m %H:%M")


class Demo:
    """One run: owns the children, the secrets and the progress display."""

    def __init__(
        self,
        folder: Path,
        days: int,
        events_per_day: int,
        time_scale: float,
        outage_hours: float,
        invalid: int,
        seed: int,
        lose_201_rate: float,
        console: Console,
    ) -> None:
        self.folder = folder.resolve()
        self.days = days
        self.events_per_day = events_per_day
        self.time_scale = time_scale
        self.outage = timedelta(hours=outage_hours)
        self.invalid = invalid
        self.seed = seed
        self.lose_201_rate = lose_201_rate
        self.console = console
        self.logs = self.folder / "logs"
        # Secrets: generated per run, passed to children only through their environment.
        self.token = secrets.token_urlsafe(24)
        self.old_token = secrets.token_urlsafe(24)
        self.password = secrets.token_urlsafe(24)
        self.children: list[Child] = []
        self.receiver: Child | None = None
        self.receiver_port = 0
        self.admin: SimAdmin | None = None
        self.sim: Child | None = None
        self.dead = _reserve_dead_port()
        self.timings: dict[str, float] = {}
        today = datetime.now(SP).date()
        self.first_day = today - timedelta(days=days)
        self.start = datetime.combine(self.first_day, datetime.min.time(), SP).astimezone(UTC)
        self.end = self.start + timedelta(days=days)
        self.outage_start = self.start + timedelta(hours=OUTAGE_AT_HOUR)
        self.outage_end = self.outage_start + self.outage
        self.invalid_ids: list[str] = []
        self.queued_at_restart = 0
        self.kept = False

    # -- environment -----------------------------------------------------------------------
    @property
    def dead_url(self) -> str:
        host, port = self.dead.getsockname()[:2]
        return f"http://{host}:{port}"

    def base_env(self) -> dict[str, str]:
        """The user's environment minus CCEE_WEBHOOK_*, plus the demo's folder and config."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CCEE_WEBHOOK_")}
        env["CCEE_WEBHOOK_DATA_DIR"] = str(self.folder)
        env["CCEE_WEBHOOK_CONFIG"] = str(self.folder / "ccee-webhook.toml")
        return env

    def client_env(self) -> dict[str, str]:
        """What a participant's tooling (the SOAP client, Dagster) sees: the simulator as CCEE."""
        assert self.sim is not None and self.sim.url is not None
        return {
            "CCEE_WEBHOOK_DATA_DIR": str(self.folder),
            "CCEE_WEBHOOK_CONFIG": str(self.folder / "ccee-webhook.toml"),
            "CCEE_WEBHOOK_CCEE_URL": self.sim.url,
            "CCEE_WEBHOOK_USERNAME": USERNAME,
            "CCEE_WEBHOOK_PASSWORD": self.password,
            "CCEE_WEBHOOK_PERFIL": PERFIL,
        }

    # -- children --------------------------------------------------------------------------
    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> Child:
        child = Child(
            name, args, env, self.logs / f"{name}.log", cwd=self.folder,
            secrets=(self.token, self.old_token, self.password),
        )
        self.children.append(child)
        return child

    def start_simulator(self) -> None:
        env = self.base_env() | {
            "CCEE_WEBHOOK_USERNAME": USERNAME,
            "CCEE_WEBHOOK_PASSWORD": self.password,
            "CCEE_WEBHOOK_PERFIL": PERFIL,
        }
        self.sim = self._spawn(
            "simulator",
            [
                "simulate", "--host", "127.0.0.1", "--port", "0",
                "--time-scale", "0",  # frozen until the subscriptions are in place
                "--events-per-hour", "0",
                "--seed", str(self.seed),
                "--db", str(self.folder / "simulator.sqlite3"),
                "--start", self.start.isoformat(),
                "--callback-timeout", "10",
                # first attempt at once: the story (and its checks) count 289 attempts
                "--first-attempt-delay", "0",
            ],
            env,
        )

    def start_receiver(self, n: int) -> Child:
        env = self.base_env() | {"CCEE_WEBHOOK_TOKENS": f"{PERFIL}:{self.token}"}
        child = self._spawn(
            f"receiver-{n}",
            [
                "serve", "--host", "127.0.0.1", "--port", str(self.receiver_port),
                "--instance-id", f"demo-receptor-{n}",
            ],
            env,
        )
        self.receiver = child
        return child

    def wait_receiver(self, child: Child) -> str:
        url = child.wait_url(START_TIMEOUT)
        self.receiver_port = int(url.rsplit(":", 1)[1])

        def ready() -> bool:
            if not child.running():
                raise ChildError(f"{child.name} exited; see {child.log_path}")
            try:
                return httpx.get(url + "/readyz", timeout=2.0, trust_env=False).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, START_TIMEOUT, f"{child.name} to be ready")
        return url

    def stop_all(self) -> None:
        if self.admin is not None:
            self.admin.close()
        for child in reversed(self.children):
            child.stop()
        with contextlib.suppress(OSError):
            self.dead.close()

    # -- phases ----------------------------------------------------------------------------
    def phase_start(self) -> None:
        with self.console.status("Starting the local CCEE and the receiver…"):
            self.start_simulator()
            rec = self.start_receiver(1)
            assert self.sim is not None
            sim_url = self.sim.wait_url(START_TIMEOUT)
            rec_url = self.wait_receiver(rec)
            self.admin = SimAdmin(sim_url)
        self.console.print(
            f"[green]✓[/] local CCEE at {sim_url} (profile {PERFIL}, CCEE time frozen at "
            f"{_hhmm(self.start)}); receiver at {rec_url} (URL token generated, never printed)"
        )

    def phase_subscribe(self) -> None:
        """`prefs apply` of the demo YAML, through the real SOAP client (zeep, WS-Security)."""
        from ccee.client import CCEEClient
        from ccee.config import select_profile
        from ccee.subscriptions import (
            Redactor,
            SubscriptionsError,
            apply_plan,
            load_desired,
            make_plan,
        )

        assert self.receiver is not None and self.receiver.url is not None
        yaml_env = self.client_env() | {
            "CCEE_WEBHOOK_DEMO_RECEIVER": self.receiver.url,
            "CCEE_WEBHOOK_TOKEN": self.token,
            "CCEE_WEBHOOK_DEMO_OLD_RECEIVER": self.dead_url,
            "CCEE_WEBHOOK_OLD_TOKEN": self.old_token,
            "CCEE_WEBHOOK_TOKENS": f"{PERFIL}:{self.token}",
        }
        with self.console.status("Applying the subscriptions (SOAP)…"):
            desired, file_perfil, used = load_desired(SUBSCRIPTIONS, env=yaml_env)
            profile = select_profile(env=yaml_env)
            if file_perfil is not None and file_perfil != profile.codigo:
                raise SubscriptionsError(f"{SUBSCRIPTIONS} is for profile {file_perfil}")
            with CCEEClient(profile, timeout=30.0) as client:
                offered = [e.codigo for e in client.listar_eventos()]
                current = {
                    p.evento_notificacao: p.endereco_destino for p in client.listar_preferencias()
                }
                redact = Redactor.from_env(yaml_env, used)
                plano = make_plan(desired, current, redact)
                apply_plan(client, plano, desired, offered)
                after = {
                    p.evento_notificacao: p.endereco_destino for p in client.listar_preferencias()
                }
        if after != {d.codigo: d.url for d in desired}:
            raise DemoError("CCEE's preferences do not match the subscriptions file after apply")
        self.console.print(
            f"[green]✓[/] subscriptions applied through SOAP: {plano.summary()} "
            f"({len(offered)} event codes offered; {RETIRED_CODE} → "
            f"{redact(self.dead_url + '/ccee/' + self.old_token)}, a decommissioned receiver)"
        )

    def _stats(self) -> LedgerStats:
        assert self.admin is not None
        return self.admin.stats()

    def _progress(self) -> Progress:
        return Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )

    def _set_clock(self, scale: float) -> datetime:
        assert self.admin is not None
        return self.admin.set_scale(scale)

    def phase_day(self) -> None:
        """Real-time (accelerated) business days, with the outage and the invalid callbacks."""
        admin = self.admin
        assert admin is not None
        admin.set_faults(lose_201_rate=self.lose_201_rate)
        # One cancellation is validated right after midnight: it goes to the retired endpoint.
        retired_ids = admin.inject(RETIRED_CODE)
        admin.generator(paused=False, events_per_hour=self.events_per_day / 24)
        hours = self.days * 24
        outage_done = self.outage <= timedelta(0)
        restarted = outage_done
        with self._progress() as progress:
            task = progress.add_task("CCEE day(s)", total=hours, info="")
            if restarted:  # no outage: the receiver is up for every attempt from the start
                self.inject_invalid()
            self._set_clock(self.time_scale)
            # Generous: the day's real length, plus slack for restarts on a busy machine.
            deadline = time.monotonic() + 3 * hours * 3600 / self.time_scale + 120
            while True:
                assert self.sim is not None
                if not self.sim.running():
                    raise ChildError(f"the simulator exited; see {self.sim.log_path}")
                if time.monotonic() > deadline:
                    raise TimeoutError("CCEE time did not reach the end of the day in time")
                s = self._stats()
                now = s.now
                elapsed_h = (now - self.start).total_seconds() / 3600
                down = " · [red]receiver DOWN[/]" if outage_done and not restarted else ""
                progress.update(
                    task,
                    completed=min(elapsed_h, hours),
                    info=f"{_hhmm(now)} · {s.notificacoes} notifications · "
                    f"{s.por_situacao.get('NOTIFICADO', 0)} delivered · {s.aguardando} waiting"
                    + down,
                )
                if not outage_done and now >= self.outage_start:
                    self._set_clock(0)
                    assert self.receiver is not None
                    self.receiver.stop()
                    progress.console.print(
                        f"[yellow]![/] receiver stopped at {_hhmm(self._stats().now)} CCEE time: "
                        "CCEE keeps retrying every 5 minutes"
                    )
                    outage_done = True
                    restarted = False
                    self._set_clock(self.time_scale)
                    continue
                if not restarted and now >= self.outage_end:
                    back_at = self._set_clock(0)
                    waiting = self._stats().aguardando
                    rec = self.start_receiver(2)
                    self.wait_receiver(rec)
                    restarted = True
                    self.queued_at_restart = waiting
                    self.inject_invalid()
                    progress.console.print(
                        f"[green]✓[/] receiver restarted at {_hhmm(back_at)} CCEE time, "
                        f"{waiting} notifications waiting; {self.invalid} invalid callback(s) "
                        "injected (the receiver quarantines them)"
                    )
                    self._set_clock(self.time_scale)
                    continue
                if now >= self.end:
                    self._set_clock(0)
                    admin.generator(paused=True)
                    break
                # Poll often enough to meet the next milestone within a few CCEE minutes.
                nxt = self.end
                if not outage_done:
                    nxt = self.outage_start
                elif not restarted:
                    nxt = self.outage_end
                real = (nxt - now).total_seconds() / max(self.time_scale, 1e-9)
                time.sleep(min(0.2, max(0.01, real)))
            progress.update(task, completed=hours)
        if not retired_ids:
            raise DemoError(f"{RETIRED_CODE} produced no notification: is it subscribed?")
        s = self._stats()
        self.console.print(
            f"[green]✓[/] {self.days} CCEE day(s) generated: {s.generated} business events, "
            f"{s.notificacoes} notifications"
        )

    def inject_invalid(self) -> None:
        """Invalid callbacks while the receiver is up (and stays up): every one of CCEE's
        attempts reaches it and is quarantined, so the expected count is exact."""
        assert self.admin is not None
        for k in range(self.invalid):
            body = INVALID_BODIES[k % len(INVALID_BODIES)]
            self.invalid_ids += self.admin.inject(INVALID_CODE, raw_body=body)

    def phase_expire(self) -> LedgerStats:
        """CCEE time runs 24 h more (discrete steps), so the retired endpoint's retries expire."""
        admin = self.admin
        assert admin is not None
        total = 24 * 3600 + 10 * 60
        step = 3600.0
        with self._progress() as progress:
            task = progress.add_task("retry window (24 h)", total=total, info="")
            done = 0.0
            while done < total:
                chunk = min(step, total - done)
                now = admin.fast_forward(chunk)
                done += chunk
                s = self._stats()
                progress.update(
                    task, completed=done,
                    info=f"{_hhmm(now)} · {s.aguardando} waiting · "
                    f"{s.por_situacao.get('EXPIRADO', 0)} expired",
                )
        wait_until(lambda: self._stats().idle, IDLE_TIMEOUT, "the CCEE dispatcher to go idle")
        s = self._stats()
        self.console.print(
            f"[green]✓[/] dispatcher idle at {_hhmm(s.now)} CCEE time: "
            f"{s.por_situacao.get('NOTIFICADO', 0)} NOTIFICADO, "
            f"{s.por_situacao.get('EXPIRADO', 0)} EXPIRADO, {s.tentativas} attempts"
        )
        return s

    def quarantine_expected(self) -> int:
        """Attempts of the invalid callbacks that the receiver answered (each one is a row)."""
        assert self.admin is not None
        n = 0
        for tx in self.invalid_ids:
            for a in self.admin.notification(tx)["attempts"]:
                if a["status_http"] is not None:
                    n += 1
        return n

    def lake_days(self) -> list[date]:
        from ingest.lake_files import partition_days

        tables = (NOTIFICACOES, QUARENTENA)
        return sorted({d for t in tables for d in partition_days(self.folder, t)})

    def phase_pipeline(self) -> tuple[list[str], list[str], list[date]]:
        from ccee_webhook.demo.pipeline import materialize, prepare_home

        home = prepare_home(self.folder / "dagster_home")
        lake = self.lake_days()
        first = min([self.first_day, *lake])
        last = max([self.end.astimezone(SP).date(), *lake])
        today = datetime.now(SP).date()
        last = min(last, today)  # Dagster's newest partition is today (São Paulo)
        env = self.client_env() | {"DAGSTER_HOME": str(home)}
        with self.console.status("Dagster: materializing…") as status, scoped_env(env), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tables, html = materialize(
                home, first, last, on_step=lambda m: status.update(f"Dagster: materializing {m}…")
            )
        self.console.print(
            f"[green]✓[/] Dagster run {tables.run_id[:8]}: {', '.join(tables.materialized)} "
            f"for {first} … {last} ({tables.seconds:.1f} s)"
        )
        self.console.print(
            f"[green]✓[/] Dagster run {html.run_id[:8]}: {', '.join(html.materialized)} "
            f"({html.seconds:.1f} s)"
        )
        days = [(first + timedelta(days=i)) for i in range((last - first).days + 1)]
        return [tables.run_id, html.run_id], [*tables.checks_failed, *html.checks_failed], days

    def phase_alerts(self, ccee_end: datetime) -> list[str]:
        """The alert rules as of the outage (CCEE time) and as of the end: the outage opens a
        silence incident that the end resolves; the expirations stay open. Channels set in
        the user's environment (CCEE_WEBHOOK_ALERT_*) receive them; alerts.jsonl always."""
        from pipelines.core.alerting import evaluate_and_notify
        from settings import SettingsError

        instants = [ccee_end]
        if self.outage > timedelta(0):
            instants.insert(0, self.outage_end - timedelta(minutes=1))
        try:
            raised = [a for t in instants for a in evaluate_and_notify(self.folder, t)]
        except SettingsError as exc:
            self.console.print(f"[yellow]![/] alerts not evaluated: {exc}")
            return []
        lines = [f"{a.estado} {a.chave} at {_hhmm(a.em)}: {a.titulo}" for a in raised]
        self.console.print(f"[green]✓[/] {len(raised)} alert(s) raised (alerts.jsonl)")
        return lines

    # -- the run ---------------------------------------------------------------------------
    def run(self) -> Summary:
        t = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal t
            now = time.perf_counter()
            self.timings[name] = round(now - t, 2)
            t = now

        self.phase_start()
        lap("start")
        self.phase_subscribe()
        lap("subscribe")
        self.phase_day()
        lap("day")
        final = self.phase_expire()
        expected = self.quarantine_expected()
        lap("expire")
        assert self.receiver is not None
        self.receiver.stop()  # graceful: the lake is complete before Dagster reads it
        runs, failed, days = self.phase_pipeline()
        lap("dagster")
        alerts = self.phase_alerts(final.now)
        lap("alerts")
        assert self.sim is not None
        self.sim.stop()
        warehouse = self.folder / "warehouse.duckdb"
        reports = sorted(str(p) for p in (self.folder / "reports").glob("*.html"))
        assert self.sim.url is not None and self.receiver.url is not None
        return Summary(
            data_dir=str(self.folder),
            simulator_url=self.sim.url,
            receiver_url=self.receiver.url,
            warehouse=str(warehouse),
            lake=str(self.folder / "lake"),
            reports=reports,
            simulator_db=str(self.folder / "simulator.sqlite3"),
            logs=str(self.logs),
            dagster_home=str(self.folder / "dagster_home"),
            dias=[(self.first_day + timedelta(days=i)).isoformat() for i in range(self.days)],
            particoes=[d.isoformat() for d in days],
            escala=self.time_scale,
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
                invalidos=self.invalid_ids,
                quarentena_esperada=expected,
                codigo_aposentado=RETIRED_CODE,
                endereco_aposentado=self.dead_url,
                outage_inicio=_hhmm(self.outage_start) if self.outage > timedelta(0) else "-",
                outage_fim=_hhmm(self.outage_end) if self.outage > timedelta(0) else "-",
                notificacoes_na_fila_ao_religar=self.queued_at_restart,
            ),
            armazem=read_warehouse(warehouse),
            checks_falhos=failed,
            dagster_runs=runs,
            segundos=self.timings,
            acumulado=self.kept,
            alertas=alerts,
        )


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--days", default=1, show_default=True, type=click.IntRange(1, 7),
              help="CCEE business days to generate (they end at today's midnight, São Paulo).")
@click.option("--events-per-day", default=480, show_default=True, type=click.IntRange(1, 20000),
              help="Business events per CCEE day (contracts and energy amounts).")
@click.option("--time-scale", default=3600.0, show_default=True,
              type=click.FloatRange(60, 100000),
              help="CCEE seconds per real second while the day runs (3600: an hour a second).")
@click.option("--outage-hours", default=3.0, show_default=True, type=click.FloatRange(0, 12),
              help="How long the receiver is down, from 09:00 CCEE time of the first day "
              "(0: no outage).")
@click.option("--invalid", default=2, show_default=True, type=click.IntRange(0, 20),
              help="Invalid callbacks to inject (each is re-sent by CCEE for 24 h and "
              "quarantined on every attempt).")
@click.option("--lose-201-rate", default=0.02, show_default=True, type=click.FloatRange(0, 0.5),
              help="Share of 201 answers lost on the way back to CCEE (it re-sends: duplicates).")
@click.option("--seed", default=7, show_default=True, type=int,
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
    seed: int,
    data_dir: Path | None,
    keep: bool,
    json_summary: Path | None,
) -> None:
    """Run the whole product end to end on this machine (about a minute with the defaults).

    Starts a local CCEE (the simulator) and the receiver on free loopback ports, applies the
    demo's subscriptions through the real SOAP client, lets CCEE live through a business day in
    accelerated time (a receiver outage, lost 201s, invalid callbacks, one event code still
    subscribed to a decommissioned receiver), lets CCEE's 24-hour retry window run out, then
    materializes every Dagster asset (lake → typed tables, CCEE's delivery results, SLA,
    HTML reports) and prints what happened. Nothing keeps running afterwards.
    """
    console = Console(stderr=True, highlight=False)
    out = Console(highlight=False)
    folder = (data_dir or _default_dir()).resolve()
    kept = keep and (folder / "warehouse.duckdb").exists()
    prepare_folder(folder, keep)
    (folder / "ccee-webhook.toml").write_text(
        "# The demo's (empty) client configuration: profiles come from the demo's environment.\n",
        encoding="utf-8",
    )
    run = Demo(folder, days, events_per_day, time_scale, outage_hours, invalid, seed,
               lose_201_rate, console)
    run.kept = kept
    console.print(
        f"[bold]ccee-webhook demo[/] in {folder}: {days} CCEE day(s) from "
        f"{run.first_day.isoformat()}, ~{events_per_day} events/day, time × {time_scale:g}"
    )
    try:
        with interrupts_raise():
            summary = run.run()
    except BaseException as exc:
        if isinstance(exc, SystemExit):
            raise
        if isinstance(exc, KeyboardInterrupt) or INTERRUPTED:
            run.stop_all()
            console.print(
                f"[red]interrupted ({INTERRUPTED[-1] if INTERRUPTED else 'SIGINT'}):[/] "
                "the simulator and the receiver were stopped"
            )
            sys.exit(130)
        if isinstance(exc, DemoError):
            raise
        if isinstance(exc, ChildError | TimeoutError):
            raise DemoError(f"{exc} (logs in {run.logs})") from None
        raise DemoError(
            f"the demo failed: {type(exc).__name__}: {exc} (logs in {run.logs})"
        ) from None
    finally:
        run.stop_all()
    to_stdout = json_summary is not None and str(json_summary) == "-"
    render(summary, console if to_stdout else out)  # stdout stays parseable JSON with '-'
    encoded = msgspec.json.format(msgspec.json.encode(summary)).decode()
    if to_stdout:
        click.echo(encoded)
    elif json_summary is not None:
        json_summary.write_text(encoded + "\n", encoding="utf-8")
