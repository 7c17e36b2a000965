"""A private message reaches every device of the people on both sides, over real
sockets: alice on her laptop (`alice`) and her phone (`alice_phone`, logged in to the
same account) sees bob's message to either nick on both, and what she writes from one
shows on the other as her own line (from its own nick), as ZNC's self-messages do. And
what must not be copied: CTCP queries (each device would answer), nor to a
device that SILENCEd the sender."""

from __future__ import annotations

from tests.e2e_accounts.support import registered_account, sasl_plain
from tests.e2e_history.test_multiline_notice_history import MULTILINE
from tests.e2e_history.test_offline_messages import logged_in
from tests.helpers import LineClient, commands, connected, sync


async def devices(server) -> tuple[LineClient, LineClient, LineClient]:
    """alice (laptop), alice_phone (her account, by SASL), bob (his own account)."""
    laptop = await registered_account(server, "alice")
    phone, result = await sasl_plain(server, "alice_phone", "alice", "correct-horse")
    assert result == "903"
    bob = await registered_account(server, "bob")
    for client in (laptop, phone, bob):
        await sync(client)  # the welcome, and what the logins said
    return laptop, phone, bob


async def test_a_message_to_one_device_reaches_the_others(server) -> None:
    laptop, phone, bob = await devices(server)
    bob.send("PRIVMSG alice :lunch?")
    got = await laptop.expect("PRIVMSG")
    assert (got.source.split("!")[0], got.params) == ("bob", ["alice", "lunch?"])
    copy = await phone.expect("PRIVMSG")
    assert (copy.source.split("!")[0], copy.params) == ("bob", ["alice", "lunch?"])
    bob.send("NOTICE alice_phone :a notice to the phone")
    assert (await laptop.expect("NOTICE")).params == ["alice_phone", "a notice to the phone"]
    assert (await phone.expect("NOTICE")).params == ["alice_phone", "a notice to the phone"]


async def test_what_one_device_says_shows_on_the_others_from_their_own_nick(server) -> None:
    laptop, phone, bob = await devices(server)
    phone.send("PRIVMSG bob :yes, at noon")
    assert (await bob.expect("PRIVMSG")).params == ["bob", "yes, at noon"]
    mine = await laptop.expect("PRIVMSG")
    assert mine.source.startswith("alice!") and mine.params == ["bob", "yes, at noon"]  # as its own line
    assert commands(await sync(phone)) == []  # the phone itself: no copy (its echo, with echo-message)
    phone.send("PRIVMSG bob :\x01ACTION waves\x01")  # an action is words
    assert (await laptop.expect("PRIVMSG")).params == ["bob", "\x01ACTION waves\x01"]


async def test_a_ctcp_query_is_not_copied_and_people_without_an_account_are_reached_on_every_device(server) -> None:
    laptop, phone, bob = await devices(server)
    carol = await connected(server, "carol")  # no account
    bob.send("PRIVMSG alice :\x01VERSION\x01")  # each device would answer it
    await laptop.expect("PRIVMSG")
    carol.send("PRIVMSG alice :from someone without an account")
    await laptop.expect("PRIVMSG")
    phone.send("PRIVMSG carol :to someone without an account")  # the phone's own: its account's
    assert (await carol.expect("PRIVMSG")).params[1] == "to someone without an account"
    said = [m for m in await sync(laptop) if m.command == "PRIVMSG"]
    assert [(m.source.split("!")[0], m.params) for m in said] == [("alice", ["carol", "to someone without an account"])]
    got = [m for m in await sync(phone) if m.command == "PRIVMSG"]
    assert [(m.source.split("!")[0], m.params[1]) for m in got] == [("carol", "from someone without an account")]


async def test_a_device_that_silenced_the_sender_gets_no_copy(server) -> None:
    laptop, phone, bob = await devices(server)
    phone.send("SILENCE +bob!*@*")
    await phone.expect("SILENCE")
    bob.send("PRIVMSG alice :hello?")
    await laptop.expect("PRIVMSG")
    assert commands(await sync(phone)) == []


async def test_a_multiline_message_and_a_reaction_reach_the_other_devices(server) -> None:
    laptop = await registered_account(server, "alice")
    phone = await logged_in(server, "alice_phone", "message-tags", *MULTILINE, account_name="alice")
    bob = await registered_account(server, "bob")
    for client in (laptop, phone, bob):
        await sync(client)
    bob.send("@+draft/react=+1;+draft/reply=abc TAGMSG alice")
    reaction = await phone.expect("TAGMSG")
    assert reaction.params == ["alice"] and reaction.tags["+draft/react"] == "+1"
    phone.send("BATCH +m draft/multiline bob")
    phone.send("@batch=m PRIVMSG bob :first line")
    phone.send("@batch=m PRIVMSG bob :second line")
    phone.send("BATCH -m")
    lines = [m for m in await laptop.collect_until(lambda m: m.params[-1] == "second line") if m.command == "PRIVMSG"]
    assert [(m.source.split("!")[0], m.params) for m in lines] == [
        ("alice", ["bob", "first line"]), ("alice", ["bob", "second line"])]
    assert commands(await sync(laptop)) == []  # no TAGMSG: the laptop did not ask for tags


async def test_a_device_with_plus_r_gets_no_copy_from_someone_without_an_account(server) -> None:
    laptop, phone, bob = await devices(server)
    phone.send("MODE alice_phone +R")
    await phone.expect("MODE")
    zed = await connected(server, "zed")  # no account
    zed.send("PRIVMSG alice :from a guest")
    await laptop.expect("PRIVMSG")
    bob.send("PRIVMSG alice :from an account")
    await laptop.expect("PRIVMSG")
    got = [m.params[1] for m in await sync(phone) if m.command == "PRIVMSG"]
    assert got == ["from an account"]


async def test_several_nicks_of_one_account_named_at_once_get_one_copy_each_device(server) -> None:
    laptop, phone, bob = await devices(server)
    bob.send("PRIVMSG alice,alice_phone :hi both")
    for device in (laptop, phone):
        await device.expect("PRIVMSG")
        assert [m for m in await sync(device) if m.command == "PRIVMSG"] == []


async def test_a_notice_is_copied_to_the_targets_devices_not_to_the_senders(server) -> None:
    """irssi shows a NOTICE from its own nick as one to itself: only PRIVMSGs are copied to
    the sender's other devices."""
    laptop, phone, bob = await devices(server)
    start = len(laptop.received)
    phone.send("NOTICE bob :a notice from the phone")
    await bob.expect("NOTICE")
    phone.send("PRIVMSG bob :and a message")
    await laptop.expect("PRIVMSG")
    assert [m.command for m in laptop.received[start:] if m.command in ("PRIVMSG", "NOTICE")] == ["PRIVMSG"]


async def test_a_reaction_shows_on_the_reacting_accounts_other_devices_and_typing_does_not(server) -> None:
    laptop = await registered_account(server, "alice")
    bob = await registered_account(server, "bob")
    for client in (laptop, bob):
        client.send("CAP REQ :message-tags")
        await client.expect("CAP")
    phone = await logged_in(server, "alice_phone", "message-tags", account_name="alice")
    for client in (laptop, phone, bob):
        await sync(client)
    start = len(laptop.received)
    phone.send("@+typing=active TAGMSG bob")
    await bob.expect("TAGMSG")
    phone.send("@+draft/react=+1;+draft/reply=abc TAGMSG bob")
    await bob.expect("TAGMSG")
    mine = await laptop.expect("TAGMSG")
    assert mine.source.startswith("alice!") and mine.params == ["bob"] and mine.tags["+draft/react"] == "+1"
    await sync(laptop)
    assert [m.tags.get("+draft/react") for m in laptop.received[start:] if m.command == "TAGMSG"] == ["+1"]


async def test_a_note_to_self_between_two_devices_reaches_a_third_as_its_own_line(server) -> None:
    """The laptop writes to the phone (both alice's): irssi, her third device, gets it from
    its own nick (as its own line, in the conversation with the phone), not from the
    laptop's (irssi would open a conversation named `alice`)."""
    laptop, phone, bob = await devices(server)
    irc, result = await sasl_plain(server, "alice_irc", "alice", "correct-horse")
    assert result == "903"
    await sync(irc)
    laptop.send("PRIVMSG alice_phone :buy milk")
    assert (await phone.expect("PRIVMSG")).source.startswith("alice!")
    note = await irc.expect("PRIVMSG")
    assert note.source.startswith("alice_irc!") and note.params == ["alice_phone", "buy milk"]


async def test_a_bot_is_one_recipient_whatever_account_it_is_logged_in_to(server) -> None:
    """Two bots (+B) logged in to one account: what is said to one is its command, not the
    other's (both answered it), and what one says is no line of the other's; nor does a
    person's device copy reach a bot of the account, nor a bot's line their devices as
    their own."""
    laptop = await registered_account(server, "alice")
    twin_a, result = await sasl_plain(server, "twinA", "alice", "correct-horse")
    twin_b, result_b = await sasl_plain(server, "twinB", "alice", "correct-horse")
    assert (result, result_b) == ("903", "903")
    bob = await registered_account(server, "bob")
    for bot in (twin_a, twin_b):
        bot.send(f"MODE {bot.nick} +B")
        await bot.expect("MODE")
    for client in (twin_a, twin_b, laptop, bob):
        await sync(client)
    bob.send("PRIVMSG twinA :!ping")
    assert (await twin_a.expect("PRIVMSG")).params == ["twinA", "!ping"]
    twin_a.send("PRIVMSG bob :pong from twinA")
    assert (await bob.expect("PRIVMSG")).params == ["bob", "pong from twinA"]
    bob.send("PRIVMSG alice :and you, alice?")  # to the person: her devices, not her bots
    assert (await laptop.expect("PRIVMSG")).params == ["alice", "and you, alice?"]
    for client in (twin_b, laptop):
        assert not [m for m in await sync(client) if m.command == "PRIVMSG" and "!ping" in m.params[-1]]
    assert not [m for m in await sync(twin_b) if m.command == "PRIVMSG"]
    assert not [m for m in await sync(laptop) if m.command == "PRIVMSG" and "pong" in m.params[-1]]
    assert not [m for m in await sync(twin_a) if m.command == "PRIVMSG"]
