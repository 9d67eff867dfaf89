"""Hostile requests against the real receiver: bounded memory, bounded time, clear errors.

Oversized bodies (declared and streamed), slow bodies (slowloris-style, bounded to a few
seconds), deep JSON nesting, invalid UTF-8, header floods, a huge path. After each, the
receiver still answers a valid callback with 201 and its memory stays bounded.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from rel_oracle import problem_ok
from support.callbacks import body_for
from support.credentials import TOKEN
from support.lake import settled
from support.load import host_port
from support.receiver import ReceiverProc, start_receiver
from support.waiting import wait_until

from ingest.wal import unpublished_bytes

MAX_BODY = 64 * 1024


@pytest.fixture(scope="module")
def rcv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReceiverProc]:
    r = start_receiver(tmp_path_factory.mktemp("hostile") / "data", "--max-body", "64KiB")
    yield r
    r.stop()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def raw_exchange(rcv: ReceiverProc, payload: bytes, timeout: float = 20) -> bytes:
    """Send raw bytes on a fresh connection; return everything read until the server closes
    or answers one response (bounded by `timeout`)."""
    host, port = host_port(rcv.url)
    with socket.create_connection((host, port), timeout=timeout) as s:
        # The server may answer and close before reading everything: fine.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            s.sendall(payload)
        s.settimeout(timeout)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                head, _, rest = data.partition(b"\r\n\r\n")
                length = [
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ]
                if length and len(rest) >= length[0]:
                    break
        return data


def status_of(response: bytes) -> int:
    assert response.startswith(b"HTTP/1.1 "), response[:200]
    return int(response.split(b" ", 2)[1])


def problem_of(response: bytes) -> dict[str, object]:
    head, _, body = response.partition(b"\r\n\r\n")
    ctype = next(
        line.split(b":", 1)[1].strip().decode()
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-type:")
    )
    assert problem_ok(status_of(response), ctype, body) is None, response[:500]
    return json.loads(body)


def request(path: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    hdrs = {"Host": "127.0.0.1", "Content-Type": "application/json", "Connection": "close"}
    hdrs.update(headers or {})
    if "Content-Length" not in hdrs and "Transfer-Encoding" not in hdrs:
        hdrs["Content-Length"] = str(len(body))
    head = "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
    return f"POST {path} HTTP/1.1\r\n{head}\r\n".encode() + body


def still_serving(rcv: ReceiverProc) -> None:
    assert rcv.proc.poll() is None, "the receiver died"
    assert rcv.post(body_for()).status_code == 201


def test_oversized_bodies_are_refused_early_with_413(rcv: ReceiverProc) -> None:
    before = rss_kib(rcv.proc.pid)
    # Declared 200 MiB, sends 1 MiB then stops: answered without waiting for the rest.
    started = time.monotonic()
    head = request(f"/ccee/{TOKEN}", b"", {"Content-Length": str(200 * 1024 * 1024)})
    resp = raw_exchange(rcv, head + b"{" + b" " * (1024 * 1024), timeout=20)
    assert status_of(resp) == 413
    assert problem_of(resp)["motivo"] == "corpo_grande_demais"
    # Streamed (chunked, no length) 8 MiB: refused as soon as the limit is crossed.
    chunk = b"a" * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(128)) + b"0\r\n\r\n"
    resp = raw_exchange(
        rcv, request(f"/ccee/{TOKEN}", chunks, {"Transfer-Encoding": "chunked"}), timeout=20
    )
    assert status_of(resp) == 413
    elapsed = time.monotonic() - started
    still_serving(rcv)
    grown = rss_kib(rcv.proc.pid) - before
    assert grown < 48 * 1024, f"memory grew by {grown} KiB for bodies it must not buffer"
    print(f"\nREL-NUMBERS hostile oversized: 413 in {elapsed:.2f}s, rss_growth_kib={grown}")


def test_slow_bodies_do_not_block_other_senders(rcv: ReceiverProc) -> None:
    """40 connections trickle a body a few bytes at a time for ~3 s (bounded) while normal
    deliveries keep being acknowledged; the slow ones are then answered correctly too."""
    host, port = host_port(rcv.url)
    results: list[int] = []
    lock = threading.Lock()

    def slow_sender(i: int) -> None:
        body = body_for(str(uuid.uuid4()))
        payload = request(f"/ccee/{TOKEN}", body)
        with socket.create_connection((host, port), timeout=30) as s:
            step = max(1, len(payload) // 30)
            for k in range(0, len(payload), step):
                s.sendall(payload[k : k + step])
                time.sleep(0.1)  # the trickle itself, not synchronisation
            data = s.recv(65536)
        with lock:
            results.append(status_of(data))

    threads = [threading.Thread(target=slow_sender, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    fast = [rcv.post(body_for()).status_code for _ in range(50)]
    for t in threads:
        t.join(timeout=60)
    assert fast == [201] * 50
    assert results == [201] * 40


def test_deep_json_nesting_is_a_clear_400_or_422(rcv: ReceiverProc) -> None:
    for depth in (1_000, 10_000, 30_000):
        nested = b"[" * depth + b"]" * depth
        for body in (nested, b'{"x":' + nested + b"}", body_for()[:-1] + b',"x":' + nested + b"}"):
            resp = raw_exchange(rcv, request(f"/ccee/{TOKEN}", body))
            assert status_of(resp) in (400, 422), resp[:300]
            problem_of(resp)
    still_serving(rcv)


def test_invalid_utf8_is_a_clear_400(rcv: ReceiverProc) -> None:
    for bad in (b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"):
        body = body_for().replace(b"42", bad)
        resp = raw_exchange(rcv, request(f"/ccee/{TOKEN}", body))
        assert status_of(resp) == 400
        problem = problem_of(resp)
        assert problem["motivo"] == "utf8_invalido" and "offset" in str(problem["detail"])


def test_header_floods_and_huge_paths_are_bounded(rcv: ReceiverProc) -> None:
    before = rss_kib(rcv.proc.pid)
    floods = {
        "many headers": {f"X-Flood-{i}": "v" * 50 for i in range(5_000)},
        "one huge header": {"X-Huge": "h" * 1_000_000},
    }
    for name, headers in floods.items():
        started = time.monotonic()
        resp = raw_exchange(rcv, request(f"/ccee/{TOKEN}", body_for(), headers), timeout=20)
        took = time.monotonic() - started
        assert resp == b"" or status_of(resp) < 500, f"{name}: {resp[:200]!r}"
        assert took < 20, f"{name} took {took:.1f}s"
    resp = raw_exchange(rcv, request(f"/ccee/{TOKEN}/" + "p" * 200_000, body_for()))
    assert resp == b"" or 400 <= status_of(resp) < 500 or status_of(resp) == 201
    wait_until(lambda: rcv.ready(), 10, "receiver ready after floods")
    still_serving(rcv)
    grown = rss_kib(rcv.proc.pid) - before
    assert grown < 64 * 1024, f"memory grew by {grown} KiB after header floods"


def test_wrong_token_and_wrong_methods_store_nothing(rcv: ReceiverProc) -> None:
    settled(rcv.data_dir)  # earlier tests' deliveries are all published
    before = len(list((rcv.data_dir / "lake").rglob("*.parquet")))
    for path in ("/ccee/not-the-token", "/ccee/", "/ccee", f"/ccee/{TOKEN[:-1]}", "/x/../ccee"):
        resp = raw_exchange(rcv, request(path, body_for()))
        assert 400 <= status_of(resp) < 500, (path, resp[:200])
        problem_of(resp)
    resp = raw_exchange(
        rcv, f"DELETE /ccee/{TOKEN} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    )
    assert status_of(resp) == 405
    assert TOKEN not in resp.decode("utf-8", "replace")
    assert unpublished_bytes(rcv.data_dir / "lake") == 0  # nothing reached the WAL either
    after = len(list((rcv.data_dir / "lake").rglob("*.parquet")))
    assert after == before
