"""Fixtures for the ingest tests: real receivers on loopback (see ingest_support)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ingest_support import Receiver, start_receiver


@pytest.fixture
def receiver_factory(tmp_path: Path) -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def make(*args: str, data_dir: Path | None = None, **kw: Any) -> Receiver:
        rcv = start_receiver(data_dir or tmp_path / f"data{len(started)}", *args, **kw)
        started.append(rcv)
        return rcv

    yield make
    for rcv in started:
        rcv.stop()  # SIGTERM (workers exit with their supervisor), SIGKILL after 30 s


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    """One receiver shared by a module's tests (each test uses its own transactionIds)."""
    rcv = start_receiver(tmp_path_factory.mktemp("lake") / "data", "--max-body", "4KiB")
    yield rcv
    rcv.stop()
