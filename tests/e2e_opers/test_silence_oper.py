"""SILENCE never keeps an IRC operator out (silence.py): an operator must be able to
warn anyone, as with user mode +R; the same mask silences the user again once it is
no longer an operator."""

from __future__ import annotations

from tests.e2e_opers.support import oper_up
from tests.helpers import connected, sync


async def test_an_operator_is_not_silenced(oper_server, clients) -> None:
    alice = await connected(oper_server, "alice", "#c")
    ircop = await connected(oper_server, "ircop", "#c")
    clients.extend([alice, ircop])
    alice.send("SILENCE +*!*@*")  # everyone
    await alice.expect("SILENCE")
    ircop.send("PRIVMSG alice :before OPER")
    await sync(ircop)
    assert not [m for m in await sync(alice) if m.command == "PRIVMSG"]

    await oper_up(ircop)
    ircop.send("PRIVMSG alice :a word from the staff")
    assert (await alice.expect("PRIVMSG")).params == ["alice", "a word from the staff"]
    ircop.send("NOTICE alice :and a notice")
    assert (await alice.expect("NOTICE")).params == ["alice", "and a notice"]
    ircop.send("JOIN #staff")
    await ircop.expect("366")
    ircop.send("INVITE alice #staff")
    assert (await alice.expect("INVITE")).params == ["alice", "#staff"]

    ircop.send("MODE ircop -o")
    await ircop.expect("MODE")
    ircop.send("PRIVMSG alice :after -o")
    await sync(ircop)
    assert not [m for m in await sync(alice) if m.command == "PRIVMSG"]
