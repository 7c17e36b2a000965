"""CertFP over real TLS: the certificate a client presents (self-signed, as IRC clients'
are) logs it in with SASL EXTERNAL to the account whose NickServ CERT list holds its
fingerprint. Each test makes its own client certificates (tests/client_certs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubbub.app import Runtime
from hubbub.irc.message import Message
from tests.client_certs import ClientCert, make_client_cert, tls_connect
from tests.e2e_accounts.support import NS, b64, ns
from tests.helpers import LineClient, cap_ls, connected, sync


def tls_overrides(tmp_path: Path, *more: str) -> list[str]:
    return [
        "listen.tls=['127.0.0.1:0']", "tls.self_signed=true",
        f"tls.cert={tmp_path / 'server.crt'}", f"tls.key={tmp_path / 'server.key'}", *more,
    ]  # fmt: skip


@pytest.fixture
async def tls_server(make_server, tmp_path: Path) -> Runtime:
    return await make_server(*tls_overrides(tmp_path))


async def notice(client: LineClient) -> str:
    """NickServ's next NOTICE."""
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == NS)).params[-1]


async def ns_register(client: LineClient, password: str = "correct-horse") -> None:
    client.send(f"PRIVMSG NickServ :REGISTER {password}")
    assert (await client.expect("900")).params[2] == client.nick
    assert await notice(client) == "Account created"
    assert await notice(client) == f"You're now logged in as {client.nick}"


async def registered_with_cert(runtime: Runtime, tmp_path: Path, cert: ClientCert, nick: str) -> LineClient:
    """A client connected with `cert` that registered `nick` with a password, then added
    the certificate it is connected with to the account (CERT ADD without a fingerprint)."""
    client = await tls_connect(runtime, tmp_path / "server.crt", cert)
    await client.register(nick)
    await ns_register(client)
    assert await ns(client, "CERT ADD") == "Certificate fingerprint successfully added"
    return client


async def authenticating(client: LineClient, nick: str) -> dict[str, str]:
    """Start registration inside CAP negotiation with `sasl` enabled; the offered caps."""
    _, offered = await cap_ls(client)
    client.send(f"NICK {nick}")
    client.send("USER u 0 * :Real Name")
    client.send("CAP REQ sasl")
    await client.expect("CAP", nick, "ACK")
    return offered


async def external(client: LineClient, authzid: str = "") -> Message:
    """AUTHENTICATE EXTERNAL (the authorization identity empty, sent as `+`, or given);
    the numeric that ends the exchange."""
    client.send("AUTHENTICATE EXTERNAL")
    await client.expect("AUTHENTICATE", "+")
    client.send(f"AUTHENTICATE {b64(authzid) if authzid else '+'}")
    return await client.expect(lambda m: m.command in ("903", "904", "906", "907"))


async def finish(client: LineClient, nick: str) -> None:
    client.send("CAP END")
    await client.expect("001")
    client.nick = nick


async def test_external_logs_in_the_account_that_holds_the_certificate(tls_server, tmp_path, clients) -> None:
    cert = make_client_cert(tmp_path, "alice-laptop")
    alice = await registered_with_cert(tls_server, tmp_path, cert, "alice")
    laptop = await tls_connect(tls_server, tmp_path / "server.crt", cert)
    clients.extend([alice, laptop])
    offered = await authenticating(laptop, "laptop")
    assert offered["sasl"] == "EXTERNAL,PLAIN,SCRAM-SHA-256"
    laptop.send("AUTHENTICATE EXTERNAL")
    await laptop.expect("AUTHENTICATE", "+")
    laptop.send("AUTHENTICATE +")
    logged = await laptop.expect("900")
    assert logged.params == ["laptop", "laptop!*@*", "alice", "You are now logged in as alice"]
    assert (await laptop.expect(lambda m: m.command in ("903", "904"))).command == "903"
    await finish(laptop, "laptop")
    laptop.send("WHOIS laptop")
    assert (await laptop.expect("330")).params[1:3] == ["laptop", "alice"]


async def test_external_with_an_authorization_identity_must_name_that_account(tls_server, tmp_path, clients) -> None:
    cert = make_client_cert(tmp_path, "alice-phone")
    alice = await registered_with_cert(tls_server, tmp_path, cert, "alice")
    clients.append(alice)
    for authzid, numeric in (("bob", "904"), ("ALICE", "903")):
        phone = await tls_connect(tls_server, tmp_path / "server.crt", cert)
        clients.append(phone)
        await authenticating(phone, f"phone{numeric}")
        result = await external(phone, authzid)
        assert result.command == numeric, result
        await finish(phone, f"phone{numeric}")


async def test_without_a_certificate_external_is_not_offered_and_fails(tls_server, tmp_path, clients) -> None:
    client = await tls_connect(tls_server, tmp_path / "server.crt")  # TLS, but no certificate
    clients.append(client)
    offered = await authenticating(client, "nocert")
    assert offered["sasl"] == "PLAIN,SCRAM-SHA-256"
    client.send("AUTHENTICATE EXTERNAL")
    mechanisms = await client.expect("908")
    assert mechanisms.params[1:] == ["PLAIN,SCRAM-SHA-256", "are available SASL mechanisms"]
    await client.expect("904")
    await finish(client, "nocert")  # the connection goes on, unauthenticated
    client.send("WHOIS nocert")
    whois = await sync(client)
    assert not [m for m in whois if m.command in ("330", "276")]
    assert await ns(client, "CERT ADD") == "You're not logged into an account"


async def test_a_certificate_no_account_holds_fails_with_904(tls_server, tmp_path, clients) -> None:
    alice = await registered_with_cert(tls_server, tmp_path, make_client_cert(tmp_path, "alice"), "alice")
    stranger = await tls_connect(tls_server, tmp_path / "server.crt", make_client_cert(tmp_path, "stranger"))
    clients.extend([alice, stranger])
    offered = await authenticating(stranger, "stranger")
    assert offered["sasl"] == "EXTERNAL,PLAIN,SCRAM-SHA-256"  # it has a certificate: worth a try
    result = await external(stranger)
    assert result.params == ["stranger", "SASL authentication failed: no account holds this certificate"]
    await finish(stranger, "stranger")
    assert not [m for m in stranger.received if m.command == "900"]


async def test_cert_add_list_del(tls_server, tmp_path, clients) -> None:
    laptop, phone = make_client_cert(tmp_path, "laptop"), make_client_cert(tmp_path, "phone")
    alice = await tls_connect(tls_server, tmp_path / "server.crt", laptop)
    await alice.register("alice")
    await ns_register(alice)
    bob = await connected(tls_server, "bob")  # plain TCP: no certificate to add
    clients.extend([alice, bob])
    assert await ns(alice, "CERT LIST") == "There are 0 certificate fingerprint(s) authorized for account alice."
    assert await ns(alice, "CERT ADD") == "Certificate fingerprint successfully added"  # the one connected with
    assert await ns(alice, "CERT ADD") == "That certificate fingerprint was already authorized"
    # another's fingerprint, as `openssl x509 -fingerprint` prints it: upper case, colons
    shown = ":".join(phone.fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
    assert await ns(alice, f"CERT ADD {shown}") == "Certificate fingerprint successfully added"
    assert await ns(alice, "CERT LIST") == "There are 2 certificate fingerprint(s) authorized for account alice."
    listed = [await notice(alice), await notice(alice)]
    assert listed == [f"{i}: {fp}" for i, fp in enumerate(sorted([laptop.fingerprint, phone.fingerprint]), 1)]
    assert await ns(alice, "CERT ADD 12:34") == "Invalid certificate fingerprint"
    assert await ns(alice, f"CERT DEL {phone.fingerprint}") == "Certificate fingerprint successfully removed"
    assert await ns(alice, f"CERT DEL {phone.fingerprint}") == "Certificate fingerprint not found"
    await ns_register(bob, "battery-staple")
    assert await ns(bob, "CERT ADD") == "You are not connected with a client certificate"
    assert await ns(bob, f"CERT ADD {laptop.fingerprint}") == (
        "That certificate fingerprint is already associated with another account"
    )
    # the phone's certificate no longer logs in; the laptop's still does
    for cert, numeric in ((phone, "904"), (laptop, "903")):
        client = await tls_connect(tls_server, tmp_path / "server.crt", cert)
        clients.append(client)
        await authenticating(client, cert.cert.stem)
        assert (await external(client)).command == numeric
        await finish(client, cert.cert.stem)


async def test_an_account_registered_with_a_certificate_alone(tls_server, tmp_path, clients) -> None:
    cert = make_client_cert(tmp_path, "carol")
    carol = await tls_connect(tls_server, tmp_path / "server.crt", cert)
    await carol.register("carol")
    nocert = await tls_connect(tls_server, tmp_path / "server.crt")
    await nocert.register("dave")
    clients.extend([carol, nocert])
    assert await ns(nocert, "REGISTER *") == "You must be connected with TLS and a client certificate to do this"
    await ns_register(carol, "*")
    assert await ns(carol, "CERT LIST") == "There are 1 certificate fingerprint(s) authorized for account carol."
    assert await notice(carol) == "1: " + cert.fingerprint
    assert await ns(carol, f"CERT DEL {cert.fingerprint}") == (
        "You can't remove all your certificate fingerprints unless you add a password"
    )
    # NickServ IDENTIFY <account> alone, with the certificate
    again = await tls_connect(tls_server, tmp_path / "server.crt", cert)
    await again.register("carol2")
    clients.append(again)
    again.send("PRIVMSG NickServ :IDENTIFY carol")
    assert (await again.expect("900")).params[2] == "carol"


async def test_an_expired_self_signed_certificate_identifies_all_the_same(tls_server, tmp_path, clients) -> None:
    """Only the fingerprint counts: the dates in a certificate nobody vouches for mean nothing."""
    cert = make_client_cert(tmp_path, "old", expired=True)
    alice = await registered_with_cert(tls_server, tmp_path, cert, "alice")
    again = await tls_connect(tls_server, tmp_path / "server.crt", cert)
    clients.extend([alice, again])
    await authenticating(again, "again")
    assert (await external(again)).command == "903"
    await finish(again, "again")


async def test_with_client_certs_off_no_certificate_is_asked_for(make_server, tmp_path, clients) -> None:
    server = await make_server(*tls_overrides(tmp_path, "tls.client_certs=false"))
    client = await tls_connect(server, tmp_path / "server.crt", make_client_cert(tmp_path, "unasked"))
    clients.append(client)
    offered = await authenticating(client, "unasked")
    assert offered["sasl"] == "PLAIN,SCRAM-SHA-256"
    await finish(client, "unasked")
    client.send("WHOIS unasked")
    assert not [m for m in await sync(client) if m.command == "276"]


async def test_certificates_survive_a_restart(stored, tmp_path, clients) -> None:
    cert = make_client_cert(tmp_path, "alice")
    server = await stored(*tls_overrides(tmp_path))
    alice = await registered_with_cert(server, tmp_path, cert, "alice")
    await alice.close()
    await server.stop()
    again = await stored(*tls_overrides(tmp_path))  # the same store, and the same server certificate
    client = await tls_connect(again, tmp_path / "server.crt", cert)
    clients.append(client)
    await authenticating(client, "alice")
    assert (await external(client)).command == "903"
    await finish(client, "alice")
