"""Process-wide interpreter tuning for a serving process, applied visibly by `serve`.

Both settings affect the whole process, so they are made once at start-up (by `serve` for a
single worker, by the worker factory in `ingest.asgi` for `--workers N`), never hidden inside
a component. Measured with `benchmarks/receiver.py` (2 cores, wrk, 64 connections):

- `sys.setswitchinterval(1e-4)`: after each blocking system call of a flush (the write-ahead
  log's O_DSYNC write), the lake's flusher thread must win the GIL back from a busy event
  loop, which by default waits up to 5 ms every time: flushes then took ~10 ms under load
  instead of ~0.5 ms (durable/off 0.60 → 0.79 when it was introduced).
- `gc.freeze()` once the app is built: everything alive then (app, routes, libraries) lives
  as long as the process; freezing keeps it out of the collector's full passes, which
  otherwise stall the event loop (durable p99 ~75 → ~25 ms when it was introduced).
"""

from __future__ import annotations

import gc
import sys

#: Seconds a thread may hold the GIL while another waits (CPython's default is 0.005).
SWITCH_INTERVAL = 0.0001


def tune_process_for_serving() -> None:
    """Call once the ASGI app is built, just before the server starts serving."""
    sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
    gc.collect()
    gc.freeze()
