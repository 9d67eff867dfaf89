"""The HTTP face of the local CCEE: SOAP at CCEE's paths (+ `?wsdl`), admin under /admin/."""

from __future__ import annotations

import functools

from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath
from lxml import etree

from ccee.contract import SERVICES, WSDL_DIR, safe_parser
from simulator.admin import admin_controller
from simulator.core import Simulator, UnknownEventCode

SOAP_CONTENT_TYPE = "text/xml; charset=utf-8"
_WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
#: the XSDs a served WSDL imports (relative schemaLocation, resolved under /ws/v2/)
_XSD_FILES = {p.name: p for p in WSDL_DIR.glob("*.xsd")}


@functools.cache
def _wsdl_template(service: str) -> bytes:
    return SERVICES[service].wsdl_path.read_bytes()


def wsdl_for(service: str, base_url: str) -> bytes:
    """The project WSDL with its soap:address pointing at this simulator."""
    root = etree.fromstring(_wsdl_template(service), safe_parser())
    for addr in root.iter(f"{{{_WSDL_SOAP}}}address"):
        addr.set("location", base_url.rstrip("/") + SERVICES[service].path)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _bad_request(_: Request, exc: Exception) -> Response[dict[str, str]]:
    """Invalid admin input is a 400 (Litestar's own HTTP errors keep their status)."""
    if isinstance(exc, HTTPException):
        return Response({"error": exc.detail}, status_code=exc.status_code)
    return Response({"error": str(exc)}, status_code=400)


def create_app(sim: Simulator) -> Litestar:
    @get("/ws/v2/{name:str}", media_type=MediaType.XML)
    async def wsdl(request: Request, name: FromPath[str]) -> Response[bytes]:
        if name in SERVICES and any(k.lower() == "wsdl" for k in request.query_params):
            base = str(request.base_url)
            return Response(wsdl_for(name, base), media_type=SOAP_CONTENT_TYPE)
        if name in _XSD_FILES:
            return Response(_XSD_FILES[name].read_bytes(), media_type=SOAP_CONTENT_TYPE)
        raise NotFoundException(f"no such document: {name} (try ?wsdl on a service)")

    @post("/ws/v2/{name:str}", status_code=200)
    async def soap(request: Request, name: FromPath[str]) -> Response[bytes]:
        data = await request.body()
        reply = await sim.soap.handle(name, data, request.headers.get("soapaction"))
        return Response(reply.body, status_code=reply.status, media_type=SOAP_CONTENT_TYPE)

    @get("/", media_type=MediaType.JSON)
    async def index() -> dict[str, object]:
        return {
            "services": {n: s.path for n, s in SERVICES.items()},
            "admin": "/admin/stats",
            "clock": sim.clock_info(),
        }

    return Litestar(
        route_handlers=[wsdl, soap, index, admin_controller(sim)],
        exception_handlers={ValueError: _bad_request, UnknownEventCode: _bad_request},
        openapi_config=None,
        # keep the process's logging as the CLI set it: Litestar's default config would
        # raise httpx to INFO, which logs every callback URL (token included)
        logging_config=None,
        request_max_body_size=2 * 1024 * 1024,
    )
