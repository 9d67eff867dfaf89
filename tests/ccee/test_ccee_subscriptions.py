"""Plan computation and redaction of subscriptions-as-code (pure functions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccee.subscriptions import (
    DesiredPreference,
    Redactor,
    SubscriptionsError,
    apply_plan,
    load_desired,
    make_plan,
)


def test_redactor_hides_known_and_token_like_secrets() -> None:
    r = Redactor.from_env({
        "CCEE_WEBHOOK_TOKENS": "tokA1,88888:tok-B-12345",
        "MY_SECRET": "s3cr3t-xyz",
        "SHORT_TOKEN": "ab",
    })
    assert r("https://h.example/in/tok-B-12345") == "https://h.example/in/***"
    assert r("https://h.example/x?a=1&s=s3cr3t-xyz") == "https://h.example/x?a=1&s=***"
    assert r("https://h.example/x?token=abc&page=2") == "https://h.example/x?token=***&page=2"
    assert r("https://u:pw@h.example/x") == "https://u:***@h.example/x"
    assert r("https://h.example/ccee/3f9a0c2e-77aa-4d0b-9c1e-5b6a7d8e9f00") == (
        "https://h.example/ccee/***"
    )
    # The receiver's token slot (after /ccee/) is hidden even for a short, unknown token.
    assert Redactor()("http://127.0.0.1:8/ccee/tok/contrato") == "http://127.0.0.1:8/ccee/***/contrato"
    # Ordinary paths are shown as they are.
    assert r("https://url.destino.com.br/path/completo") == (
        "https://url.destino.com.br/path/completo"
    )
    # Configured receiver tokens are hidden whatever their length...
    assert r("https://h.example/tokA1") == "https://h.example/***"
    # ...but a 2-char value of some *TOKEN* variable would blank out ordinary text.
    assert r("https://h.example/abc") == "https://h.example/abc"
    assert r(None) is None


def test_plan_covers_every_action() -> None:
    desired = [
        DesiredPreference("A.ADD", "t", "https://n.example/1"),
        DesiredPreference("A.UPD", "t", "https://n.example/2"),
        DesiredPreference("A.SAME", "t", "https://n.example/3"),
    ]
    current = {"A.UPD": "https://o.example/2", "A.SAME": "https://n.example/3",
               "A.DEL": "https://o.example/4"}
    plan = make_plan(desired, current, Redactor())
    assert [(m.acao, m.codigo) for m in plan.mudancas] == [
        ("add", "A.ADD"), ("delete", "A.DEL"), ("unchanged", "A.SAME"), ("update", "A.UPD"),
    ]
    assert plan.summary() == "1 to add, 1 to update, 1 to delete, 1 unchanged"
    kept = make_plan(desired, current, Redactor(), delete_extra=False)
    assert "delete" not in {m.acao for m in kept.mudancas}


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def incluir_preferencia(self, codigo: str, endereco_destino: str) -> str:
        self.calls.append(("incluir", codigo, endereco_destino))
        return "ok"

    def atualizar_preferencia(self, codigo: str, endereco_destino: str) -> str:
        self.calls.append(("atualizar", codigo, endereco_destino))
        return "ok"

    def excluir_preferencia(self, codigo: str) -> str:
        self.calls.append(("excluir", codigo))
        return "ok"


def test_apply_uses_resolved_urls_and_refuses_unknown_codes() -> None:
    desired = [DesiredPreference("A.ADD", "https://n.example/${T}", "https://n.example/real-token-123")]
    plan = make_plan(desired, {"A.DEL": "https://o.example"}, Redactor(["real-token-123"]))
    assert plan.mudancas[0].desejado == "https://n.example/***"
    rec = _Recorder()
    apply_plan(rec, plan, desired, offered=["A.ADD"])
    assert rec.calls == [("incluir", "A.ADD", "https://n.example/real-token-123"),
                         ("excluir", "A.DEL")]
    rec2 = _Recorder()
    with pytest.raises(SubscriptionsError, match="does not offer"):
        apply_plan(rec2, plan, desired, offered=["OTHER.X"])
    assert rec2.calls == []


def test_load_desired_plain_mapping_and_env(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("CONTRATO.REGISTRADO: https://r.example/${TOK}\n")
    desired, perfil, secrets = load_desired(f, {"TOK": "abc-123-secret"})
    assert perfil is None
    assert desired == [DesiredPreference("CONTRATO.REGISTRADO", "https://r.example/${TOK}",
                                "https://r.example/abc-123-secret")]
    assert secrets == ["abc-123-secret"]
    empty = tmp_path / "e.yaml"
    empty.write_text("")
    assert load_desired(empty, {})[0] == []
