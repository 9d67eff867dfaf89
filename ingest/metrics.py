"""Process-local Prometheus metrics in the text exposition format (no token ever in a label).

Kept dependency-free and tiny: a few counters, a bounded recent-id window for duplicates and
one latency histogram. With several workers, each process exposes its own figures.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Mapping

FLUSH_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0
        self.n = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value
        self.n += 1

    def render(self, name: str, labels: str = "") -> list[str]:
        sep = "," if labels else ""
        lines = []
        cumulative = 0
        for bound, count in zip(self.buckets, self.counts, strict=False):
            cumulative += count
            lines.append(f'{name}_bucket{{{labels}{sep}le="{bound}"}} {cumulative}')
        lines.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.n}')
        suffix = f"{{{labels}}}" if labels else ""
        lines.append(f"{name}_sum{suffix} {self.total}")
        lines.append(f"{name}_count{suffix} {self.n}")
        return lines


class Metrics:
    """Counters for the receiver; `render()` returns the Prometheus text page."""

    def __init__(self, duplicate_window: int = 100_000) -> None:
        self.accepted: defaultdict[str, int] = defaultdict(int)  # by perfil ("" = none)
        self.duplicates = 0
        self.rejected: defaultdict[str, int] = defaultdict(int)  # by motivo
        self.flush_failures: defaultdict[str, int] = defaultdict(int)  # by tabela
        self.flush_seconds: dict[str, Histogram] = {}
        self.flush_rows: defaultdict[str, int] = defaultdict(int)
        self.pending: dict[str, Callable[[], int]] = {}  # tabela -> rows awaiting a flush
        self.backlog: dict[str, Callable[[], int]] = {}  # tabela -> durable rows not in Parquet
        self.published: defaultdict[str, int] = defaultdict(int)
        self.publish_failures: defaultdict[str, int] = defaultdict(int)
        self.in_progress: Callable[[], int] = lambda: 0  # callback requests being handled
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._window = duplicate_window

    def accept(self, transaction_id: str, perfil: str | None) -> None:
        self.accepted[perfil or ""] += 1
        if transaction_id in self._recent:
            self.duplicates += 1
            self._recent.move_to_end(transaction_id)
            return
        self._recent[transaction_id] = None
        if len(self._recent) > self._window:
            self._recent.popitem(last=False)

    def reject(self, motivo: str) -> None:
        self.rejected[motivo] += 1

    def flush_observer(self, tabela: str) -> Callable[[float, int, bool], None]:
        hist = self.flush_seconds.setdefault(tabela, Histogram(FLUSH_BUCKETS))

        def observe(seconds: float, rows: int, ok: bool) -> None:
            hist.observe(seconds)
            if ok:
                self.flush_rows[tabela] += rows
            else:
                self.flush_failures[tabela] += 1

        return observe

    def publish_observer(self, tabela: str) -> Callable[[int, bool], None]:
        """Called from the WAL publisher thread (plain int updates: safe under the GIL)."""

        def observe(rows: int, ok: bool) -> None:
            if ok:
                self.published[tabela] += rows
            else:
                self.publish_failures[tabela] += 1

        return observe

    def render(self) -> str:
        out: list[str] = []
        _family(
            out,
            "deliveries_accepted_total",
            "counter",
            "Deliveries answered 201 (stored)",
            "perfil",
            self.accepted,
        )
        out += [
            "# HELP ccee_webhook_duplicates_seen_total Accepted deliveries whose transactionId "
            "this process had already accepted (within its recent-id window).",
            "# TYPE ccee_webhook_duplicates_seen_total counter",
            f"ccee_webhook_duplicates_seen_total {self.duplicates}",
        ]
        _family(
            out,
            "rejected_total",
            "counter",
            "Requests not acknowledged, by reason.",
            "motivo",
            self.rejected,
        )
        _family(
            out,
            "lake_rows_flushed_total",
            "counter",
            "Rows made durable (write-ahead log or Parquet), before their 201.",
            "tabela",
            self.flush_rows,
        )
        _family(
            out,
            "lake_flush_failures_total",
            "counter",
            "Flushes that failed to persist.",
            "tabela",
            self.flush_failures,
        )
        out += [
            "# HELP ccee_webhook_requests_in_progress Callback requests being handled now.",
            "# TYPE ccee_webhook_requests_in_progress gauge",
            f"ccee_webhook_requests_in_progress {self.in_progress()}",
        ]
        _family(
            out,
            "lake_pending_rows",
            "gauge",
            "Rows waiting for a flush (not yet answered).",
            "tabela",
            {t: fn() for t, fn in self.pending.items()},
        )
        _family(
            out,
            "lake_unpublished_rows",
            "gauge",
            "Rows acknowledged (durable in the write-ahead log) but not yet in the lake's "
            "Parquet files.",
            "tabela",
            {t: fn() for t, fn in self.backlog.items()},
        )
        _family(
            out,
            "lake_rows_published_total",
            "counter",
            "Rows published from the write-ahead log to the lake's Parquet files.",
            "tabela",
            self.published,
        )
        _family(
            out,
            "lake_publish_failures_total",
            "counter",
            "Failed attempts to publish a write-ahead log segment to Parquet (retried; the "
            "rows stay durable).",
            "tabela",
            self.publish_failures,
        )
        out += [
            "# HELP ccee_webhook_lake_flush_seconds Time to make one flushed batch durable.",
            "# TYPE ccee_webhook_lake_flush_seconds histogram",
        ]
        for tabela, hist in sorted(self.flush_seconds.items()):
            out += hist.render("ccee_webhook_lake_flush_seconds", f'tabela="{tabela}"')
        return "\n".join(out) + "\n"


def _family(
    out: list[str], name: str, kind: str, help_text: str, label: str, values: Mapping[str, int]
) -> None:
    """One labelled metric family: HELP, TYPE, then a sample per label value."""
    full = f"ccee_webhook_{name}"
    out += [f"# HELP {full} {help_text}", f"# TYPE {full} {kind}"]
    for key, n in sorted(values.items()):
        out.append(f'{full}{{{label}="{_escape(key)}"}} {n}')
