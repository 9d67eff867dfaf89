"""Fuzzing the real receiver: schemathesis (from the OpenAPI contract) and hypothesis bodies.

At least 10,000 requests in a CI-sized run (REL_FUZZ_SCALE multiplies the example counts).
Every answer is checked against an independent oracle (`rel_oracle.judge`): never a 5xx,
every acceptable callback 201 (and then in the lake, verbatim, with the oracle's `avisos`),
everything else the expected 4xx with a problem+json body, and each rejected request from the
token holder quarantined.
"""

from __future__ import annotations

import http.client
import json
import os
import string
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rel_oracle import judge, problem_ok
from schemathesis import GenerationMode
from support.credentials import TOKEN
from support.lake import lake_rows
from support.load import host_port
from support.receiver import ReceiverProc, start_receiver

SCALE = float(os.environ.get("REL_FUZZ_SCALE", "1"))
MAX_BODY = 16 * 1024
BOM = b"\xef\xbb\xbf"
BATCH = 10


def n(examples: int) -> int:
    return max(1, int(examples * SCALE))


class Tally:
    """Everything sent and answered, for the final cross-checks against the lake."""

    def __init__(self) -> None:
        self.requests = 0
        self.by_status: dict[int, int] = {}
        self.accepted: dict[str, set[str]] = {}  # transactionId -> bodies answered 201
        self.avisos: dict[str, tuple[str, ...]] = {}  # body answered 201 -> expected avisos
        self.quarantinable = 0  # 400/413/415/422 answers to the token holder
        self.mismatches: list[str] = []


class Fuzzer:
    """Sends each hypothesis batch over several keep-alive connections at once, so the
    receiver's group commit shares fsyncs as it does under CCEE's real traffic."""

    def __init__(self, rcv: ReceiverProc, threads: int = 8) -> None:
        self.rcv = rcv
        self.host, self.port = host_port(rcv.url)
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="fuzz")
        self.lock = threading.Lock()
        self.tally = Tally()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=15)
        return conn

    def send(
        self,
        body: bytes,
        content_type: str | None = "application/json",
        path: str | None = None,
        method: str = "POST",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str | None, bytes]:
        hdrs = dict(headers or {})
        if content_type is not None:
            hdrs["Content-Type"] = content_type
        for attempt in (1, 2):
            conn = self._conn()
            try:
                conn.request(method, path or f"/ccee/{TOKEN}", body=body, headers=hdrs)
                resp = conn.getresponse()
                content = resp.read()
                break
            except (http.client.HTTPException, ConnectionError) as exc:
                # A server that closes a keep-alive connection is fine; a dead one is not.
                conn.close()
                self.local.conn = None
                assert self.rcv.proc.poll() is None, f"receiver crashed: {exc!r}"
                if attempt == 2:
                    raise
        with self.lock:
            self.tally.requests += 1
            self.tally.by_status[resp.status] = self.tally.by_status.get(resp.status, 0) + 1
        return resp.status, resp.getheader("content-type"), content

    def check_callback(self, body: bytes, content_type: str | None = "application/json") -> int:
        """POST to the token path and hold the answer to the oracle's verdict."""
        status, ctype, content = self.send(body, content_type)
        expected = judge(body, content_type, MAX_BODY)
        where = f"body={body[:200]!r} ctype={content_type!r}"
        assert status < 500, f"5xx {status} for {where}: {content[:300]!r}"
        mismatch = None
        if status != expected.status:
            mismatch = f"[{expected.why}] expected {expected.status}, got {status} for {where}"
        if status != 201:
            problem = problem_ok(status, ctype, content)
            assert problem is None, f"{status} without a problem body ({problem}) for {where}"
            if expected.motivo and status == expected.status:
                motivo = json.loads(content)["motivo"]
                if motivo != expected.motivo:
                    mismatch = f"motivo {motivo} != {expected.motivo} ({where})"
        with self.lock:
            if mismatch:
                self.tally.mismatches.append(mismatch)
            if status == 201:
                tid = json.loads(body.removeprefix(BOM))["transactionId"]
                self.tally.accepted.setdefault(tid, set()).add(body.decode("utf-8"))
                self.tally.avisos[body.decode("utf-8")] = expected.avisos
            else:
                self.tally.quarantinable += status in (400, 413, 415, 422)
        return status

    def check_all(self, items: Sequence[tuple[bytes, str | None]]) -> list[int]:
        """Every (body, content type) at once; returns the statuses in order."""
        futures = [self.pool.submit(self.check_callback, b, c) for b, c in items]
        return [f.result() for f in futures]

    def close(self) -> None:
        self.pool.shutdown(wait=True)


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzer]:
    data_dir = tmp_path_factory.mktemp("fuzz") / "data"
    rcv = start_receiver(data_dir, "--max-body", f"{MAX_BODY}", "--log-level", "warning")
    f = Fuzzer(rcv)
    yield f
    f.close()
    rcv.stop()


# -- strategies --------------------------------------------------------------------------

text = st.text(st.characters(codec="utf-8"), max_size=24)
_code_part = st.text(string.ascii_uppercase + string.digits + "_", min_size=1, max_size=10)
event_code = st.builds(lambda a, b: f"{a}.{b}", _code_part, _code_part)
metadado = st.fixed_dictionaries({"nome": text, "valor": text})
json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | text | st.floats(
    allow_nan=False, allow_infinity=False
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=6,
)


@st.composite
def valid_message(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "eventoNotificacao": draw(event_code),
        "metadados": draw(st.lists(metadado, max_size=6)),
        "transactionId": str(draw(st.uuids())),
    }
    doc.update(draw(st.dictionaries(text.filter(lambda k: k not in doc), json_values, max_size=2)))
    return doc


def _encode(doc: Any, pretty: bool) -> bytes:
    return json.dumps(doc, ensure_ascii=not pretty, indent=2 if pretty else None).encode("utf-8")


@st.composite
def mutated_message(draw: st.DrawFn) -> dict[str, Any]:
    """A valid message with one field broken in a way CCEE's contract forbids."""
    doc = draw(valid_message())
    field = draw(st.sampled_from(["eventoNotificacao", "metadados", "transactionId", "item"]))
    if field == "item":
        doc["metadados"] = [*doc["metadados"], draw(json_values)]
    elif field == "eventoNotificacao":
        doc[field] = draw(
            json_values
            | st.sampled_from(["contrato.registrado", "A.B\n", "A..B", ".B", "A.", "Á.B", "A.B.C"])
            | event_code.map(lambda c: c + draw(st.sampled_from(["\n", " ", "\t", "\r\n"])))
        )
    elif field == "transactionId":
        doc[field] = draw(
            json_values
            | st.uuids().map(lambda u: str(u) + "\n")
            | st.uuids().map(lambda u: "{" + str(u) + "}")
            | st.uuids().map(lambda u: u.hex)
        )
    else:
        doc[field] = draw(json_values)
    if draw(st.booleans()):
        doc.pop(field if field != "item" else "metadados", None)
    return doc


content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json;charset=UTF8",
        "application/cloudevents+json",
        None,
        "application/json; charset=latin-1",
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "APPLICATION/JSON",
        "",
    ]
) | st.text(string.printable.strip() + " ", max_size=30)


def _requests(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(strategy, min_size=BATCH, max_size=BATCH)


FUZZ_SETTINGS: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "derandomize": True,
    "suppress_health_check": list(HealthCheck),
}


# -- hypothesis --------------------------------------------------------------------------


def test_valid_callbacks_are_all_acknowledged(fuzzer: Fuzzer) -> None:
    """Each message is sent as CCEE would and as retries would: compact, pretty, with a BOM."""

    @settings(max_examples=n(320), **FUZZ_SETTINGS)
    @given(st.lists(valid_message(), min_size=5, max_size=5))
    def run(batch: list[dict[str, Any]]) -> None:
        items = [
            (body, "application/json")
            for doc in batch
            for body in (_encode(doc, False), _encode(doc, True), BOM + _encode(doc, False))
        ]
        assert fuzzer.check_all(items) == [201] * len(items)

    run()


def test_mutated_callbacks_get_the_contracts_answer(fuzzer: Fuzzer) -> None:
    """Deviations the contract allows are stored and flagged; the rest is refused."""
    @settings(max_examples=n(200), **FUZZ_SETTINGS)
    @given(st.lists(mutated_message(), min_size=5, max_size=5))
    def run(batch: list[dict[str, Any]]) -> None:
        fuzzer.check_all(
            [(_encode(d, pretty), "application/json") for d in batch for pretty in (False, True)]
        )

    run()


def test_arbitrary_json_and_bytes(fuzzer: Fuzzer) -> None:
    body = (
        json_values.map(lambda v: json.dumps(v).encode())
        | st.binary(max_size=300)
        | st.binary(max_size=64).map(lambda b: b"\xef\xbb\xbf" + b)
        | valid_message().map(lambda d: _encode(d, False)[: len(_encode(d, False)) // 2])
        | valid_message().map(lambda d: "\ufeff".encode() + _encode(d, True))
        | st.integers(MAX_BODY - 64, MAX_BODY + 64).map(
            lambda size: (b'{"x":"' + b"a" * size + b'"}')[:size]
        )
    )

    @settings(max_examples=n(200), **FUZZ_SETTINGS)
    @given(_requests(body))
    def run(batch: list[bytes]) -> None:
        fuzzer.check_all([(b, "application/json") for b in batch])

    run()


def test_content_types(fuzzer: Fuzzer) -> None:
    @settings(max_examples=n(100), **FUZZ_SETTINGS)
    @given(_requests(st.tuples(valid_message(), content_types)))
    def run(batch: list[tuple[dict[str, Any], str | None]]) -> None:
        fuzzer.check_all([(_encode(doc, False), ctype) for doc, ctype in batch])

    run()


# -- schemathesis ------------------------------------------------------------------------


def test_schemathesis_against_the_openapi_contract(fuzzer: Fuzzer) -> None:
    """Positive and negative cases generated from the receiver's contract."""
    served = httpx.get(f"{fuzzer.rcv.url}/openapi.json", timeout=5)
    assert served.status_code == 200
    raw = served.json()
    # Pin the path's token to the configured one, so fuzzing reaches validation, not the 404.
    (token_param,) = raw["paths"]["/ccee/{token}"]["post"]["parameters"]
    token_param["schema"]["enum"] = [TOKEN]
    schema = schemathesis.openapi.from_dict(raw)
    ops = [r.ok() for r in schema.get_all_operations()]  # type: ignore[union-attr]
    strategies = [
        op.as_strategy(generation_mode=mode)
        for op in ops
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]

    # Schemathesis' generation costs ~50 ms per case here: fewer cases, all checked.
    @settings(max_examples=n(60), **FUZZ_SETTINGS)
    @given(st.lists(st.one_of(strategies), min_size=5, max_size=5))
    def run(batch: list[Any]) -> None:
        for case in batch:
            path = case.formatted_path
            if case.method == "GET":
                status, ctype, content = fuzzer.send(b"", None, path, "GET")
                assert status < 500 or path == "/readyz", f"GET {path}: {status}"
                continue
            media = case.media_type or "application/json"
            body = case.body if isinstance(case.body, bytes) else _schemathesis_body(case.body)
            if path == f"/ccee/{TOKEN}":
                fuzzer.check_callback(body, media)
            else:  # a negative path parameter: nobody is listening there
                status, ctype, content = fuzzer.send(body, media, path)
                assert 400 <= status < 500, f"{status} for {path!r}"
                assert problem_ok(status, ctype, content) is None

    run()


def _schemathesis_body(body: Any) -> bytes:
    if body is None or type(body).__name__ == "NotSet":
        return b""
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    return json.dumps(body).encode("utf-8", "surrogatepass")


# -- the outcome, cross-checked against the lake ----------------------------------------


def test_fuzz_outcome_matches_the_lake(fuzzer: Fuzzer) -> None:
    """Runs last in this module: the lake holds every 201'd body verbatim, nothing else."""
    t = fuzzer.tally
    assert fuzzer.rcv.proc.poll() is None, "the receiver died during fuzzing"
    rss_kib = _rss_kib(fuzzer.rcv.proc.pid)
    fuzzer.rcv.stop()
    stored = lake_rows(fuzzer.rcv.data_dir, "SELECT transaction_id, corpo, avisos FROM t")
    by_tid: dict[str, set[str]] = {}
    wrong_avisos = []
    for tid, corpo, avisos in stored:
        by_tid.setdefault(tid, set()).add(corpo)
        if tuple(avisos) != t.avisos.get(corpo):
            wrong_avisos.append(f"{corpo[:120]!r}: stored {avisos}, expected {t.avisos.get(corpo)}")
    assert wrong_avisos == [], "avisos disagree with the contract:\n" + "\n".join(wrong_avisos[:6])
    for tid, bodies in t.accepted.items():
        assert bodies <= by_tid.get(tid, set()), f"acknowledged body of {tid} not stored verbatim"
    assert set(by_tid) == set(t.accepted), "the lake holds a delivery that was never acknowledged"
    quarantined = lake_rows(fuzzer.rcv.data_dir, "SELECT count(*) FROM t", "quarentena")
    assert quarantined == [(t.quarantinable,)], "every refused request is quarantined"
    assert not any(s >= 500 for s in t.by_status), t.by_status
    print(
        f"\nREL-NUMBERS fuzz: requests={t.requests} status={dict(sorted(t.by_status.items()))} "
        f"5xx=0 accepted_ids={len(t.accepted)} quarantined={t.quarantinable} "
        f"flagged={sum(1 for a in t.avisos.values() if a)} "
        f"oracle_mismatches={len(t.mismatches)} receiver_rss_kib={rss_kib}"
    )
    assert t.requests >= 10_000 * min(SCALE, 1.0)
    kinds = sorted({m.partition("]")[0].strip("[") for m in t.mismatches})
    assert t.mismatches == [], f"receiver disagrees with the contract ({kinds}):\n" + "\n".join(
        sorted(set(t.mismatches))[:6]
    )


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1
