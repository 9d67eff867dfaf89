"""Receivers on an object-store lake, as subprocesses (`ccee-webhook serve`), and lake reads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
from scaleout_servers import wait_until

CLI = str(Path(sys.executable).parent / "ccee-webhook")
TOKEN = "tok-scaleout-8c1d2e3f"


def body(tid: str, evento: str = "CONTRATO.REGISTRADO") -> bytes:
    return msgspec.json.encode(
        {
            "eventoNotificacao": evento,
            "metadados": [{"nome": "ID_CONTRATO", "valor": tid[:8]}],
            "transactionId": tid,
        }
    )


@dataclass
class Receiver:
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def kill(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def start_receiver(
    folder: Path,
    lake_url: str,
    aws_env: dict[str, str],
    instance: str,
    *args: str,
    wait_ready: bool = True,
) -> Receiver:
    """`ccee-webhook serve` on a free loopback port with the lake at `lake_url`; its data
    folder is empty and stays so (nothing local on an object-store lake)."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCEE_WEBHOOK_", "AWS_"))}
    env.update(aws_env)
    env.update(
        CCEE_WEBHOOK_DATA_DIR=str(folder),
        CCEE_WEBHOOK_LAKE_URL=lake_url,
        CCEE_WEBHOOK_TOKENS=f"PERFIL_A:{TOKEN}",
        CCEE_WEBHOOK_INSTANCE_ID=instance,
    )
    log_path = folder / f"{instance}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [CLI, "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            start_new_session=True,
        )
    assert proc.stdout is not None
    url = proc.stdout.readline().decode().strip()
    if not url:
        proc.wait(timeout=10)
        raise AssertionError(f"receiver did not start: {log_path.read_text()}")
    rcv = Receiver(url, proc, log_path)

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    if wait_ready:
        wait_until(ready, 60, f"receiver {instance} /readyz")
    return rcv


def lake_rows(data_dir: Path, table: str, days: list[Any]) -> list[dict[str, Any]]:
    """Every row of a lake table, read through the pipelines' own lake reader."""
    import pyarrow as pa

    from ingest.lake_files import partition_files, read_table

    tables = [read_table(f) for day in days for f in partition_files(data_dir, table, day)]
    return pa.concat_tables(tables, promote_options="default").to_pylist() if tables else []


def new_tid() -> str:
    return str(uuid.uuid4())
