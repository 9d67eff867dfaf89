"""Structured (JSON lines) logging for the receiver, on stderr so stdout stays for the URL.

Every line goes through one `JsonLines` writer per process: callers only encode (msgspec)
and enqueue; a daemon thread writes what accumulated in one system call, a few milliseconds
later. The per-request access line used to go through the stdlib `logging` machinery, which
took ~17 % of the receiver's CPU under load (py-spy, benchmarks/receiver.py); now the request
path pays for one dict and one msgspec encode. Lines from the stdlib loggers (start, stop,
errors: rare) are written at once, after whatever was queued, so that nothing is lost when
the process ends by re-raising SIGTERM.
"""

from __future__ import annotations

import atexit
import logging
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any, BinaryIO

import msgspec

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
_encoder = msgspec.json.Encoder(enc_hook=str)

#: Longest an access line waits in memory before it is written (lines are batched).
FLUSH_DELAY = 0.02


class JsonLines:
    """Lines written to a binary stream in batches by a daemon thread.

    `write` is cheap and does not touch the stream (it runs on the event loop): it appends
    under a lock and wakes the writer thread only for the first line of a batch.
    """

    def __init__(self, stream: BinaryIO, delay: float = FLUSH_DELAY) -> None:
        self._stream = stream
        self._delay = delay
        self._lock = threading.Lock()  # guards _lines/_scheduled
        self._io_lock = threading.Lock()  # one batch written at a time, in order
        self._lines: list[bytes] = []
        self._scheduled = False
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="json-lines", daemon=True)
        self._thread.start()

    def emit(self, doc: dict[str, Any]) -> None:
        """Encode one JSON object (msgspec) and queue it as a line."""
        self.write(_encoder.encode(doc))

    def write(self, line: bytes, urgent: bool = False) -> None:
        """Queue one line (without its newline). An `urgent` line is written before this
        returns, after everything queued before it, in the calling thread."""
        with self._lock:
            self._lines.append(line)
            wake = not self._scheduled
            self._scheduled = True
        if urgent or self._closed:
            self.flush()
        elif wake:
            self._wake.set()

    def flush(self) -> None:
        """Write everything queued so far, in the calling thread."""
        with self._io_lock:
            with self._lock:
                batch, self._lines = self._lines, []
                self._scheduled = False
            if batch:
                try:
                    self._stream.write(b"\n".join(batch) + b"\n")
                    self._stream.flush()
                except (OSError, ValueError):
                    # stderr closed or broken (e.g. the reading end of a pipe is gone): there
                    # is nowhere left to report to; dropping the lines must not stop serving.
                    pass

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=5)
        self.flush()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            time.sleep(self._delay)  # let a batch accumulate: one system call for all of it
            self.flush()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and every `extra=` field."""

    def to_doc(self, record: logging.LogRecord) -> dict[str, object]:
        doc: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC),
            "nivel": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return doc

    def format(self, record: logging.LogRecord) -> str:
        return _encoder.encode(self.to_doc(record)).decode("utf-8", "replace")


class JsonLinesHandler(logging.Handler):
    """A stdlib logging handler feeding the process's `JsonLines` writer."""

    def __init__(self, sink: JsonLines) -> None:
        super().__init__()
        self.sink = sink
        self.formatter_ = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = _encoder.encode(self.formatter_.to_doc(record))
        except Exception:  # a bad `extra=` value: the stdlib's own reporting path
            self.handleError(record)
            return
        self.sink.write(line, urgent=True)


_sink: JsonLines | None = None


def configure_logging(level: str = "info") -> JsonLines:
    """Route `ingest.*` (and the ASGI server's error log) to stderr as JSON lines."""
    global _sink
    if _sink is None:
        _sink = JsonLines(sys.stderr.buffer)
        atexit.register(_sink.close)
    handler = JsonLinesHandler(_sink)
    for name in ("ingest", "uvicorn.error", "litestar"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    return _sink


ACCESS_LOGGER = "ingest.access"


def access_log() -> JsonLines | None:
    """Where the receiver's per-request lines go: the configured writer if `ingest.access`
    logs at INFO, else None (logging not configured, e.g. an app embedded in a test)."""
    if _sink is None or not logging.getLogger(ACCESS_LOGGER).isEnabledFor(logging.INFO):
        return None
    return _sink
