"""TLS client certificates for the CertFP tests, made fresh by each test: self-signed,
as IRC clients make them (nobody signs an IRC client's certificate), so that the server
must take them as they come."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from pathlib import Path
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hubbub.app import Runtime
from tests.helpers import LineClient


class ClientCert(NamedTuple):
    cert: Path
    key: Path
    fingerprint: str  # SHA-256 of the DER certificate, lower-case hex: what the server shows


def make_client_cert(directory: Path, name: str, expired: bool = False) -> ClientCert:
    """A new key and a self-signed certificate naming `name` (long expired if asked)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    start = now - datetime.timedelta(days=400 if expired else 1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=30 if expired else 365))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ClientCert(cert_path, key_path, cert.fingerprint(hashes.SHA256()).hex())


async def tls_connect(runtime: Runtime, server_cert: Path, client_cert: ClientCert | None = None) -> LineClient:
    """A TLS connection that verifies the server by `server_cert` and presents
    `client_cert` when the server asks for one (None: presents nothing)."""
    return await tls_connect_to(runtime.tls_address(), server_cert, client_cert)


async def tls_connect_to(address: tuple[str, int], server_cert: Path, client_cert: ClientCert | None) -> LineClient:
    context = ssl.create_default_context(cafile=str(server_cert))
    if client_cert is not None:
        context.load_cert_chain(client_cert.cert, client_cert.key)
    reader, writer = await asyncio.open_connection(*address, ssl=context, limit=1 << 20)
    return LineClient(reader, writer)
