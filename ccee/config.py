"""Profiles: who we are at CCEE (codigoPerfilAgente, credentials, certificate) and where CCEE is.

Precedence: flags > environment (`CCEE_WEBHOOK_*`) > TOML file (`$CCEE_WEBHOOK_CONFIG`, default
`./ccee-webhook.toml`). A consultancy lists several `[perfis.<name>]` tables; the environment
forms the profile `default`. Secrets come only from the environment or from files: a TOML
profile names them (`password_env`, `password_file`, `cert_password_env`, ...), never holds them.

```toml
url = "pilot"                       # default for every profile: production | pilot | URL

[perfis.acme]
codigo = "12345"                    # codigoPerfilAgente
username = "acme.integracao"
password_env = "ACME_CCEE_PASSWORD" # or password_file = "/run/secrets/acme"
cert = "/etc/ccee/acme.pfx"         # PFX/P12, or PEM with key = "..."
cert_password_env = "ACME_CERT_PASSWORD"
ca_bundle = "/etc/ccee/ca.pem"      # optional: CA that signs CCEE's (or the simulator's) TLS cert
```
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from ccee.contract import PILOT_URL, PRODUCTION_URL
from ccee.errors import ConfigError
from settings import (
    ENV_PREFIX,
    SettingsError,
    config_file_path,
    load_config_file,
)

ENV_PROFILE_NAME = "default"

_URL_ALIASES = {
    "production": PRODUCTION_URL,
    "producao": PRODUCTION_URL,
    "pilot": PILOT_URL,
    "piloto": PILOT_URL,
}


class Secret:
    """A secret value that never shows itself in repr/str (logs, tracebacks, error messages)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class Profile(msgspec.Struct, frozen=True):
    """Everything needed to talk to CCEE as one participant profile."""

    name: str
    codigo: str | None = None
    url: str = PRODUCTION_URL
    username: str | None = None
    password: Secret | None = None
    #: WS-Security Password `Type` attribute; CCEE's samples send none.
    password_type: str | None = None
    cert: Path | None = None
    cert_password: Secret | None = None
    key: Path | None = None
    ca_bundle: Path | None = None

    def describe(self) -> str:
        return f"profile {self.name!r} (codigoPerfilAgente {self.codigo or '-'}) at {self.url}"


def resolve_url(value: str) -> str:
    """`production`, `pilot` or an http(s) base URL (trailing slash dropped)."""
    text = value.strip()
    alias = _URL_ALIASES.get(text.lower())
    if alias:
        return alias
    if not text.startswith(("http://", "https://")):
        raise ConfigError(
            f"CCEE URL must be 'production', 'pilot' or an http(s) URL, got {text[:80]!r}"
        )
    return text.rstrip("/")


def _read_secret_file(path: str, what: str) -> Secret:
    try:
        return Secret(Path(path).expanduser().read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise ConfigError(f"cannot read {what} file {path}: {exc.strerror}") from exc


def _secret(
    table: Mapping[str, Any], key: str, env: Mapping[str, str], where: str
) -> Secret | None:
    if key in table:
        raise ConfigError(
            f"{where}: '{key}' must not be written in the config file; "
            f"use '{key}_env' (an environment variable name) or '{key}_file'"
        )
    env_name = table.get(f"{key}_env")
    if env_name:
        if env_name not in env:
            raise ConfigError(f"{where}: environment variable {env_name} ({key}) is not set")
        return Secret(env[env_name])
    file_name = table.get(f"{key}_file")
    if file_name:
        return _read_secret_file(str(file_name), f"{where} {key}")
    return None


def _path(value: Any) -> Path | None:
    return Path(str(value)).expanduser() if value else None


def config_path(env: Mapping[str, str]) -> Path | None:
    """The shared TOML file (settings.config_file_path), errors as ConfigError."""
    try:
        return config_file_path(env)
    except SettingsError as exc:
        raise ConfigError(str(exc)) from None


def _env_profile(env: Mapping[str, str], default_url: str) -> Profile | None:
    keys = ("PERFIL", "USERNAME", "PASSWORD", "CERT")
    if not any(env.get(f"{ENV_PREFIX}{k}") for k in keys):
        return None
    password = env.get(f"{ENV_PREFIX}PASSWORD")
    cert_password = env.get(f"{ENV_PREFIX}CERT_PASSWORD")
    return Profile(
        name=ENV_PROFILE_NAME,
        codigo=env.get(f"{ENV_PREFIX}PERFIL") or None,
        url=default_url,
        username=env.get(f"{ENV_PREFIX}USERNAME") or None,
        password=Secret(password) if password is not None else None,
        password_type=env.get(f"{ENV_PREFIX}PASSWORD_TYPE") or None,
        cert=_path(env.get(f"{ENV_PREFIX}CERT")),
        cert_password=Secret(cert_password) if cert_password is not None else None,
        key=_path(env.get(f"{ENV_PREFIX}KEY")),
        ca_bundle=_path(env.get(f"{ENV_PREFIX}CA_BUNDLE")),
    )


def load_profiles(
    env: Mapping[str, str] | None = None, path: Path | None = None
) -> dict[str, Profile]:
    """Every configured profile (TOML tables + the environment's `default`); {} if none."""
    env = os.environ if env is None else env
    path = path if path is not None else config_path(env)
    try:
        _, data = load_config_file(env, path)
    except SettingsError as exc:
        raise ConfigError(str(exc)) from None
    env_url = env.get(f"{ENV_PREFIX}CCEE_URL")
    default_url = resolve_url(env_url or str(data.get("url") or "production"))
    profiles: dict[str, Profile] = {}
    perfis = data.get("perfis", {})
    if not isinstance(perfis, dict):
        raise ConfigError(f"{path}: 'perfis' must be a table of [perfis.<name>] tables")
    for name, table in perfis.items():
        where = f"{path} [perfis.{name}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table")
        codigo = table.get("codigo")
        profiles[name] = Profile(
            name=name,
            codigo=str(codigo) if codigo is not None else None,
            url=resolve_url(str(table["url"])) if table.get("url") else default_url,
            username=table.get("username"),
            password=_secret(table, "password", env, where),
            password_type=table.get("password_type"),
            cert=_path(table.get("cert")),
            cert_password=_secret(table, "cert_password", env, where),
            key=_path(table.get("key")),
            ca_bundle=_path(table.get("ca_bundle")),
        )
    env_profile = _env_profile(env, default_url)
    if env_profile is not None:
        profiles.setdefault(ENV_PROFILE_NAME, env_profile)
    return profiles


def select_profile(
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    profiles: Mapping[str, Profile] | None = None,
) -> Profile:
    """The profile to act as: `--perfil` (a name or a codigo), else `$CCEE_WEBHOOK_PERFIL`."""
    env = os.environ if env is None else env
    profiles = load_profiles(env) if profiles is None else profiles
    if not profiles:
        raise ConfigError(
            "no CCEE profile configured: set CCEE_WEBHOOK_PERFIL, CCEE_WEBHOOK_USERNAME, "
            "CCEE_WEBHOOK_PASSWORD (and CCEE_WEBHOOK_CERT), or write ccee-webhook.toml"
        )
    wanted = name or env.get(f"{ENV_PREFIX}PERFIL")
    if wanted:
        if wanted in profiles:
            return profiles[wanted]
        by_code = [p for p in profiles.values() if p.codigo == wanted]
        # A configured profile with that codigo beats the bare environment profile.
        named = [p for p in by_code if p.name != ENV_PROFILE_NAME]
        if len(named) == 1:
            return named[0]
        if len(by_code) == 1:
            return by_code[0]
        if name:
            raise ConfigError(
                f"unknown profile {name!r}; configured: {', '.join(sorted(profiles))}"
            )
    if ENV_PROFILE_NAME in profiles:
        return profiles[ENV_PROFILE_NAME]
    if len(profiles) == 1:
        return next(iter(profiles.values()))
    raise ConfigError(
        f"several profiles configured ({', '.join(sorted(profiles))}): choose one with --perfil"
    )
