"""The secrets of this test run and the files a secret scan must read.

Every secret is random per test run (so a hit in the final secret scan cannot be a
coincidence): derived from `CCEE_TEST_RUN_SEED`, which the root `conftest.py` draws once in
pytest's main process so that pytest-xdist workers (its children) share the same secrets.
Every file the suite writes lives under pytest's base temp dir, which `support.secret_scan`
reads once every test has finished.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

SEED_VAR = "CCEE_TEST_RUN_SEED"
_SEED = os.environ.setdefault(SEED_VAR, secrets.token_hex(16))


def _secret(label: str) -> str:
    return hashlib.sha256(f"{_SEED}:{label}".encode()).hexdigest()[:24]


#: URL tokens: TOKEN is labelled with PERFIL, TOKEN2 with no profile, TOKEN_B with PERFIL_B.
TOKEN = "reltok" + _secret("TOKEN")
TOKEN2 = "reltokc" + _secret("TOKEN2")
TOKEN_B = "reltokb" + _secret("TOKEN_B")
PERFIL = "7777"
PERFIL_B = "8888"
TOKENS_ENV = f"{PERFIL}:{TOKEN},{TOKEN2},{PERFIL_B}:{TOKEN_B}"
WS_USERNAME = "agente.reliability"
WS_PASSWORD = "wsspw" + _secret("WS_PASSWORD")
CERT_PASSWORD = "certpw" + _secret("CERT_PASSWORD")
ALL_SECRETS = {
    "receiver URL token": TOKEN,
    "second receiver URL token": TOKEN2,
    "other profile's receiver URL token": TOKEN_B,
    "WS-Security password": WS_PASSWORD,
    "certificate password": CERT_PASSWORD,
}


def walk_files(roots: Iterable[Path]) -> Iterator[Path]:
    """Every regular file under `roots` (symlinks are not followed)."""
    for root in roots:
        if root.is_file():
            yield root
        elif root.exists():
            for p in root.rglob("*"):
                if p.is_file() and not p.is_symlink():
                    yield p
