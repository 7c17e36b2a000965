"""Per-address limits count an IPv6 network as one address (server/addresses.py): the
reading, the runtime's connection counts, the shared state's count (a cluster's) and
its snapshot, and the setting's checks."""

from __future__ import annotations

import json

import pytest

from hubbub.config import ConfigError, LimitsSection, load
from hubbub.engine import snapshot
from hubbub.runtime.listeners import Admission
from hubbub.server.addresses import counted_as
from hubbub.server.apply import apply
from hubbub.server.events import AddressSet, Connected, UserQuit
from hubbub.server.state import ChatState
from tests.unit.test_admission import Conn
from tests.unit.test_webirc import Gateway, gateway_net

TOO_MANY = "Too many connections from your IP address"


@pytest.mark.parametrize(
    ("ip", "prefix", "counted"),
    [
        ("203.0.113.7", 64, "203.0.113.7"),  # IPv4: the address
        ("2001:db8:1:2:aaaa::1", 64, "2001:db8:1:2::/64"),
        ("2001:DB8:1:2:bbbb::9", 64, "2001:db8:1:2::/64"),  # another address of the same home
        ("2001:db8:1:3::1", 64, "2001:db8:1:3::/64"),  # the next /64: someone else
        ("2001:db8:1:3::1", 48, "2001:db8:1::/48"),
        ("2001:db8:1:3::1", 128, "2001:db8:1:3::1"),
        ("2001:0db8:0001:0003:0000:0000:0000:0001", 128, "2001:db8:1:3::1"),  # one spelling
        ("::ffff:192.0.2.1", 64, "192.0.2.1"),  # IPv4 through a dual-stack socket
        ("fe80::1%eth0", 64, "fe80::/64"),
        ("::1", 64, "::/64"),
        ("not an address", 64, "not an address"),
        ("zz::1", 64, "zz::1"),
    ],
)
def test_what_an_address_counts_under(ip: str, prefix: int, counted: str) -> None:
    assert counted_as(ip, prefix) == counted


def test_the_runtime_counts_connections_of_one_ipv6_network_together() -> None:
    limits = LimitsSection(max_clients=100, max_clients_per_ip=2)
    counts = Admission(lambda: limits, lambda ip: None)
    home = [Conn(f"2001:db8:1:2::{i}") for i in range(1, 4)]
    assert [counts.admit(link) for link in home] == [None, None, TOO_MANY]
    assert counts.admit(Conn("2001:db8:1:3::1")) is None  # the neighbours' /64
    assert dict(counts.per_ip) == {"2001:db8:1:2::/64": 2, "2001:db8:1:3::/64": 1}
    counts.release(home[0])
    assert counts.admit(Conn("2001:db8:1:2::ffff")) is None  # a place freed in the network
    counts.release(home[2])  # refused: it never counted
    assert dict(counts.per_ip) == {"2001:db8:1:2::/64": 2, "2001:db8:1:3::/64": 1}


def test_with_a_prefix_of_128_each_ipv6_address_counts_alone() -> None:
    limits = LimitsSection(max_clients=100, max_clients_per_ip=1, ipv6_prefix=128)
    counts = Admission(lambda: limits, lambda ip: None)
    assert [counts.admit(Conn(f"2001:db8::{i}")) for i in range(1, 4)] == [None, None, None]
    assert counts.admit(Conn("2001:db8::1")) == TOO_MANY


def test_a_gateway_user_counts_in_the_network_of_the_address_webirc_names() -> None:
    limits = LimitsSection(max_clients=100, max_clients_per_ip=1)
    counts = Admission(lambda: limits, lambda ip: None, gateway=lambda ip: ip == "192.0.2.1")
    links = [Conn("192.0.2.1") for _ in range(3)]
    assert [counts.admit(link) for link in links] == [None, None, None]
    assert counts.readdress(links[0], "2001:db8::1") is None
    assert counts.readdress(links[1], "2001:db8::2") == TOO_MANY
    assert counts.readdress(links[0], "2001:db8::3") is None  # counted there already
    counts.release(links[0])
    assert not counts.per_ip
    assert counts.readdress(links[2], "2001:db8::2") is None


def test_the_shared_state_counts_by_the_group_the_event_names_and_gives_it_back() -> None:
    state = ChatState(1.0)
    group = "2001:db8:1:2::/64"
    assert apply(state, Connected("u1", "2001:db8:1:2::1", "h", False, 1.0, 1, None, group)).rejected is None
    refused = apply(state, Connected("u2", "2001:db8:1:2::2", "h", False, 1.0, 1, None, group))
    assert refused.rejected == "too many from the address"
    apply(state, Connected("u3", "192.0.2.1", "h", False, 1.0, 1))  # no group: the address itself
    assert dict(state.per_ip) == {group: 1, "192.0.2.1": 1}
    copy = ChatState(0.0)  # a node joining from a snapshot counts alike
    snapshot.load_into(copy, json.loads(json.dumps(snapshot.dump(state))))
    assert dict(copy.per_ip) == dict(state.per_ip) and copy.digest() == state.digest()
    apply(copy, UserQuit("u1", "bye", 2.0, "m1"))
    assert dict(copy.per_ip) == {"192.0.2.1": 1}


def test_address_set_moves_the_count_between_groups() -> None:
    state = ChatState(1.0)
    apply(state, Connected("u1", "192.0.2.1", "gw", False, 1.0))
    moved = AddressSet("u1", "2001:db8::1", "h", False, "kiwi", "192.0.2.1", 2.0, 1, "2001:db8::/64")
    assert apply(state, moved).rejected is None
    assert dict(state.per_ip) == {"2001:db8::/64": 1}
    apply(state, Connected("u2", "192.0.2.1", "gw", False, 1.0))
    other = AddressSet("u2", "2001:db8::2", "h", False, "kiwi", "192.0.2.1", 2.0, 1, "2001:db8::/64")
    assert apply(state, other).rejected == "too many from the address"


def test_a_snapshot_of_the_version_before_counts_users_at_their_addresses() -> None:
    state = ChatState(1.0)
    apply(state, Connected("u1", "2001:db8::1", "h", False, 1.0, 0, None, "2001:db8::/64"))
    data = json.loads(json.dumps(snapshot.dump(state)))
    del data["groups"]
    copy = ChatState(0.0)
    snapshot.load_into(copy, data)
    assert dict(copy.per_ip) == {"2001:db8::1": 1}


def test_in_a_cluster_gateway_users_of_one_ipv6_network_share_the_networks_count() -> None:
    net = gateway_net("limits.max_clients_per_ip=1")
    net.state.nodes[net.node_id] = "hubbub.local"  # as in a cluster: the state counts per address
    first, second, third = (Gateway(net) for _ in range(3))
    first.webirc("2001:db8:5:6::1")
    second.webirc("2001:db8:5:6::2")
    third.webirc("2001:db8:5:7::1")
    assert not first.link.closed and not third.link.closed
    assert second.link.closed and TOO_MANY.encode() in bytes(second.link.data)
    assert dict(net.state.per_ip) == {"2001:db8:5:6::/64": 1, "2001:db8:5:7::/64": 1}


@pytest.mark.parametrize("prefix", [0, 8, 15, 129])
def test_a_prefix_outside_16_to_128_is_refused(prefix: int) -> None:
    with pytest.raises(ConfigError, match="ipv6_prefix"):
        load(None, [f"limits.ipv6_prefix={prefix}"])
