"""Channel bans on a host an operator gave (HostServ, CHGHOST): a vhost written with
`/` (`user/alice`) is a host like any other in a mask, and the ban +f sets on a user
shown with a vhost names that host, never the address the vhost hides."""

from __future__ import annotations

from tests.e2e_accounts.support import registered_account
from tests.e2e_channels.common import SERVER, op_sets
from tests.e2e_opers.support import an_oper
from tests.e2e_opers.test_hostserv import hs
from tests.helpers import connected, sync

CLOAKED = "server.cloak_exempt=[]"  # 127.0.0.1 hidden as any other address


async def test_a_vhost_with_a_slash_is_banned_by_its_host(make_oper_server, clients) -> None:
    server = await make_oper_server()
    ircop = await an_oper(server, "ircop")
    op = await connected(server, "op", "#room")
    alice = await registered_account(server, "alice", "correct-horse", "#room")
    clients.extend([ircop, op, alice])
    await hs(ircop, "SET alice user/alice")
    await alice.expect("396")
    await sync(op)

    for mask in ("*!*@user/alice", "*!*@user/*"):
        assert await op_sets(op, f"MODE #room +b {mask}", alice) == ["#room", "+b", mask]
        op.send("KICK #room alice")
        await alice.expect("KICK")
        alice.send("JOIN #room")
        assert (await alice.expect("474")).params[1] == "#room"  # the ban holds
        assert await op_sets(op, f"MODE #room -b {mask}") == ["#room", "-b", mask]
        alice.send("JOIN #room")
        await alice.expect("366")
    op.send("MODE #room +b *!*@10.0.0.0/99")  # a block that cannot be still says why
    refused = await op.expect("696")
    assert "not a CIDR block" in refused.params[-1]


async def test_the_flood_ban_of_a_user_shown_with_a_vhost_names_the_vhost_not_the_address(
    make_oper_server, clients
) -> None:
    server = await make_oper_server(CLOAKED)
    ircop = await an_oper(server, "ircop")
    op = await connected(server, "op", "#room")
    alice = await registered_account(server, "alice", "correct-horse", "#room")
    clients.extend([ircop, op, alice])
    await hs(ircop, "SET alice user/alice")
    await alice.expect("396")
    await sync(op)
    await op_sets(op, "MODE #room +f *2:60", alice)
    for i in range(3):
        alice.send(f"PRIVMSG #room :line {i}")
    ban = await op.expect("MODE")
    assert ban.source == SERVER and ban.params == ["#room", "+b", "*!*@user/alice"]  # not *!*@127.0.0.1
    await alice.expect("KICK")
    alice.send("JOIN #room")
    assert (await alice.expect("474")).params[1] == "#room"
    assert await op_sets(op, "MODE #room -b *!*@user/alice") == ["#room", "-b", "*!*@user/alice"]
