"""RENAME and ChanServ: a registered channel keeps its name (its registration, and what
survives a restart, are kept under that name); only its case may change (the
channel-rename specification's MUST), and the store keeps the new case."""

from __future__ import annotations

from tests.e2e_accounts.support import registered_account
from tests.helpers import LineClient


async def test_a_registered_channel_cannot_be_renamed_even_by_its_founder(server, clients) -> None:
    alice: LineClient = await registered_account(server, "alice", "correct-horse", "#c")
    clients.append(alice)
    alice.send("PRIVMSG ChanServ :REGISTER #c")
    await alice.expect("MODE", "#c", "+q", "alice")
    alice.send("RENAME #c #elsewhere :tidier")
    fail = await alice.expect("FAIL")
    assert fail.params == ["RENAME", "CANNOT_RENAME", "#c", "#elsewhere", "A registered channel cannot be renamed"]
    alice.send("CAP REQ :draft/channel-rename")
    await alice.expect("CAP", "alice", "ACK")
    alice.send("RENAME #c #C")  # its case, though: the specification says it MUST be allowed
    assert (await alice.expect("RENAME")).params[:2] == ["#c", "#C"]
    alice.send("PRIVMSG ChanServ :INFO #c")
    assert "#C" in (await alice.expect("NOTICE", "alice")).params[1]
