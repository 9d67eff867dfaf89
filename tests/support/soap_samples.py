"""CCEE's recorded SOAP samples (copied into tests/fixtures/soap), placeholders filled."""

from __future__ import annotations

import re

from support.paths import SOAP_SAMPLES as SAMPLES_DIR

#: The samples carry Postman/SoapUI placeholders instead of real credentials.
_PLACEHOLDERS = {
    r"\{\{AuthCodigoPerfilAgente\}\}|\$\{#Project#codigoPerfilAgente\}": "88888",
    r"\{\{AuthUsername\}\}|\$\{#Project#usuarioAgente\}": "usuario.teste",
    r"\{\{AuthPassword\}\}|\$\{#Project#senhaAgente\}": "senha-teste",
}


def sample_bytes(name: str, *, fill_placeholders: bool = True) -> bytes:
    text = (SAMPLES_DIR / name).read_text(encoding="utf-8")
    if fill_placeholders:
        for pattern, value in _PLACEHOLDERS.items():
            text = re.sub(pattern, value, text)
    return text.encode("utf-8")
