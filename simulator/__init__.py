"""A faithful local CCEE: the BSv2 SOAP services plus webhook delivery with CCEE's retries.

`run_simulator(SimulatorConfig(...))` serves the three SOAP services for the configured
`Participant`s, generates business events, delivers them to the registered URLs (HTTP 201 or
re-sent every 5 min for 24 h) and keeps the delivery results CCEE would report; its clock can
be frozen and fast-forwarded. `SimAdmin` is the client of its admin HTTP API (used by tests and
the demo). `simulator serve` is its command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.admin_client import SimAdmin
    from simulator.core import SimulatorConfig
    from simulator.participants import Participant
    from simulator.server import RunningSimulator, TLSConfig, run_simulator

#: Public name → the module defining it (imported on first use, so `import simulator.<module>`
#: stays cheap and needs none of the other modules' dependencies).
_SURFACE = {
    "SimulatorConfig": "simulator.core",
    "RunningSimulator": "simulator.server",
    "TLSConfig": "simulator.server",
    "run_simulator": "simulator.server",
    "SimAdmin": "simulator.admin_client",
    "Participant": "simulator.participants",
}

__all__ = [
    "Participant",
    "RunningSimulator",
    "SimAdmin",
    "SimulatorConfig",
    "TLSConfig",
    "run_simulator",
]


def __getattr__(name: str) -> Any:
    module = _SURFACE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
