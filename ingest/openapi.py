"""The receiver's own OpenAPI document: CCEE's callback contract, served at `/openapi.json`.

CCEE publishes a Swagger 2.0 suggestion for the participant's endpoint; this is the same
contract in OpenAPI 3.0 with the body schema derived from `ccee.mensagem.Mensagem` (so it can
never drift from the validation) and every answer the receiver gives, for clients and fuzzers.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ccee.mensagem import Mensagem
from ingest.auth import PREFIX

_PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "motivo"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "motivo": {"type": "string"},
        "campo": {"type": "string"},
    },
}
_PROBLEM_RESPONSE = {
    "description": "RFC 9457 problem details",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
_ANSWERS = {
    400: "malformed JSON or invalid UTF-8 (quarantined)",
    403: "client IP not in the allow-list",
    404: "unknown URL token (nothing stored)",
    413: "body over the limit (quarantined)",
    415: "not JSON (quarantined)",
    422: "body does not follow the Mensagem contract (quarantined)",
    503: "the lake could not be written: retry later",
}


def openapi_document() -> dict[str, Any]:
    (ref,), components = msgspec.json.schema_components(
        [Mensagem], ref_template="#/components/schemas/{name}"
    )
    components["Problem"] = _PROBLEM
    callback = {
        "post": {
            "operationId": "enviarNotificacao",
            "summary": "CCEE's notification callback: 201 only once durably stored",
            "parameters": [
                {
                    "name": "token",
                    "in": "path",
                    "required": True,
                    "description": "the secret URL token (CCEE_WEBHOOK_TOKENS)",
                    "schema": {"type": "string"},
                }
            ],
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref}}},
            "responses": {
                "201": {"description": "stored durably (duplicates too: every delivery is kept)"},
                **{
                    str(status): {**_PROBLEM_RESPONSE, "description": text}
                    for status, text in _ANSWERS.items()
                },
            },
        }
    }
    probe = {"get": {"responses": {"200": {"description": "ok"}, "503": _PROBLEM_RESPONSE}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "ccee-webhook receiver", "version": "1"},
        "paths": {
            PREFIX + "/{token}": callback,
            "/healthz": probe,
            "/readyz": probe,
            "/metrics": {"get": {"responses": {"200": {"description": "Prometheus text"}}}},
        },
        "components": {"schemas": components},
    }


OPENAPI_JSON = msgspec.json.encode(openapi_document())
