"""Process-wide interpreter tuning for a serving process, applied visibly by `serve`.

It affects the whole process, so it is done once at start-up (by `serve` for one worker, by
the worker factory in `ingest.asgi` for `--workers N`), never hidden inside a component.

- `gc.freeze()` once the app is built: everything alive then (app, routes, libraries) lives
  as long as the process; freezing keeps it out of the collector's full passes, which had
  stalled the event loop under load (durable p99 ~75 → ~25 ms in benchmarks/receiver.py when
  it was introduced).
- The GIL switch interval stays at CPython's 5 ms. A 0.1 ms interval (`sys.setswitchinterval`)
  paid off when a flush was a Parquet file (eight blocking syscalls, each followed by a wait
  for the GIL); with the write-ahead log's single O_DSYNC write per flush it only adds GIL
  hand-offs: measured with `benchmarks/receiver.py --modes b` (4 interleaved pairs, shared
  2-core VM), durable server CPU 432 vs 368 us per request (median) and no throughput gain
  (658-918 vs 783-1424 req/s).
"""

from __future__ import annotations

import gc


def tune_process_for_serving() -> None:
    """Call once the ASGI app is built, just before the server starts serving."""
    gc.collect()
    gc.freeze()
