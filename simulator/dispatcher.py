"""CCEE's AVISOS: POST each notification until a 201, on the retry rule, on the virtual clock.

A heap of (due time, job) drives everything: the loop sleeps *on the clock* until the
earliest due time (or a new submission), launches what is due, and goes back to sleep.
Concurrency is bounded twice: a global limit, and a per-destination limit taken first, so
a destination that hangs holds only its own slots and never stalls the others.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from contextlib import AsyncExitStack
from datetime import datetime
from urllib.parse import urlsplit

import httpx
import msgspec

from simulator.clock import VirtualClock
from simulator.knobs import Knobs
from simulator.ledger import Ledger
from simulator.retry import CCEE_RETRY, RedeliveryRule

log = logging.getLogger(__name__)

USER_AGENT = "ccee-webhook-simulator (AVISOS)"


class DispatchSettings(msgspec.Struct, frozen=True):
    #: real seconds to wait for a destination's answer before counting a failure
    timeout_s: float = 10.0
    max_concurrency: int = 64
    per_destination: int = 4
    #: TLS verification for https destinations: True, False, or a CA bundle path
    verify: bool | str = True


class _Job(msgspec.Struct, frozen=True):
    due: datetime
    transaction_id: str
    url: str
    body: bytes
    t0: datetime
    attempt: int


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _describe(exc: httpx.HTTPError) -> str:
    """A short failure reason that never contains the URL (it may carry a secret token)."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or unreachable"
    return type(exc).__name__


class Dispatcher:
    def __init__(
        self,
        clock: VirtualClock,
        ledger: Ledger,
        knobs: Knobs,
        policy: RedeliveryRule = CCEE_RETRY,
        settings: DispatchSettings | None = None,
    ) -> None:
        self._clock = clock
        self._ledger = ledger
        self._knobs = knobs
        self.policy = policy
        self.settings = settings or DispatchSettings()
        self._heap: list[tuple[datetime, int, _Job]] = []
        self._seq = itertools.count()
        self._inflight = 0
        self._global = asyncio.Semaphore(self.settings.max_concurrency)
        self._per_dest: dict[str, asyncio.Semaphore] = {}
        self._wake = asyncio.Event()
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        s = self.settings
        self._client = httpx.AsyncClient(
            timeout=s.timeout_s,
            verify=s.verify,
            trust_env=False,  # a proxy from the environment must not sit between us and them
            follow_redirects=False,
            limits=httpx.Limits(max_connections=s.max_concurrency, max_keepalive_connections=32),
            headers={"User-Agent": USER_AGENT},
        )
        for n in self._ledger.pending():  # resume after a restart
            self.submit(
                n.transaction_id, n.endereco_destino, n.corpo, n.data_origem, n.proxima_tentativa
            )
        self._runner = asyncio.create_task(self._run(), name="dispatcher")

    async def stop(self) -> None:
        tasks = [t for t in (self._runner, *self._tasks) if t is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    # -- API -------------------------------------------------------------------------------
    def submit(
        self, transaction_id: str, url: str, body: bytes, t0: datetime, attempt: int = 0
    ) -> None:
        """Schedule attempt `attempt` of a notification (call on the event loop's thread)."""
        due = self.policy.due(t0, attempt, self._knobs.first_attempt_delay())
        job = _Job(due, transaction_id, url, body, t0, attempt)
        heapq.heappush(self._heap, (due, next(self._seq), job))
        self._wake.set()

    def max_attempts(self) -> int:
        """Attempts a notification gets under the current first-attempt delay."""
        return self.policy.attempts(self._knobs.first_attempt_delay())

    @property
    def inflight(self) -> int:
        return self._inflight

    @property
    def scheduled(self) -> int:
        return len(self._heap)

    def next_due(self) -> datetime | None:
        return self._heap[0][0] if self._heap else None

    def is_idle(self) -> bool:
        """Nothing in flight and nothing due at the current CCEE time."""
        if self._inflight:
            return False
        return not self._heap or self._heap[0][0] > self._clock.now()

    async def wait_idle(self) -> None:
        async with self._changed:
            await self._changed.wait_for(self.is_idle)

    # -- the loop --------------------------------------------------------------------------
    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _run(self) -> None:
        while True:
            now = self._clock.now()
            while self._heap and self._heap[0][0] <= now:
                job = heapq.heappop(self._heap)[2]
                self._inflight += 1
                task = asyncio.create_task(self._attempt(job))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            await self._notify()
            self._wake.clear()
            waiters: list[asyncio.Future[object]] = [asyncio.ensure_future(self._wake.wait())]
            if self._heap:
                waiters.append(asyncio.ensure_future(self._clock.sleep_until(self._heap[0][0])))
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waiters:
                    w.cancel()

    def _dest_semaphore(self, url: str) -> asyncio.Semaphore:
        key = _origin(url)
        sem = self._per_dest.get(key)
        if sem is None:
            sem = self._per_dest[key] = asyncio.Semaphore(self.settings.per_destination)
        return sem

    async def _post(self, job: _Job) -> tuple[int | None, str | None]:
        assert self._client is not None
        try:
            resp = await self._client.post(
                job.url, content=job.body, headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as exc:
            return None, _describe(exc)
        return resp.status_code, None

    async def _attempt(self, job: _Job) -> None:
        try:
            async with AsyncExitStack() as stack:
                await stack.enter_async_context(self._dest_semaphore(job.url))
                await stack.enter_async_context(self._global)
                sent_at = self._clock.now()
                status, error = await self._post(job)
            done_at = self._clock.now()
            lost = status == 201 and self._knobs.lose_201()
            self._ledger.record_attempt(
                job.transaction_id,
                job.attempt,
                job.due,
                sent_at,
                status,
                error or (None if status == 201 else f"HTTP {status}"),
                resposta_perdida=lost,
            )
            if status == 201 and not lost:
                self._ledger.mark_notified(job.transaction_id, done_at)
            elif job.attempt + 1 < self.max_attempts():
                self.submit(job.transaction_id, job.url, job.body, job.t0, job.attempt + 1)
            else:
                self._ledger.mark_expired(job.transaction_id, done_at)
        except asyncio.CancelledError:
            raise
        except Exception:  # a ledger failure must not kill the dispatcher
            log.exception("dispatch attempt failed for transaction %s", job.transaction_id)
        finally:
            self._inflight -= 1
            await self._notify()
