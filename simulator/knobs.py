"""Knobs: how the local CCEE misbehaves on purpose (faults) and how it paces deliveries.

Decisions draw from a seeded RNG so a run with `--seed` misbehaves the same way twice.
Deterministic counters (`lose_next_201`, `fail_page.vezes`) exist for tests that must
not depend on chance.
"""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from enum import Enum

import msgspec


class FailPage(msgspec.Struct):
    """Fail page `numero` of `operacao` the next `vezes` times it is asked for."""

    operacao: str
    numero: int
    vezes: int = 1


class FaultSettings(msgspec.Struct):
    #: real milliseconds added before every SOAP answer
    soap_latency_ms: float = 0.0
    #: fraction of SOAP calls answered with unexpectedTechnicalFault 4001
    soap_error_rate: float = 0.0
    #: fraction of SOAP calls answered with a truncated (unparsable) document, HTTP 200
    soap_malformed_rate: float = 0.0
    #: a page that fails mid-pagination
    fail_page: FailPage | None = None
    #: fraction of 201 answers the dispatcher "loses" (so the callback is sent again)
    lose_201_rate: float = 0.0
    #: the next N 201 answers are lost (deterministic variant of the above)
    lose_next_201: int = 0
    #: fraction of generated events that break a contract's lifecycle on purpose (a
    #: transition the lifecycle does not allow, or an event after a terminal state); the
    #: generator records each one (admin: GET /admin/generator/truth)
    lifecycle_anomaly_rate: float = 0.0

    def check(self) -> None:
        for name in (
            "soap_error_rate",
            "soap_malformed_rate",
            "lose_201_rate",
            "lifecycle_anomaly_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
        if self.soap_latency_ms < 0 or self.lose_next_201 < 0:
            raise ValueError("soap_latency_ms and lose_next_201 must be >= 0")
        if self.fail_page is not None and (self.fail_page.numero < 1 or self.fail_page.vezes < 0):
            raise ValueError("fail_page needs numero >= 1 and vezes >= 0")


#: CCEE's recorded ListarResultado response has dataNotificacao 9 min 23 s to 10 min 3 s
#: after dataOrigem for every notification: the middle of that range (CCEE seconds).
DEFAULT_FIRST_ATTEMPT_DELAY_S = 570.0


class DeliverySettings(msgspec.Struct):
    #: CCEE seconds from dataOrigem to the first delivery attempt; retries stay on the
    #: dataOrigem + k·5 min grid (`simulator.retry`). 0 sends at once (tests, the demo).
    first_attempt_delay_s: float = DEFAULT_FIRST_ATTEMPT_DELAY_S

    def check(self) -> None:
        if not 0.0 <= self.first_attempt_delay_s <= 24 * 3600:
            raise ValueError(
                f"first_attempt_delay_s must be within [0, 86400], got {self.first_attempt_delay_s}"
            )


class SoapOutcome(Enum):
    OK = "ok"
    FAULT = "fault"
    MALFORMED = "malformed"


class Knobs:
    """Thread-safe current settings plus the decisions drawn from them."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._settings = FaultSettings()
        self._delivery = DeliverySettings()

    def get(self) -> FaultSettings:
        with self._lock:
            return msgspec.structs.replace(self._settings)

    def set(self, settings: FaultSettings) -> None:
        settings.check()
        with self._lock:
            self._settings = settings

    def get_delivery(self) -> DeliverySettings:
        with self._lock:
            return msgspec.structs.replace(self._delivery)

    def set_delivery(self, settings: DeliverySettings) -> None:
        """Applies to attempts scheduled from now on (those already due keep their time)."""
        settings.check()
        with self._lock:
            self._delivery = settings

    def first_attempt_delay(self) -> timedelta:
        return timedelta(seconds=self._delivery.first_attempt_delay_s)

    def lifecycle_anomaly_rate(self) -> float:
        return self._settings.lifecycle_anomaly_rate

    def soap_latency_s(self) -> float:
        return self._settings.soap_latency_ms / 1000.0

    def soap_outcome(self, operacao: str, pagina: int) -> SoapOutcome:
        with self._lock:
            s = self._settings
            fp = s.fail_page
            if fp is not None and fp.vezes > 0 and fp.operacao == operacao and fp.numero == pagina:
                fp.vezes -= 1
                return SoapOutcome.FAULT
            if s.soap_error_rate and self._rng.random() < s.soap_error_rate:
                return SoapOutcome.FAULT
            if s.soap_malformed_rate and self._rng.random() < s.soap_malformed_rate:
                return SoapOutcome.MALFORMED
            return SoapOutcome.OK

    def lose_201(self) -> bool:
        with self._lock:
            s = self._settings
            if s.lose_next_201 > 0:
                s.lose_next_201 -= 1
                return True
            return bool(s.lose_201_rate) and self._rng.random() < s.lose_201_rate
