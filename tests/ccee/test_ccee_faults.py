"""CCEE's fault shape: written by `fault_envelope`, read by `parse_fault`."""

from __future__ import annotations

import pickle

import pytest
from support.soap_samples import sample_bytes

from ccee.contract import FAULT_ELEMENTS, validate_envelope
from ccee.errors import AuthError, CCEEFault, InvalidParametersError, NoDataFoundError
from ccee.faults import fault_envelope, parse_fault

REAL_FAULT = "other_listarAtivoMedicao_fault.response.xml"


def test_fault_envelope_reproduces_ccee_real_fault_byte_for_byte() -> None:
    produced = fault_envelope(
        "unexpectedTechnicalFault",
        "4001",
        "Erro retornado pelo provedor da informação",
        "Utilize a pesquisa por nome reduzido ou por nome completo. "
        "Verifique os parâmetros informados.",
        "/ws/v2/AtivoMedicaoBSv2",
        "a860bc34-7491-46c8-9b98-30fb6acff125",
    )
    assert produced == sample_bytes(REAL_FAULT)


def test_parse_real_fault() -> None:
    fault = parse_fault(sample_bytes(REAL_FAULT))
    assert type(fault) is CCEEFault
    assert fault.error_code == "4001"
    assert fault.message.startswith("Utilize a pesquisa por nome reduzido")
    assert fault.uri == "/ws/v2/AtivoMedicaoBSv2"
    assert fault.transaction_id == "a860bc34-7491-46c8-9b98-30fb6acff125"
    assert fault.element == "unexpectedTechnicalFault"
    assert fault.faultcode == "Server.4001"
    assert fault.faultstring == "Erro retornado pelo provedor da informação"
    assert fault.faultactor == "4"


@pytest.mark.parametrize(
    ("element", "code", "cls"),
    [
        ("securityFault", "2001", AuthError),
        ("invalidParametersFault", "3006", InvalidParametersError),
        ("noDataFoundFault", "3001", NoDataFoundError),
        ("unexpectedTechnicalFault", "4001", CCEEFault),
        ("unexpectedSchemaFault", "4002", CCEEFault),
    ],
)
def test_round_trip_every_fault_element(element: str, code: str, cls: type[CCEEFault]) -> None:
    xml = fault_envelope(element, code, "Acesso Negado", "texto", None, None, faultactor="02")
    validate_envelope(xml)
    fault = parse_fault(xml)
    assert type(fault) is cls
    assert (fault.error_code, fault.message, fault.uri, fault.transaction_id) == (
        code, "texto", None, None,
    )
    assert fault.faultactor == "02"
    assert b"<uri" not in xml and b":uri" not in xml


def test_every_fm_element_is_covered() -> None:
    assert set(FAULT_ELEMENTS) == {
        "securityFault", "invalidParametersFault", "noDataFoundFault",
        "unexpectedTechnicalFault", "unexpectedSchemaFault",
    }


def test_unknown_fault_element_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown FM v2 fault element"):
        fault_envelope("otherFault", "1", "x", "y", None, None)


def test_non_faults_parse_to_none() -> None:
    assert parse_fault(sample_bytes("incluirPreferenciaNotificacao.response.xml")) is None
    assert parse_fault(b"<html>503 Service Unavailable</html") is None
    assert parse_fault(b"") is None


def test_error_code_2001_without_security_element_is_still_auth() -> None:
    xml = fault_envelope("unexpectedTechnicalFault", "2001", "Acesso Negado", "x", None, None)
    assert isinstance(parse_fault(xml), AuthError)


def test_faults_pickle_with_their_fields() -> None:
    fault = parse_fault(sample_bytes(REAL_FAULT))
    again = pickle.loads(pickle.dumps(fault))
    assert type(again) is type(fault)
    assert (again.error_code, again.uri, again.element) == (
        fault.error_code, fault.uri, fault.element,
    )
    assert str(again) == str(fault)


def test_fault_http_status_and_content_type_match_the_capture() -> None:
    import json

    from support.soap_samples import SAMPLES_DIR

    from ccee.faults import FAULT_CONTENT_TYPE, FAULT_HTTP_STATUS

    meta = json.loads((SAMPLES_DIR / "other_listarAtivoMedicao_fault.meta.json").read_text())
    headers = {h["key"]: h["value"] for h in meta["headers"]}
    assert meta["code"] == FAULT_HTTP_STATUS == 500
    assert headers["Content-Type"] == FAULT_CONTENT_TYPE
