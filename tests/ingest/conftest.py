"""Fixtures for the ingest tests: real `serve` processes (`receiver_factory`) where process
behaviour is the point, the app in process (`receiver`) for the HTTP contract."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.receiver import InProcessReceiver, ReceiverProc, in_process_receiver, start_receiver


@pytest.fixture
def receiver_factory(tmp_path: Path) -> Iterator[Callable[..., ReceiverProc]]:
    started: list[ReceiverProc] = []

    def make(*args: str, data_dir: Path | None = None, **kw: Any) -> ReceiverProc:
        rcv = start_receiver(data_dir or tmp_path / f"data{len(started)}", *args, **kw)
        started.append(rcv)
        return rcv

    yield make
    for rcv in started:
        rcv.stop()  # SIGTERM (workers exit with their supervisor), SIGKILL after 30 s


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessReceiver]:
    """One in-process receiver shared by a module's tests (each uses its own transactionIds)."""
    with in_process_receiver(
        tmp_path_factory.mktemp("lake") / "data", max_body=4 * 1024
    ) as rcv:
        yield rcv
