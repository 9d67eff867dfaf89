"""The secrets of this test run and the files a secret scan must read.

Every secret is generated per process (so a hit in the final secret scan cannot be a
coincidence) and every file the suite writes lives under pytest's base temp dir, which
`tests/reliability/test_rel_zz_secrets.py` scans at the end.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

#: URL tokens: TOKEN is labelled with PERFIL, TOKEN2 with no profile, TOKEN_B with PERFIL_B.
TOKEN = "reltok" + secrets.token_hex(12)
TOKEN2 = "reltokc" + secrets.token_hex(12)
TOKEN_B = "reltokb" + secrets.token_hex(12)
PERFIL = "7777"
PERFIL_B = "8888"
TOKENS_ENV = f"{PERFIL}:{TOKEN},{TOKEN2},{PERFIL_B}:{TOKEN_B}"
WS_USERNAME = "agente.reliability"
WS_PASSWORD = "wsspw" + secrets.token_hex(12)
CERT_PASSWORD = "certpw" + secrets.token_hex(12)
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
