"""A throwaway CA with a server certificate (127.0.0.1) and a client certificate, for mTLS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, key, issuer: str, issuer_key, *, ca: bool = False, server: bool = False):  # type: ignore[no-untyped-def]
    now = dt.datetime.now(dt.UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        b = b.add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
    elif server:
        b = b.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    else:
        b = b.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    return b.sign(issuer_key, hashes.SHA256())


@dataclass
class Pki:
    ca_pem: Path
    server_cert: Path
    server_key: Path
    client_pfx: Path
    client_pfx_password: str
    client_cert_pem: Path
    client_key_pem: Path
    client_key_password: str
    client_cn: str

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(self.server_cert), str(self.server_key))
        ctx.load_verify_locations(cafile=str(self.ca_pem))
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx


def make_pki(folder: Path) -> Pki:
    pem = serialization.Encoding.PEM
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("ccee-webhook test CA", ca_key, "ccee-webhook test CA", ca_key, ca=True)
    srv_key = ec.generate_private_key(ec.SECP256R1())
    srv = _cert("127.0.0.1", srv_key, "ccee-webhook test CA", ca_key, server=True)
    cli_key = ec.generate_private_key(ec.SECP256R1())
    client_cn = "AGENTE TESTE:12345678000199"
    cli = _cert(client_cn, cli_key, "ccee-webhook test CA", ca_key)

    def write(name: str, data: bytes) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    no_enc = serialization.NoEncryption()
    pkcs8 = serialization.PrivateFormat.PKCS8
    pfx_password = "pfx-senha-secreta"
    key_password = "pem-senha-secreta"
    return Pki(
        ca_pem=write("ca.pem", ca.public_bytes(pem)),
        server_cert=write("server.pem", srv.public_bytes(pem)),
        server_key=write("server.key", srv_key.private_bytes(pem, pkcs8, no_enc)),
        client_pfx=write("client.pfx", pkcs12.serialize_key_and_certificates(
            b"cliente", cli_key, cli, [ca],
            serialization.BestAvailableEncryption(pfx_password.encode()),
        )),
        client_pfx_password=pfx_password,
        client_cert_pem=write("client.pem", cli.public_bytes(pem)),
        client_key_pem=write("client.key", cli_key.private_bytes(
            pem, pkcs8, serialization.BestAvailableEncryption(key_password.encode())
        )),
        client_key_password=key_password,
        client_cn=client_cn,
    )
