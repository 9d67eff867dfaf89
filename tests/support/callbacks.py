"""CCEE callback bodies as the Plataforma de Integração sends them."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

PROBLEM_JSON = "application/problem+json"


def body_for(tid: str | None = None, evento: str = "CONTRATO.REGISTRADO", **extra: Any) -> bytes:
    """A valid callback (`eventoNotificacao`, `metadados`, `transactionId`) plus `extra` fields."""
    doc: dict[str, Any] = {
        "eventoNotificacao": evento,
        "metadados": [
            {"nome": "ID_CONTRATO", "valor": "42"},
            {"nome": "MES_REFERENCIA", "valor": "null"},
        ],
        "transactionId": tid or str(uuid.uuid4()),
        **extra,
    }
    return msgspec.json.encode(doc)
