"""Realistic business events: contracts moving through plausible lifecycles.

A contract is registered, then validated (or cancelled and the cancellation validated),
possibly updated, its monthly energy amounts adjusted and validated month after month,
and finally concluded, finalised and the finalisation validated. Events arrive as a
Poisson process at `events_per_hour` of CCEE time, seeded for reproducible runs.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import date, datetime, timedelta

import msgspec

from ccee.mensagem import Metadado
from settings import ccee_day
from simulator.clock import VirtualClock
from simulator.event_catalog import EventCatalog
from simulator.events import SimEvent
from simulator.timefmt import metadata_timestamp

#: state -> [(next event code, weight)]; a state is the last event code of the contract.
TRANSITIONS: dict[str, list[tuple[str, float]]] = {
    "NOVO": [("CONTRATO.REGISTRADO", 1.0)],
    "CONTRATO.REGISTRADO": [("CONTRATO.VALIDADO", 0.85), ("CONTRATO.CANCELADO", 0.15)],
    "CONTRATO.VALIDADO": [
        ("MONTANTE_ENERGIA.AJUSTADO", 0.6),
        ("CONTRATO.ATUALIZADO", 0.2),
        ("CONTRATO.CONCLUIDO", 0.15),
        ("CONTRATO.CANCELADO", 0.05),
    ],
    "CONTRATO.ATUALIZADO": [("CONTRATO.VALIDADO", 1.0)],
    "MONTANTE_ENERGIA.AJUSTADO": [
        ("MONTANTE_ENERGIA.VALIDADO", 0.9),
        ("MONTANTE_ENERGIA.AJUSTADO", 0.1),
    ],
    "MONTANTE_ENERGIA.VALIDADO": [
        ("MONTANTE_ENERGIA.AJUSTADO", 0.55),
        ("CONTRATO.ATUALIZADO", 0.15),
        ("CONTRATO.CONCLUIDO", 0.3),
    ],
    "CONTRATO.CONCLUIDO": [("CONTRATO.FINALIZADO", 1.0)],
    "CONTRATO.FINALIZADO": [("CONTRATO.FINALIZACAO_VALIDADA", 1.0)],
    "CONTRATO.CANCELADO": [("CONTRATO.CANCELAMENTO_VALIDADO", 1.0)],
}
TERMINAL = {"CONTRATO.FINALIZACAO_VALIDADA", "CONTRATO.CANCELAMENTO_VALIDADO"}

SUBMERCADOS = [("SE/CO", 0.6), ("S", 0.15), ("NE", 0.15), ("N", 0.1)]
#: CONTRATO events that name a reference month; the others send the literal "null".
CONTRATO_COM_MES = {"CONTRATO.ATUALIZADO", "CONTRATO.CONCLUIDO"}


class Contrato(msgspec.Struct):
    id_contrato: int
    perfis: list[str]
    ambiente: str
    submercado: str
    mwh_base: float
    mes: date  # the month whose amounts are being adjusted next
    estado: str = "NOVO"


def _pick(rng: random.Random, options: list[tuple[str, float]]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _ym(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


class ContractBook:
    """The population of live contracts and the rule that advances one of them."""

    def __init__(self, rng: random.Random, perfis: list[str], max_live: int = 200) -> None:
        self._rng = rng
        self._perfis = perfis
        self._max_live = max_live
        self._live: list[Contrato] = []
        self._ids: set[int] = set()

    def _new(self, when: datetime) -> Contrato:
        rng = self._rng
        while True:
            cid = rng.randint(100_000, 9_999_999)
            if cid not in self._ids:
                self._ids.add(cid)
                break
        k = 2 if len(self._perfis) > 1 and rng.random() < 0.3 else 1
        start = ccee_day(when).replace(day=1)
        return Contrato(
            id_contrato=cid,
            perfis=rng.sample(self._perfis, k),
            ambiente="ACL" if rng.random() < 0.85 else "ACR",
            submercado=_pick(rng, SUBMERCADOS),
            mwh_base=round(rng.lognormvariate(6.5, 1.0), 3),
            mes=_next_month(start),
        )

    def next_event(self, when: datetime, catalog: EventCatalog) -> SimEvent | None:
        """Advance one contract (a new one sometimes) and describe what happened."""
        rng = self._rng
        if not self._live or (len(self._live) < self._max_live and rng.random() < 0.25):
            self._live.append(self._new(when))
        c = rng.choice(self._live)
        codigo = _pick(rng, TRANSITIONS[c.estado])
        c.estado = codigo
        if codigo in TERMINAL:
            self._live.remove(c)
        if codigo == "MONTANTE_ENERGIA.VALIDADO":
            mes = c.mes
            c.mes = _next_month(c.mes)
        else:
            mes = c.mes
        if codigo not in catalog:
            return None
        return SimEvent(codigo, self._metadados(c, codigo, when, mes), when, list(c.perfis))

    def metadata_for(self, codigo: str, when: datetime) -> list[Metadado]:
        c = self._new(when)
        return self._metadados(c, codigo, when, c.mes)

    def _metadados(self, c: Contrato, codigo: str, when: datetime, mes: date) -> list[Metadado]:
        head = [
            Metadado("ID_CONTRATO", str(c.id_contrato)),
            Metadado("DATA_ORIGEM_EVENTO", metadata_timestamp(when)),
        ]
        if codigo.startswith("MONTANTE_ENERGIA."):
            mwh = c.mwh_base * self._rng.uniform(0.8, 1.2)
            return [
                *head,
                Metadado("MES_REFERENCIA", _ym(mes)),
                Metadado("SUBMERCADO", c.submercado),
                Metadado("MONTANTE_MWH", f"{mwh:.3f}"),
                Metadado("AMBIENTE_CONTRATACAO", c.ambiente),
            ]
        mes_ref = _ym(mes) if codigo in CONTRATO_COM_MES else "null"
        return [
            *head,
            Metadado("MES_REFERENCIA", mes_ref),
            Metadado("AMBIENTE_CONTRATACAO", c.ambiente),
        ]


class EventGenerator:
    """Emits events at `events_per_hour` (CCEE time) until paused; waits on the clock."""

    def __init__(
        self,
        clock: VirtualClock,
        catalog: EventCatalog,
        perfis: list[str],
        emit: Callable[[SimEvent], object],
        events_per_hour: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self._clock = clock
        self._catalog = catalog
        self._emit = emit
        self._rng = random.Random(seed)
        self._book = ContractBook(self._rng, perfis)
        self._rate = max(0.0, events_per_hour)
        self._paused = False
        self._changed = asyncio.Event()
        self.generated = 0
        #: CCEE time of the last emitted event (the chain's position, even when lagging)
        self.last_emitted: datetime | None = None

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def events_per_hour(self) -> float:
        return self._rate

    def configure(
        self, *, paused: bool | None = None, events_per_hour: float | None = None
    ) -> None:
        if paused is not None:
            self._paused = paused
        if events_per_hour is not None:
            if events_per_hour < 0:
                raise ValueError("events_per_hour must be >= 0")
            self._rate = events_per_hour
        self._changed.set()

    def metadata_for(self, codigo: str, when: datetime) -> list[Metadado]:
        """Plausible metadados for `codigo` about a fresh contract (for injected events)."""
        return self._book.metadata_for(codigo, when)

    def make_event(self, when: datetime) -> SimEvent:
        """One event now (used by bursts); skips codes missing from the catalogue."""
        for _ in range(1000):
            ev = self._book.next_event(when, self._catalog)
            if ev is not None:
                return ev
        raise RuntimeError("the catalogue has none of the generator's event codes")

    async def run(self) -> None:
        """A Poisson process in CCEE time. Arrival times chain from the previous arrival,
        so a clock jump replays the arrivals it skipped (with their own timestamps); a
        pause or a rate change restarts the chain from the current time."""
        anchor: datetime | None = None
        while True:
            self._changed.clear()
            if self._paused or self._rate <= 0:
                anchor = None
                await self._changed.wait()
                continue
            gap = timedelta(hours=self._rng.expovariate(self._rate))
            when = (anchor or self._clock.now()) + gap
            sleeper = asyncio.ensure_future(self._clock.sleep_until(when))
            changed = asyncio.ensure_future(self._changed.wait())
            try:
                await asyncio.wait({sleeper, changed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                changed.cancel()
            if self._changed.is_set():
                anchor = None  # settings changed: re-plan from now
                continue
            self._emit(self.make_event(when))
            self.generated += 1
            self.last_emitted = anchor = when
            await asyncio.sleep(0)  # let the server breathe while catching up after a jump
