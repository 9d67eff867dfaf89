"""The callback message CCEE POSTs to the participant (`Mensagem`), and event codes.

One definition shared by the receiver (the usual shape; deviations are flagged, not refused),
the simulator (generation) and the tests, so that they never disagree about the usual shape.
"""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

#: `ENTIDADE.EVENTO`: CCEE's guide asks for enumeration-style names (A-Z, 0-9, `_`).
#: `(?!\n)$` because a bare `$` also matches before a trailing newline (`"A.B\n"`).
EVENT_CODE_PATTERN = r"^[A-Z0-9_]+\.[A-Z0-9_]+(?!\n)$"
UUID_PATTERN = (
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?!\n)$"
)

_EVENT_CODE_RE = re.compile(EVENT_CODE_PATTERN)

CodigoEvento = Annotated[str, msgspec.Meta(pattern=EVENT_CODE_PATTERN)]
TransactionId = Annotated[str, msgspec.Meta(pattern=UUID_PATTERN)]


class Metadado(msgspec.Struct, forbid_unknown_fields=True):
    """One `{nome, valor}` pair; both are strings, and `"null"` is a string too."""

    nome: str
    valor: str


class Mensagem(msgspec.Struct, forbid_unknown_fields=True):
    """CCEE's callback body in its usual shape: what the simulator sends, and what the
    receiver stores without any warning (`aviso`).

    The receiver accepts much more than this (CCEE's published contract types every field as
    a plain string and requires none): `ingest.validation` flags each deviation instead of
    refusing it. Extra fields are forbidden here only so that such a deviation is noticed.
    """

    eventoNotificacao: CodigoEvento
    metadados: list[Metadado]
    transactionId: TransactionId


class EventCode(msgspec.Struct, frozen=True):
    """An event code split into CCEE's two concepts: the entity and the business event."""

    entidade: str
    evento: str

    @property
    def codigo(self) -> str:
        return f"{self.entidade}.{self.evento}"


class InvalidEventCode(ValueError):
    """Raised for a string that is not `ENTIDADE.EVENTO`."""


def is_event_code(value: str) -> bool:
    return _EVENT_CODE_RE.fullmatch(value) is not None


def parse_event_code(value: str) -> EventCode:
    """Split `CONTRATO.REGISTRADO` into (`CONTRATO`, `REGISTRADO`)."""
    if not is_event_code(value):
        raise InvalidEventCode(
            f"event code must be ENTIDADE.EVENTO (A-Z, 0-9, _), got {value[:80]!r}"
        )
    entidade, evento = value.split(".", 1)
    return EventCode(entidade=entidade, evento=evento)


_decoder = msgspec.json.Decoder(Mensagem)


def decode_mensagem(body: bytes) -> Mensagem:
    """Decode a body of the usual shape; raises `msgspec.ValidationError`/`DecodeError`."""
    return _decoder.decode(body)


def encode_mensagem(msg: Mensagem) -> bytes:
    return msgspec.json.encode(msg)
