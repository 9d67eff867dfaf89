"""`ccee-webhook serve`: run the receiver under uvicorn (uvloop + httptools).

Server choice, measured with `benchmarks/receiver.py --server granian|uvicorn --modes ab`
(3 interleaved rounds each, shared 2-core box, write-ahead-log writer): granian's
validation-only ceiling is higher (6,570 vs 4,980 req/s) but the durable receiver, which is
what CCEE talks to, is faster under uvicorn (4,460 vs 4,040 req/s; p99 40 vs 28 ms). uvicorn
also serves a socket we bind ourselves, so `--port 0` is race-free and the printed URL is
exactly the listening address, and its graceful shutdown (in-flight requests finish, then the
lake is flushed) and TLS are covered by the tests.

Request path vs a plain Litestar app on these same uvicorn options (`benchmarks/receiver.py`,
3 interleaved rounds, 2026-11-30, VM at load ~11): plain 2,327 req/s (305 us CPU/request),
receiver with persistence off 3,566 (205 us), durable 992 (357 us; p99 0.68x the plain app's).
Durable throughput was bound by the shared disk's O_DSYNC latency (24 ms per flush of ~28 rows).
Process-wide tuning is applied here, visibly, by `ingest.tuning.tune_process_for_serving`.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from typing import Any

import click
import msgspec

from settings import DATA_DIR_ORDER, SettingsError, parse_size, receiver_settings

#: prometheus_client's own variable (read when it is first imported, so not imported here).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def uvicorn_options(tls_cert: str | None = None, tls_key: str | None = None) -> dict[str, Any]:
    """The uvicorn configuration `serve` runs with (shared with the benchmark's baseline app,
    so both are measured on the very same server)."""
    return {
        "log_config": None,
        "access_log": False,  # our own per-request log line redacts the token
        "server_header": False,
        "lifespan": "on",
        "loop": "uvloop",
        "http": "httptools",
        "timeout_graceful_shutdown": 30,
        "ssl_certfile": tls_cert,
        "ssl_keyfile": tls_key,
        "backlog": 2048,
    }


def listen_url(sock: socket.socket, tls: bool) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port; 0 picks a free one.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help=f"Data folder (lake under DATA_DIR/lake). [default: {DATA_DIR_ORDER}]",
)
@click.option(
    "--insecure-no-token",
    is_flag=True,
    help="Accept POSTs to /ccee/... without a URL token. Local testing only.",
)
@click.option("--tls-cert", type=click.Path(dir_okay=False), help="PEM certificate for HTTPS.")
@click.option("--tls-key", type=click.Path(dir_okay=False), help="PEM private key for HTTPS.")
@click.option(
    "--allow-ip",
    multiple=True,
    metavar="CIDR",
    help="Only accept callbacks from these client networks (repeatable). "
    "[env CCEE_WEBHOOK_ALLOW_IPS, comma-separated]",
)
@click.option(
    "--max-body",
    default=None,
    metavar="SIZE",
    help="Largest accepted body (e.g. 1MiB, 512KiB). [env CCEE_WEBHOOK_MAX_BODY; default 1MiB]",
)
@click.option(
    "--instance-id",
    default=None,
    help="Name of this receiver in the lake (`instancia`). [default HOSTNAME-PID]",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes sharing the port; each has its own lake writer and metrics.",
)
@click.option(
    "--commit-delay-ms",
    type=click.FloatRange(0, 1000),
    default=None,
    help="Group commit: longest a delivery waits for others to share its fsync; only under "
    "load (an isolated request is flushed at once). [env CCEE_WEBHOOK_COMMIT_DELAY_MS; "
    "default 10]",
)
@click.option(
    "--publish-after-ms",
    type=click.FloatRange(1, 3_600_000),
    default=None,
    help="Longest an acknowledged delivery stays only in the write-ahead log before it is "
    "published to the lake's Parquet files (at once when the receiver is idle). "
    "[env CCEE_WEBHOOK_PUBLISH_AFTER_MS; default 1000]",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
def serve(
    host: str,
    port: int,
    data_dir: str | None,
    insecure_no_token: bool,
    tls_cert: str | None,
    tls_key: str | None,
    allow_ip: tuple[str, ...],
    max_body: str | None,
    instance_id: str | None,
    workers: int,
    commit_delay_ms: float | None,
    publish_after_ms: float | None,
    log_level: str,
) -> None:
    """Run the webhook receiver: CCEE's callbacks -> fsync'd Parquet lake.

    CCEE POSTs to https://YOUR-HOST/ccee/TOKEN (or /ccee/TOKEN/anything); tokens come from
    CCEE_WEBHOOK_TOKENS (`tok1,PERFIL:tok2`) or the file named by CCEE_WEBHOOK_TOKENS_FILE,
    never from flags. Answers 201 only once the delivery is on stable storage. Also serves
    GET /healthz, /readyz and /metrics. The first line of stdout is the URL it listens on.
    """
    import uvicorn

    # prometheus_client picks its storage when first imported (through ingest.app, below):
    # one process keeps its metrics in memory; workers share a folder created further down.
    os.environ.pop(MULTIPROC_ENV, None)

    from ingest.asgi import SETTINGS_ENV
    from ingest.logs import configure_logging

    try:
        settings = receiver_settings(
            data_dir=data_dir,
            insecure_no_token=insecure_no_token or None,
            tls_cert=tls_cert,
            tls_key=tls_key,
            allow_ips=allow_ip,
            max_body=parse_size(max_body) if max_body else None,
            instance_id=instance_id,
            commit_delay_ms=commit_delay_ms,
            publish_after_ms=publish_after_ms,
        ).validate()
    except (SettingsError, msgspec.ValidationError, OSError) as exc:
        raise click.UsageError(str(exc)) from None

    configure_logging(log_level)

    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None

    click.echo(listen_url(sock, bool(settings.tls_cert)))
    sys.stdout.flush()

    common = uvicorn_options(settings.tls_cert, settings.tls_key)
    if workers == 1:
        from ingest.app import create_app
        from ingest.tuning import tune_process_for_serving

        config = uvicorn.Config(create_app(settings), **common)
        tune_process_for_serving()
        uvicorn.Server(config).run(sockets=[sock])
        return

    from uvicorn.supervisors import Multiprocess

    if settings.instance_id and "{pid}" not in settings.instance_id:
        # One name per worker process, so rows and files stay attributable.
        settings = msgspec.structs.replace(settings, instance_id=settings.instance_id + "-{pid}")
    os.environ[SETTINGS_ENV] = msgspec.json.encode(settings).decode()
    os.environ["CCEE_WEBHOOK_LOG_LEVEL"] = log_level
    config = uvicorn.Config(
        "ingest.asgi:app_from_env",
        factory=True,
        workers=workers,
        **common,
    )
    # One /metrics for all workers: each keeps its values in memory-mapped files in this
    # folder (fresh, so no stale process is counted), and any worker's scrape sums them.
    with tempfile.TemporaryDirectory(prefix="ccee-webhook-metrics-") as shared:
        os.environ[MULTIPROC_ENV] = shared
        Multiprocess(config, sockets=[sock]).run()
