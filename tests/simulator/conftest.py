"""Fixtures for the simulator's tests (helpers live in sim_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.simulator import Clients, ScriptedReceiver, make_config

from simulator.server import RunningSimulator, run_simulator


@pytest.fixture
def receiver() -> Iterator[ScriptedReceiver]:
    r = ScriptedReceiver()
    r.up()
    yield r
    if r.hold is not None:
        r.hold.set()
    r.down()


@pytest.fixture
def sim(tmp_path: Any) -> Iterator[RunningSimulator]:
    """A simulator with a frozen clock at T0: time moves only by fast_forward."""
    with run_simulator(make_config(tmp_path)) as s:
        yield s


@pytest.fixture
def clients(sim: RunningSimulator) -> Clients:
    return Clients(sim)
