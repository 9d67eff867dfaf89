"""Typed results of the CCEE client (msgspec Structs), never zeep objects.

Values CCEE sends are kept verbatim where parsing could fail (timestamps): a bad value is kept
in its `*_raw` field and its name listed in `invalidos`, so one bad row never breaks a listing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Generic, TypeVar

import msgspec

T = TypeVar("T")

#: Same rule as the XSD's bo:DataHora.
_DATA_HORA_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+\-]\d{2}:\d{2})?")


class EventoNotificacao(msgspec.Struct, frozen=True):
    """An event CCEE offers for notification: `codigo` = `entidade.evento`."""

    codigo: str
    entidade: str | None = None
    evento: str | None = None


class PreferenciaNotificacao(msgspec.Struct, frozen=True):
    """A subscription: CCEE POSTs events `evento_notificacao` to `endereco_destino`."""

    evento_notificacao: str
    endereco_destino: str | None
    entidade: str | None = None
    evento: str | None = None


class ResultadoNotificacao(msgspec.Struct, frozen=True):
    """CCEE's record of one notification's delivery."""

    transaction_id: str | None
    evento_notificacao: str | None
    entidade: str | None
    evento: str | None
    endereco_destino: str | None
    participante_mercado: str | None
    situacao: str | None
    data_origem: datetime | None
    data_origem_raw: str | None
    data_notificacao: datetime | None
    data_notificacao_raw: str | None
    invalidos: tuple[str, ...] = ()


class Pagina(msgspec.Struct, Generic[T], frozen=True):
    """One page of a paginated listing, with CCEE's paging figures."""

    numero: int
    total_paginas: int | None
    quantidade_total_itens: int | None
    itens: list[T]


def parse_data_hora(raw: str | None) -> tuple[datetime | None, bool]:
    """(UTC datetime, ok). A missing value is ok; a present but unparsable one is not.

    A timestamp without offset is taken as UTC (CCEE's samples always carry `Z`).
    """
    if raw is None or raw.strip() == "":
        return None, True
    text = raw.strip()
    if not _DATA_HORA_RE.fullmatch(text):
        return None, False
    # datetime keeps microseconds: trim any finer fraction.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None, False
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC), True
