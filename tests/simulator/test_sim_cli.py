"""`ccee-webhook simulate` as a user runs it: a real process, URL on the first stdout line."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import zeep.exceptions
from support.simulator import Clients, headers


@contextmanager
def _simulate(tmp_path: Path, env: dict[str, str], *args: str) -> Iterator[list[str]]:
    cmd = [sys.executable, "-c", "from ccee_webhook.cli import main; main()", "simulate",
           "--port", "0", "--db", str(tmp_path / "cli.sqlite3"), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    out: list[str] = []
    try:
        try:
            out.append(lines.get(timeout=60))
        except queue.Empty:
            proc.kill()
            pytest.fail(f"no URL printed; stderr: {proc.communicate()[1][-2000:]}")
        while len(out) < 3:  # the lines printed at start-up
            try:
                out.append(lines.get(timeout=5))
            except queue.Empty:
                break
        yield out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _Url:
    def __init__(self, url: str) -> None:
        self.url = url

    def wsdl_url(self, service: str) -> str:
        return f"{self.url}/ws/v2/{service}?wsdl"


def test_configured_participant_just_works_and_password_is_never_printed(
    tmp_path: Path,
) -> None:
    env = dict(os.environ, CCEE_WEBHOOK_USERNAME="agente.teste",
               CCEE_WEBHOOK_PASSWORD="s3nha-secreta", CCEE_WEBHOOK_PERFIL="4321")
    with _simulate(tmp_path, env, "--time-scale", "0", "--events-per-hour", "0") as out:
        url = out[0]
        assert url.startswith("http://127.0.0.1:") and url.rsplit(":", 1)[1].isdigit()
        assert not any("s3nha-secreta" in line for line in out)
        clients = Clients(_Url(url))  # type: ignore[arg-type]
        r = clients.eventos.service.listarEventoNotificacao(_soapheaders=headers())
        assert r.header.paginacao.quantidadeTotalItens == 10
        with pytest.raises(zeep.exceptions.Fault):
            clients.eventos.service.listarEventoNotificacao(_soapheaders=headers(password="x"))
        assert httpx.get(f"{url}/admin/clock", trust_env=False).json()["time_scale"] == 0.0


def test_generated_credentials_are_printed_once(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCEE_WEBHOOK_")}
    with _simulate(tmp_path, env, "--time-scale", "60", "--seed", "1") as out:
        user = out[1].split("username=")[1].split()[0]
        perfil = out[1].split("perfil=")[1].split()[0]
        password = out[2].split(": ", 1)[1]
        clients = Clients(_Url(out[0]))  # type: ignore[arg-type]
        r = clients.eventos.service.listarEventoNotificacao(
            _soapheaders=headers(username=user, password=password, perfil=perfil)
        )
        assert r.header.paginacao.quantidadeTotalItens == 10


def test_partial_credentials_are_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCEE_WEBHOOK_")}
    env["CCEE_WEBHOOK_USERNAME"] = "so-o-usuario"
    proc = subprocess.run(
        [sys.executable, "-c", "from ccee_webhook.cli import main; main()", "simulate",
         "--port", "0",
         "--db", str(tmp_path / "x.sqlite3")],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert proc.returncode != 0
    assert "CCEE_WEBHOOK_PASSWORD" in proc.stderr and proc.stdout == ""

