"""Fixtures for the ccee/ tests: CCEE's recorded SOAP samples (copied into tests/fixtures/soap)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.soap_samples import SAMPLES_DIR, sample_bytes  # noqa: F401  (re-exported for fixtures)


@pytest.fixture
def samples_dir() -> Path:
    return SAMPLES_DIR


@pytest.fixture
def fake_ccee():
    from support.fake_ccee import FakeCCEE, RunningServer

    fake = FakeCCEE()
    with RunningServer(fake) as server:
        yield server


@pytest.fixture
def profile_for():
    from ccee.config import Profile, Secret

    def make(url: str, **kw):
        defaults = dict(
            name="teste", codigo="88888", url=url, username="usuario.teste",
            password=Secret("senha-teste"),
        )
        defaults.update(kw)
        return Profile(**defaults)

    return make
