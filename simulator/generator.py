"""Realistic business events: contracts moving through plausible lifecycles.

A contract is registered, then validated (or cancelled and the cancellation validated),
possibly updated, its monthly energy amounts adjusted and validated month after month,
and finally concluded, finalised and the finalisation validated. Events arrive as a
Poisson process at `events_per_hour` of CCEE time, seeded for reproducible runs.

The lifecycle is `ccee.domain.lifecycle` (checked at import); the weights are ours. At a
knob-controlled rate (`lifecycle_anomaly_rate`) the generator breaks it on purpose, and it
records every anomaly it injected and the last amount declared per (contract, month,
submarket) in `Verdade`, so tests can compare the warehouse with the truth.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import date, datetime, timedelta

import msgspec

from ccee.domain import lifecycle
from ccee.domain import metadata as md
from ccee.domain.events import (
    ATUALIZADO,
    CANCELADO,
    CONTRATO,
    EVENTOS_CONTRATO,
    MONTANTE_ENERGIA,
    REGISTRADO,
    VALIDADO,
    codigo,
)
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
TERMINAL = {codigo(CONTRATO, e) for e in lifecycle.TERMINAIS}
_ESTADO_APOS_MONTANTE = VALIDADO  # amounts are declared for a validated contract


def _estado_contrato(estado: str) -> str | None:
    """The contract's lifecycle state behind a generator state (None before registration)."""
    if estado == "NOVO":
        return None
    entidade, evento = estado.split(".", 1)
    return evento if entidade == CONTRATO else _ESTADO_APOS_MONTANTE


def _check_against_domain() -> None:
    """Every contract step the weights allow must be a transition the domain allows."""
    for estado, options in TRANSITIONS.items():
        de = _estado_contrato(estado)
        for code, _ in options:
            entidade, para = code.split(".", 1)
            if entidade != CONTRATO:
                continue
            ok = para == lifecycle.INICIAL if de is None else lifecycle.permitida(de, para)
            if not ok:
                raise AssertionError(f"generator step {estado} → {code} breaks the lifecycle")


_check_against_domain()

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
    #: the amount of the pending adjustment (its validation repeats it)
    mwh_pendente: float | None = None
    #: CCEE time of the contract's last event: its events never share an instant
    ultimo: datetime | None = None
    #: an anomaly was injected into this contract (at most one per contract)
    anomalo: bool = False


class AnomaliaInjetada(msgspec.Struct, frozen=True):
    """One lifecycle anomaly the generator injected on purpose."""

    id_contrato: int
    perfis: list[str]
    tipo: str  # lifecycle.TRANSICAO_NAO_PREVISTA or lifecycle.APOS_TERMINAL
    de: str
    para: str
    data_origem: str


class Declaracao(msgspec.Struct):
    """The last amount declared for (contract, reference month, submarket)."""

    id_contrato: int
    perfis: list[str]
    mes_referencia: str
    submercado: str
    montante_mwh: str  # as sent (3 decimals)
    data_origem: str
    declaracoes: int


class Verdade:
    """What the generator did, for tests: anomalies injected and amounts in force."""

    def __init__(self) -> None:
        self.anomalias: list[AnomaliaInjetada] = []
        self._montantes: dict[tuple[int, str, str], Declaracao] = {}

    def declarar(self, c: Contrato, mes: str, mwh: str, quando: str) -> None:
        key = (c.id_contrato, mes, c.submercado)
        prev = self._montantes.get(key)
        n = prev.declaracoes + 1 if prev else 1
        self._montantes[key] = Declaracao(
            c.id_contrato, list(c.perfis), mes, c.submercado, mwh, quando, n
        )

    def montantes(self) -> list[Declaracao]:
        return [self._montantes[k] for k in sorted(self._montantes)]

    def as_dict(self) -> dict[str, object]:
        return {
            "anomalias": msgspec.to_builtins(self.anomalias),
            "montantes": msgspec.to_builtins(self.montantes()),
        }


def _pick(rng: random.Random, options: list[tuple[str, float]]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _ym(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


class ContractBook:
    """The population of live contracts and the rule that advances one of them."""

    def __init__(
        self,
        rng: random.Random,
        perfis: list[str],
        max_live: int = 200,
        anomaly_rate: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self._rng = rng
        self._perfis = perfis
        self._max_live = max_live
        self._anomaly_rate = anomaly_rate
        self._live: list[Contrato] = []
        #: recently ended contracts (targets for "event after a terminal state")
        self._ended: list[Contrato] = []
        self._ids: set[int] = set()
        self.verdade = Verdade()

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
        rate = self._anomaly_rate()
        if rate > 0 and rng.random() < rate:
            injected = self._anomaly(when, catalog)
            if injected is not None:
                return injected
        if not self._live or (len(self._live) < self._max_live and rng.random() < 0.25):
            self._live.append(self._new(when))
        c = rng.choice(self._live)
        return self._step(c, _pick(rng, TRANSITIONS[c.estado]), when, catalog)

    def _step(
        self, c: Contrato, code: str, when: datetime, catalog: EventCatalog
    ) -> SimEvent | None:
        """Move `c` to `code` at `when` (after its previous event) and build the event."""
        if c.ultimo is not None and when <= c.ultimo:
            when = c.ultimo + timedelta(milliseconds=1)  # metadata carry milliseconds
        when = when.replace(microsecond=when.microsecond // 1000 * 1000)
        c.ultimo = when
        c.estado = code
        if code in TERMINAL and c in self._live:
            self._live.remove(c)
            self._ended.append(c)
            del self._ended[: -self._max_live]
        mes = c.mes
        if code == codigo(MONTANTE_ENERGIA, "VALIDADO"):
            c.mes = _next_month(c.mes)
        if code not in catalog:
            return None
        return SimEvent(code, self._metadados(c, code, when, mes), when, list(c.perfis))

    def _anomaly(self, when: datetime, catalog: EventCatalog) -> SimEvent | None:
        """Break the lifecycle of one contract on purpose and record it (None: no target)."""
        rng = self._rng
        ended = [c for c in self._ended if not c.anomalo]
        live = [c for c in self._live if not c.anomalo and _estado_contrato(c.estado) is not None]
        if ended and (not live or rng.random() < 0.5):
            c, tipo = rng.choice(ended), lifecycle.APOS_TERMINAL
            para = rng.choice([REGISTRADO, VALIDADO, ATUALIZADO, CANCELADO])
        elif live:
            c, tipo = rng.choice(live), lifecycle.TRANSICAO_NAO_PREVISTA
            de_ = _estado_contrato(c.estado)
            assert de_ is not None
            proibidos = [
                e
                for e in EVENTOS_CONTRATO
                if not lifecycle.permitida(de_, e) and e not in lifecycle.TERMINAIS
            ]
            para = rng.choice(proibidos)
        else:
            return None
        de = _estado_contrato(c.estado)
        code = codigo(CONTRATO, para)
        if de is None or code not in catalog:
            return None
        ended_before = c not in self._live
        ev = self._step(c, code, when, catalog)
        if ev is None:
            return None
        if ended_before:
            c.estado = codigo(CONTRATO, de)  # it stays ended; nothing follows it
        c.anomalo = True
        self.verdade.anomalias.append(
            AnomaliaInjetada(
                c.id_contrato, list(c.perfis), tipo, de, para, metadata_timestamp(ev.data_origem)
            )
        )
        return ev

    def metadata_for(self, codigo: str, when: datetime) -> list[Metadado]:
        """Metadados about a fresh contract that joins no lifecycle (injected events)."""
        c = self._new(when)
        verdade, self.verdade = self.verdade, Verdade()  # not part of the generated truth
        try:
            return self._metadados(c, codigo, when, c.mes)
        finally:
            self.verdade = verdade

    def _metadados(self, c: Contrato, codigo: str, when: datetime, mes: date) -> list[Metadado]:
        head = [
            Metadado(md.ID_CONTRATO, str(c.id_contrato)),
            Metadado(md.DATA_ORIGEM_EVENTO, metadata_timestamp(when)),
        ]
        if codigo.startswith(MONTANTE_ENERGIA + "."):
            # An adjustment declares a new amount; its validation confirms the pending one.
            if codigo.endswith(".VALIDADO") and c.mwh_pendente is not None:
                mwh = c.mwh_pendente
            else:
                mwh = c.mwh_base * self._rng.uniform(0.8, 1.2)
            c.mwh_pendente = None if codigo.endswith(".VALIDADO") else mwh
            texto = f"{mwh:.3f}"
            self.verdade.declarar(c, _ym(mes), texto, metadata_timestamp(when))
            return [
                *head,
                Metadado(md.MES_REFERENCIA, _ym(mes)),
                Metadado(md.SUBMERCADO, c.submercado),
                Metadado(md.MONTANTE_MWH, texto),
                Metadado(md.AMBIENTE_CONTRATACAO, c.ambiente),
            ]
        mes_ref = _ym(mes) if codigo in CONTRATO_COM_MES else "null"
        return [
            *head,
            Metadado(md.MES_REFERENCIA, mes_ref),
            Metadado(md.AMBIENTE_CONTRATACAO, c.ambiente),
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
        anomaly_rate: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self._clock = clock
        self._catalog = catalog
        self._emit = emit
        self._rng = random.Random(seed)
        self._book = ContractBook(self._rng, perfis, anomaly_rate=anomaly_rate)
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

    @property
    def verdade(self) -> Verdade:
        """Anomalies injected and the last declaration per key, so far."""
        return self._book.verdade

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
