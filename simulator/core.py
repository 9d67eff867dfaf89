"""The local CCEE assembled: clock, stores, SOAP service, dispatcher, generator.

Everything here runs on one asyncio loop (the server's). `publish` turns a business event
into one notification per subscribed participant, each with its own fresh transactionId.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import msgspec

from ccee.mensagem import Mensagem, Metadado, encode_mensagem, parse_event_code
from simulator.clock import VirtualClock
from simulator.dispatcher import Dispatcher, DispatchSettings
from simulator.event_catalog import DEFAULT_CODES, EventCatalog
from simulator.events import SimEvent
from simulator.generator import EventGenerator
from simulator.knobs import DeliverySettings, Knobs
from simulator.ledger import Ledger
from simulator.participants import Participant, Participants
from simulator.preferences import PreferenceStore
from simulator.retry import CCEE_RETRY, RedeliveryRule
from simulator.soap_service import SoapService
from simulator.store import Database

#: event-loop turns given to the generator after each clock jump of a fast-forward
_SETTLE_TURNS = 20


class SimulatorConfig(msgspec.Struct):
    participants: list[Participant]
    #: SQLite file for preferences and the results ledger (":memory:" for throwaway runs)
    db_path: str = ":memory:"
    #: CCEE seconds per real second; 0 freezes the clock (it then moves only when told)
    time_scale: float = 1.0
    #: CCEE time at startup (default: now)
    start: datetime | None = None
    events_per_hour: float = 0.0
    #: initial `FaultSettings.lifecycle_anomaly_rate` (changeable later via /admin/faults)
    anomaly_rate: float = 0.0
    seed: int | None = None
    catalog: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_CODES))
    retry: RedeliveryRule = CCEE_RETRY
    dispatch: DispatchSettings = msgspec.field(default_factory=DispatchSettings)
    #: first-attempt delay (default: as in CCEE's recorded results); changeable at run time
    delivery: DeliverySettings = msgspec.field(default_factory=DeliverySettings)


class UnknownEventCode(ValueError):
    pass


class Simulator:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.clock = VirtualClock(config.start, config.time_scale)
        self.catalog = EventCatalog(config.catalog)
        self.participants = Participants(config.participants)
        if config.db_path != ":memory:":
            Path(config.db_path).parent.mkdir(parents=True, exist_ok=True)
        self.db = Database(config.db_path)
        self.preferences = PreferenceStore(self.db)
        self.ledger = Ledger(self.db)
        self.knobs = Knobs(config.seed)
        self.knobs.set_delivery(config.delivery)
        if config.anomaly_rate:
            self.knobs.set(
                msgspec.structs.replace(
                    self.knobs.get(), lifecycle_anomaly_rate=config.anomaly_rate
                )
            )
        self.soap = SoapService(
            self.clock, self.catalog, self.participants, self.preferences, self.ledger, self.knobs
        )
        self.dispatcher = Dispatcher(
            self.clock, self.ledger, self.knobs, config.retry, config.dispatch
        )
        self.generator = EventGenerator(
            self.clock,
            self.catalog,
            self.participants.perfis(),
            self.publish,
            config.events_per_hour,
            config.seed,
            anomaly_rate=self.knobs.lifecycle_anomaly_rate,
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        if self.config.start is not None:
            self.clock.restart(self.config.start)
        await self.dispatcher.start()
        self._tasks.append(asyncio.create_task(self.generator.run(), name="generator"))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.dispatcher.stop()
        self.db.close()

    # -- events ----------------------------------------------------------------------------
    def publish(self, event: SimEvent) -> list[str]:
        """Queue one notification per subscribed participant; returns their transactionIds."""
        if event.codigo not in self.catalog:
            raise UnknownEventCode(f"event code {event.codigo!r} is not in the catalogue")
        perfis = event.perfis if event.perfis is not None else self.participants.perfis()
        ids = []
        for perfil in perfis:
            participant = self.participants.get(perfil)
            destino = self.preferences.destino(perfil, event.codigo)
            if participant is None or destino is None:
                continue
            tx = str(uuid.uuid4())
            corpo = event.corpo_bruto
            if corpo is None:
                corpo = encode_mensagem(Mensagem(event.codigo, event.metadados, tx))
            self.ledger.create(
                transaction_id=tx,
                perfil=perfil,
                participante_mercado=participant.codigo_participante,
                codigo=event.codigo,
                endereco_destino=destino,
                corpo=corpo,
                data_origem=event.data_origem,
            )
            self.dispatcher.submit(tx, destino, corpo, event.data_origem)
            ids.append(tx)
        return ids

    def inject(
        self,
        codigo: str,
        metadados: list[Metadado] | None = None,
        perfis: list[str] | None = None,
        corpo_bruto: bytes | None = None,
    ) -> list[str]:
        """A specific event now; plausible metadados are generated when none are given."""
        parse_event_code(codigo)
        if codigo not in self.catalog:
            raise UnknownEventCode(f"event code {codigo!r} is not in the catalogue")
        now = self.clock.now()
        if metadados is None:
            metadados = self.generator.metadata_for(codigo, now)
        return self.publish(SimEvent(codigo, metadados, now, perfis, corpo_bruto))

    def burst(self, count: int) -> list[str]:
        """`count` generated events at the same CCEE instant (a burst)."""
        now = self.clock.now()
        ids: list[str] = []
        for _ in range(count):
            ids.extend(self.publish(self.generator.make_event(now)))
        return ids

    # -- time ------------------------------------------------------------------------------
    async def fast_forward(
        self, delta: timedelta, tick: timedelta | None = None
    ) -> datetime:
        """Move CCEE time forward by `delta`, letting every due delivery on the way finish.

        Without `tick`: discrete-event stepping, stopping at every due delivery, so
        timestamps are exact. With `tick`: the clock jumps a tick at a time and the deliveries
        due within a tick go out together at its end (dataNotificacao up to one tick late):
        far fewer steps, for replaying days of history quickly. The retry rule is unchanged
        (attempt k stays due at dataOrigem + k·5 min, so a notification still gets 289).
        """
        target = self.clock.now() + delta
        while True:
            await self.dispatcher.wait_idle()
            now = self.clock.now()
            stop = target if tick is None else min(target, now + tick)
            nxt = self.dispatcher.next_due()
            if tick is None and nxt is not None and nxt <= stop:
                self.clock.advance_to(nxt)
                continue
            self.clock.advance_to(stop)
            # Let the generator emit the arrivals up to `stop` before waiting for the
            # dispatcher (each wake-up is a few loop turns away): they go out in this tick.
            for _ in range(_SETTLE_TURNS):
                await asyncio.sleep(0)
            await self.dispatcher.wait_idle()
            if stop >= target:
                return self.clock.now()

    def stats(self) -> dict[str, object]:
        return {
            "clock": self.clock_info(),
            "ledger": self.ledger.stats(),
            "dispatcher": {
                "inflight": self.dispatcher.inflight,
                "scheduled": self.dispatcher.scheduled,
                "max_attempts": self.dispatcher.max_attempts(),
                "first_attempt_delay_s": self.knobs.get_delivery().first_attempt_delay_s,
            },
            "generator": {
                "paused": self.generator.paused,
                "events_per_hour": self.generator.events_per_hour,
                "generated": self.generator.generated,
                "anomalies_injected": len(self.generator.verdade.anomalias),
            },
        }

    def clock_info(self) -> dict[str, object]:
        return {"now": self.clock.now().isoformat(), "time_scale": self.clock.scale}
