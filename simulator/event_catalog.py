"""The event catalogue: which notification event codes this local CCEE offers.

Defaults to every code the domain model knows (`ccee.domain.events.CODIGOS`); a file (one
code per line, `#` comments) replaces it so users can mirror what their CCEE environment publishes.
"""

from __future__ import annotations

from pathlib import Path

from ccee.domain.events import CODIGOS
from ccee.mensagem import EventCode, parse_event_code

DEFAULT_CODES: tuple[str, ...] = CODIGOS


class EventCatalog:
    """An ordered, duplicate-free set of event codes (sorted by code, like CCEE's listing)."""

    def __init__(self, codes: tuple[str, ...] | list[str] = DEFAULT_CODES) -> None:
        parsed = {c: parse_event_code(c) for c in codes}  # raises InvalidEventCode
        if not parsed:
            raise ValueError("the event catalogue is empty")
        self._codes: dict[str, EventCode] = dict(sorted(parsed.items()))

    @classmethod
    def from_file(cls, path: Path) -> EventCatalog:
        codes = []
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                codes.append(line)
        return cls(codes)

    def __contains__(self, codigo: object) -> bool:
        return codigo in self._codes

    def codes(self) -> list[str]:
        return list(self._codes)

    def events(self, entidade: str | None = None, evento: str | None = None) -> list[EventCode]:
        """CCEE's `listarEventoNotificacao` filters: exact entity and/or event name."""
        return [
            ec
            for ec in self._codes.values()
            if (not entidade or ec.entidade == entidade) and (not evento or ec.evento == evento)
        ]
