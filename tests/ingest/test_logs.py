"""The receiver's JSON-lines writer: batched off the caller's thread, ordered, never raising."""

from __future__ import annotations

import io
import logging
import threading

import msgspec
from support.waiting import wait_until

from ingest.logs import JsonLines, JsonLinesHandler


class Stream(io.BytesIO):
    """A binary stream that records from which thread each write came."""

    def __init__(self) -> None:
        super().__init__()
        self.writers: set[str] = set()

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.writers.add(threading.current_thread().name)
        return super().write(data)

    def lines(self) -> list[dict[str, object]]:
        return [msgspec.json.decode(x) for x in self.getvalue().splitlines()]


def test_lines_are_written_by_the_writer_thread_in_order() -> None:
    stream = Stream()
    sink = JsonLines(stream, delay=0.01)
    for i in range(50):
        sink.emit({"n": i, "destino": "/ccee/***"})
    wait_until(lambda: len(stream.lines()) == 50, what="50 lines")
    assert [x["n"] for x in stream.lines()] == list(range(50))
    assert stream.writers == {"json-lines"}  # never the caller (the event loop)
    sink.close()


def test_urgent_line_is_written_before_returning_after_queued_ones() -> None:
    stream = Stream()
    sink = JsonLines(stream, delay=60)  # the thread would wait a minute
    sink.emit({"n": 1})
    assert stream.getvalue() == b""
    sink.write(b'{"n":2}', urgent=True)
    assert [x["n"] for x in stream.lines()] == [1, 2]
    sink.emit({"n": 3})
    sink.close()  # flushes what is left
    assert [x["n"] for x in stream.lines()] == [1, 2, 3]


def test_stdlib_records_go_through_the_same_writer_as_json() -> None:
    stream = Stream()
    sink = JsonLines(stream, delay=60)
    logger = logging.getLogger("ingest.test_logs")
    logger.handlers[:] = [JsonLinesHandler(sink)]
    logger.propagate = False
    logger.warning("disk full", extra={"tabela": "notificacoes"})
    (line,) = stream.lines()
    assert line["nivel"] == "warning" and line["msg"] == "disk full"
    assert line["tabela"] == "notificacoes" and line["logger"] == "ingest.test_logs"
    sink.close()


def test_a_broken_stream_never_raises_into_the_caller() -> None:
    class Broken(io.RawIOBase):
        def write(self, data: object) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    sink = JsonLines(Broken(), delay=0.001)  # type: ignore[arg-type]
    sink.emit({"n": 1})
    sink.write(b"{}", urgent=True)
    sink.close()
