"""RFC 9457 problem details (`application/problem+json`) for every non-2xx answer."""

from __future__ import annotations

import re

import msgspec
from litestar import Response

PROBLEM_MEDIA_TYPE = "application/problem+json"

TITLES = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

_AT_PATH = re.compile(r" - at `(?P<campo>[^`]*)`$")
_MISSING = re.compile(r"missing required field `(?P<nome>[^`]*)`")


class Problem(msgspec.Struct, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    motivo: str
    campo: str | None = None


_encoder = msgspec.json.Encoder()


def field_of(message: str) -> str | None:
    """The JSON path msgspec names in a validation error (`$.metadados[0].valor`), if any."""
    at = _AT_PATH.search(message)
    base = at.group("campo") if at else "$"
    missing = _MISSING.search(message)
    if missing:
        return f"{base}.{missing.group('nome')}"
    return base


def problem_body(status: int, motivo: str, detail: str, campo: str | None = None) -> bytes:
    """The encoded RFC 9457 document (the receiver's hot path sends it over raw ASGI)."""
    return _encoder.encode(
        Problem(
            type=f"urn:ccee-webhook:problem:{motivo}",
            title=TITLES.get(status, "Error"),
            status=status,
            detail=detail,
            motivo=motivo,
            campo=campo,
        )
    )


def problem(
    status: int,
    motivo: str,
    detail: str,
    campo: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    return Response(
        content=problem_body(status, motivo, detail, campo),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )
