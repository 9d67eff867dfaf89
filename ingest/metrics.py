"""The receiver's Prometheus metrics, with the ecosystem's `prometheus_client` (no token ever
in a label).

With `serve --workers N`, `serve` points `PROMETHEUS_MULTIPROC_DIR` at a fresh folder before
the workers start: each worker then keeps its values in memory-mapped files there and any
worker's `/metrics` shows the sum over all of them (gauges over the live ones). Gauges that are
read from the receiver's state (requests in progress, rows pending or unpublished) are
refreshed on every scrape and, with several workers, every `GAUGE_REFRESH` seconds.

The request path only adds 1 to a plain int: a prometheus_client `inc()` costs a lock and
four calls (measured ~1-4 us against ~0.3 us, i.e. 1-2 % of a request's CPU under load), so
per-request counts are moved into the counters by `sync()`, at the same moments as the
gauges. Flush and publish figures (once per batch) go to prometheus_client directly.
"""

from __future__ import annotations

import os
from collections import OrderedDict, defaultdict
from collections.abc import Callable

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess

FLUSH_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # set by `serve --workers N` (ingest.serve_cmd)
#: Seconds between refreshes of a worker's gauges when several workers share `/metrics`.
GAUGE_REFRESH = 1.0
CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST

# `_created` timestamps for every counter would double the page for nothing we use.
prometheus_client.disable_created_metrics()


def multiprocess_dir() -> str | None:
    """The shared folder when several worker processes serve one `/metrics`, else None."""
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """Counters, gauges and the flush histogram of one receiver process."""

    def __init__(self, duplicate_window: int = 100_000) -> None:
        self.shared = multiprocess_dir() is not None
        self.registry = CollectorRegistry(auto_describe=True)
        # Several workers: values live in the shared folder, not in a registry of this process.
        reg = None if self.shared else self.registry
        self._accepted = Counter(
            "ccee_webhook_deliveries_accepted",
            "Deliveries answered 201 (stored)",
            ["perfil"],
            registry=reg,
        )
        self._duplicates = Counter(
            "ccee_webhook_duplicates_seen",
            "Accepted deliveries whose transactionId the same worker process had already "
            "accepted (within its recent-id window).",
            registry=reg,
        )
        self._rejected = Counter(
            "ccee_webhook_rejected",
            "Requests not acknowledged, by reason.",
            ["motivo"],
            registry=reg,
        )
        self._flush_rows = Counter(
            "ccee_webhook_lake_rows_flushed",
            "Rows made durable (write-ahead log or Parquet), before their 201.",
            ["tabela"],
            registry=reg,
        )
        self._flush_failures = Counter(
            "ccee_webhook_lake_flush_failures",
            "Flushes that failed to persist.",
            ["tabela"],
            registry=reg,
        )
        self._published = Counter(
            "ccee_webhook_lake_rows_published",
            "Rows published from the write-ahead log to the lake's Parquet files.",
            ["tabela"],
            registry=reg,
        )
        self._publish_failures = Counter(
            "ccee_webhook_lake_publish_failures",
            "Failed attempts to publish a write-ahead log segment to Parquet (retried; the "
            "rows stay durable).",
            ["tabela"],
            registry=reg,
        )
        self._flush_seconds = Histogram(
            "ccee_webhook_lake_flush_seconds",
            "Time to make one flushed batch durable.",
            ["tabela"],
            buckets=FLUSH_BUCKETS,
            registry=reg,
        )
        self._in_progress = Gauge(
            "ccee_webhook_requests_in_progress",
            "Callback requests being handled now.",
            registry=reg,
            multiprocess_mode="livesum",
        )
        self._pending_rows = Gauge(
            "ccee_webhook_lake_pending_rows",
            "Rows waiting for a flush (not yet answered).",
            ["tabela"],
            registry=reg,
            multiprocess_mode="livesum",
        )
        self._unpublished_rows = Gauge(
            "ccee_webhook_lake_unpublished_rows",
            "Rows acknowledged (durable in the write-ahead log) but not yet in the lake's "
            "Parquet files.",
            ["tabela"],
            registry=reg,
            multiprocess_mode="livesum",
        )
        self.pending: dict[str, Callable[[], int]] = {}  # tabela -> rows awaiting a flush
        self.backlog: dict[str, Callable[[], int]] = {}  # tabela -> durable rows not in Parquet
        self.in_progress: Callable[[], int] = lambda: 0  # callback requests being handled
        # The request path only adds to plain ints; `sync()` moves them into the counters.
        self._accepted_n: defaultdict[str, int] = defaultdict(int)  # by perfil ("" = none)
        self._rejected_n: defaultdict[str, int] = defaultdict(int)  # by motivo
        self._duplicates_n = 0
        self._synced: dict[tuple[str, str], int] = {}
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._window = duplicate_window

    def accept(self, transaction_id: str, perfil: str | None) -> None:
        self._accepted_n[perfil or ""] += 1
        if transaction_id in self._recent:
            self._duplicates_n += 1
            self._recent.move_to_end(transaction_id)
            return
        self._recent[transaction_id] = None
        if len(self._recent) > self._window:
            self._recent.popitem(last=False)

    def reject(self, motivo: str) -> None:
        self._rejected_n[motivo] += 1

    def flush_observer(self, tabela: str) -> Callable[[float, int, bool], None]:
        """Called from the lake's flusher threads (prometheus_client is thread-safe)."""
        hist = self._flush_seconds.labels(tabela)
        rows_ok = self._flush_rows.labels(tabela)
        failures = self._flush_failures.labels(tabela)

        def observe(seconds: float, rows: int, ok: bool) -> None:
            hist.observe(seconds)
            if ok:
                rows_ok.inc(rows)
            else:
                failures.inc()

        return observe

    def publish_observer(self, tabela: str) -> Callable[[int, bool], None]:
        """Called from the WAL publisher thread."""
        published = self._published.labels(tabela)
        failures = self._publish_failures.labels(tabela)

        def observe(rows: int, ok: bool) -> None:
            if ok:
                published.inc(rows)
            else:
                failures.inc()

        return observe

    def sync(self) -> None:
        """Move the request path's counts into the counters and the live state (requests in
        progress, rows pending/unpublished) into the gauges: at each scrape, and every
        `GAUGE_REFRESH` seconds in every worker when several share `/metrics`."""
        for family, counts in (("a", self._accepted_n), ("r", self._rejected_n)):
            for label, n in list(counts.items()):
                done = self._synced.get((family, label), 0)
                if n > done:
                    self._synced[family, label] = n
                    counter = self._accepted if family == "a" else self._rejected
                    counter.labels(label).inc(n - done)
        done = self._synced.get(("d", ""), 0)
        if self._duplicates_n > done:
            self._synced["d", ""] = self._duplicates_n
            self._duplicates.inc(self._duplicates_n - done)
        self._in_progress.set(self.in_progress())
        for tabela, fn in self.pending.items():
            self._pending_rows.labels(tabela).set(fn())
        for tabela, fn in self.backlog.items():
            self._unpublished_rows.labels(tabela).set(fn())

    def render(self) -> bytes:
        """The Prometheus text page: this process's figures, or every worker's summed."""
        self.sync()
        if not self.shared:
            return prometheus_client.generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return prometheus_client.generate_latest(registry)

    def process_exiting(self) -> None:
        """Drop this worker's live gauges from the shared sums (its counters stay counted,
        brought up to date first)."""
        if self.shared:
            self.sync()
            multiprocess.mark_process_dead(os.getpid())
