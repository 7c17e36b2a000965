"""TLS for the IRC listeners: a server context from files, or a self-signed pair.

A self-signed certificate is generated only on request (`tls.self_signed = true`),
written at the configured paths, and reused on later starts so clients that pinned
its fingerprint keep working. It names the server, `localhost`, 127.0.0.1 and ::1,
so a client on the same machine can verify it by trusting that one file.

The context is OpenSSL's own (pyOpenSSL), not Python's `ssl`: a client certificate is
asked for and accepted whoever signed it, which `ssl` cannot do (its server side
verifies a presented certificate against trusted authorities and fails the handshake
otherwise). On IRC a client certificate is an identity, not a credential checked
against a CA: the server keeps its fingerprint (CertFP), and accounts name the
fingerprints that log them in. A client without a certificate connects as before.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import SSL

from hubbub.config import ConfigError, TlsSection, found_at


def handshake_failure(exc: BaseException) -> str:
    """A failed handshake's reason, in a few words for the log."""
    if isinstance(exc, ssl.SSLError):
        return exc.reason or "TLS error"
    if isinstance(exc, TimeoutError) or "taking longer" in str(exc):  # the loops' handshake timeout
        return "timed out"
    strerror = exc.strerror if isinstance(exc, OSError) else None
    return strerror or type(exc).__name__


class TlsError(ConfigError):
    """The certificate or key cannot be used; the message says which file and why."""


def _names(hostname: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for dns in dict.fromkeys((hostname, "localhost")):
        if dns.isascii():
            names.append(x509.DNSName(dns))
    names += [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(ipaddress.ip_address("::1"))]
    return names


def generate_self_signed(cert_path: Path, key_path: Path, hostname: str) -> None:
    """Write a new EC key (readable by its owner only) and a ten-year self-signed
    certificate for `hostname`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname if hostname.isascii() else "hubbub")])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(_names(hostname)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Created private from the first byte: no moment where another user could read it.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_pem)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def is_self_signed(cert_path: str) -> bool:
    """Whether the certificate served (the first of the chain file) is its own issuer.
    No STS policy is offered with one (server/sts.py): a client that honours STS must
    verify the certificate it is sent to, and would refuse this one, for good, since
    the policy also forbids it to fall back to plaintext."""
    try:
        certificate = x509.load_pem_x509_certificates(Path(cert_path).read_bytes())[0]
    except (OSError, ValueError, IndexError):
        return False  # not read here: server_context says what is wrong with it
    return certificate.issuer == certificate.subject


def _prepare(tls: TlsSection, hostname: str) -> None:
    """Generate the self-signed pair when asked to and it does not exist yet."""
    cert_path, key_path = Path(tls.cert), Path(tls.key)
    if not tls.self_signed:
        return
    have_cert, have_key = cert_path.exists(), key_path.exists()
    if have_cert != have_key:
        missing = tls.key if have_cert else tls.cert
        raise TlsError(f"tls.self_signed: {missing} is missing but its pair exists; remove both to regenerate")
    if not have_cert:
        try:
            generate_self_signed(cert_path, key_path, hostname)
        except OSError as exc:
            raise TlsError(f"cannot write a self-signed certificate at {tls.cert}: {exc.strerror}") from exc


# What Python's `ssl` offers a server by default (create_default_context), with TLS 1.2
# and up: forward secrecy and AEAD first, nothing anonymous, no SHA-1 MACs.
CIPHERS = b"ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM"
OPTIONS = (
    SSL.OP_NO_COMPRESSION | SSL.OP_CIPHER_SERVER_PREFERENCE | SSL.OP_SINGLE_DH_USE | SSL.OP_SINGLE_ECDH_USE
    | SSL.OP_NO_RENEGOTIATION  # a certificate, once shown, is the connection's for good
)  # fmt: skip


def _any_certificate(conn: SSL.Connection, cert: object, error: int, depth: int, ok: int) -> bool:
    """Every client certificate is accepted, self-signed or expired: only its
    fingerprint is used, and only an account that lists it gives it any meaning. The
    handshake still proves that the client holds the certificate's private key (its
    CertificateVerify is checked whatever this says), so the fingerprint cannot be
    borrowed by whoever merely saw the certificate."""
    return True


def certificate_fingerprint(cert: x509.Certificate) -> str:
    """CertFP as IRC servers show it: SHA-256 of the DER certificate, lowercase hex."""
    return cert.fingerprint(hashes.SHA256()).hex()


def _missing(path: str) -> str:
    return f"cannot read {found_at(path)}: no such file (set tls.cert and tls.key, or tls.self_signed = true)"


def _check_readable(tls: TlsSection) -> None:
    """Each file of the pair there and readable, or a message naming the one that is not
    and why: OpenSSL says only "system lib" of a key the server's user may not read (a
    Let's Encrypt key readable by root alone, the commonest mistake)."""
    for path in (tls.cert, tls.key):
        try:
            with open(path, "rb"):
                pass
        except FileNotFoundError:
            raise TlsError(_missing(path)) from None
        except OSError as exc:
            raise TlsError(f"cannot read {found_at(path)}: {exc.strerror or exc}") from exc


def _unusable(tls: TlsSection, reason: str) -> str:
    return f"{found_at(tls.cert)} / {found_at(tls.key)}: not a usable certificate and key ({reason})"


def _load_chain(context: SSL.Context, tls: TlsSection) -> None:
    _check_readable(tls)
    try:
        context.use_certificate_chain_file(tls.cert)
        context.use_privatekey_file(tls.key)
        context.check_privatekey()
    except OSError as exc:
        raise TlsError(f"cannot read {found_at(tls.cert)} / {found_at(tls.key)}: {exc.strerror or exc}") from exc
    except SSL.Error as exc:
        raise TlsError(_unusable(tls, _reason(exc))) from exc


def _reason(exc: SSL.Error) -> str:
    """OpenSSL's reason for an error, in its own words ("key values mismatch")."""
    errors = exc.args[0] if exc.args and isinstance(exc.args[0], list) else []
    reasons = [e[-1] for e in errors if isinstance(e, tuple) and e and e[-1]]
    return reasons[-1] if reasons else (str(exc) or type(exc).__name__)


def server_context(tls: TlsSection, hostname: str) -> SSL.Context:
    """The context for new TLS connections; generates the pair first when asked to.
    A reload makes a new one (a context that has served a connection cannot change)."""
    _prepare(tls, hostname)
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(SSL.TLS1_2_VERSION)
    context.set_options(OPTIONS)
    context.set_cipher_list(CIPHERS)
    context.set_mode(SSL.MODE_RELEASE_BUFFERS)  # an idle connection holds no record buffers
    context.set_session_id(b"hubbub")  # resumption works when client certificates are asked for
    if tls.client_certs:
        # asked for, never required; CLIENT_ONCE: not asked again on the same connection
        context.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_CLIENT_ONCE, _any_certificate)
    _load_chain(context, tls)
    return context


def https_context(tls: TlsSection, hostname: str) -> ssl.SSLContext:
    """The context for the web listener's HTTPS (web.tls), with the same certificate.

    Python's own `ssl`, which aiohttp and the event loop speak: browsers present no client
    certificate for IRC, so none is asked for (CertFP is IRC over TLS's). TLS 1.2 and up.
    """
    _prepare(tls, hostname)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    _check_readable(tls)
    try:
        context.load_cert_chain(tls.cert, tls.key)
    except OSError as exc:  # ssl.SSLError is one too
        reason = exc.reason if isinstance(exc, ssl.SSLError) else exc.strerror
        raise TlsError(_unusable(tls, str(reason or exc))) from exc
    return context
