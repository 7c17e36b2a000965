"""CHGHOST: an operator gives a user a virtual host; chghost clients see it change, and
the user is told (396) when its client does not speak chghost."""

from __future__ import annotations

from tests.e2e_caps.support import capped
from tests.e2e_opers.support import an_oper
from tests.helpers import commands, connected, sync


async def test_a_virtual_host_is_seen_by_everyone_and_told_to_its_user(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop", "#room")
    watcher = await capped(oper_server, "watcher", "chghost", channels=("#room",))
    staff = await connected(oper_server, "staff", "#room")  # no chghost: told by 396
    other = await connected(oper_server, "other")
    clients.extend([ircop, watcher, staff, other])
    await sync(staff)
    ircop.send("CHGHOST staff staff.example.org")
    told = await ircop.expect("NOTICE")
    assert told.params[-1] == "*** The host of staff is now staff.example.org"
    change = await watcher.expect("CHGHOST")
    assert change.source == "staff!~u@127.0.0.1" and change.params == ["~u", "staff.example.org"]
    assert (await staff.expect("396")).params[1:] == ["staff.example.org", "is now your displayed host"]
    staff.send("PRIVMSG #room :hello")
    said = await ircop.expect("PRIVMSG", "#room", "hello")
    assert said.source == "staff!~u@staff.example.org"
    other.send("WHOIS staff")
    assert [m.params[3] for m in await other.collect_until("318") if m.command == "311"] == ["staff.example.org"]
    assert commands(await sync(other)) == []  # shares no channel: nothing was sent to it

    ircop.send("MODE #room +b *!*@staff.example.org")  # a ban on the virtual host holds
    await ircop.expect("MODE")
    staff.send("PART #room")
    await staff.expect("PART")
    staff.send("JOIN #room")
    assert (await staff.expect(lambda m: m.command in ("474", "366"))).command == "474"

    ircop.send("CHGHOST staff *")  # back to what it connected with
    assert (await staff.expect("396")).params[1] == "127.0.0.1"
    staff.send("JOIN #room")
    assert (await staff.expect(lambda m: m.command in ("474", "366"))).command == "366"


async def test_chghost_refusals(oper_server, clients) -> None:
    ircop = await an_oper(oper_server, "ircop")
    user = await connected(oper_server, "user")
    clients.extend([ircop, user])
    user.send("CHGHOST user me.example.org")  # not an operator
    assert (await user.expect("481")).params[-1] == "Permission Denied- You're not an IRC operator"
    ircop.send("CHGHOST nobody x.example.org")
    await ircop.expect("401")
    for bad in ("bad host", "a@b", "10.0.0.1", "x" * 64, "caf\u00e9.example"):
        ircop.send(f"CHGHOST user :{bad}")
        refusal = await ircop.expect("NOTICE")
        assert "cannot be a host" in refusal.params[-1], (bad, refusal)
    ircop.send("CHGHOST user 127.0.0.1")  # also not a DNS name (its last label is a number)
    assert "cannot be a host" in (await ircop.expect("NOTICE")).params[-1]
    ircop.send("CHGHOST user *")
    assert (await ircop.expect("NOTICE")).params[-1] == "*** user's host is 127.0.0.1 already"
    assert commands(await sync(user)) == []
