"""Concurrent load on a receiver: many keep-alive connections over raw HTTP/1.1 (asyncio).

httpx spends ~6 ms of CPU per request on this machine, which would make the client, not the
receiver, the bottleneck of every load test.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx

from support.callbacks import body_for
from support.credentials import TOKEN


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


