"""Fixtures for the ccee/ tests: CCEE's recorded SOAP samples (copied into tests/fixtures/soap)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "soap"

#: The samples carry Postman/SoapUI placeholders instead of real credentials.
_PLACEHOLDERS = {
    r"\{\{AuthCodigoPerfilAgente\}\}|\$\{#Project#codigoPerfilAgente\}": "88888",
    r"\{\{AuthUsername\}\}|\$\{#Project#usuarioAgente\}": "usuario.teste",
    r"\{\{AuthPassword\}\}|\$\{#Project#senhaAgente\}": "senha-teste",
}


def sample_bytes(name: str, *, fill_placeholders: bool = True) -> bytes:
    text = (SAMPLES_DIR / name).read_text(encoding="utf-8")
    if fill_placeholders:
        for pattern, value in _PLACEHOLDERS.items():
            text = re.sub(pattern, value, text)
    return text.encode("utf-8")


@pytest.fixture
def samples_dir() -> Path:
    return SAMPLES_DIR


@pytest.fixture
def fake_ccee():
    from ccee_test_server import FakeCCEE, RunningServer

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
