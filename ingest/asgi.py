"""ASGI entry point for worker processes: rebuilds the app from the settings `serve` passed.

`serve` puts its resolved settings (JSON) in `CCEE_WEBHOOK_SERVE_SETTINGS` before spawning
workers; the variable lives only in that process tree, like `CCEE_WEBHOOK_TOKENS` itself.
"""

from __future__ import annotations

import os

import msgspec
from litestar import Litestar

from ingest.app import create_app
from ingest.logs import configure_logging
from ingest.tuning import tune_process_for_serving
from settings import ReceiverSettings, receiver_settings

SETTINGS_ENV = "CCEE_WEBHOOK_SERVE_SETTINGS"


def app_from_env() -> Litestar:
    """Factory for `uvicorn ingest.asgi:app_from_env --factory` and for serve's workers."""
    raw = os.environ.get(SETTINGS_ENV)
    settings = msgspec.json.decode(raw, type=ReceiverSettings) if raw else receiver_settings()
    configure_logging(os.environ.get("CCEE_WEBHOOK_LOG_LEVEL", "info"))
    app = create_app(settings)
    tune_process_for_serving()
    return app
