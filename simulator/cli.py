"""`ccee-webhook simulate`: run a local CCEE (SOAP services, dispatcher, event generator)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from datetime import datetime
from pathlib import Path

import click

from settings import data_dir
from simulator.dispatcher import DispatchSettings
from simulator.event_catalog import DEFAULT_CODES, EventCatalog
from simulator.knobs import DEFAULT_FIRST_ATTEMPT_DELAY_S, DeliverySettings


def _default_db() -> Path:
    return data_dir() / "simulator.sqlite3"


def _parse_start(value: str | None) -> datetime | None:
    if value is None:
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise click.BadParameter("give a timezone, e.g. 2026-11-27T13:00:00Z", param_hint="--start")
    return dt


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    default=8880,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to bind; 0 picks a free one. The URL is the first line printed.",
)
@click.option(
    "--time-scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="CCEE seconds per real second (300 = 5 CCEE minutes per second; 0 freezes time).",
)
@click.option(
    "--events-per-hour",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Generated business events per CCEE hour (0: only injected events).",
)
@click.option(
    "--anomaly-rate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Fraction of generated events that break a contract's lifecycle on purpose "
    "(recorded at /admin/generator/truth; changeable via PUT /admin/faults).",
)
@click.option("--seed", type=int, default=None, help="Seed for reproducible events and faults.")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite file for preferences and results [default: $CCEE_WEBHOOK_DATA_DIR/"
    "simulator.sqlite3]. ':memory:' keeps nothing.",
)
@click.option(
    "--catalog",
    "catalog_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Event codes to offer, one per line (default: the codes seen in CCEE's samples).",
)
@click.option("--start", default=None, help="CCEE time at startup (ISO 8601 with zone).")
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Serve HTTPS with this certificate (PEM).",
)
@click.option(
    "--tls-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Private key (PEM, unencrypted) of --tls-cert.",
)
@click.option(
    "--tls-client-ca",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Require client certificates signed by this CA (mutual TLS, like CCEE).",
)
@click.option(
    "--callback-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Real seconds to wait for a destination.",
)
@click.option(
    "--max-concurrency",
    default=64,
    show_default=True,
    type=click.IntRange(1),
    help="Concurrent deliveries in total (each destination gets at most 4).",
)
@click.option(
    "--callback-ca",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CA bundle to verify https destinations (default: system trust).",
)
@click.option(
    "--first-attempt-delay",
    default=DEFAULT_FIRST_ATTEMPT_DELAY_S,
    show_default=True,
    type=click.FloatRange(0, 86400),
    help="CCEE seconds from dataOrigem to the first delivery attempt (CCEE's recorded "
    "results: 9-10 min); retries stay on the dataOrigem + k*5 min grid. 0 sends at once.",
)
def simulate(
    host: str,
    port: int,
    time_scale: float,
    events_per_hour: float,
    anomaly_rate: float,
    seed: int | None,
    db_path: Path | None,
    catalog_file: Path | None,
    start: str | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    tls_client_ca: Path | None,
    callback_timeout: float,
    max_concurrency: int,
    callback_ca: Path | None,
    first_attempt_delay: float,
) -> None:
    """Run a local CCEE: the three BSv2 SOAP services (at /ws/v2/<Service>BSv2, WSDL at
    ?wsdl), the notification dispatcher with CCEE's retry rule (every 5 minutes for 24 hours,
    on a virtual clock), an event generator, and an admin API under /admin/.

    The participant's credentials are CCEE_WEBHOOK_USERNAME / _PASSWORD / _PERFIL when set
    (so a client configured for the simulator just works); otherwise they are generated and
    printed once.
    """
    from simulator.core import SimulatorConfig
    from simulator.participants import default_participant
    from simulator.server import TLSConfig, base_url, bind_socket, serve

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    if tls_client_ca is not None and tls_cert is None:
        raise click.UsageError("--tls-client-ca needs --tls-cert/--tls-key")
    try:
        who = default_participant()
        codes = (
            EventCatalog.from_file(catalog_file).codes() if catalog_file else list(DEFAULT_CODES)
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    config = SimulatorConfig(
        participants=[who.participant],
        db_path=str(db_path or _default_db()),
        time_scale=time_scale,
        start=_parse_start(start),
        events_per_hour=events_per_hour,
        anomaly_rate=anomaly_rate,
        seed=seed,
        catalog=codes,
        dispatch=DispatchSettings(
            timeout_s=callback_timeout,
            max_concurrency=max_concurrency,
            verify=str(callback_ca) if callback_ca else True,
        ),
        delivery=DeliverySettings(first_attempt_delay_s=first_attempt_delay),
    )
    tls = TLSConfig(tls_cert, tls_key, client_ca=tls_client_ca) if tls_cert and tls_key else None
    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot bind {host}:{port}: {exc}") from exc
    url = base_url(sock, tls)

    def ready() -> None:
        print(url, flush=True)  # first line of stdout: the contract with scripts and tests
        p = who.participant
        print(f"participant: username={p.username} perfil={p.perfil}", flush=True)
        if who.generated:
            print(f"generated password (shown once): {p.password}", flush=True)
            print(
                "configure a client with CCEE_WEBHOOK_USERNAME / _PASSWORD / _PERFIL as above",
                flush=True,
            )
        print(f"CCEE_WEBHOOK_CCEE_URL={url}  admin: {url}/admin/stats", flush=True)

    from simulator.core import Simulator

    sim = Simulator(config)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(sim, sock, tls, ready))
