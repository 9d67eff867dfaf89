"""A business event inside the simulator, before it becomes per-participant notifications."""

from __future__ import annotations

from datetime import datetime

import msgspec

from ccee.mensagem import Metadado


class SimEvent(msgspec.Struct, frozen=True):
    codigo: str
    metadados: list[Metadado]
    data_origem: datetime
    #: profiles concerned (None: every configured participant)
    perfis: list[str] | None = None
    #: a verbatim callback body to send instead of the JSON built from the fields above
    #: (for quarantine demos: invalid JSON, wrong schema, …)
    corpo_bruto: bytes | None = None
