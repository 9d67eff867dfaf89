"""The zeep client against a real SOAP server on loopback (tests/ccee/ccee_test_server.py)."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime

import pytest
from lxml import etree
from support.fake_ccee import FakeCCEE, RunningServer, Scripted
from support.soap_samples import sample_bytes

from ccee import contract
from ccee.client import CCEEClient
from ccee.config import Secret
from ccee.errors import (
    AuthError,
    CCEEError,
    CCEEFault,
    CCEETransportError,
    InvalidParametersError,
)
from ccee.transport import RetryPolicy

SOAPENV = contract.NS_SOAPENV


def _structure(el: etree._Element) -> tuple:
    """(Clark name, children structures): namespaces and nesting, no prefixes, no text."""
    return (el.tag, tuple(_structure(c) for c in el if isinstance(c.tag, str)))


def _client(server: RunningServer, profile_for, **kw) -> CCEEClient:  # type: ignore[no-untyped-def]
    kw.setdefault("timeout", 5.0)
    kw.setdefault("backoff", 0.01)
    profile_kw = kw.pop("profile_kw", {})
    return CCEEClient(profile_for(server.url, **profile_kw), **kw)


CALLS = {
    "listarEventoNotificacao": lambda c: c.listar_eventos(),
    "listarPreferenciaNotificacao": lambda c: list(c.listar_preferencias()),
    "incluirPreferenciaNotificacao": lambda c: c.incluir_preferencia(
        "CONTRATO.REGISTRADO", "https://www.servidor-agente.com.br/uri/completa"),
    "atualizarPreferenciaNotificacao": lambda c: c.atualizar_preferencia(
        "CONTRATO.REGISTRADO", "https://www.servidor-agente.com.br/uri/completa"),
    "excluirPreferenciaNotificacao": lambda c: c.excluir_preferencia("CONTRATO.REGISTRADO"),
    "listarResultadoNotificacao": lambda c: next(c.paginas_resultados(
        evento="CONTRATO.REGISTRADO", dia="2021-06-04")),
}


@pytest.mark.parametrize("operation", sorted(CALLS))
def test_request_envelope_matches_ccee_sample(operation: str, profile_for) -> None:  # type: ignore[no-untyped-def]
    fake = FakeCCEE(samples=True)
    with RunningServer(fake) as server, _client(server, profile_for) as client:
        CALLS[operation](client)
    assert fake.violations == []
    req = fake.requests[0]
    op = contract.OPERATIONS[operation]
    assert req.path == f"/ws/v2/{op.service}"
    assert req.headers["SOAPAction"] == operation  # unquoted, as in CCEE's samples
    assert req.headers["Content-Type"] == "text/xml; charset=utf-8"
    sent = etree.fromstring(req.body)
    sample = etree.fromstring(sample_bytes(f"{operation}.request.xml"))
    assert _structure(sent) == _structure(sample)
    # Same header order; same values where the sample has concrete ones.
    header = [etree.QName(b).localname for b in sent.find(f"{{{SOAPENV}}}Header")]
    assert header == (["messageHeader", "Security", "paginacao"] if op.paginated
                      else ["messageHeader", "Security"])
    sample_texts = [(e.tag, (e.text or "").strip()) for e in sample.iter()
                    if isinstance(e.tag, str) and len(e) == 0]
    sent_texts = [(e.tag, (e.text or "").strip()) for e in sent.iter()
                  if isinstance(e.tag, str) and len(e) == 0]
    for (tag, text), (stag, stext) in zip(sample_texts, sent_texts, strict=True):
        assert tag == stag
        if "{{" not in text and tag != f"{{{contract.NS_MH}}}codigoPerfilAgente":
            assert stext == text, tag
    password = sent.find(f".//{{{contract.NS_WSSE}}}Password")
    assert password.text == "senha-teste"
    assert password.attrib == {}  # plain Password, no Type attribute


def test_password_type_attribute_only_when_configured(profile_for) -> None:  # type: ignore[no-untyped-def]
    fake = FakeCCEE(samples=True)
    digest = ("http://docs.oasis-open.org/wss/2004/01/"
              "oasis-200401-wss-username-token-profile-1.0#PasswordText")
    with RunningServer(fake) as server, _client(
        server, profile_for, profile_kw={"password_type": digest}
    ) as client:
        client.excluir_preferencia("CONTRATO.REGISTRADO")
    sent = etree.fromstring(fake.requests[0].body)
    assert sent.find(f".//{{{contract.NS_WSSE}}}Password").get("Type") == digest
    assert fake.violations == []


def test_every_sample_response_parses_into_typed_results(profile_for) -> None:  # type: ignore[no-untyped-def]
    fake = FakeCCEE(samples=True)
    with RunningServer(fake) as server, _client(server, profile_for) as client:
        eventos = client.listar_eventos()
        assert [e.codigo for e in eventos] == [
            "CONTRATO.ATUALIZADO", "CONTRATO.CANCELADO", "CONTRATO.CONCLUIDO",
            "CONTRATO.FINALIZADO", "CONTRATO.REGISTRADO",
        ]
        assert (eventos[0].entidade, eventos[0].evento) == ("CONTRATO", "ATUALIZADO")

        prefs = list(client.listar_preferencias())
        assert len(prefs) == 10
        assert prefs[0].evento_notificacao == "CONTRATO.CANCELAMENTO_VALIDADO"
        assert prefs[0].endereco_destino == "https://url.destino.com.br/path/completo"
        assert prefs[0].evento == "CANCELAMENTO_VALIDADO"

        assert client.incluir_preferencia("CONTRATO.REGISTRADO", "https://a.example/x") == (
            contract.MSG_INCLUIDA)
        assert client.atualizar_preferencia("CONTRATO.REGISTRADO", "https://a.example/x") == (
            contract.MSG_ATUALIZADA)
        assert client.excluir_preferencia("CONTRATO.REGISTRADO") == contract.MSG_EXCLUIDA

        pagina = next(client.paginas_resultados(dia="2021-06-16"))
    assert (pagina.numero, pagina.total_paginas, pagina.quantidade_total_itens) == (1, 214, 1070)
    assert len(pagina.itens) == 5
    first, bad = pagina.itens[0], pagina.itens[2]
    assert first.transaction_id == "abe1cfed-2cfe-43f1-b157-066451a43d46"
    assert first.evento_notificacao == "MONTANTE_ENERGIA.VALIDADO"
    assert (first.entidade, first.evento) == ("MONTANTE_ENERGIA", "VALIDADO")
    assert first.participante_mercado == "666"
    assert first.situacao == contract.SITUACAO_NOTIFICADO
    assert first.endereco_destino == "https://endereco.destino.com.br/dev/qualquer_coisa"
    assert first.data_origem == datetime(2021, 6, 16, 11, 41, 14, tzinfo=UTC)
    assert first.data_notificacao == datetime(2021, 6, 16, 11, 50, 37, tzinfo=UTC)
    assert first.invalidos == ()
    # The malformed recorded value is kept raw and flagged, the row still listed.
    assert bad.data_notificacao is None
    assert bad.data_notificacao_raw == "2021-06-16T11:50:666Z"
    assert bad.invalidos == ("data_notificacao",)
    assert bad.data_origem == datetime(2021, 6, 16, 11, 41, 7, tzinfo=UTC)
    assert bad.transaction_id == "a5dbc7a5-ab12-4046-b32f-d60294e21edd"


def test_real_fault_sample_maps_to_typed_fault_without_retry(profile_for) -> None:  # type: ignore[no-untyped-def]
    fake = FakeCCEE(samples=True)
    fake.script.append(Scripted(500, sample_bytes("other_listarAtivoMedicao_fault.response.xml")))
    with (
        RunningServer(fake) as server, _client(server, profile_for) as client,
        pytest.raises(CCEEFault) as exc,
    ):
        client.listar_eventos()
    fault = exc.value
    assert type(fault) is CCEEFault
    assert (fault.error_code, fault.uri, fault.transaction_id, fault.element) == (
        "4001", "/ws/v2/AtivoMedicaoBSv2", "a860bc34-7491-46c8-9b98-30fb6acff125",
        "unexpectedTechnicalFault",
    )
    assert fault.message.startswith("Utilize a pesquisa")
    assert len(fake.requests) == 1


def test_refused_profile_is_an_auth_error_naming_the_profile(profile_for) -> None:  # type: ignore[no-untyped-def]
    fake = FakeCCEE()
    with RunningServer(fake) as server, _client(
        server, profile_for, profile_kw={"codigo": "77777"}
    ) as client, pytest.raises(AuthError) as exc:
        client.listar_eventos()
    assert exc.value.error_code == "2001"
    assert exc.value.element == "securityFault"
    assert "77777" in str(exc.value)
    assert "senha-teste" not in str(exc.value)
    assert len(fake.requests) == 1


def test_invalid_parameters_fault(fake_ccee, profile_for) -> None:  # type: ignore[no-untyped-def]
    with _client(fake_ccee, profile_for) as client, pytest.raises(InvalidParametersError) as exc:
        client.atualizar_preferencia("CONTRATO.REGISTRADO", "https://a.example/x")
    assert exc.value.error_code == "3006"
    assert "inexistente" in exc.value.message


def _results(n: int) -> list[dict[str, str]]:
    return [
        {
            "transactionId": f"00000000-0000-4000-8000-{i:012d}",
            "evento": "CONTRATO.REGISTRADO" if i % 3 else "MONTANTE_ENERGIA.VALIDADO",
            "dia": "2026-11-27",
            "situacao": "NOTIFICADO" if i % 7 else "AGUARDANDO_NOTIFICACAO",
            "dataOrigem": "2026-11-27T13:05:00Z",
            "dataNotificacao": "2026-11-27T13:05:01.250Z",
        }
        for i in range(n)
    ]


def test_pagination_over_many_pages_is_lazy_and_complete(profile_for) -> None:  # type: ignore[no-untyped-def]
    fake = FakeCCEE(resultados=_results(1234))
    with RunningServer(fake) as server, _client(server, profile_for) as client:
        it = client.listar_resultados(dia="2026-11-27", page_size=50)
        first = next(it)
        assert len(fake.requests) == 1  # one page fetched, no more
        rest = list(it)
    got = [first, *rest]
    assert [r.transaction_id for r in got] == [r["transactionId"] for r in fake.resultados]
    assert len(fake.requests) == 25  # 24 full pages + 1 page of 34
    pages = [int(etree.fromstring(r.body).findtext(f".//{{{contract.NS_MH}}}numero"))
             for r in fake.requests]
    assert pages == list(range(1, 26))
    assert fake.violations == []
    assert all(r.data_notificacao and r.data_notificacao.microsecond == 250000 for r in got)


def test_resume_from_a_page_and_filters(profile_for) -> None:  # type: ignore[no-untyped-def]
    fake = FakeCCEE(resultados=_results(1000))
    with RunningServer(fake) as server, _client(server, profile_for) as client:
        pages = list(client.paginas_resultados(
            evento="CONTRATO.REGISTRADO", situacao="NOTIFICADO", page_size=100, start_page=5,
        ))
    expected = [r for r in fake.resultados
                if r["evento"] == "CONTRATO.REGISTRADO" and r["situacao"] == "NOTIFICADO"]
    total_pages = -(-len(expected) // 100)
    assert [p.numero for p in pages] == list(range(5, total_pages + 1))
    assert pages[0].quantidade_total_itens == len(expected)
    assert [r.transaction_id for p in pages for r in p.itens] == [
        r["transactionId"] for r in expected[400:]
    ]
    assert len(pages[-1].itens) == len(expected) - 100 * (total_pages - 1)


def test_no_data_found_is_an_empty_result(fake_ccee, profile_for) -> None:  # type: ignore[no-untyped-def]
    with _client(fake_ccee, profile_for) as client:
        assert list(client.listar_resultados(dia="2026-11-27")) == []
        assert list(client.listar_preferencias()) == []
        assert list(client.listar_resultados(transaction_id="nada")) == []


def test_bad_arguments_fail_before_any_call(fake_ccee, profile_for) -> None:  # type: ignore[no-untyped-def]
    with _client(fake_ccee, profile_for) as client:
        with pytest.raises(ValueError, match="YYYY-MM-DD"):
            client.paginas_resultados(dia="27/11/2026")
        with pytest.raises(ValueError, match=r"ENTIDADE\.EVENTO"):
            client.incluir_preferencia("contrato registrado", "https://a.example/x")
        with pytest.raises(ValueError, match="http"):
            client.incluir_preferencia("CONTRATO.REGISTRADO", "ftp://a.example/x")
    assert fake_ccee.fake.requests == []


def test_transient_failures_are_retried_with_backoff(profile_for, caplog) -> None:  # type: ignore[no-untyped-def]
    fake = FakeCCEE()
    fake.script += [
        Scripted(503, b"<html>Service Unavailable</html>"),
        Scripted(drop=True),
        Scripted(502, b""),
    ]
    sleeps: list[float] = []
    caplog.set_level(logging.DEBUG)
    with RunningServer(fake) as server, _client(
        server, profile_for, retries=4, backoff=0.2, max_backoff=0.5, sleep=sleeps.append
    ) as client:
        assert len(client.listar_eventos()) == 7
    assert len(fake.requests) == 4
    assert len(sleeps) == 3
    caps = [0.2, 0.4, 0.5]
    for delay, cap in zip(sleeps, caps, strict=True):
        assert cap / 2 <= delay <= cap
    assert "senha-teste" not in caplog.text
    assert "retry 1/3" in caplog.text


def test_timeout_is_retried(profile_for) -> None:  # type: ignore[no-untyped-def]
    fake = FakeCCEE()
    fake.script.append(Scripted(delay=1.0))
    with RunningServer(fake) as server, _client(
        server, profile_for, timeout=0.3, retries=2
    ) as client:
        assert len(client.listar_eventos()) == 7
    assert len(fake.requests) == 2


def test_retries_are_bounded(profile_for) -> None:  # type: ignore[no-untyped-def]
    fake = FakeCCEE()
    fake.script += [Scripted(503, b"busy")] * 5
    with (
        RunningServer(fake) as server, _client(server, profile_for, retries=3) as client,
        pytest.raises(CCEETransportError) as exc,
    ):
        client.listar_eventos()
    assert (exc.value.status_code, exc.value.attempts) == (503, 3)
    assert len(fake.requests) == 3


def test_client_errors_without_fault_are_not_retried(profile_for) -> None:  # type: ignore[no-untyped-def]
    fake = FakeCCEE()
    fake.script.append(Scripted(404, b"<html>not found</html>"))
    with (
        RunningServer(fake) as server, _client(server, profile_for) as client,
        pytest.raises(CCEETransportError, match="HTTP 404"),
    ):
        client.listar_eventos()
    assert len(fake.requests) == 1


def test_connection_refused_is_a_transport_error(profile_for) -> None:  # type: ignore[no-untyped-def]
    fake = FakeCCEE()
    with RunningServer(fake) as server:
        url = server.url
    client = CCEEClient(profile_for(url), timeout=1.0, retries=2, backoff=0.01)
    with pytest.raises(CCEETransportError, match="connection error"):
        client.listar_eventos()


def test_backoff_policy_is_exponential_with_jitter_and_capped() -> None:
    policy = RetryPolicy(attempts=8, base_delay=0.5, max_delay=4.0)
    rng = random.Random(7)
    for attempt, cap in enumerate([0.5, 1.0, 2.0, 4.0, 4.0, 4.0], start=1):
        delays = {policy.delay(attempt, rng) for _ in range(50)}
        assert all(cap / 2 <= d <= cap for d in delays)
        assert len(delays) > 1  # jitter


def test_connections_are_reused(profile_for) -> None:  # type: ignore[no-untyped-def]
    fake = FakeCCEE(resultados=_results(300))
    with RunningServer(fake) as server, _client(server, profile_for) as client:
        client.listar_eventos()
        assert len(list(client.listar_resultados(page_size=20))) == 300
        client.incluir_preferencia("CONTRATO.REGISTRADO", "https://a.example/x")
    ports = {r.client_port for r in fake.requests}
    assert len(fake.requests) == 17
    assert len(ports) == 1


def test_missing_credentials_are_a_config_error(fake_ccee, profile_for) -> None:  # type: ignore[no-untyped-def]
    from ccee.errors import ConfigError

    with (
        _client(fake_ccee, profile_for, profile_kw={"password": None}) as client,
        pytest.raises(ConfigError, match="CCEE_WEBHOOK_PASSWORD"),
    ):
        client.listar_eventos()
    assert fake_ccee.fake.requests == []


def test_secret_repr_is_redacted() -> None:
    s = Secret("senha-teste")
    assert "senha-teste" not in repr(s) and "senha-teste" not in str(s)
    assert s.reveal() == "senha-teste"


def test_listing_tolerates_fields_ccee_may_add_and_rejects_garbage(profile_for) -> None:  # type: ignore[no-untyped-def]
    sample = sample_bytes("listarResultadoNotificacao.response.xml")
    extended = sample.replace(
        b"<bov2:transactionId>abe1cfed",
        b"<bov2:novoCampo><bov2:x>1</bov2:x></bov2:novoCampo><bov2:transactionId>abe1cfed",
    )
    fake = FakeCCEE(samples=True)
    fake.script += [Scripted(200, extended), Scripted(200, b"<html>proxy login</html")]
    with RunningServer(fake) as server, _client(server, profile_for) as client:
        pagina = next(client.paginas_resultados())
        assert pagina.itens[0].transaction_id == "abe1cfed-2cfe-43f1-b157-066451a43d46"
        assert len(pagina.itens) == 5
        with pytest.raises(CCEEError, match="not XML"):
            next(client.paginas_resultados())
