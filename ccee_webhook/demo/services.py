"""The demo's cast: a local CCEE (the simulator), the participant's receiver, a dead port.

Owns the child processes, the secrets they get (only through their environment) and the
environment each kind of process sees; `stop_all` leaves nothing running.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

from ccee_webhook.demo.folder import CONFIG_NAME, clean_env
from ccee_webhook.demo.processes import Child, ChildError, wait_until
from simulator.admin_client import SimAdmin

PERFIL = "88888"
USERNAME = "demo.integracao"
START_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class Secrets:
    """Generated per run; passed to children only through their environment."""

    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    old_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    password: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    def all(self) -> tuple[str, ...]:
        return (self.token, self.old_token, self.password)


def _reserve_dead_port() -> socket.socket:
    """A loopback port bound but never listening: connections are refused, like a
    decommissioned server's, and no other process can take the port while the demo runs."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


class Services:
    """The simulator and receiver children of one run, and their environments."""

    def __init__(self, folder: Path, keys: Secrets) -> None:
        self.folder = folder
        self.keys = keys
        self.logs = folder / "logs"
        self.children: list[Child] = []
        self.sim: Child | None = None
        self.receiver: Child | None = None
        self.receiver_port = 0
        self.admin: SimAdmin | None = None
        self._dead = _reserve_dead_port()

    # -- environments ----------------------------------------------------------------------
    @property
    def dead_url(self) -> str:
        host, port = self._dead.getsockname()[:2]
        return f"http://{host}:{port}"

    def base_env(self) -> dict[str, str]:
        """The user's environment minus CCEE_WEBHOOK_*, plus the demo's folder and config."""
        return clean_env() | self.settings_env()

    def settings_env(self) -> dict[str, str]:
        return {
            "CCEE_WEBHOOK_DATA_DIR": str(self.folder),
            "CCEE_WEBHOOK_CONFIG": str(self.folder / CONFIG_NAME),
        }

    def client_env(self) -> dict[str, str]:
        """What a participant's tooling (the SOAP client, Dagster) sees: the simulator as CCEE."""
        assert self.sim is not None and self.sim.url is not None
        return self.settings_env() | {
            "CCEE_WEBHOOK_CCEE_URL": self.sim.url,
            "CCEE_WEBHOOK_USERNAME": USERNAME,
            "CCEE_WEBHOOK_PASSWORD": self.keys.password,
            "CCEE_WEBHOOK_PERFIL": PERFIL,
        }

    # -- children --------------------------------------------------------------------------
    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> Child:
        child = Child(
            name, args, env, self.logs / f"{name}.log", cwd=self.folder, secrets=self.keys.all()
        )
        self.children.append(child)
        return child

    def start_simulator(self, start: datetime, seed: int) -> Child:
        """CCEE time frozen at `start` until the subscriptions are in place."""
        env = self.base_env() | {
            "CCEE_WEBHOOK_USERNAME": USERNAME,
            "CCEE_WEBHOOK_PASSWORD": self.keys.password,
            "CCEE_WEBHOOK_PERFIL": PERFIL,
        }
        self.sim = self._spawn(
            "simulator",
            [
                "simulate", "--host", "127.0.0.1", "--port", "0",
                "--time-scale", "0", "--events-per-hour", "0", "--seed", str(seed),
                "--db", str(self.folder / "simulator.sqlite3"),
                "--start", start.isoformat(), "--callback-timeout", "10",
                # first attempt at once: the story (and its checks) count 289 attempts
                "--first-attempt-delay", "0",
            ],
            env,
        )
        return self.sim

    def wait_simulator(self) -> str:
        assert self.sim is not None
        url = self.sim.wait_url(START_TIMEOUT)
        self.admin = SimAdmin(url)
        return url

    def start_receiver(self, n: int) -> Child:
        """Receiver number `n` (the same port after a restart, once known)."""
        env = self.base_env() | {"CCEE_WEBHOOK_TOKENS": f"{PERFIL}:{self.keys.token}"}
        self.receiver = self._spawn(
            f"receiver-{n}",
            [
                "serve", "--host", "127.0.0.1", "--port", str(self.receiver_port),
                "--instance-id", f"demo-receptor-{n}",
            ],
            env,
        )
        return self.receiver

    def wait_receiver(self) -> str:
        child = self.receiver
        assert child is not None
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
        """Every child stopped (receiver first: graceful, so the lake is complete)."""
        if self.admin is not None:
            self.admin.close()
        for child in reversed(self.children):
            child.stop()
        with contextlib.suppress(OSError):
            self._dead.close()
