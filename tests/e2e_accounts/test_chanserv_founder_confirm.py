"""ChanServ SET FOUNDER waits for a code, as DROP does: a typo in the account name must
not give a channel away for good. Over real sockets, against a real server."""

from __future__ import annotations

import re

from tests.e2e_accounts.confirming import CONFIRM, code_for, give_channel
from tests.e2e_accounts.support import registered_account
from tests.helpers import LineClient, connected, sync

CS = "ChanServ!ChanServ@services"
PW = "correct-horse"
CODE = re.compile(r"[0-9a-f]{8}")
FULL = "Could not transfer channel: bob has already registered the maximum number of channels"


async def said(client: LineClient, line: str) -> list[str]:
    """Send `line` to ChanServ; everything it answered."""
    client.send(f"PRIVMSG ChanServ :{line}")
    return [m.params[-1] for m in await sync(client) if m.command == "NOTICE" and m.source == CS]


async def founder_of(client: LineClient, channel: str) -> str:
    info = await said(client, f"INFO {channel}")
    return next(text.removeprefix("Founder: ") for text in info if text.startswith("Founder: "))


async def founding(server, nick: str, channel: str) -> LineClient:
    """A client logged in to its account, founder of `channel` (it registered it)."""
    client = await registered_account(server, nick, PW, channel)
    assert await said(client, f"REGISTER {channel}") == [f"Channel {channel} successfully registered"]
    return client


def other_than(code: str) -> str:
    return "0" * 8 if code != "0" * 8 else "1" * 8


async def test_set_founder_alone_says_what_it_would_do_and_gives_nothing_away(server, clients) -> None:
    alice = await founding(server, "alice", "#c")
    bob = await registered_account(server, "Bob", PW, "#c")  # the account is registered as "Bob"
    clients.extend([alice, bob])
    answer = await said(alice, "SET #c FOUNDER bob")  # typed in another case
    assert len(answer) == 2, answer
    assert answer[0] == ("Warning: this gives #c to the account Bob: you will no longer be its founder, "
                         "and only Bob could give it back.")  # fmt: skip
    assert answer[1].startswith(CONFIRM + "SET #c FOUNDER Bob ")
    code = answer[1].split()[-1]
    assert CODE.fullmatch(code), code
    assert not [m for m in await sync(bob) if m.command == "MODE"]  # nobody's status moved
    assert await founder_of(bob, "#c") == "alice"
    # the command it names does it
    assert await said(alice, f"SET #c FOUNDER Bob {code}") == ["The founder of #c is now Bob"]
    assert {tuple((await bob.expect("MODE", "#c")).params[1:]) for _ in range(2)} == {("-q", "alice"), ("+q", "Bob")}
    assert await founder_of(alice, "#c") == "Bob"


async def test_a_wrong_code_is_said_to_be_wrong_and_the_hint_comes_again(server, clients) -> None:
    alice = await founding(server, "alice", "#c")
    bob = await registered_account(server, "bob", PW)
    clients.extend([alice, bob])
    code = await code_for(alice, "SET #c FOUNDER bob")
    wrong = other_than(code)
    assert await said(alice, f"SET #c FOUNDER bob {wrong}") == [
        f"{wrong} is not the code that confirms it.",
        "Warning: this gives #c to the account bob: you will no longer be its founder, "
        "and only bob could give it back.",
        f"To confirm, run this command: /msg ChanServ SET #c FOUNDER bob {code}",
    ]
    assert await founder_of(alice, "#c") == "alice"
    assert await said(alice, f"SET #c FOUNDER bob {code} trailing words") == ["The founder of #c is now bob"]


async def test_a_code_for_one_account_does_not_give_the_channel_to_another(server, clients) -> None:
    """The typo the code guards against: the code read for `bob`, sent with `bobb`."""
    alice = await founding(server, "alice", "#c")
    bob = await registered_account(server, "bob", PW)
    bobb = await registered_account(server, "bobb", PW)
    clients.extend([alice, bob, bobb])
    for_bob = await code_for(alice, "SET #c FOUNDER bob")
    answer = await said(alice, f"SET #c FOUNDER bobb {for_bob}")
    assert answer[0] == f"{for_bob} is not the code that confirms it.", answer
    for_bobb = answer[-1].split()[-1]
    assert answer[-1] == f"To confirm, run this command: /msg ChanServ SET #c FOUNDER bobb {for_bobb}"
    assert for_bobb != for_bob
    drop = await code_for(alice, "DROP #c")  # nor does the channel's DROP code
    assert (await said(alice, f"SET #c FOUNDER bob {drop}"))[0] == f"{drop} is not the code that confirms it."
    assert await founder_of(alice, "#c") == "alice"


async def test_a_code_confirms_nothing_once_the_channel_changed_hands_or_was_registered_again(server, clients) -> None:
    alice = await founding(server, "alice", "#c")  # she made #c: its operator, whoever founds it
    bob = await registered_account(server, "bob", PW, "#c")
    carol = await registered_account(server, "carol", PW)
    clients.extend([alice, bob, carol])
    # dropped and registered again: another registration, another code
    before = await code_for(alice, "SET #c FOUNDER carol")
    drop = await code_for(alice, "DROP #c")
    assert await said(alice, f"DROP #c {drop}") == ["Channel #c is now unregistered"]
    assert await said(alice, "REGISTER #c") == ["Channel #c successfully registered"]
    assert (await said(alice, f"SET #c FOUNDER carol {before}"))[0] == f"{before} is not the code that confirms it."
    # given to bob: alice's code, read when she founded #c, is nobody's now
    alices = await code_for(alice, "SET #c FOUNDER carol")
    assert await give_channel(alice, "#c", "bob") == "The founder of #c is now bob"
    assert await said(alice, f"SET #c FOUNDER carol {alices}") == ["Only the channel founder can do this"]
    assert (await said(bob, f"SET #c FOUNDER carol {alices}"))[0] == f"{alices} is not the code that confirms it."
    assert await founder_of(carol, "#c") == "bob"


async def test_refusals_come_as_before_with_no_code_offered(make_server, clients) -> None:
    server = await make_server("accounts.max_channels=1")
    alice = await founding(server, "alice", "#c")
    bob = await founding(server, "bob", "#b")
    guest = await connected(server, "guest", "#c")
    clients.extend([alice, bob, guest])
    for client, line, refusal in (
        (guest, "SET #c FOUNDER bob", "You're not logged into an account"),
        (bob, "SET #c FOUNDER bob", "Only the channel founder can do this"),
        (alice, "SET #c FOUNDER nobody", "Account does not exist"),
        (alice, "SET #c FOUNDER bob", FULL),
        (alice, "SET #nowhere FOUNDER bob", "Channel does not exist"),
        (alice, "SET #c EMAIL bob", "Unknown setting. Settings: FOUNDER"),
    ):  # fmt: skip
        assert await said(client, line) == [refusal], line
        assert await said(client, line + " 00000000") == [refusal], line  # a code changes none of them
    assert await founder_of(alice, "#c") == "alice"


async def test_giving_a_channel_to_its_own_founder_asks_no_code(server, clients) -> None:
    alice = await founding(server, "alice", "#c")
    clients.append(alice)
    assert await said(alice, "SET #c FOUNDER ALICE") == ["The founder of #c is now alice"]


async def test_help_tells_of_the_code(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    assert await said(alice, "HELP SET") == [
        "Syntax: SET <#channel> FOUNDER <account> [code]",
        "Gives the channel to another account: without a code, tells you the code that confirms it.",
    ]
    alice.send("HELP CHANSERV")
    text = " ".join(m.params[-1] for m in await alice.collect_until("706"))
    assert "SET <#channel> FOUNDER <account>" in text and "code" in text, text


async def test_the_code_still_confirms_after_a_restart(stored, clients) -> None:
    """Nothing is kept for it: the code is the same hash after a restart, where a code
    held in memory would have been lost."""
    server = await stored()
    alice = await founding(server, "alice", "#keep")
    bob = await registered_account(server, "bob", PW)
    code = await code_for(alice, "SET #keep FOUNDER bob")
    for client in (alice, bob):
        await client.close()
    await server.stop()
    again = await stored()
    alice = await connected(again, "alice")
    clients.append(alice)
    await sync(alice)
    alice.send(f"PRIVMSG NickServ :IDENTIFY {PW}")
    await alice.expect("900")
    await sync(alice)
    assert await said(alice, f"SET #keep FOUNDER bob {code}") == ["The founder of #keep is now bob"]
    assert await founder_of(alice, "#keep") == "bob"
