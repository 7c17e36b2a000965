"""WEBIRC without sockets: the session from any address and over TLS or not, the event
that moves a user's address, the connection counts, and the readings the handler does.

The end-to-end transcripts are tests/e2e/test_webirc.py; these cover what a server on
the loopback interface cannot show (a gateway at another address, a gateway over TLS,
a gateway's client certificate) and the cluster's count in the shared state.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from hubbub.config import Config, ConfigError, LimitsSection, WebircBlock, load
from hubbub.engine import snapshot
from hubbub.irc.framing import LineBuffer
from hubbub.irc.message import Message, parse
from hubbub.irc.validate import is_plausible_hostname
from hubbub.plain.detect import looks_like_irc
from hubbub.plain.intake import Intake
from hubbub.runtime.listeners import Admission
from hubbub.server import gateways
from hubbub.server.apply import apply
from hubbub.server.connection import Connection
from hubbub.server.context import Services
from hubbub.server.core import local_core
from hubbub.server.events import AddressSet, Connected, NickSet, Registered, from_record, to_record
from hubbub.server.session import MAX_LINE
from hubbub.server.state import ChatState
from hubbub.server.user import User
from tests.unit.test_admission import Conn
from tests.unit.test_session import FakeClock, FakeLink

PASSWORD = "gw-secret"
HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
GATEWAY = "10.0.0.5"
FINGERPRINT = "ab" * 32


class Gateway:
    """One connection of a gateway's: an IRC session from `ip`, over TLS or not."""

    def __init__(self, net: Services, ip: str = GATEWAY, secure: bool = False, certfp: str | None = None) -> None:
        self.link = FakeLink()
        self.session = Intake(net, self.link, ip, secure, certfp=certfp)
        self._frames = LineBuffer(MAX_LINE)
        self._read = 0
        self.take()  # the plain-text greeting, sent at once without a clock to wait with

    def send(self, line: str) -> None:
        for framed in self._frames.feed(line.encode() + b"\r\n"):
            assert framed is not None
            self.session.line_received(framed)

    def take(self) -> list[Message]:
        new = bytes(self.link.data[self._read :])
        self._read = len(self.link.data)
        return [parse(line.decode()) for line in new.split(b"\r\n")[:-1]]

    def webirc(self, ip: str, host: str | None = None, options: str = "") -> None:
        line = f"WEBIRC {PASSWORD} gw {host or ip} {ip}"
        self.send(f"{line} :{options}" if options else line)

    @property
    def user(self) -> User:
        return self.session.session.conn.user


def gateway_net(*overrides: str, hosts: tuple[str, ...] = (GATEWAY, "127.0.0.1")) -> Services:
    config = load(None, ["server.cloak_hosts=false", *overrides])  # the addresses themselves: tests/e2e/test_cloaks.py
    config.webirc = [WebircBlock(HASH, list(hosts), "kiwi")]
    return local_core(config, FakeClock())


# -- secure: the gateway's word, over a link nobody else reads --------------------------------


@pytest.mark.parametrize(
    ("ip", "tls", "options", "secure"),
    [
        (GATEWAY, False, "secure", False),  # the gateway's own link is plaintext: anyone on the path
        (GATEWAY, True, "secure", True),
        (GATEWAY, True, "", False),  # TLS to us says nothing of the user's link to the gateway
        (GATEWAY, True, "secure=1 local-port=6697", True),
        ("127.0.0.1", False, "secure", True),  # a gateway on this machine, over the loopback
        ("::1", False, "secure", True),
    ],
)
def test_secure_needs_the_option_and_a_link_from_the_gateway_nobody_else_reads(
    ip: str, tls: bool, options: str, secure: bool
) -> None:
    net = gateway_net(hosts=(ip,))
    gateway = Gateway(net, ip, tls)
    gateway.webirc("203.0.113.7", options=options)
    assert gateway.user.ip == "203.0.113.7" and gateway.user.secure is secure


def test_the_gateways_client_certificate_is_not_the_users() -> None:
    net = gateway_net()
    gateway = Gateway(net, secure=True, certfp=FINGERPRINT)
    assert gateway.user.certfp == FINGERPRINT
    gateway.webirc("203.0.113.7")
    assert gateway.user.certfp is None  # SASL EXTERNAL cannot log the user in as the gateway's account


def test_a_password_checked_once_is_not_hashed_again_and_a_wrong_one_never_passes() -> None:
    net = gateway_net()
    hashed: list[str] = []
    offload = net.offload

    def counting(conn: Connection, work: Callable[[], Any], resume: Callable[[Any], None]) -> bool:
        hashed.append("check")
        return offload(conn, work, resume)

    net.offload = counting
    first = Gateway(net)
    first.webirc("203.0.113.7")
    second = Gateway(net)
    second.webirc("203.0.113.8")
    assert hashed == ["check"] and second.user.ip == "203.0.113.8"
    wrong = Gateway(net)
    wrong.send("WEBIRC guess gw 203.0.113.9 203.0.113.9")
    assert wrong.link.closed and wrong.user.ip == GATEWAY and hashed == ["check", "check"]


def test_a_second_webirc_is_too_late() -> None:
    net = gateway_net()
    gateway = Gateway(net)
    gateway.webirc("203.0.113.7")
    gateway.webirc("198.51.100.1")
    assert [m.params[-1] for m in gateway.take()] == [
        "Closing Link: 203.0.113.7 (WEBIRC must be sent before any other registration command)"
    ]
    assert gateway.link.closed and dict(net.state.per_ip) == {}


def test_a_gateway_busy_checking_passwords_closes_the_connection_rather_than_go_on_as_itself() -> None:
    net = gateway_net()
    net.offload = lambda conn, work, resume: False
    gateway = Gateway(net)
    gateway.webirc("203.0.113.7")
    assert [m.command for m in gateway.take()] == ["263", "ERROR"] and gateway.link.closed


# -- the event: the address moves, and is counted where it went ------------------------------


def test_address_set_moves_the_users_count_and_keeps_what_a_snapshot_and_a_record_need() -> None:
    state = ChatState(1.0)
    apply(state, Connected("u1", GATEWAY, GATEWAY, True, 1.0, 0, FINGERPRINT))
    event = AddressSet("u1", "203.0.113.7", "user.example.org", False, "kiwi", GATEWAY, 2.0, 1)
    assert from_record(json.loads(json.dumps(to_record(event)))) == event
    assert apply(state, event).rejected is None
    user = state.users["u1"]
    assert (user.ip, user.host, user.secure, user.certfp, user.gateway) == (
        "203.0.113.7",
        "user.example.org",
        False,
        None,
        ("kiwi", GATEWAY),
    )
    assert dict(state.per_ip) == {"203.0.113.7": 1}
    copy = ChatState(0.0)
    snapshot.load_into(copy, json.loads(json.dumps(snapshot.dump(state))))
    assert copy.digest() == state.digest() and copy.users["u1"].gateway == ("kiwi", GATEWAY)


def test_address_set_is_rejected_past_the_networks_limit_and_once_registered() -> None:
    state = ChatState(1.0)
    for uid in ("u1", "u2"):
        apply(state, Connected(uid, GATEWAY, GATEWAY, False, 1.0))
    assert apply(state, AddressSet("u1", "203.0.113.7", "h", False, "kiwi", GATEWAY, 2.0, 1)).rejected is None
    over = apply(state, AddressSet("u2", "203.0.113.7", "h", False, "kiwi", GATEWAY, 2.0, 1))
    assert over.rejected == "too many from the address" and state.users["u2"].ip == GATEWAY
    apply(state, NickSet("u1", "alice", 3.0, "m1"))
    apply(state, Registered("u1", "~a", "A", 3.0))
    late = apply(state, AddressSet("u1", "198.51.100.1", "h", False, "kiwi", GATEWAY, 4.0))
    assert late.rejected == "registered" and state.users["u1"].ip == "203.0.113.7"


def test_in_a_cluster_the_shared_state_counts_gateway_users_at_their_own_address() -> None:
    net = gateway_net("limits.max_clients_per_ip=1")
    net.state.nodes[net.node_id] = "hubbub.local"  # as in a cluster: the state counts per address
    gateways_connections = [Gateway(net) for _ in range(3)]  # the gateway's own address is not limited
    first, second, third = gateways_connections
    first.webirc("203.0.113.7")
    second.webirc("203.0.113.8")
    third.webirc("203.0.113.7")
    assert not first.link.closed and not second.link.closed
    assert third.link.closed and b"Too many connections from your IP address" in bytes(third.link.data)
    assert dict(net.state.per_ip) == {"203.0.113.7": 1, "203.0.113.8": 1}


# -- the runtime's connection counts ---------------------------------------------------------------


def test_a_gateways_connections_count_in_all_then_at_the_address_webirc_names() -> None:
    limits = LimitsSection(max_clients=100, max_clients_per_ip=1)
    counts = Admission(lambda: limits, lambda ip: None, gateway=lambda ip: ip == GATEWAY)
    links = [Conn(GATEWAY) for _ in range(3)]
    assert [counts.admit(link) for link in links] == [None, None, None]  # past the per-address limit
    assert not counts.per_ip
    assert counts.readdress(links[0], "203.0.113.7") is None
    assert counts.readdress(links[1], "203.0.113.7") == "Too many connections from your IP address"
    assert counts.readdress(links[2], "203.0.113.8") is None
    assert dict(counts.per_ip) == {"203.0.113.7": 1, "203.0.113.8": 1}
    counts.release(links[0])
    counts.release(links[1])
    assert dict(counts.per_ip) == {"203.0.113.8": 1} and len(counts.links) == 1
    assert counts.admit(Conn("203.0.113.8")) == "Too many connections from your IP address"  # a direct one too


# -- readings ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "address"),
    [("198.51.100.3", "198.51.100.3"), ("0::1", "::1"), ("2001:DB8::7", "2001:db8::7"),
     ("::ffff:192.0.2.1", "192.0.2.1"), ("[::1]", "::1"), ("[2001:db8::7]", "2001:db8::7"),
     ("[198.51.100", None), ("fe80::1%eth0", None), ("198.51.100", None), ("host.example", None), ("", None)],
)  # fmt: skip
def test_the_address_a_gateway_gives_is_read_as_the_server_writes_addresses(given: str, address: str | None) -> None:
    assert gateways.real_address(given) == address


@pytest.mark.parametrize(
    ("host", "plausible"),
    [("user.example.org", True), ("localhost", True), ("a-b.c1", True), ("x" * 64, False), ("-a.org", False),
     ("a-.org", False), ("a..org", False), ("a.org.", False), ("10.0.0.1", False), ("a b", False),
     ("a@b", False), ("*.org", False), ("exämple.org", False), ("0::1", False), ("", False)],
)  # fmt: skip
def test_only_a_plausible_host_name_is_shown(host: str, plausible: bool) -> None:
    assert is_plausible_hostname(host) is plausible
    assert gateways.shown_host(host, "2001:db8::1") == (host if plausible else "2001-db8--1")


def test_options_are_flags_and_values_escaped_as_tag_values() -> None:
    assert gateways.parse_options("secure local-port=6697 Remote-Port=21726 x=a\\sb\\:c\\\\") == {
        "secure": "", "local-port": "6697", "remote-port": "21726", "x": "a b;c\\"}  # fmt: skip
    assert gateways.parse_options("") == {}


def test_the_gateway_is_named_by_its_block_or_by_what_it_says_cleaned() -> None:
    assert gateways.gateway_name(WebircBlock(HASH, [GATEWAY], "kiwi"), "whatever") == "kiwi"
    assert gateways.gateway_name(WebircBlock(HASH, [GATEWAY]), "The\x1bLounge/4.4") == "TheLounge4.4"
    assert gateways.gateway_name(WebircBlock(HASH, [GATEWAY]), "\x1b") == "unnamed"


def test_a_first_line_of_webirc_is_irc_however_its_options_come() -> None:
    assert looks_like_irc("WEBIRC pw gw host 1.2.3.4 :secure local-port=6697")
    assert looks_like_irc("WEBIRC pw gw host 1.2.3.4 secure local-port=6697")
    assert looks_like_irc("WEBIRC pw gw host")  # short of a parameter: a gateway's all the same, answered 461
    assert not looks_like_irc("webirc is what I need")


# -- configuration -----------------------------------------------------------------------------------


def _load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "hubbub.toml"
    path.write_text(text, encoding="utf-8")
    return load(str(path), [])


def test_webirc_blocks_are_read_from_the_file(tmp_path: Path) -> None:
    first = f'[[webirc]]\nname = "kiwi"\npassword_hash = "{HASH}"\nhosts = ["10.0.0.5", "10.1.0.0/16"]\n'
    config = _load(tmp_path, first + f'[[webirc]]\npassword_hash = "{HASH}"\nhosts = "::1"\n')
    assert config.webirc == [WebircBlock(HASH, ["10.0.0.5", "10.1.0.0/16"], "kiwi"), WebircBlock(HASH, ["::1"])]


@pytest.mark.parametrize(
    ("block", "error"),
    [
        ('password = "x"\nhosts = ["10.0.0.5"]', "give password_hash"),
        ('password_hash = "plain"\nhosts = ["10.0.0.5"]', "argon2 hash"),
        ('password_hash = "{hash}"', "hosts must list"),
        ('password_hash = "{hash}"\nhosts = []', "hosts must list"),
        ('password_hash = "{hash}"\nhosts = ["gateway.example.org"]', "not an address or CIDR block"),
        ('password_hash = "{hash}"\nhosts = ["10.0.0.0/99"]', "not an address or CIDR block"),
        ('password_hash = "{hash}"\nhosts = ["10.0.0.5"]\nname = "two words"', "name must be a word"),
        ('password_hash = "{hash}"\nhosts = ["10.0.0.5"]\nport = 1', "unknown setting webirc.port"),
    ],
)
def test_a_webirc_block_that_could_never_work_is_refused(tmp_path: Path, block: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        _load(tmp_path, "[[webirc]]\n" + block.replace("{hash}", HASH) + "\n")
    with pytest.raises(ConfigError, match="array of tables"):
        _load(tmp_path, f'[webirc]\npassword_hash = "{HASH}"\n')
