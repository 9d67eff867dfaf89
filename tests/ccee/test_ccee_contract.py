"""The authored BSv2 WSDL/XSD against CCEE's real recorded envelopes."""

from __future__ import annotations

import pytest
import zeep
from lxml import etree
from support.soap_samples import SAMPLES_DIR, sample_bytes

from ccee import contract
from ccee.contract import (
    NS_BM,
    NS_MH,
    NS_SOAPENV,
    OPERATIONS,
    SERVICES,
    ContractViolation,
    validate_envelope,
    xml_schema,
)

WEBHOOK_OPS = sorted(OPERATIONS)
WEBHOOK_SAMPLES = sorted(
    p.name
    for p in SAMPLES_DIR.glob("*.xml")
    if not p.name.startswith("other_")
)
#: The one recorded value that is itself malformed: a timestamp with 666 seconds.
MALFORMED_SAMPLE = "listarResultadoNotificacao.response.xml"
MALFORMED_VALUE = b"2021-06-16T11:50:666Z"
RECORDED_RESPONSES = sorted(
    p.name
    for p in SAMPLES_DIR.glob("*.xml")
    # another service's response: its body is out of this contract (its header is tested above)
    if ".response" in p.name and not p.name.startswith("other_listarParticipanteMercado")
)


def test_every_webhook_operation_has_a_request_and_a_response_sample() -> None:
    for op in WEBHOOK_OPS:
        assert f"{op}.request.xml" in WEBHOOK_SAMPLES
        assert f"{op}.response.xml" in WEBHOOK_SAMPLES
    assert len(WEBHOOK_SAMPLES) == 14


@pytest.mark.parametrize("name", WEBHOOK_SAMPLES)
def test_webhook_sample_validates(name: str) -> None:
    validate_envelope(sample_bytes(name))


@pytest.mark.parametrize("name", RECORDED_RESPONSES)
def test_every_recorded_response_validates_against_our_xsd(name: str) -> None:
    """What CCEE really sent must pass the project's own schema, the real oddities included
    (the ListarResultado sample's 666-second timestamp): the XSD exists to keep them."""
    validate_envelope(sample_bytes(name))


def test_recorded_odd_timestamp_validates_but_garbage_does_not() -> None:
    raw = sample_bytes(MALFORMED_SAMPLE)
    assert MALFORMED_VALUE in raw
    validate_envelope(raw)
    for garbage in (b"2021-06-16 11:50:06Z", b"16/06/2021 11:50", b"2021-06-16T11:50:6666Z",
                    b"2021-06-16T11:50Z", b"ontem"):
        with pytest.raises(ContractViolation) as exc:
            validate_envelope(raw.replace(MALFORMED_VALUE, garbage))
        assert len(exc.value.problems) == 1 and "dataNotificacao" in exc.value.problems[0]


def test_placeholders_are_the_only_edit_to_the_samples() -> None:
    # The raw request is valid XML but its placeholder profile code is 26 chars (> 18).
    raw = sample_bytes("incluirPreferenciaNotificacao.request.xml", fill_placeholders=False)
    with pytest.raises(ContractViolation, match="codigoPerfilAgente"):
        validate_envelope(raw)


def test_real_fault_sample_validates() -> None:
    validate_envelope(sample_bytes("other_listarAtivoMedicao_fault.response.xml"))


@pytest.mark.parametrize(
    "name",
    [
        "other_listarAtivoMedicao_fault.request.xml",
        "other_listarParticipanteMercado.request.xml",
        "other_listarParticipanteMercado.response.xml",
    ],
)
def test_other_services_headers_validate_but_bodies_are_out_of_contract(name: str) -> None:
    root = etree.fromstring(sample_bytes(name))
    header = root.find(f"{{{NS_SOAPENV}}}Header")
    assert header is not None
    blocks = [b for b in header if isinstance(b.tag, str)]
    assert blocks
    for block in blocks:
        assert xml_schema().validate(block), xml_schema().error_log
    with pytest.raises(ContractViolation, match="unknown element"):
        validate_envelope(root)


def _env(header: str, body: str) -> bytes:
    return (
        f'<soapenv:Envelope xmlns:soapenv="{NS_SOAPENV}" xmlns:mh="{NS_MH}" '
        f'xmlns:bm="{NS_BM}" xmlns:bo="{contract.NS_BO}" xmlns:w="{contract.NS_WSSE}">'
        f"<soapenv:Header>{header}</soapenv:Header><soapenv:Body>{body}</soapenv:Body>"
        "</soapenv:Envelope>"
    ).encode()


GOOD_HEADER = (
    "<mh:messageHeader><mh:codigoPerfilAgente>1</mh:codigoPerfilAgente></mh:messageHeader>"
    "<w:Security><w:UsernameToken><w:Username>u</w:Username><w:Password>p</w:Password>"
    "</w:UsernameToken></w:Security>"
)
EXCLUIR = (
    "<bm:excluirPreferenciaNotificacaoRequest><bm:preferenciaNotificacao><bo:eventoNotificacao>"
    "<bo:codigo>CONTRATO.REGISTRADO</bo:codigo></bo:eventoNotificacao></bm:preferenciaNotificacao>"
    "</bm:excluirPreferenciaNotificacaoRequest>"
)


def test_minimal_envelope_validates() -> None:
    validate_envelope(_env(GOOD_HEADER, EXCLUIR))


@pytest.mark.parametrize(
    ("header", "body", "expected"),
    [
        (GOOD_HEADER + "<mh:other/>", EXCLUIR, "unknown block"),
        (GOOD_HEADER + GOOD_HEADER, EXCLUIR, "duplicate block"),
        (GOOD_HEADER, "<bm:excluirPreferenciaNotificacaoRequest/>", "preferenciaNotificacao"),
        (GOOD_HEADER, EXCLUIR + EXCLUIR, "exactly one element"),
        (GOOD_HEADER, "<bm:noSuchRequest/>", "unknown element"),
        (
            GOOD_HEADER + "<mh:paginacao><mh:numero>um</mh:numero>"
            "<mh:quantidadeItens>5</mh:quantidadeItens></mh:paginacao>",
            EXCLUIR,
            "numero",
        ),
        (
            GOOD_HEADER,
            "<bm:listarResultadoNotificacaoRequest><bm:periodo><bo:dia>27/11/2026</bo:dia>"
            "</bm:periodo></bm:listarResultadoNotificacaoRequest>",
            "dia",
        ),
        (
            GOOD_HEADER,
            "<bm:listarResultadoNotificacaoRequest><bm:situacao/><bm:periodo/>"
            "</bm:listarResultadoNotificacaoRequest>",
            "periodo",
        ),
    ],
)
def test_contract_violations_are_reported_readably(header: str, body: str, expected: str) -> None:
    with pytest.raises(ContractViolation) as exc:
        validate_envelope(_env(header, body))
    assert expected in str(exc.value)


def test_not_an_envelope_and_not_xml() -> None:
    with pytest.raises(ContractViolation, match=r"expected SOAP 1\.1 Envelope"):
        validate_envelope(b"<a/>")
    with pytest.raises(ContractViolation, match="not well-formed"):
        validate_envelope(b"<a>")
    soap12 = _env(GOOD_HEADER, EXCLUIR).replace(
        NS_SOAPENV.encode(), b"http://www.w3.org/2003/05/soap-envelope"
    )
    with pytest.raises(ContractViolation, match=r"SOAP 1\.1"):
        validate_envelope(soap12)


def test_entities_are_not_expanded() -> None:
    doctype = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    xxe = doctype + _env(GOOD_HEADER, EXCLUIR).replace(b"CONTRATO.REGISTRADO", b"&e;")
    root = contract.parse_envelope(xxe)
    assert b"root:" not in etree.tostring(root)


def test_services_and_operations_match_the_wsdls() -> None:
    assert set(SERVICES) == {
        "EventoNotificacaoBSv2", "PreferenciaNotificacaoBSv2", "ResultadoNotificacaoBSv2"
    }
    assert len(OPERATIONS) == 6
    for svc in SERVICES.values():
        assert svc.path == f"/ws/v2/{svc.name}"
        client = zeep.Client(str(svc.wsdl_path))
        service = client.wsdl.services[svc.name]
        port = next(iter(service.ports.values()))
        assert port.binding_options["address"].endswith(svc.path)
        ops = port.binding._operations
        assert set(ops) == set(svc.operations)
        for name, zop in ops.items():
            op = OPERATIONS[name]
            assert op.service == svc.name
            assert zop.soapaction == name == op.soap_action
            assert zop.input.body.qname == etree.QName(NS_BM, op.request_element)
            assert zop.output.body.qname == etree.QName(NS_BM, op.response_element)
            # Header parts in the order CCEE's samples send them.
            expected = ["messageHeader", "Security"] + (["paginacao"] if op.paginated else [])
            assert [n for n, _ in zop.input.header.type.elements] == expected
            out_expected = ["messageHeader"] + (["paginacao"] if op.paginated else [])
            assert [n for n, _ in zop.output.header.type.elements] == out_expected


def test_success_messages_are_ccee_texts() -> None:
    for op, msg in (
        ("incluirPreferenciaNotificacao", contract.MSG_INCLUIDA),
        ("atualizarPreferenciaNotificacao", contract.MSG_ATUALIZADA),
        ("excluirPreferenciaNotificacao", contract.MSG_EXCLUIDA),
    ):
        root = etree.fromstring(sample_bytes(f"{op}.response.xml"))
        descricao = root.findtext(f".//{{{contract.NS_BO}}}descricao")
        assert descricao == msg


def test_schema_is_cached() -> None:
    assert xml_schema() is xml_schema()
