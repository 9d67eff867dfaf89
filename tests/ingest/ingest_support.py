"""Helpers for the ingest tests: real receivers on loopback.

`ccee-webhook serve --port 0` subprocesses (URL read from the first stdout line) and, for
disk-fault injection, the app under uvicorn in a thread.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx
import uvicorn

from ingest.wal import WAL_DIR, unpublished_bytes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLE = FIXTURES / "webhook-callback.sample.json"
CLI = str(Path(sys.executable).parent / "ccee-webhook")
TOKEN = "tok-3f9a1c7e2b6d4a80"
TOKEN2 = "tok-second-55aa66bb"


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.02)


def body_for(tid: str | None = None, evento: str = "CONTRATO.REGISTRADO", **extra: Any) -> bytes:
    import msgspec

    doc: dict[str, Any] = {
        "eventoNotificacao": evento,
        "metadados": [{"nome": "ID_CONTRATO", "valor": "42"}, {"nome": "MES", "valor": "null"}],
        "transactionId": tid or str(uuid.uuid4()),
        **extra,
    }
    return msgspec.json.encode(doc)


def settled(data_dir: Path) -> None:
    """Wait until every delivery acknowledged so far is published from the receiver's
    write-ahead log to Parquet (within a few ms when the receiver is idle)."""
    lake = data_dir / "lake"
    wait_until(lambda: unpublished_bytes(lake) == 0, what="the WAL to be published")


def lake_query(data_dir: Path, table: str, sql: str = "select * from t") -> list[tuple[Any, ...]]:
    """Run SQL over a lake table read exactly as every reader does (`*/*.parquet`)."""
    settled(data_dir)
    pattern = data_dir / "lake" / table / "*" / "*.parquet"
    if not list((data_dir / "lake" / table).glob("*/*.parquet")):
        return []
    with duckdb.connect() as con:
        con.execute(f"create view t as select * from read_parquet('{pattern}')")
        return con.execute(sql).fetchall()


def lake_files(data_dir: Path) -> list[Path]:
    """Every data file of the lake once settled (the receiver's WAL folders left out)."""
    settled(data_dir)
    lake = data_dir / "lake"
    if not lake.exists():
        return []
    return sorted(p for p in lake.rglob("*") if p.is_file() and WAL_DIR not in p.parts)


@dataclass
class Receiver:
    url: str
    data_dir: Path
    proc: subprocess.Popen[bytes]
    log_path: Path
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=10, verify=False)

    def post(
        self, path: str, content: bytes, content_type: str | None = "application/json", **kw: Any
    ) -> httpx.Response:
        headers = {"content-type": content_type} if content_type else {}
        return self.client.post(path, content=content, headers=headers, **kw)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def start_receiver(
    data_dir: Path,
    *args: str,
    tokens: str | None = f"PERFIL_A:{TOKEN},{TOKEN2}",
    env: dict[str, str] | None = None,
) -> Receiver:
    data_dir.mkdir(parents=True, exist_ok=True)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CCEE_WEBHOOK_")}
    full_env["CCEE_WEBHOOK_DATA_DIR"] = str(data_dir)
    if tokens is not None:
        full_env["CCEE_WEBHOOK_TOKENS"] = tokens
    full_env.update(env or {})
    log_path = data_dir.parent / f"{data_dir.name}-server-{uuid.uuid4().hex[:6]}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [CLI, "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=log,
            env=full_env,
        )
    assert proc.stdout is not None
    url = proc.stdout.readline().decode().strip()
    if not url:
        proc.wait(timeout=10)
        raise AssertionError(f"receiver did not start: {log_path.read_text()}")
    rcv = Receiver(url=url, data_dir=data_dir, proc=proc, log_path=log_path)

    def ready() -> bool:
        try:
            return rcv.client.get("/readyz").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(ready, timeout=60, what="receiver /readyz")  # workers import in parallel
    except AssertionError:
        rcv.stop()  # never leave a half-started server behind
        raise
    return rcv


class ThreadedServer:
    """An ASGI app under a real uvicorn server in a thread (for injecting a broken disk)."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        wait_until(lambda: self.server.started, what="threaded uvicorn")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()
