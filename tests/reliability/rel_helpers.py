"""Shared machinery for the reliability suite: real receivers, load, the lake as readers see it.

Every secret used by the suite is generated per process (so a hit in the final secret scan
cannot be a coincidence) and every file the suite writes lives under pytest's base temp dir,
which `test_rel_zz_secrets.py` scans at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx
import msgspec

from ingest.wal import unpublished_bytes

CLI = str(Path(sys.executable).parent / "ccee-webhook")

#: Secrets of this run. Distinctive, random, and never expected in any log or lake file.
TOKEN = "reltok" + secrets.token_hex(12)
TOKEN_B = "reltokb" + secrets.token_hex(12)
PERFIL = "7777"
PERFIL_B = "8888"
TOKENS_ENV = f"{PERFIL}:{TOKEN},{PERFIL_B}:{TOKEN_B}"
WS_USERNAME = "agente.reliability"
WS_PASSWORD = "wsspw" + secrets.token_hex(12)
CERT_PASSWORD = "certpw" + secrets.token_hex(12)
ALL_SECRETS = {
    "receiver URL token": TOKEN,
    "second receiver URL token": TOKEN_B,
    "WS-Security password": WS_PASSWORD,
    "certificate password": CERT_PASSWORD,
}

PROBLEM_JSON = "application/problem+json"


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Poll a condition with a deadline (never a sleep used as synchronisation)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def body_for(tid: str | None = None, evento: str = "CONTRATO.REGISTRADO", **extra: Any) -> bytes:
    doc: dict[str, Any] = {
        "eventoNotificacao": evento,
        "metadados": [
            {"nome": "ID_CONTRATO", "valor": "42"},
            {"nome": "MES_REFERENCIA", "valor": "null"},
        ],
        "transactionId": tid or str(uuid.uuid4()),
        **extra,
    }
    return msgspec.json.encode(doc)


@dataclass
class ReceiverProc:
    """A real `ccee-webhook serve` subprocess; stdout and stderr go to files (scanned later)."""

    proc: subprocess.Popen[bytes]
    data_dir: Path
    stdout_path: Path
    stderr_path: Path
    url: str = ""
    verify: bool | str = True
    _client: httpx.Client | None = field(default=None, repr=False)

    @property
    def callback_url(self) -> str:
        return f"{self.url}/ccee/{TOKEN}"

    def wait_url(self, timeout: float = 60.0) -> str:
        def has_line() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"receiver exited with {self.proc.returncode}: {self.stderr()[-2000:]}"
                )
            text = self.stdout_path.read_text(encoding="utf-8", errors="replace")
            return "\n" in text

        wait_until(has_line, timeout, "receiver URL on stdout")
        self.url = self.stdout_path.read_text(encoding="utf-8").splitlines()[0].strip()
        return self.url

    def ready(self) -> bool:
        try:
            return self.client.get("/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float = 60.0) -> ReceiverProc:
        if not self.url:
            self.wait_url(timeout)

        def ok() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"receiver exited with {self.proc.returncode}: {self.stderr()[-2000:]}"
                )
            return self.ready()

        wait_until(ok, timeout, "receiver /readyz")
        return self

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(base_url=self.url, timeout=15, verify=self.verify)
        return self._client

    def post(
        self,
        content: bytes,
        path: str | None = None,
        content_type: str | None = "application/json",
        **kw: Any,
    ) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if content_type is not None:
            headers.setdefault("content-type", content_type)
        return self.client.post(path or f"/ccee/{TOKEN}", content=content, headers=headers, **kw)

    def kill9(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> int:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")


def launch_receiver(
    data_dir: Path,
    *args: str,
    port: int = 0,
    tokens: str | None = TOKENS_ENV,
    env: dict[str, str] | None = None,
    verify: bool | str = True,
    logs_dir: Path | None = None,
) -> ReceiverProc:
    """Start `ccee-webhook serve` (does not wait; call `.wait_ready()`)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CCEE_WEBHOOK_")}
    full_env["CCEE_WEBHOOK_DATA_DIR"] = str(data_dir)
    if tokens is not None:
        full_env["CCEE_WEBHOOK_TOKENS"] = tokens
    full_env.update(env or {})
    tag = uuid.uuid4().hex[:8]
    logs = logs_dir or data_dir.parent / "receiver-logs"
    logs.mkdir(parents=True, exist_ok=True)
    out, err = logs / f"{tag}.stdout", logs / f"{tag}.stderr"
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(
            [CLI, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            stdout=o,
            stderr=e,
            env=full_env,
        )
    return ReceiverProc(proc, data_dir, out, err, verify=verify)


def start_receiver(data_dir: Path, *args: str, **kw: Any) -> ReceiverProc:
    return launch_receiver(data_dir, *args, **kw).wait_ready()


# -- the lake, read exactly as every reader does -------------------------------------------


def lake_glob(data_dir: Path, table: str = "notificacoes") -> str:
    return str(data_dir / "lake" / table / "dt=*" / "*.parquet")


def lake_files(data_dir: Path, table: str = "notificacoes") -> list[Path]:
    return sorted((data_dir / "lake" / table).glob("dt=*/*.parquet"))


def all_lake_entries(data_dir: Path) -> list[Path]:
    lake = data_dir / "lake"
    return sorted(p for p in lake.rglob("*") if p.is_file()) if lake.exists() else []


def settled(data_dir: Path) -> None:
    """Wait until every acknowledged delivery is published from the WAL to Parquet."""
    lake = data_dir / "lake"
    wait_until(lambda: unpublished_bytes(lake) == 0, what="the WAL to be published")


def lake_rows(data_dir: Path, sql: str, table: str = "notificacoes") -> list[tuple[Any, ...]]:
    """SQL over the table as view `t`, once settled (empty list when no file exists yet)."""
    settled(data_dir)
    if not lake_files(data_dir, table):
        return []
    with duckdb.connect() as con:
        con.execute(
            f"CREATE VIEW t AS SELECT * FROM read_parquet('{lake_glob(data_dir, table)}')"
        )
        return con.execute(sql).fetchall()


def lake_transaction_ids(data_dir: Path) -> list[str]:
    return [r[0] for r in lake_rows(data_dir, "SELECT transaction_id FROM t")]


def assert_every_file_readable(data_dir: Path) -> int:
    """Each data file alone passes duckdb's read_parquet; returns the number of files."""
    files = lake_files(data_dir, "notificacoes") + lake_files(data_dir, "quarentena")
    with duckdb.connect() as con:
        for f in files:
            con.execute(f"SELECT count(*) FROM read_parquet('{f}')").fetchone()
    return len(files)


# -- concurrent load ----------------------------------------------------------------------


@dataclass
class LoadLog:
    """Client-side log: what was acknowledged, what was not, and why."""

    acked: list[str] = field(default_factory=list)
    unacked: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def record(self, tid: str, status: int | None, error: str | None = None) -> None:
        if status == 201:
            self.acked.append(tid)
        else:
            self.unacked.append(tid)
        if status is not None:
            self.statuses[status] = self.statuses.get(status, 0) + 1
        if error:
            self.errors[error] = self.errors.get(error, 0) + 1


class RawConnection:
    """One keep-alive HTTP/1.1 connection over asyncio streams.

    The load generator's client: httpx spends ~6 ms of CPU per request on this machine,
    which would make the client, not the receiver, the bottleneck of every load test.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        hdrs = {"content-length": str(len(body)), **(headers or {})}
        lines += [f"{k}: {v}" for k, v in hdrs.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        got = {}
        for line in header_lines:
            if ":" in line:
                k, v = line.split(":", 1)
                got[k.strip().lower()] = v.strip()
        content = await self.reader.readexactly(int(got.get("content-length", "0")))
        if got.get("connection", "").lower() == "close":
            await self.close()
        return status, got, content

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await self.writer.wait_closed()
            self.writer = self.reader = None


def host_port(url: str) -> tuple[str, int]:
    parsed = httpx.URL(url)
    return parsed.host, int(parsed.port or 80)


async def post_many(
    url: str,
    tids: Iterator[str],
    log: LoadLog,
    concurrency: int = 64,
    stop: Callable[[], bool] = lambda: False,
    on_ack: Callable[[], None] | None = None,
    path: str | None = None,
    timeout: float = 15.0,
) -> None:
    """POST one valid callback per transactionId over `concurrency` keep-alive connections.

    A worker stops at the first transport error (the server is gone) or when `stop()`.
    """
    host, port = host_port(url)
    target = path or f"/ccee/{TOKEN}"
    ctype = {"content-type": "application/json"}

    async def worker() -> None:
        conn = RawConnection(host, port)
        try:
            while not stop():
                tid = next(tids, None)
                if tid is None:
                    return
                try:
                    status, _, _ = await asyncio.wait_for(
                        conn.request("POST", target, body_for(tid), ctype), timeout
                    )
                except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                    log.record(tid, None, type(exc).__name__)
                    return
                log.record(tid, status)
                if status == 201 and on_ack is not None:
                    on_ack()
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def walk_files(roots: Iterable[Path]) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
        elif root.exists():
            for p in root.rglob("*"):
                if p.is_file() and not p.is_symlink():
                    yield p
