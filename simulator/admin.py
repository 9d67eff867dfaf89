"""The admin HTTP API (JSON, under /admin/): drive the local CCEE from tests and demos.

Bind the simulator to loopback: this API has no authentication by design (it is a test
double's control panel, not part of CCEE's contract).
"""

from __future__ import annotations

from datetime import timedelta

import msgspec
from litestar import Controller, get, post, put
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody

from ccee.mensagem import Metadado
from simulator.core import Simulator
from simulator.knobs import DeliverySettings, FaultSettings
from simulator.timefmt import soap_timestamp

MAX_BATCH = 10_000


class ClockUpdate(msgspec.Struct):
    advance_seconds: float | None = None
    time_scale: float | None = None


class FastForward(msgspec.Struct):
    seconds: float
    #: jump this many CCEE seconds at a time, deliveries due within a tick going out together
    #: at its end (None: stop at every due delivery, exact timestamps)
    tick_seconds: float | None = None


class InjectEvent(msgspec.Struct):
    code: str
    metadados: list[Metadado] | None = None
    perfis: list[str] | None = None
    #: a verbatim callback body (e.g. invalid JSON) to send instead of a valid message
    raw_body: str | None = None
    count: int = 1


class Burst(msgspec.Struct):
    count: int


class GeneratorUpdate(msgspec.Struct):
    paused: bool | None = None
    events_per_hour: float | None = None


class Sent(msgspec.Struct):
    transaction_ids: list[str]


def _check_count(n: int) -> None:
    if not 1 <= n <= MAX_BATCH:
        raise ValueError(f"count must be within 1..{MAX_BATCH}")


def admin_controller(sim: Simulator) -> type[Controller]:
    class AdminController(Controller):
        path = "/admin"

        @get("/clock")
        async def clock(self) -> dict[str, object]:
            return sim.clock_info()

        @post("/clock", status_code=200)
        async def set_clock(self, data: JSONBody[ClockUpdate]) -> dict[str, object]:
            if data.time_scale is not None:
                sim.clock.set_scale(data.time_scale)
            if data.advance_seconds is not None:
                sim.clock.advance(timedelta(seconds=data.advance_seconds))
            return sim.clock_info()

        @post("/fast-forward", status_code=200)
        async def fast_forward(self, data: JSONBody[FastForward]) -> dict[str, object]:
            if data.seconds < 0:
                raise ValueError("seconds must be >= 0")
            if data.tick_seconds is not None and data.tick_seconds <= 0:
                raise ValueError("tick_seconds must be > 0")
            tick = None if data.tick_seconds is None else timedelta(seconds=data.tick_seconds)
            await sim.fast_forward(timedelta(seconds=data.seconds), tick)
            return sim.clock_info()

        @post("/events", status_code=201)
        async def inject(self, data: JSONBody[InjectEvent]) -> Sent:
            _check_count(data.count)
            raw = data.raw_body.encode() if data.raw_body is not None else None
            ids: list[str] = []
            for _ in range(data.count):
                ids += sim.inject(data.code, data.metadados, data.perfis, raw)
            return Sent(ids)

        @post("/burst", status_code=201)
        async def burst(self, data: JSONBody[Burst]) -> Sent:
            _check_count(data.count)
            return Sent(sim.burst(data.count))

        @get("/faults")
        async def faults(self) -> FaultSettings:
            return sim.knobs.get()

        @put("/faults")
        async def set_faults(self, data: JSONBody[FaultSettings]) -> FaultSettings:
            sim.knobs.set(data)
            return sim.knobs.get()

        @get("/delivery")
        async def delivery(self) -> DeliverySettings:
            return sim.knobs.get_delivery()

        @put("/delivery")
        async def set_delivery(self, data: JSONBody[DeliverySettings]) -> DeliverySettings:
            sim.knobs.set_delivery(data)
            return sim.knobs.get_delivery()

        @get("/generator")
        async def generator(self) -> dict[str, object]:
            return dict(sim.stats()["generator"])  # type: ignore[call-overload]

        @post("/generator", status_code=200)
        async def set_generator(self, data: JSONBody[GeneratorUpdate]) -> dict[str, object]:
            sim.generator.configure(paused=data.paused, events_per_hour=data.events_per_hour)
            return dict(sim.stats()["generator"])  # type: ignore[call-overload]

        @get("/generator/truth")
        async def generator_truth(self) -> dict[str, object]:
            """What the generator did on purpose: the lifecycle anomalies it injected and
            the last amount it declared per (contract, reference month, submarket)."""
            return sim.generator.verdade.as_dict()

        @get("/stats")
        async def stats(self) -> dict[str, object]:
            return sim.stats()

        @get("/notifications/{transaction_id:str}")
        async def notification(self, transaction_id: FromPath[str]) -> dict[str, object]:
            n = sim.ledger.get(transaction_id)
            if n is None:
                raise NotFoundException(f"no notification {transaction_id}")
            return {
                "transaction_id": n.transaction_id,
                "perfil": n.perfil,
                "code": n.codigo,
                "situacao": n.situacao,
                "data_origem": soap_timestamp(n.data_origem),
                "data_notificacao": soap_timestamp(n.data_notificacao)
                if n.data_notificacao
                else None,
                "attempts": [
                    {
                        "numero": t.numero,
                        "scheduled_at": t.agendada_em.isoformat(),
                        "sent_at": t.enviada_em.isoformat(),
                        "status_http": t.status_http,
                        "error": t.erro,
                        "response_lost": t.resposta_perdida,
                    }
                    for t in sim.ledger.attempts(transaction_id)
                ],
            }

    return AdminController
