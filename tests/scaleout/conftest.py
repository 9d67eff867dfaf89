"""Session-scoped real servers for the scale-out tests (see scaleout_servers), and a fresh
lake prefix in the bucket for each test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from scaleout_servers import BUCKET, Postgres, SeaweedFS


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    server = SeaweedFS.start(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    server = Postgres.start()
    yield server
    server.stop()


@pytest.fixture
def s3_lake(seaweed: SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new, empty `s3://` lake, set in this process's environment as a user would."""
    url = f"s3://{BUCKET}/t-{uuid.uuid4().hex[:12]}/lake"
    for name in ("CONFIG", "DATA_DIR", "TOKENS"):
        monkeypatch.delenv(f"CCEE_WEBHOOK_{name}", raising=False)
    monkeypatch.setenv("CCEE_WEBHOOK_LAKE_URL", url)
    for k, v in seaweed.aws_env().items():
        monkeypatch.setenv(k, v)
    return url
