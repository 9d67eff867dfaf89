"""Root fixtures of the suite. Being at `tests/`, this file puts `tests/` on `sys.path`
(pytest's default `prepend` import mode), so every test imports `support.<module>`."""

from __future__ import annotations

import pytest

from support.credentials import TOKEN  # noqa: F401  (imported early: one set of secrets per run)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No `CCEE_WEBHOOK_*` variable of the developer's shell leaks into the test."""
    import os

    for key in list(os.environ):
        if key.startswith("CCEE_WEBHOOK_"):
            monkeypatch.delenv(key)
    return monkeypatch
