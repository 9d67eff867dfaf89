"""CCEE's callback contract, through Litestar's test client on `ingest.app.create_app`
(in process: the contract is the point, not the process); the log check uses a real `serve`."""

from __future__ import annotations

import json
from collections.abc import Callable
import uuid

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.callbacks import body_for
from support.credentials import PERFIL, TOKEN, TOKEN2
from support.lake import lake_data_files, lake_rows
from support.paths import CALLBACK_SAMPLE
from support.receiver import InProcessReceiver, ReceiverProc

PROBLEM = "application/problem+json"


def notificacao(rcv: InProcessReceiver, tid: str) -> list[tuple]:  # type: ignore[type-arg]
    return lake_rows(rcv.data_dir, table="notificacoes", sql="select transaction_id, evento_notificacao, metadados, recebido_em, destino, perfil, "
        f"corpo, instancia from t where transaction_id = '{tid}' order by recebido_em",
    )


def test_exact_ccee_sample_is_stored_verbatim(receiver: InProcessReceiver) -> None:
    raw = CALLBACK_SAMPLE.read_bytes()
    tid = json.loads(raw)["transactionId"]
    before = len(notificacao(receiver, tid))
    r = receiver.post(path=f"/ccee/{TOKEN}/contratos", content=raw)
    assert r.status_code == 201, r.text
    assert r.json()["transactionId"] == tid
    rows = notificacao(receiver, tid)
    assert len(rows) == before + 1
    _, evento, metadados, recebido_em, destino, perfil, corpo, instancia = rows[-1]
    assert evento == "CONTRATO.REGISTRADO"
    assert metadados == [
        {"nome": "ID_CONTRATO", "valor": "1234"},
        {"nome": "DATA_ORIGEM_EVENTO", "valor": "2021-05-11T05:30:00.000Z"},
        {"nome": "MES_REFERENCIA", "valor": "null"},  # the string, not SQL NULL
        {"nome": "AMBIENTE_CONTRATACAO", "valor": "ACL"},
    ]
    assert corpo == raw.decode()
    assert destino == "/ccee/***/contratos"
    assert perfil == PERFIL
    assert recebido_em.tzinfo is not None
    assert instancia


def test_duplicates_are_acknowledged_and_recorded_again(receiver: InProcessReceiver) -> None:
    tid = str(uuid.uuid4())
    body = body_for(tid)
    for _ in range(3):
        assert receiver.post(path=f"/ccee/{TOKEN2}", content=body).status_code == 201
    rows = notificacao(receiver, tid)
    assert len(rows) == 3
    assert {r[5] for r in rows} == {None}  # unlabelled token: no perfil
    assert {r[4] for r in rows} == {"/ccee/***"}
    metrics = receiver.client.get("/metrics").text
    dup = next(x for x in metrics.splitlines() if x.startswith("ccee_webhook_duplicates_seen"))
    assert int(dup.split()[-1]) >= 2


def test_unknown_fields_unicode_names_and_charset_are_accepted(receiver: InProcessReceiver) -> None:
    tid = str(uuid.uuid4())
    doc = {
        "eventoNotificacao": "MONTANTE_ENERGIA.AJUSTADO",
        "metadados": [{"nome": "MÊS_DE_REFERÊNCIA ☀", "valor": "ação"}, {"nome": "", "valor": ""}],
        "transactionId": tid,
        "campoNovo": {"qualquer": [1, 2]},
    }
    raw = json.dumps(doc, ensure_ascii=False, indent=1).encode()
    r = receiver.post(path=f"/ccee/{TOKEN}", content=raw, content_type="application/json; charset=UTF-8")
    assert r.status_code == 201, r.text
    (row,) = notificacao(receiver, tid)
    assert row[2][0] == {"nome": "MÊS_DE_REFERÊNCIA ☀", "valor": "ação"}
    assert row[6] == raw.decode()  # extra field kept in the verbatim body


BAD_INPUTS = [
    # (id, body, content type, status, motivo, campo)
    (
        "malformed-json",
        b'{"eventoNotificacao": "A.B", "metadados": [',
        "application/json",
        400,
        "json_invalido",
        None,
    ),
    ("empty-body", b"", "application/json", 400, "json_invalido", None),
    (
        "invalid-utf8",
        b'{"eventoNotificacao": "A.\xff\xfe"}',
        "application/json",
        400,
        "utf8_invalido",
        None,
    ),
    ("not-json-type", body_for(), "text/plain", 415, "tipo_de_conteudo", None),
    ("form-type", body_for(), "application/x-www-form-urlencoded", 415, "tipo_de_conteudo", None),
    (
        "latin1-charset",
        body_for(),
        "application/json; charset=iso-8859-1",
        415,
        "tipo_de_conteudo",
        None,
    ),
    (
        "transaction-id-not-uuid",
        body_for("not-a-uuid"),
        "application/json",
        422,
        "schema_invalido",
        "$.transactionId",
    ),
    (
        "lowercase-event",
        body_for(evento="contrato.registrado"),
        "application/json",
        422,
        "schema_invalido",
        "$.eventoNotificacao",
    ),
    (
        "event-without-dot",
        body_for(evento="CONTRATO"),
        "application/json",
        422,
        "schema_invalido",
        "$.eventoNotificacao",
    ),
    (
        "valor-not-string",
        b'{"eventoNotificacao":"A.B","metadados":[{"nome":"X","valor":1}],'
        b'"transactionId":"12345678-1234-1234-1234-123465789012"}',
        "application/json",
        422,
        "schema_invalido",
        "$.metadados[0].valor",
    ),
    (
        "missing-metadados",
        b'{"eventoNotificacao":"A.B","transactionId":"12345678-1234-1234-1234-123465789012"}',
        "application/json",
        422,
        "schema_invalido",
        "$.metadados",
    ),
    ("array-body", b"[1,2,3]", "application/json", 422, "schema_invalido", "$"),
    (
        "too-large",
        b'{"x":"' + b"a" * 6000 + b'"}',
        "application/json",
        413,
        "corpo_grande_demais",
        None,
    ),
]


@pytest.mark.parametrize(
    ("body", "ctype", "status", "motivo", "campo"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_gets_a_problem_and_is_quarantined(
    receiver: InProcessReceiver, body: bytes, ctype: str, status: int, motivo: str, campo: str | None
) -> None:
    marker = uuid.uuid4().hex.encode()
    # A unique marker in the path tail lets us find this request's quarantine row.
    path = f"/ccee/{TOKEN}/{marker.decode()}"
    r = receiver.post(path=path, content=body, content_type=ctype)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["status"] == status
    assert problem["motivo"] == motivo
    assert problem["type"].endswith(motivo)
    assert problem["title"] and problem["detail"]
    if campo is not None:
        assert problem["campo"] == campo
    rows = [
        q
        for q in lake_rows(receiver.data_dir, table="quarentena", sql="select motivo, detalhe, status_http, content_type, tamanho, corpo, destino, perfil "
            "from t",
        )
        if q[6].endswith(marker.decode())
    ]
    assert len(rows) == 1
    q_motivo, detalhe, status_http, content_type, tamanho, corpo, destino, perfil = rows[0]
    assert (q_motivo, status_http, content_type) == (motivo, status, ctype)
    assert detalhe == problem["detail"]
    assert destino == f"/ccee/***/{marker.decode()}"
    assert perfil == PERFIL
    assert tamanho == len(body)
    assert bytes(corpo) == body[: 64 * 1024]


def test_missing_content_type_is_read_as_json(receiver: InProcessReceiver) -> None:
    tid = str(uuid.uuid4())
    assert receiver.post(path=f"/ccee/{TOKEN}", content=body_for(tid), content_type=None).status_code == 201
    assert len(notificacao(receiver, tid)) == 1


@pytest.mark.parametrize(
    "path", ["/ccee/wrong-token", f"/ccee/{TOKEN}x", "/ccee", "/ccee/", f"/ccee/x/{TOKEN}"]
)
def test_unknown_or_missing_token_is_404_and_nothing_is_stored(
    receiver: InProcessReceiver, path: str
) -> None:
    before = lake_data_files(receiver.data_dir)
    for body in (body_for(), b"garbage \xff"):
        r = receiver.post(path=path, content=body)
        assert r.status_code == 404
        assert r.headers["content-type"] == PROBLEM
        assert TOKEN not in r.text
    assert lake_data_files(receiver.data_dir) == before


def test_health_ready_metrics(receiver: InProcessReceiver) -> None:
    assert receiver.client.get("/healthz").status_code == 200
    assert receiver.client.get("/readyz").status_code == 200
    receiver.post(path="/ccee/nope", content=body_for())
    text = receiver.client.get("/metrics").text
    assert 'ccee_webhook_rejected_total{motivo="token_desconhecido"}' in text
    assert f'ccee_webhook_deliveries_accepted_total{{perfil="{PERFIL}"}}' in text
    assert "ccee_webhook_lake_flush_seconds_bucket" in text
    assert TOKEN not in text and TOKEN2 not in text


def metric(text: str, name: str) -> float:
    return float(next(x for x in text.splitlines() if x.startswith(name)).rsplit(" ", 1)[1])


def test_metrics_follow_deliveries_from_the_wal_to_parquet(receiver: InProcessReceiver) -> None:
    flushed = 'ccee_webhook_lake_rows_flushed_total{tabela="notificacoes"}'
    published = 'ccee_webhook_lake_rows_published_total{tabela="notificacoes"}'
    unpublished = 'ccee_webhook_lake_unpublished_rows{tabela="notificacoes"}'
    tid = str(uuid.uuid4())
    assert receiver.post(path=f"/ccee/{TOKEN}", content=body_for(tid)).status_code == 201
    assert len(notificacao(receiver, tid)) == 1  # waits until the lake has settled
    text = receiver.client.get("/metrics").text
    assert metric(text, unpublished) == 0
    assert metric(text, published) == metric(text, flushed) >= 1


def test_openapi_document_describes_the_callback_contract(receiver: InProcessReceiver) -> None:
    doc = receiver.client.get("/openapi.json").json()
    post = doc["paths"]["/ccee/{token}"]["post"]
    assert set(post["responses"]) == {"201", "400", "403", "404", "413", "415", "422", "503"}
    mensagem = doc["components"]["schemas"]["Mensagem"]
    assert set(mensagem["required"]) == {"eventoNotificacao", "metadados", "transactionId"}
    # the served schema is the validation's own, so the two cannot drift apart
    from ccee.mensagem import EVENT_CODE_PATTERN

    assert mensagem["properties"]["eventoNotificacao"]["pattern"] == EVENT_CODE_PATTERN
    assert receiver.post(path=f"/ccee/{TOKEN}", content=body_for(evento="contrato.x")).status_code == 422


def test_wrong_method_and_route_are_problems_not_crashes(receiver: InProcessReceiver) -> None:
    r = receiver.client.get(f"/ccee/{TOKEN}")
    assert r.status_code == 405 and r.headers["content-type"] == PROBLEM
    r = receiver.client.post("/elsewhere", content=b"{}")
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM


def test_tokens_never_reach_logs_or_lake(receiver_factory: Callable[..., ReceiverProc]) -> None:
    receiver = receiver_factory()
    receiver.post(path=f"/ccee/{TOKEN}/x", content=body_for())
    receiver.post(path=f"/ccee/{TOKEN2}", content=b"{bad")
    receiver.post(path="/ccee/guess-token", content=body_for())
    receiver.post(path=f"/ccee/{TOKEN}/{TOKEN2}/{TOKEN}", content=body_for())
    log = receiver.log()
    assert TOKEN not in log and TOKEN2 not in log
    assert "guess-token" not in log
    for path in lake_data_files(receiver.data_dir):
        data = path.read_bytes()
        assert TOKEN.encode() not in data and TOKEN2.encode() not in data
    # One structured line per request, carrying the transactionId when there is one.
    lines = [msgspec.json.decode(x) for x in log.splitlines() if '"ingest.access"' in x]
    assert lines and all({"status", "destino", "ms"} <= set(x) for x in lines)
    assert any("transaction_id" in x and x["status"] == 201 for x in lines)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
NEAR_MISS = st.fixed_dictionaries(
    {
        "eventoNotificacao": st.one_of(st.text(max_size=30), st.just("CONTRATO.REGISTRADO")),
        "metadados": st.lists(
            st.fixed_dictionaries({"nome": st.text(max_size=10), "valor": JSON_VALUES}),
            max_size=3,
        ),
        "transactionId": st.one_of(st.uuids().map(str), st.text(max_size=40)),
    }
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.one_of(
        st.binary(max_size=300),
        JSON_VALUES.map(lambda v: json.dumps(v).encode()),
        NEAR_MISS.map(lambda v: json.dumps(v, ensure_ascii=False).encode()),
    ),
    ctype=st.sampled_from(
        [
            None,
            "application/json",
            "text/plain",
            "application/problem+json",
            "a/b; charset=x",
            "application/json; charset=latin1",
            "application/json;;;",
        ]
    ),
)
def test_no_input_gets_a_5xx(receiver: InProcessReceiver, body: bytes, ctype: str | None) -> None:
    r = receiver.post(path=f"/ccee/{TOKEN}/fuzz", content=body, content_type=ctype)
    assert r.status_code in (201, 400, 413, 415, 422), r.text
    if r.status_code != 201:
        assert r.headers["content-type"] == PROBLEM and r.json()["status"] == r.status_code
