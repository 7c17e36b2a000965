"""OPER and the operator user modes: +o (with WHOIS 313, WHO *, USERHOST *), -o, +s, +w.

The password check is argon2id on a worker thread; these transcripts also prove the
hand-off keeps replies in order and survives the client leaving before it is done.
"""

from __future__ import annotations

from hubbub.server.handlers.usermodes import USER_MODE_TABLE
from hubbub.server.isupport import USER_MODES
from tests.e2e_opers.conftest import oper_toml
from tests.e2e_opers.support import SERVER, an_oper, oper_up
from tests.helpers import LineClient, commands, connected, sync

# -- OPER --------------------------------------------------------------------------------


async def test_oper_with_the_right_password_gives_381_then_mode_plus_o(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    alice.send("OPER admin operpass")
    reply = await alice.collect_until("MODE")
    assert commands(reply) == ["381", "MODE"]
    assert reply[0].params == ["alice", "You are now an IRC operator"]
    assert reply[1].source.startswith("alice!") and reply[1].params == ["alice", "+o"]
    assert [m.command for m in await sync(alice)] == []  # exactly one MODE


async def test_oper_with_a_wrong_password_is_464_and_no_privileges(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    alice.send("OPER admin wrong")
    assert (await alice.expect("464")).params == ["alice", "Password incorrect"]
    alice.send("MODE alice")
    assert (await alice.expect("221")).params == ["alice", "+"]
    alice.send("KILL alice :x")
    await alice.expect("481")


async def test_oper_with_an_unknown_name_is_464_like_a_wrong_password(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    alice.send("OPER nobody operpass")
    await alice.expect("464")
    assert "381" not in commands(await sync(alice))


async def test_oper_without_a_password_is_461(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    alice.send("OPER admin")
    assert (await alice.expect("461")).params[:2] == ["alice", "OPER"]


async def test_oper_from_a_host_the_block_does_not_allow_is_491(make_oper_server, oper_hash, clients) -> None:
    blocks = oper_toml(oper_hash, hosts=["*@192.0.2.*"]) + oper_toml(oper_hash, "local", ["~u@127.0.0.1"])
    server = await make_oper_server(toml=blocks)
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("OPER admin operpass")
    assert (await alice.expect("491")).params == ["alice", "No O-lines for your host"]
    assert "381" not in commands(await sync(alice))
    await oper_up(alice, "local")  # a block whose mask matches ~u@127.0.0.1 works


async def test_replies_to_oper_come_before_those_to_later_lines(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    alice.send("OPER admin operpass\r\nMODE alice\r\nPING after-oper")  # one write: all queued at once
    reply = await alice.collect_until("PONG")
    assert commands(reply) == ["381", "MODE", "221", "PONG"]
    assert reply[2].params == ["alice", "+o"]


async def test_oper_of_a_client_gone_before_the_check_ends_changes_nothing(oper_server, clients) -> None:
    watcher = await an_oper(oper_server, "watcher")
    clients.append(watcher)
    watcher.send("MODE watcher +s")
    await watcher.expect("MODE", "watcher", "+s")
    leaver = await connected(oper_server, "leaver")
    leaver.send("OPER admin operpass")
    await leaver.close()
    await watcher.expect(lambda m: m.command == "NOTICE" and "Client exiting: leaver" in m.params[-1])
    await sync(watcher)
    assert [c.nick for c in oper_server.services.notices.watchers] == ["watcher"]
    assert oper_server.state.find_user("leaver") is None
    bob = await connected(oper_server, "bob")  # the server carries on
    clients.append(bob)


async def test_labeled_oper_gets_its_reply_labeled_though_it_comes_later(oper_server, clients) -> None:
    alice = await LineClient.connect(oper_server)
    clients.append(alice)
    alice.send("CAP REQ :labeled-response batch")
    alice.send("CAP END")
    await alice.register("alice")
    alice.send("@label=op1 OPER admin operpass")
    opening = await alice.expect("BATCH")
    assert opening.tags.get("label") == "op1" and opening.params[1] == "labeled-response"
    inside = await alice.collect_until("BATCH")
    assert commands(inside) == ["381", "MODE", "BATCH"]


# -- user modes ------------------------------------------------------------------------


async def test_plus_o_from_the_user_itself_is_ignored(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    alice.send("MODE alice +o")
    assert [m.command for m in await sync(alice)] == []
    alice.send("MODE alice")
    assert (await alice.expect("221")).params == ["alice", "+"]


async def test_minus_o_drops_operator_status_and_server_notices(oper_server, clients) -> None:
    alice = await an_oper(oper_server, "alice")
    clients.append(alice)
    alice.send("MODE alice +sw")
    await alice.expect("MODE", "alice", "+sw")
    alice.send("MODE alice -o")
    assert (await alice.expect("MODE", "alice")).params == ["alice", "-os"]
    alice.send("MODE alice")
    assert (await alice.expect("221")).params == ["alice", "+w"]
    alice.send("WALLOPS :still there?")
    await alice.expect("481")


async def test_plus_s_is_for_operators_only(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    alice.send("MODE alice +si")
    assert (await alice.expect("MODE", "alice")).params == ["alice", "+i"]


async def test_unknown_user_mode_is_501_and_known_ones_still_apply(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice")
    clients.append(alice)
    alice.send("MODE alice +wZ")
    reply = await alice.collect_until("MODE")
    assert commands(reply) == ["501", "MODE"]
    assert reply[1].params == ["alice", "+w"]


async def test_operator_shows_in_whois_who_and_userhost(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop", "#ops")
    bob = await connected(oper_server, "bob", "#ops")
    clients.extend([ircop, bob])
    bob.send("WHOIS ircop")
    whois = await bob.collect_until("318")
    assert ["bob", "ircop", "is an IRC operator"] in [m.params for m in whois if m.command == "313"]
    assert "379" not in commands(whois)  # modes are shown to oneself and operators only
    bob.send("WHO #ops")
    flags = {m.params[5]: m.params[6] for m in await bob.collect_until("315") if m.command == "352"}
    assert flags == {"ircop": "H*@", "bob": "H"}
    bob.send("USERHOST ircop bob")
    assert (await bob.expect("302")).params[1] == "ircop*=+~u@127.0.0.1 bob=+~u@127.0.0.1"


async def test_whois_shows_address_and_modes_to_operators(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop")
    bob = await connected(oper_server, "bob")
    clients.extend([ircop, bob])
    bob.send("MODE bob +wi")
    await bob.expect("MODE", "bob")
    ircop.send("WHOIS bob")
    seen = {m.command: m.params for m in await ircop.collect_until("318")}
    assert seen["379"] == ["ircop", "bob", "is using modes +iw"]
    assert seen["378"] == ["ircop", "bob", "is connecting from *@127.0.0.1 127.0.0.1"]
    bob.send("WHOIS bob")  # a user sees its own address, not a list of its modes
    own = commands(await bob.collect_until("318"))
    assert "378" in own and "379" not in own


async def test_myinfo_advertises_exactly_the_user_modes_of_the_table(oper_server, clients) -> None:
    alice = await LineClient.connect(oper_server)
    clients.append(alice)
    alice.send("NICK alice")
    alice.send("USER u 0 * :A")
    myinfo = await alice.expect("004")
    assert myinfo.params[3] == USER_MODES
    assert sorted(USER_MODES) == sorted(USER_MODE_TABLE)
    assert myinfo.params[1] == SERVER
