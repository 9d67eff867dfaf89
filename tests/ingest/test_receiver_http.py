"""CCEE's callback contract over HTTP: the app in process (Litestar's test client, the
`receiver` fixture), and a real `ccee-webhook serve` (`served`) where its access log or a raw
socket is the point."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.callbacks import body_for
from support.credentials import PERFIL, TOKEN, TOKEN2
from support.lake import lake_data_files, lake_rows
from support.paths import CALLBACK_SAMPLE
from support.receiver import InProcessReceiver, ReceiverProc, start_receiver
from support.waiting import wait_until

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReceiverProc]:
    """One `serve` process for the tests that read its log or talk to its socket."""
    rcv = start_receiver(tmp_path_factory.mktemp("served") / "data", "--max-body", "4KiB")
    yield rcv
    rcv.stop()


def notificacao(rcv: InProcessReceiver | ReceiverProc, tid: str) -> list[tuple]:  # type: ignore[type-arg]
    return lake_rows(
        rcv.data_dir,
        table="notificacoes",
        sql="select transaction_id, evento_notificacao, metadados, recebido_em, destino, "
        f"perfil, corpo, instancia, avisos from t where transaction_id = '{tid}' "
        "order by recebido_em",
    )


def test_exact_ccee_sample_is_stored_verbatim(receiver: InProcessReceiver) -> None:
    raw = CALLBACK_SAMPLE.read_bytes()
    tid = json.loads(raw)["transactionId"]
    before = len(notificacao(receiver, tid))
    r = receiver.post(raw, f"/ccee/{TOKEN}/contratos")
    assert r.status_code == 201, r.text
    assert r.json()["transactionId"] == tid
    rows = notificacao(receiver, tid)
    assert len(rows) == before + 1
    _, evento, metadados, recebido_em, destino, perfil, corpo, instancia, avisos = rows[-1]
    assert avisos == []  # the usual shape: nothing to flag
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
        assert receiver.post(body, f"/ccee/{TOKEN2}").status_code == 201
    rows = notificacao(receiver, tid)
    assert len(rows) == 3
    assert {r[5] for r in rows} == {None}  # unlabelled token: no perfil
    assert {r[4] for r in rows} == {"/ccee/***"}
    metrics = receiver.client.get("/metrics").text
    dup = next(x for x in metrics.splitlines() if x.startswith("ccee_webhook_duplicates_seen"))
    assert float(dup.split()[-1]) >= 2


def test_unknown_fields_unicode_names_and_charset_are_accepted(receiver: InProcessReceiver) -> None:
    tid = str(uuid.uuid4())
    doc = {
        "eventoNotificacao": "MONTANTE_ENERGIA.AJUSTADO",
        "metadados": [{"nome": "MÊS_DE_REFERÊNCIA ☀", "valor": "ação"}, {"nome": "", "valor": ""}],
        "transactionId": tid,
        "campoNovo": {"qualquer": [1, 2]},
    }
    raw = json.dumps(doc, ensure_ascii=False, indent=1).encode()
    r = receiver.post(raw, f"/ccee/{TOKEN}", "application/json; charset=UTF-8")
    assert r.status_code == 201, r.text
    (row,) = notificacao(receiver, tid)
    assert row[2][0] == {"nome": "MÊS_DE_REFERÊNCIA ☀", "valor": "ação"}
    assert row[6] == raw.decode()  # extra field kept in the verbatim body
    assert row[8] == ["campo_extra"]


UUID_OK = "12345678-1234-1234-1234-123465789012"
#: Bodies CCEE's contract allows though they depart from the usual shape: 201, stored, flagged.
#: (id, body, avisos stored, metadados stored)
DEVIATING = [
    (
        "transaction-id-not-uuid",
        {
            "eventoNotificacao": "A.B",
            "metadados": [{"nome": "X", "valor": "1"}],
            "transactionId": "{tid}",
        },
        ["transaction_id_nao_uuid"],
        [{"nome": "X", "valor": "1"}],
    ),
    (
        "lowercase-event",
        {"eventoNotificacao": "contrato.registrado", "metadados": [], "transactionId": "{uuid}"},
        ["codigo_fora_do_padrao", "metadados_vazios"],
        [],
    ),
    (
        "event-without-dot",
        {
            "eventoNotificacao": "CONTRATO",
            "metadados": [{"nome": "A", "valor": "b"}],
            "transactionId": "{uuid}",
        },
        ["codigo_fora_do_padrao"],
        [{"nome": "A", "valor": "b"}],
    ),
    (
        "missing-metadados",
        {"eventoNotificacao": "A.B", "transactionId": "{uuid}"},
        ["metadados_ausentes"],
        [],
    ),
    (
        "metadados-not-a-list",
        {"eventoNotificacao": "A.B", "metadados": {"ID": "42"}, "transactionId": "{uuid}"},
        ["metadados_nao_lista"],
        [],
    ),
    (
        "odd-entries",
        {
            "eventoNotificacao": "A.B",
            "metadados": [
                {"nome": "N", "valor": 1.5},
                {"nome": "B", "valor": True},
                {"nome": "O", "valor": {"x": [1]}},
                {"nome": "SEM_VALOR"},
                {"valor": "sem nome"},
                {"nome": "NULO", "valor": None},
                {"nome": "TXT", "valor": "null", "extra": 1},
                "solto",
                {"nome": 7, "valor": "v"},
            ],
            "transactionId": "{uuid}",
        },
        [
            "metadado_nao_objeto",
            "metadado_campo_extra",
            "nome_ausente",
            "nome_nao_texto",
            "valor_ausente",
            "valor_nulo",
            "valor_nao_texto",
        ],
        [
            {"nome": "N", "valor": "1.5"},
            {"nome": "B", "valor": "true"},
            {"nome": "O", "valor": '{"x":[1]}'},
            {"nome": "SEM_VALOR", "valor": None},
            {"nome": None, "valor": "sem nome"},
            {"nome": "NULO", "valor": None},
            {"nome": "TXT", "valor": "null"},
            {"nome": None, "valor": '"solto"'},
            {"nome": "7", "valor": "v"},
        ],
    ),
    (
        "everything-at-once",
        {"eventoNotificacao": "x", "transactionId": "{tid}", "outro": None},
        ["transaction_id_nao_uuid", "codigo_fora_do_padrao", "campo_extra", "metadados_ausentes"],
        [],
    ),
]


@pytest.mark.parametrize(
    ("doc", "avisos", "metadados"),
    [case[1:] for case in DEVIATING],
    ids=[case[0] for case in DEVIATING],
)
def test_what_the_contract_allows_is_stored_with_its_avisos(
    receiver: InProcessReceiver,
    doc: dict,
    avisos: list[str],
    metadados: list[dict],  # type: ignore[type-arg]
) -> None:
    tid = str(uuid.uuid4())
    if doc["transactionId"] == "{tid}":
        tid = "ccee-" + uuid.uuid4().hex[:10]
    doc = {**doc, "transactionId": tid}
    raw = json.dumps(doc).encode()
    r = receiver.post(raw, f"/ccee/{TOKEN}")
    assert r.status_code == 201, r.text
    assert r.json() == {"status": "recebido", "transactionId": tid}
    (row,) = notificacao(receiver, tid)
    assert row[1] == doc["eventoNotificacao"]
    assert row[2] == metadados
    assert row[6] == raw.decode()  # verbatim, whatever was flagged
    assert row[8] == avisos


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
        "missing-transaction-id",
        b'{"eventoNotificacao":"A.B","metadados":[]}',
        "application/json",
        422,
        "schema_invalido",
        "$.transactionId",
    ),
    (
        "empty-event-code",
        b'{"eventoNotificacao":"","metadados":[],"transactionId":"t-1"}',
        "application/json",
        422,
        "schema_invalido",
        "$.eventoNotificacao",
    ),
    (
        "transaction-id-not-a-string",
        b'{"eventoNotificacao":"A.B","metadados":[],"transactionId":42}',
        "application/json",
        422,
        "schema_invalido",
        "$.transactionId",
    ),
    ("null-body", b"null", "application/json", 422, "schema_invalido", "$"),
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


READABLE_IDS = {
    # invalid UTF-8 inside a value: kept with replacement characters
    b'{"eventoNotificacao": "A.\xff\xfe"}': (None, "A.\ufffd\ufffd"),
    b'{"eventoNotificacao": "A.B", "metadados": [': (None, "A.B"),
    b'{"eventoNotificacao":"A.B","metadados":[]}': (None, "A.B"),
    b'{"eventoNotificacao":"","metadados":[],"transactionId":"t-1"}': ("t-1", None),
    b'{"eventoNotificacao":"A.B","metadados":[],"transactionId":42}': (None, "A.B"),
}


@pytest.mark.parametrize(
    ("body", "ctype", "status", "motivo", "campo"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_gets_a_problem_and_is_quarantined(
    receiver: InProcessReceiver, body: bytes, ctype: str, status: int, motivo: str,
    campo: str | None,
) -> None:
    marker = uuid.uuid4().hex.encode()
    # A unique marker in the path tail lets us find this request's quarantine row.
    path = f"/ccee/{TOKEN}/{marker.decode()}"
    r = receiver.post(body, path, content_type=ctype)
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
        for q in lake_rows(
            receiver.data_dir,
            table="quarentena",
            sql="select motivo, detalhe, status_http, content_type, tamanho, corpo, destino, "
            "perfil, transaction_id, evento_notificacao from t",
        )
        if q[6].endswith(marker.decode())
    ]
    assert len(rows) == 1
    q_motivo, detalhe, status_http, content_type, tamanho, corpo, destino, perfil = rows[0][:8]
    # the ids are read from the body whenever it holds them, even a malformed one
    expected = READABLE_IDS.get(body, (None, None))
    if status == 415:  # a well-formed callback under the wrong media type
        expected = (json.loads(body)["transactionId"], "CONTRATO.REGISTRADO")
    assert rows[0][8:] == expected
    assert (q_motivo, status_http, content_type) == (motivo, status, ctype)
    assert detalhe == problem["detail"]
    assert destino == f"/ccee/***/{marker.decode()}"
    assert perfil == PERFIL
    assert tamanho == len(body)
    assert bytes(corpo) == body[: 64 * 1024]


def test_missing_content_type_is_read_as_json(receiver: InProcessReceiver) -> None:
    tid = str(uuid.uuid4())
    assert receiver.post(body_for(tid), f"/ccee/{TOKEN}", content_type=None).status_code == 201
    assert len(notificacao(receiver, tid)) == 1


@pytest.mark.parametrize(
    "path", ["/ccee/wrong-token", f"/ccee/{TOKEN}x", "/ccee", "/ccee/", f"/ccee/x/{TOKEN}"]
)
def test_unknown_or_missing_token_is_404_and_nothing_is_stored(
    receiver: InProcessReceiver, path: str
) -> None:
    before = lake_data_files(receiver.data_dir)
    for body in (body_for(), b"garbage \xff"):
        r = receiver.post(body, path)
        assert r.status_code == 404
        assert r.headers["content-type"] == PROBLEM
        assert TOKEN not in r.text
    assert lake_data_files(receiver.data_dir) == before


def test_health_ready_metrics(receiver: InProcessReceiver) -> None:
    assert receiver.client.get("/healthz").status_code == 200
    assert receiver.client.get("/readyz").status_code == 200
    receiver.post(body_for(), "/ccee/nope")
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
    assert receiver.post(body_for(tid), f"/ccee/{TOKEN}").status_code == 201
    assert len(notificacao(receiver, tid)) == 1  # waits until the lake has settled
    text = receiver.client.get("/metrics").text
    assert metric(text, unpublished) == 0
    assert metric(text, published) == metric(text, flushed) >= 1


def test_openapi_document_describes_the_callback_contract(receiver: InProcessReceiver) -> None:
    doc = receiver.client.get("/openapi.json").json()
    post = doc["paths"]["/ccee/{token}"]["post"]
    assert set(post["responses"]) == {"201", "400", "403", "404", "413", "415", "422", "503"}
    body = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body == "#/components/schemas/Notificacao"
    accepted = doc["components"]["schemas"]["Notificacao"]
    assert set(accepted["required"]) == {"eventoNotificacao", "transactionId"}
    assert accepted["properties"]["transactionId"] == {"type": "string", "minLength": 1}
    from ingest.validation import AVISOS

    assert all(code in accepted["description"] for code in AVISOS)
    # the usual shape is the simulator's own model, so the two cannot drift apart
    from ccee.mensagem import EVENT_CODE_PATTERN

    usual = doc["components"]["schemas"]["Mensagem"]
    assert usual["properties"]["eventoNotificacao"]["pattern"] == EVENT_CODE_PATTERN
    # as documented: a code off the pattern is accepted, an empty one is not
    assert receiver.post(body_for(evento="contrato.x"), f"/ccee/{TOKEN}").status_code == 201
    assert receiver.post(body_for(evento=""), f"/ccee/{TOKEN}").status_code == 422


def test_wrong_method_and_route_are_problems_not_crashes(receiver: InProcessReceiver) -> None:
    r = receiver.client.get(f"/ccee/{TOKEN}")
    assert r.status_code == 405 and r.headers["content-type"] == PROBLEM
    r = receiver.client.post("/elsewhere", content=b"{}")
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM


def test_tokens_never_reach_logs_or_lake(served: ReceiverProc) -> None:
    before = served.stderr().count('"ingest.access"')
    served.post(body_for(), f"/ccee/{TOKEN}/x")
    served.post(b"{bad", f"/ccee/{TOKEN2}")
    served.post(body_for(), "/ccee/guess-token")
    served.post(body_for(), f"/ccee/{TOKEN}/{TOKEN2}/{TOKEN}")
    # Access lines are written in batches off the event loop: wait for all four.
    wait_until(lambda: served.stderr().count('"ingest.access"') >= 4 + before, what="access lines")
    log = served.stderr()
    assert TOKEN not in log and TOKEN2 not in log
    assert "guess-token" not in log
    for path in lake_data_files(served.data_dir):
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
    r = receiver.post(body, f"/ccee/{TOKEN}/fuzz", content_type=ctype)
    assert r.status_code in (201, 400, 413, 415, 422), r.text
    if r.status_code != 201:
        assert r.headers["content-type"] == PROBLEM and r.json()["status"] == r.status_code


def test_a_client_gone_mid_body_is_logged_and_nothing_is_stored(served: ReceiverProc) -> None:
    import socket

    host, port = served.url.removeprefix("http://").split(":")
    body = body_for()
    before = served.stderr().count('"status":499')
    quarantined = lake_rows(served.data_dir, "select count(*) from t", table="quarentena")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(
            f"POST /ccee/{TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
    wait_until(lambda: served.stderr().count('"status":499') > before, what="a 499 line")
    line = msgspec.json.decode(
        next(x for x in reversed(served.stderr().splitlines()) if '"status":499' in x)
    )
    assert line["motivo"] == "cliente_desconectou" and line["destino"] == "/ccee/***"
    assert served.post(body_for(), f"/ccee/{TOKEN}").status_code == 201  # still serving
    assert lake_rows(served.data_dir, "select count(*) from t", table="quarentena") == quarantined
