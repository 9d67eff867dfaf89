"""A virtual CCEE clock: CCEE time runs `scale` times faster than real time.

Why: CCEE's retry rule spans 24 hours; tests and demos must cover that in seconds. Every
component that waits (dispatcher, generator) waits *on this clock* (`sleep_until`), so a
change of scale or an explicit `advance` wakes them at once and nobody sleeps on wall time.
A scale of 0 freezes the clock: time then moves only by `advance`, which gives tests exact,
reproducible timestamps.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class VirtualClock:
    """CCEE time = anchor + scale × (real elapsed since anchor), plus explicit jumps."""

    def __init__(
        self,
        start: datetime | None = None,
        scale: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if scale < 0:
            raise ValueError("time scale must be >= 0")
        start = start or datetime.now(UTC)
        if start.tzinfo is None:
            raise ValueError("clock start must be timezone-aware")
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._anchor_ccee = start.astimezone(UTC)
        self._anchor_real = monotonic()
        self._scale = float(scale)
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()

    # -- reading ---------------------------------------------------------------------------
    def now(self) -> datetime:
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> datetime:
        elapsed = self._monotonic() - self._anchor_real
        return self._anchor_ccee + timedelta(seconds=elapsed * self._scale)

    @property
    def scale(self) -> float:
        return self._scale

    def real_seconds_until(self, when: datetime) -> float | None:
        """Real seconds until CCEE time `when` at the current scale (None: never, frozen)."""
        with self._lock:
            ahead = (when - self._now_locked()).total_seconds()
            if ahead <= 0:
                return 0.0
            return None if self._scale == 0 else ahead / self._scale

    # -- changing --------------------------------------------------------------------------
    def restart(self, start: datetime) -> None:
        """Set CCEE time to `start` from this real instant (used when serving begins, so
        start-up time is not counted at a large scale)."""
        with self._lock:
            self._anchor_ccee = start.astimezone(UTC)
            self._anchor_real = self._monotonic()
        self._notify()

    def _reanchor_locked(self) -> None:
        self._anchor_ccee = self._now_locked()
        self._anchor_real = self._monotonic()

    def set_scale(self, scale: float) -> None:
        if scale < 0:
            raise ValueError("time scale must be >= 0")
        with self._lock:
            self._reanchor_locked()
            self._scale = float(scale)
        self._notify()

    def advance(self, delta: timedelta) -> datetime:
        """Jump forward by `delta` (never backwards: CCEE time is monotonic)."""
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._reanchor_locked()
            self._anchor_ccee += delta
            now = self._anchor_ccee
        self._notify()
        return now

    def advance_to(self, when: datetime) -> datetime:
        """Jump to `when` if it is in the future; return the (new) current time."""
        with self._lock:
            self._reanchor_locked()
            if when > self._anchor_ccee:
                self._anchor_ccee = when.astimezone(UTC)
            now = self._anchor_ccee
        self._notify()
        return now

    def _notify(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, fut in waiters:
            with contextlib.suppress(RuntimeError):  # loop closed
                loop.call_soon_threadsafe(_resolve, fut)

    # -- waiting ---------------------------------------------------------------------------
    async def sleep_until(self, when: datetime) -> None:
        """Return once CCEE time reaches `when`; re-plans on every scale change or jump."""
        loop = asyncio.get_running_loop()
        while True:
            delay = self.real_seconds_until(when)
            if delay == 0.0:
                return
            fut: asyncio.Future[None] = loop.create_future()
            entry = (loop, fut)
            with self._lock:
                self._waiters.add(entry)
            try:
                # Re-check after registering so a jump between the check and now is not lost.
                if self.real_seconds_until(when) == 0.0:
                    return
                await asyncio.wait({fut}, timeout=delay)
            finally:
                with self._lock:
                    self._waiters.discard(entry)
                if not fut.done():
                    fut.cancel()

    async def sleep(self, delta: timedelta) -> None:
        await self.sleep_until(self.now() + delta)

    async def wait_changed(self, timeout: float | None = None) -> None:
        """Wait for the next scale change or jump (or `timeout` real seconds)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        entry = (loop, fut)
        with self._lock:
            self._waiters.add(entry)
        try:
            await asyncio.wait({fut}, timeout=timeout)
        finally:
            with self._lock:
                self._waiters.discard(entry)
            if not fut.done():
                fut.cancel()


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
