"""The receiver's URL tokens: the only secret that proves a callback came from CCEE.

Read from `$CCEE_WEBHOOK_TOKENS` (comma- or newline-separated; `PERFIL:TOKEN` ties a token to
a participant profile) and from the file named by `$CCEE_WEBHOOK_TOKENS_FILE` (same syntax), never
from flags or the TOML file itself. Both the receiver (to authenticate) and the CCEE client (to
redact the tokens from URLs it shows) read them here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

from settings.config_file import ENV_PREFIX, SettingsError

TOKENS_ENV = f"{ENV_PREFIX}TOKENS"
TOKENS_FILE_ENV = f"{ENV_PREFIX}TOKENS_FILE"


class SenderToken(msgspec.Struct, frozen=True):
    """A URL token and the participant profile it is labelled with (`PERFIL:TOKEN`)."""

    token: str
    perfil: str | None = None

    def __repr__(self) -> str:  # never print the secret
        return f"SenderToken(token='***', perfil={self.perfil!r})"

    __str__ = __repr__


def parse_tokens(text: str) -> tuple[SenderToken, ...]:
    """`tok1,PERFIL:tok2` → tokens; blank entries are ignored."""
    out = []
    for raw in text.replace("\n", ",").split(","):
        entry = raw.strip()
        if not entry:
            continue
        perfil, sep, token = entry.rpartition(":")
        if not sep:
            perfil, token = "", entry
        token = token.strip()
        if not token:
            raise SettingsError(f"empty token in {TOKENS_ENV}")
        if any(c in token for c in "/?#%") or any(c.isspace() for c in token):
            raise SettingsError(
                f"a token in {TOKENS_ENV} contains characters not allowed in a URL "
                "path segment ('/', '?', '#', '%' or whitespace)"
            )
        out.append(SenderToken(token=token, perfil=perfil.strip() or None))
    return tuple(out)


def tokens_from_env(
    env: Mapping[str, str] | None = None, tokens_file: str | None = None
) -> tuple[SenderToken, ...]:
    """Tokens of `$CCEE_WEBHOOK_TOKENS` plus those of the tokens file (env, else `tokens_file`
    from the TOML file's `[receiver]` table)."""
    env = os.environ if env is None else env
    text = env.get(TOKENS_ENV, "")
    path = env.get(TOKENS_FILE_ENV) or tokens_file
    if path:
        try:
            text += "," + Path(path).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise SettingsError(f"cannot read the tokens file {path}: {exc.strerror}") from None
    return parse_tokens(text)
