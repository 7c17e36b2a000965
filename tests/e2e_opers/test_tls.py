"""IRC over TLS: the listener, the self-signed certificate made on request, WHOIS 671,
and the STS policy advertised in CAP LS 302 only while TLS is configured.

Clients verify the server for real: they trust the generated certificate file and
check that it names 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from hubbub.app import Runtime
from hubbub.config import load
from hubbub.transport.tls import TlsError, generate_self_signed
from tests.ca_signed import ca_signed_pair
from tests.client_certs import make_client_cert, tls_connect
from tests.e2e_opers.conftest import oper_toml
from tests.e2e_opers.support import Process, an_oper, hubbub_env
from tests.helpers import LineClient, connected, sync


def tls_overrides(tmp_path: Path, *more: str) -> list[str]:
    return [
        "listen.tls=['127.0.0.1:0']", "tls.self_signed=true",
        f"tls.cert={tmp_path / 'tls' / 'cert.pem'}", f"tls.key={tmp_path / 'tls' / 'key.pem'}", *more,
    ]  # fmt: skip


async def tls_client(runtime: Runtime, cert: Path, nick: str | None = None) -> LineClient:
    context = ssl.create_default_context(cafile=str(cert))
    host, port = runtime.tls_address()
    reader, writer = await asyncio.open_connection(host, port, ssl=context, limit=1 << 20)
    client = LineClient(reader, writer)
    if nick:
        await client.register(nick)
    return client


async def cap_ls(client: LineClient, version: str = "302") -> list[str]:
    client.send(f"CAP LS {version}")
    tokens: list[str] = []
    while True:
        reply = await client.expect("CAP", "*", "LS")
        tokens += reply.params[-1].split()
        if reply.params[2] != "*":
            return tokens


@pytest.fixture
async def tls_server(make_server, tmp_path: Path) -> Runtime:
    return await make_server(*tls_overrides(tmp_path))


async def test_tls_listener_speaks_irc_with_the_generated_certificate(tls_server, tmp_path, clients) -> None:
    cert = tmp_path / "tls" / "cert.pem"
    assert (tmp_path / "tls" / "key.pem").stat().st_mode & 0o077 == 0  # the key is private
    alice = await tls_client(tls_server, cert, "alice")
    bob = await connected(tls_server, "bob")  # plaintext users share the chat
    clients.extend([alice, bob])
    await alice.join("#room")
    await bob.join("#room")
    bob.send("PRIVMSG #room :hello over there")
    assert (await alice.expect("PRIVMSG")).params == ["#room", "hello over there"]


async def test_the_self_signed_pair_is_reused_on_the_next_start(make_server, tmp_path, clients) -> None:
    first = await make_server(*tls_overrides(tmp_path))
    cert, key = tmp_path / "tls" / "cert.pem", tmp_path / "tls" / "key.pem"
    pem, key_pem = cert.read_bytes(), key.read_bytes()
    second = await make_server(*tls_overrides(tmp_path))
    assert (cert.read_bytes(), key.read_bytes()) == (pem, key_pem)  # neither file was made again
    for server, nick in ((first, "alice"), (second, "bob")):  # both serve the one pair the file verifies
        client = await tls_client(server, cert, nick)
        clients.append(client)


async def test_a_tls_1_2_client_is_served_and_an_older_one_is_not(tls_server, tmp_path, clients) -> None:
    cert = tmp_path / "tls" / "cert.pem"
    host, port = tls_server.tls_address()
    versions = ((ssl.TLSVersion.TLSv1_2, True), (ssl.TLSVersion.TLSv1_1, False), (ssl.TLSVersion.TLSv1, False))
    for newest, works in versions:
        context = ssl.create_default_context(cafile=str(cert))
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # the client would settle for anything
        with warnings.catch_warnings():  # old versions are deprecated: that is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            context.maximum_version = newest
        if not works:
            with pytest.raises((ssl.SSLError, ConnectionError)):
                await asyncio.open_connection(host, port, ssl=context)
            continue
        reader, writer = await asyncio.open_connection(host, port, ssl=context)
        assert writer.get_extra_info("ssl_object").version() == "TLSv1.2"
        client = LineClient(reader, writer)
        clients.append(client)
        await client.register("alice")


async def test_whois_shows_671_for_tls_users_only(tls_server, tmp_path, clients) -> None:
    alice = await tls_client(tls_server, tmp_path / "tls" / "cert.pem", "alice")
    bob = await connected(tls_server, "bob")
    clients.extend([alice, bob])
    bob.send("WHOIS alice")
    whois = await bob.collect_until("318")
    assert ["bob", "alice", "is using a secure connection"] in [m.params for m in whois if m.command == "671"]
    alice.send("WHOIS bob")
    assert "671" not in [m.command for m in await alice.collect_until("318")]


async def test_whois_shows_the_certificate_fingerprint_to_its_user_and_to_operators_only(
    make_oper_server, tmp_path, clients
) -> None:
    server = await make_oper_server(*tls_overrides(tmp_path))
    cert = make_client_cert(tmp_path, "alice")
    alice = await tls_connect(server, tmp_path / "tls" / "cert.pem", cert)
    await alice.register("alice")
    nocert = await tls_client(server, tmp_path / "tls" / "cert.pem", "nocert")
    bob = await connected(server, "bob")
    ircop = await an_oper(server)
    clients.extend([alice, nocert, bob, ircop])
    shown = ["alice", f"has client certificate fingerprint {cert.fingerprint}"]
    for asking in (alice, ircop):
        asking.send("WHOIS alice")
        assert [asking.nick, *shown] in [m.params for m in await asking.collect_until("318") if m.command == "276"]
    bob.send("WHOIS alice")
    assert "276" not in [m.command for m in await bob.collect_until("318")]
    ircop.send("WHOIS nocert")  # over TLS, without a certificate: nothing to show
    assert "276" not in [m.command for m in await ircop.collect_until("318")]


async def test_plain_text_mode_works_over_tls_too(tls_server, tmp_path, clients) -> None:
    carol = await tls_client(tls_server, tmp_path / "tls" / "cert.pem")
    clients.append(carol)
    await carol.expect_text("Type a nickname")
    carol.send("carol")
    await carol.expect_text(r"^\* You joined #lobby")


# -- STS -------------------------------------------------------------------------------------


def ca_overrides(tmp_path: Path, *more: str) -> list[str]:
    """A TLS listener with a certificate a CA of the test's issued (tests/ca_signed.py):
    STS is offered only with a certificate clients can verify."""
    pair = ca_signed_pair(tmp_path / "ca")
    return ["listen.tls=['127.0.0.1:0']", f"tls.cert={pair.cert}", f"tls.key={pair.key}", *more]


async def test_sts_tells_plaintext_clients_the_tls_port(make_server, tmp_path, clients) -> None:
    server = await make_server(*ca_overrides(tmp_path))
    alice = await LineClient.connect(server)
    clients.append(alice)
    port = server.tls_address()[1]
    assert f"sts=port={port},duration=2592000" in await cap_ls(alice)


async def test_sts_gives_tls_clients_the_persistence_policy(make_server, tmp_path, clients) -> None:
    server = await make_server(*ca_overrides(tmp_path, "tls.sts_duration=600"))
    alice = await tls_client(server, tmp_path / "ca" / "ca.pem")
    clients.append(alice)
    assert "sts=duration=600" in await cap_ls(alice)


async def test_no_sts_with_a_self_signed_certificate_until_a_rehash_brings_a_cas(
    make_oper_server, oper_hash, tmp_path, clients, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that honours STS must verify the certificate it is sent to: told to use
    TLS with a self-signed one (the README's quick TLS), it would refuse it, and the
    policy forbids it to come back in plaintext. The log says why there is none."""
    caplog.set_level(logging.INFO, logger="hubbub")
    own_cert, own_key = tmp_path / "own.pem", tmp_path / "own.key"
    generate_self_signed(own_cert, own_key, "127.0.0.1")
    pair = ca_signed_pair(tmp_path / "ca")

    def toml(cert: Path, key: Path) -> str:
        return oper_toml(oper_hash) + f'[listen]\ntls = ["127.0.0.1:0"]\n[tls]\ncert = "{cert}"\nkey = "{key}"\n'

    server = await make_oper_server(toml=toml(own_cert, own_key))
    for secure in (False, True):
        client = await tls_client(server, own_cert) if secure else await LineClient.connect(server)
        clients.append(client)
        assert not [t for t in await cap_ls(client) if t.split("=")[0] == "sts"]
    assert "no STS policy is offered with a self-signed certificate" in caplog.text
    ircop = await an_oper(server)
    clients.append(ircop)
    Path(server.config_name).write_text(toml(pair.cert, pair.key), encoding="utf-8")
    ircop.send("REHASH")
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == "*** Configuration reloaded"
    after = await LineClient.connect(server)
    clients.append(after)
    assert f"sts=port={server.tls_address()[1]},duration=2592000" in await cap_ls(after)


async def test_sts_is_not_listed_without_tls_or_without_302_or_when_turned_off(make_server, tmp_path, clients) -> None:
    plain_only = await make_server()
    turned_off = await make_server(*ca_overrides(tmp_path / "off", "tls.sts=false"))
    with_tls = await make_server(*ca_overrides(tmp_path / "on"))
    for server, version in ((plain_only, "302"), (turned_off, "302"), (with_tls, "")):
        client = await LineClient.connect(server)
        clients.append(client)
        assert not [t for t in await cap_ls(client, version) if t.split("=")[0] == "sts"]


async def test_sts_cannot_be_requested(tls_server, clients) -> None:
    alice = await LineClient.connect(tls_server)
    clients.append(alice)
    alice.send("CAP REQ sts")
    assert (await alice.expect("CAP")).params[1:] == ["NAK", "sts"]


# -- startup errors and the command line -------------------------------------------------------


async def test_a_missing_certificate_is_a_clear_error(tmp_path: Path) -> None:
    config = load(None, ["listen.irc=['127.0.0.1:0']", "listen.tls=['127.0.0.1:0']", "listen.web=''",
                         "store.db=':memory:'",
                         f"tls.cert={tmp_path / 'none.pem'}", f"tls.key={tmp_path / 'none.key'}"])
    runtime = Runtime(config)
    with pytest.raises(TlsError, match=r"none\.pem: no such file"):
        await runtime.start()
    await runtime.stop()


async def test_tls_listen_flag_logs_its_address_and_serves_tls(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hubbub", "serve", "--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0",
        "--no-web", "--db", ":memory:", "--set", "tls.self_signed=true",
        cwd=tmp_path, env=hubbub_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    served = Process(proc)
    try:
        found = await served.wait_log(r"listening tls (\S+):(\d+)$")
        context = ssl.create_default_context(cafile=str(tmp_path / "hubbub.crt"))
        reader, writer = await asyncio.open_connection(found.group(1), int(found.group(2)), ssl=context)
        client = LineClient(reader, writer)
        await client.register("alice")
        await sync(client)
        await client.close()
    finally:
        proc.kill()
        await proc.wait()


def test_serve_with_tls_and_no_certificate_exits_with_a_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hubbub", "serve", "--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0",
         "--no-web", "--db", ":memory:"],
        cwd=tmp_path, env=hubbub_env(), capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert f"hubbub: cannot read {tmp_path / 'hubbub.crt'}: no such file" in result.stderr


@pytest.mark.parametrize("listener", ["--tls-listen", "--web-tls"])
def test_a_pair_that_cannot_be_read_or_used_is_named_by_its_whole_path_with_why(tmp_path: Path, listener: str) -> None:
    """A key the server may not read is the commonest mistake (Let's Encrypt's, readable
    by root alone): the message says which file and the system's reason, where OpenSSL
    says "system lib". A directory stands in for it here, the tests running as root."""
    generate_self_signed(tmp_path / "good.crt", tmp_path / "good.key", "hubbub.local")
    generate_self_signed(tmp_path / "other.crt", tmp_path / "other.key", "hubbub.local")
    (tmp_path / "keydir").mkdir()
    flags = ["--tls-listen", "127.0.0.1:0"] if listener == "--tls-listen" else ["--web", "127.0.0.1:0",
                                                                              "--set", "web.tls=true"]
    for cert, key, said in (
        ("good.crt", "keydir", f"hubbub: cannot read {tmp_path / 'keydir'}: Is a directory"),
        ("good.crt", "other.key", f"hubbub: {tmp_path / 'good.crt'} / {tmp_path / 'other.key'}: not a usable "
                                  "certificate and key ("),
    ):  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-m", "hubbub", "serve", "--listen", "127.0.0.1:0", *flags, "--db", ":memory:",
             "--set", f"tls.cert={cert}", "--set", f"tls.key={key}",
             *(["--no-web"] if listener == "--tls-listen" else [])],
            cwd=tmp_path, env=hubbub_env(), capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith(said), result.stderr


async def test_rehash_puts_a_new_certificate_in_use_for_new_connections(
    make_oper_server, oper_hash, tmp_path, clients
) -> None:
    old_cert, new_cert = tmp_path / "old.pem", tmp_path / "new.pem"
    generate_self_signed(old_cert, tmp_path / "old.key", "hubbub.local")
    generate_self_signed(new_cert, tmp_path / "new.key", "hubbub.local")

    def toml(cert: Path, key: Path) -> str:
        return oper_toml(oper_hash) + f'[listen]\ntls = ["127.0.0.1:0"]\n[tls]\ncert = "{cert}"\nkey = "{key}"\n'

    server = await make_oper_server(toml=toml(old_cert, tmp_path / "old.key"))
    before = await tls_client(server, old_cert, "before")
    ircop = await an_oper(server)
    clients.extend([before, ircop])
    Path(server.config_name).write_text(toml(new_cert, tmp_path / "new.key"), encoding="utf-8")
    ircop.send("REHASH")
    assert (await ircop.expect("NOTICE", "ircop")).params[1] == "*** Configuration reloaded"
    after = await tls_client(server, new_cert, "after")  # verifies only with the new certificate
    clients.append(after)
    with pytest.raises(ssl.SSLCertVerificationError):
        await tls_client(server, old_cert)
    before.send("PING still-connected")
    await before.expect("PONG")


async def test_plain_text_on_the_tls_port_is_told_in_plain_text_that_the_port_takes_tls(
    tls_server, caplog
) -> None:
    """An IRC client with its TLS option off (WeeChat 3 takes `-tls` for an unknown
    option and connects in plain text) sees the connection drop, and nothing else, if
    the server only closes it: one plain ERROR line says why, and the log says what it was."""
    caplog.set_level(logging.INFO, logger="hubbub.audit")
    reader, writer = await asyncio.open_connection(*tls_server.tls_address())
    writer.write(b"CAP LS 302\r\nNICK alice\r\nUSER alice 0 * :Alice\r\n")
    received = await asyncio.wait_for(reader.read(), 10)  # to the end: the server closes
    writer.close()
    assert received == (b"ERROR :This port takes TLS connections only: turn on TLS (SSL) in your client's "
                        b"settings for this server, or connect to its plain-text port\r\n")  # fmt: skip
    assert "TLS handshake with 127.0.0.1 failed: not TLS (plain text: a client with its TLS option off?)" in (
        caplog.text
    )
