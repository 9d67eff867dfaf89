"""The demo's remote control of the local CCEE: its admin API (JSON under /admin/).

Only what the demo drives: the virtual clock, the event generator, fault knobs, injected
events, fast-forward and the ledger's counters. SOAP (preferences, results) goes through the
real client instead, like a participant's own tooling would.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import msgspec


class LedgerStats(msgspec.Struct, frozen=True):
    """The simulator's results ledger and dispatcher, as `GET /admin/stats` reports them."""

    now: datetime
    time_scale: float
    notificacoes: int
    por_situacao: dict[str, int]
    tentativas: int
    tentativas_201: int
    respostas_201_perdidas: int
    inflight: int
    scheduled: int
    max_attempts: int
    generated: int

    @property
    def aguardando(self) -> int:
        return self.por_situacao.get("AGUARDANDO_NOTIFICACAO", 0)

    @property
    def idle(self) -> bool:
        """Nothing in flight, nothing scheduled, nothing waiting: every notification closed."""
        return self.inflight == 0 and self.scheduled == 0 and self.aguardando == 0


class SimAdmin:
    """Synchronous client of the simulator's admin API (loopback, no auth by design)."""

    def __init__(self, base_url: str, timeout: float = 120.0) -> None:
        self._http = httpx.Client(base_url=base_url + "/admin", timeout=timeout, trust_env=False)

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, body: Any = None) -> Any:
        resp = self._http.request(method, path, json=body)
        if resp.status_code >= 400:
            raise RuntimeError(
                f"simulator admin {method} {path} answered {resp.status_code}: {resp.text[:300]}"
            )
        return resp.json()

    # -- clock and generator ---------------------------------------------------------------
    def set_scale(self, time_scale: float) -> datetime:
        info = self._send("POST", "/clock", {"time_scale": time_scale})
        return datetime.fromisoformat(info["now"])

    def now(self) -> datetime:
        return datetime.fromisoformat(self._send("GET", "/clock")["now"])

    def generator(
        self, *, paused: bool | None = None, events_per_hour: float | None = None
    ) -> None:
        self._send("POST", "/generator", {"paused": paused, "events_per_hour": events_per_hour})

    def fast_forward(self, seconds: float, tick_seconds: float | None = None) -> datetime:
        """Advance CCEE time, letting every delivery due on the way happen: exact discrete
        steps, or `tick_seconds` at a time (deliveries due within a tick go out at its end)."""
        info = self._send(
            "POST", "/fast-forward", {"seconds": seconds, "tick_seconds": tick_seconds}
        )
        return datetime.fromisoformat(info["now"])

    # -- faults and events -----------------------------------------------------------------
    def set_faults(self, **knobs: Any) -> None:
        self._send("PUT", "/faults", knobs)

    def inject(self, code: str, raw_body: str | None = None) -> list[str]:
        """One event of `code` now; `raw_body` replaces the JSON callback verbatim."""
        body: dict[str, Any] = {"code": code}
        if raw_body is not None:
            body["raw_body"] = raw_body
        return list(self._send("POST", "/events", body)["transaction_ids"])

    def truth(self) -> dict[str, Any]:
        """The generator's record: injected lifecycle anomalies, last declaration per key."""
        return dict(self._send("GET", "/generator/truth"))

    def notification(self, transaction_id: str) -> dict[str, Any]:
        return dict(self._send("GET", f"/notifications/{transaction_id}"))

    # -- counters --------------------------------------------------------------------------
    def stats(self) -> LedgerStats:
        s = self._send("GET", "/stats")
        ledger, disp, gen, clock = s["ledger"], s["dispatcher"], s["generator"], s["clock"]
        return LedgerStats(
            now=datetime.fromisoformat(clock["now"]),
            time_scale=float(clock["time_scale"]),
            notificacoes=int(ledger["notificacoes"]),
            por_situacao={str(k): int(v) for k, v in ledger["por_situacao"].items()},
            tentativas=int(ledger["tentativas"]),
            tentativas_201=int(ledger["tentativas_201"]),
            respostas_201_perdidas=int(ledger["respostas_201_perdidas"]),
            inflight=int(disp["inflight"]),
            scheduled=int(disp["scheduled"]),
            max_attempts=int(disp["max_attempts"]),
            generated=int(gen["generated"]),
        )
