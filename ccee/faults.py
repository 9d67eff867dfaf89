"""CCEE's SOAP fault shape, written (simulator) and read (client) by the same code.

The shape follows a real CCEE fault (IBM DataPower): SOAP 1.1 envelope with the `NS1` prefix,
an unqualified `faultcode` `Server.<errorCode>`, a `faultactor`, and a `detail` holding one FM v2
element (errorCode, message, uri?, transactionId?). It is answered with HTTP 500.
"""

from __future__ import annotations

from lxml import etree

from ccee.contract import FAULT_ELEMENTS, NS_FM, NS_SOAPENV, safe_parser
from ccee.errors import AuthError, CCEEFault, InvalidParametersError, NoDataFoundError

#: HTTP status CCEE answers faults with.
FAULT_HTTP_STATUS = 500
FAULT_CONTENT_TYPE = "text/xml"

_FAULT_CLASSES: dict[str, type[CCEEFault]] = {
    "securityFault": AuthError,
    "invalidParametersFault": InvalidParametersError,
    "noDataFoundFault": NoDataFoundError,
}


def fault_envelope(
    element: str,
    error_code: str,
    faultstring: str,
    message: str,
    uri: str | None,
    transaction_id: str | None,
    faultactor: str = "4",
) -> bytes:
    """Serialise a fault exactly as CCEE does (see soap-samples/other_listarAtivoMedicao_fault)."""
    if element not in FAULT_ELEMENTS:
        raise ValueError(
            f"unknown FM v2 fault element {element!r}; expected one of {FAULT_ELEMENTS}"
        )
    env = etree.Element(f"{{{NS_SOAPENV}}}Envelope", nsmap={"NS1": NS_SOAPENV})
    body = etree.SubElement(env, f"{{{NS_SOAPENV}}}Body")
    fault = etree.SubElement(body, f"{{{NS_SOAPENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = f"Server.{error_code}"
    etree.SubElement(fault, "faultstring").text = faultstring
    etree.SubElement(fault, "faultactor").text = faultactor
    detail = etree.SubElement(fault, "detail")
    flt = etree.SubElement(detail, f"{{{NS_FM}}}{element}", nsmap={"fltv2": NS_FM})
    etree.SubElement(flt, f"{{{NS_FM}}}errorCode").text = error_code
    etree.SubElement(flt, f"{{{NS_FM}}}message").text = message
    if uri is not None:
        etree.SubElement(flt, f"{{{NS_FM}}}uri").text = uri
    if transaction_id is not None:
        etree.SubElement(flt, f"{{{NS_FM}}}transactionId").text = transaction_id
    etree.indent(env, space="    ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(env, encoding="ascii")


def _text(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    return el.text or ""


def fault_from_parts(
    detail: etree._Element | None,
    faultcode: str | None = None,
    faultstring: str | None = None,
    faultactor: str | None = None,
    *,
    perfil: str | None = None,
    usuario: str | None = None,
) -> CCEEFault:
    """Build the typed fault from a `detail` element and the SOAP fault fields.

    `perfil` (the codigoPerfilAgente sent) and `usuario` (the WS-Security user) let an auth
    error say what was refused.
    """
    fm = None
    if detail is not None:
        for child in detail:
            if isinstance(child.tag, str) and etree.QName(child).namespace in (
                NS_FM,
                "http://xmlns.energia.org.br/FM",
            ):
                fm = child
                break
    element = etree.QName(fm).localname if fm is not None else None
    ns = etree.QName(fm).namespace if fm is not None else NS_FM

    def field(name: str) -> str | None:
        return _text(fm.find(f"{{{ns}}}{name}")) if fm is not None else None

    code = field("errorCode")
    if code is None and faultcode:
        code = faultcode.rsplit(".", 1)[-1] if "." in faultcode else faultcode
    message = field("message")
    if message is None:
        message = faultstring or ""
    cls = _FAULT_CLASSES.get(element or "", CCEEFault)
    if cls is CCEEFault and code == "2001":
        cls = AuthError
    return cls(
        code or "",
        message,
        field("uri"),
        field("transactionId"),
        element=element,
        faultcode=faultcode,
        faultstring=faultstring,
        faultactor=faultactor,
        perfil=perfil,
        usuario=usuario,
    )


def parse_fault(
    xml: bytes, *, perfil: str | None = None, usuario: str | None = None
) -> CCEEFault | None:
    """The typed fault in a SOAP envelope, or None when the body holds no Fault (or no XML)."""
    try:
        root = etree.fromstring(xml, safe_parser())
    except etree.XMLSyntaxError:
        return None
    fault = root.find(f"{{{NS_SOAPENV}}}Body/{{{NS_SOAPENV}}}Fault")
    if fault is None:
        return None
    return fault_from_parts(
        fault.find("detail"),
        _text(fault.find("faultcode")),
        _text(fault.find("faultstring")),
        _text(fault.find("faultactor")),
        perfil=perfil,
        usuario=usuario,
    )
