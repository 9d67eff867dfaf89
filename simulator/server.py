"""Serving the local CCEE: uvicorn on a pre-bound loopback socket, in-process or as a CLI.

`run_simulator(config)` is the Python API for tests and the demo: a context manager that
starts the server on its own thread and event loop and yields a `RunningSimulator` handle
(base URL + thread-safe calls into the simulator).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import uvicorn

from ccee.mensagem import Metadado
from simulator.app import create_app
from simulator.core import Simulator, SimulatorConfig
from simulator.knobs import DeliverySettings, FaultSettings
from simulator.ledger import Notificacao, Tentativa

T = TypeVar("T")


class TLSConfig(msgspec.Struct, frozen=True):
    """Server certificate, and optionally a CA whose client certificates are required."""

    certfile: Path
    keyfile: Path
    keyfile_password: str | None = None
    #: when set, mutual TLS: clients must present a certificate signed by this CA
    client_ca: Path | None = None


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)  # connections queue until uvicorn accepts: no start-up race
    sock.set_inheritable(True)
    return sock


def base_url(sock: socket.socket, tls: TLSConfig | None) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}"


def uvicorn_server(sim: Simulator, tls: TLSConfig | None) -> uvicorn.Server:
    kwargs: dict[str, Any] = {}
    if tls is not None:
        kwargs.update(
            ssl_certfile=str(tls.certfile),
            ssl_keyfile=str(tls.keyfile),
            ssl_keyfile_password=tls.keyfile_password,
        )
        if tls.client_ca is not None:
            kwargs.update(ssl_ca_certs=str(tls.client_ca), ssl_cert_reqs=ssl.CERT_REQUIRED)
    config = uvicorn.Config(
        create_app(sim),
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=2,
        **kwargs,
    )
    return uvicorn.Server(config)


async def serve(
    sim: Simulator,
    sock: socket.socket,
    tls: TLSConfig | None,
    on_ready: Callable[[], None] | None = None,
    server_box: list[uvicorn.Server] | None = None,
) -> None:
    """Run the simulator and its server until the server exits."""
    server = uvicorn_server(sim, tls)
    if server_box is not None:
        server_box.append(server)
    await sim.start()
    try:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.005)  # uvicorn exposes no startup event
        if server.started and on_ready is not None:
            on_ready()
        await task
    finally:
        await sim.stop()


class RunningSimulator:
    """A handle on an in-process simulator: its URL and thread-safe calls into it."""

    def __init__(self, url: str, sim: Simulator, loop: asyncio.AbstractEventLoop) -> None:
        self.url = url
        self.sim = sim
        self._loop = loop

    def run(self, coro: Awaitable[T], timeout: float | None = 60.0) -> T:
        async def wrapper() -> T:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop).result(timeout)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        async def wrapper() -> T:
            return fn(*args, **kwargs)

        return self.run(wrapper())

    # conveniences (all executed on the simulator's loop)
    def service_url(self, service: str) -> str:
        return f"{self.url}/ws/v2/{service}"

    def wsdl_url(self, service: str) -> str:
        return f"{self.service_url(service)}?wsdl"

    def now(self) -> datetime:
        return self.sim.clock.now()

    def inject(
        self,
        codigo: str,
        metadados: list[Metadado] | None = None,
        perfis: list[str] | None = None,
        corpo_bruto: bytes | None = None,
    ) -> list[str]:
        return self.call(self.sim.inject, codigo, metadados, perfis, corpo_bruto)

    def subscribe(self, perfil: str, codigo: str, url: str) -> None:
        """Set a preference directly (tests that are not about the SOAP API)."""
        self.call(self.sim.preferences.incluir, perfil, codigo, url, self.sim.clock.now())

    def fast_forward(
        self, delta: timedelta, timeout: float | None = 120.0, tick: timedelta | None = None
    ) -> datetime:
        return self.run(self.sim.fast_forward(delta, tick), timeout)

    def wait_idle(self, timeout: float | None = 60.0) -> None:
        self.run(self.sim.dispatcher.wait_idle(), timeout)

    def set_faults(self, settings: FaultSettings) -> None:
        self.call(self.sim.knobs.set, settings)

    def set_delivery(self, settings: DeliverySettings) -> None:
        self.call(self.sim.knobs.set_delivery, settings)

    def notification(self, transaction_id: str) -> Notificacao | None:
        return self.call(self.sim.ledger.get, transaction_id)

    def attempts(self, transaction_id: str) -> list[Tentativa]:
        return self.call(self.sim.ledger.attempts, transaction_id)

    def stats(self) -> dict[str, object]:
        return self.call(self.sim.stats)


@contextmanager
def run_simulator(
    config: SimulatorConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: TLSConfig | None = None,
    startup_timeout: float = 30.0,
) -> Iterator[RunningSimulator]:
    """Start a simulator on a background thread; stop it (and its thread) on exit."""
    sock = bind_socket(host, port)
    url = base_url(sock, tls)
    ready = threading.Event()
    box: list[uvicorn.Server] = []
    holder: dict[str, Any] = {}
    failed: concurrent.futures.Future[None] = concurrent.futures.Future()

    def thread_main() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        holder["loop"] = loop
        try:
            holder["sim"] = sim = Simulator(config)
            loop.run_until_complete(serve(sim, sock, tls, ready.set, box))
        except BaseException as exc:
            failed.set_exception(exc)
        finally:
            ready.set()
            loop.close()
            sock.close()

    thread = threading.Thread(target=thread_main, name="ccee-simulator", daemon=True)
    thread.start()
    ready.wait(startup_timeout)
    if failed.done():
        failed.result()  # re-raise the start-up error here
    if "sim" not in holder or not box or not box[0].started:
        raise RuntimeError("simulator did not start in time")
    handle = RunningSimulator(url, holder["sim"], holder["loop"])
    try:
        yield handle
    finally:
        box[0].should_exit = True
        thread.join(timeout=30)
