"""Profiles from TOML and the environment; secrets only from env or files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccee.config import ConfigError, load_profiles, resolve_url, select_profile
from ccee.contract import PILOT_URL, PRODUCTION_URL

TOML = """
url = "pilot"

[perfis.acme]
codigo = "11111"
username = "acme.user"
password_env = "ACME_PASSWORD"
cert = "/etc/ccee/acme.pfx"
cert_password_file = "{secret_file}"

[perfis.beta]
codigo = 22222
url = "http://127.0.0.1:8080/"
username = "beta.user"
password_file = "{secret_file}"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text("from-file\n")
    path = tmp_path / "ccee-webhook.toml"
    path.write_text(TOML.format(secret_file=secret))
    return path


def test_no_configuration_gives_no_profiles(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    assert load_profiles({}) == {}
    with pytest.raises(ConfigError, match="no CCEE profile configured"):
        select_profile(None, env={})


def test_toml_profiles(config: Path) -> None:
    env = {"CCEE_WEBHOOK_CONFIG": str(config), "ACME_PASSWORD": "from-env"}
    profiles = load_profiles(env)
    assert set(profiles) == {"acme", "beta"}
    acme, beta = profiles["acme"], profiles["beta"]
    assert (acme.codigo, acme.url, acme.username) == ("11111", PILOT_URL, "acme.user")
    assert acme.password is not None and acme.password.reveal() == "from-env"
    assert acme.cert_password is not None and acme.cert_password.reveal() == "from-file"
    assert str(acme.cert) == "/etc/ccee/acme.pfx"
    assert (beta.codigo, beta.url) == ("22222", "http://127.0.0.1:8080")
    assert beta.password is not None and beta.password.reveal() == "from-file"
    assert "from-env" not in repr(profiles) and "from-file" not in repr(profiles)


def test_select_by_name_codigo_or_env(config: Path) -> None:
    env = {"CCEE_WEBHOOK_CONFIG": str(config), "ACME_PASSWORD": "x"}
    assert select_profile("beta", env=env).name == "beta"
    assert select_profile("11111", env=env).name == "acme"
    assert select_profile(None, env={**env, "CCEE_WEBHOOK_PERFIL": "22222"}).name == "beta"
    with pytest.raises(ConfigError, match="several profiles"):
        select_profile(None, env=env)
    with pytest.raises(ConfigError, match="unknown profile 'zeta'"):
        select_profile("zeta", env=env)


def test_environment_profile_is_default(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    env = {
        "CCEE_WEBHOOK_PERFIL": "33333", "CCEE_WEBHOOK_USERNAME": "u",
        "CCEE_WEBHOOK_PASSWORD": "p", "CCEE_WEBHOOK_CCEE_URL": "pilot",
        "CCEE_WEBHOOK_CERT": "/x/cert.p12", "CCEE_WEBHOOK_CERT_PASSWORD": "cp",
    }
    profile = select_profile(None, env=env)
    assert (profile.name, profile.codigo, profile.url) == ("default", "33333", PILOT_URL)
    assert str(profile.cert) == "/x/cert.p12"
    assert profile.cert_password is not None and profile.cert_password.reveal() == "cp"


def test_inline_secrets_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[perfis.a]\ncodigo = "1"\npassword = "oops"\n')
    with pytest.raises(ConfigError, match="password_env") as exc:
        load_profiles({"CCEE_WEBHOOK_CONFIG": str(path)})
    assert "oops" not in str(exc.value)


def test_missing_secret_env_var(config: Path) -> None:
    with pytest.raises(ConfigError, match="ACME_PASSWORD"):
        load_profiles({"CCEE_WEBHOOK_CONFIG": str(config)})


def test_bad_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a file"):
        load_profiles({"CCEE_WEBHOOK_CONFIG": str(tmp_path / "nope.toml")})
    bad = tmp_path / "bad.toml"
    bad.write_text("[perfis.a\n")
    with pytest.raises(ConfigError, match="cannot read config"):
        load_profiles({"CCEE_WEBHOOK_CONFIG": str(bad)})


def test_urls() -> None:
    assert resolve_url("production") == PRODUCTION_URL
    assert resolve_url("Piloto") == PILOT_URL
    assert resolve_url("https://127.0.0.1:9000/") == "https://127.0.0.1:9000"
    with pytest.raises(ConfigError, match="production"):
        resolve_url("servicos.ccee.org.br")
