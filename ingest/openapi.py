"""The receiver's own OpenAPI document: CCEE's callback contract, served at `/openapi.json`.

CCEE publishes a Swagger 2.0 suggestion for the participant's endpoint (every field a plain
string, none required); this is the same contract in OpenAPI 3.0 as the receiver applies it:
the request body is `Notificacao` (what is accepted: an object with a non-empty string
`transactionId` and `eventoNotificacao`), `Mensagem` is the usual shape derived from
`ccee.mensagem.Mensagem` (what is stored without `avisos`), and the deviation codes come from
`ingest.validation.AVISOS`, so none of them can drift from the code. Every answer is listed,
for clients and fuzzers.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ccee.mensagem import Mensagem
from ingest.auth import PREFIX
from ingest.validation import AVISOS

_REQUIRED_TEXT = {"type": "string", "minLength": 1}
#: What the receiver accepts (201): anything else in the object is stored and flagged.
_NOTIFICACAO = {
    "type": "object",
    "description": "Accepted when transactionId and eventoNotificacao are non-empty strings; "
    "every departure from the usual shape (Mensagem) is stored with a code in `avisos`: "
    + "; ".join(f"{code}: {text}" for code, text in AVISOS.items()),
    "required": ["eventoNotificacao", "transactionId"],
    "properties": {
        "eventoNotificacao": _REQUIRED_TEXT,
        "transactionId": _REQUIRED_TEXT,
        "metadados": {"description": "usually a list of {nome, valor} strings; anything kept"},
    },
    "additionalProperties": True,
}

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
    422: "not an object, or transactionId/eventoNotificacao missing, empty or not a string "
    "(quarantined)",
    503: "the lake could not be written: retry later",
}


def openapi_document() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        [Mensagem], ref_template="#/components/schemas/{name}"
    )
    components["Mensagem"]["description"] = (
        "The usual shape of CCEE's callback: stored with an empty `avisos`."
    )
    components["Notificacao"] = _NOTIFICACAO
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
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Notificacao"}}
                },
            },
            "responses": {
                "201": {
                    "description": "stored durably (duplicates too: every delivery is kept), "
                    "deviations from the usual shape flagged in the lake's `avisos`"
                },
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
