"""ChanServ over real sockets: registered channels, their founder and access list, and
what survives a restart."""

from __future__ import annotations

from tests.e2e_accounts.support import registered_account
from tests.helpers import LineClient, commands, connected, sync

CS = "ChanServ!ChanServ@services"


async def cs(client: LineClient, line: str) -> str:
    client.send(f"PRIVMSG ChanServ :{line}")
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == CS)).params[-1]


async def test_register_makes_the_founder_and_info_says_so(server, clients) -> None:
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    stranger = await connected(server, "stranger", "#d")
    clients.extend([alice, stranger])
    assert await cs(stranger, "REGISTER #d") == "You're not logged into an account"
    assert await cs(alice, "REGISTER #c") == "Channel #c successfully registered"
    mode = await alice.expect("MODE")
    assert mode.source == CS and mode.params == ["#c", "+q", "alice"]
    assert await cs(alice, "REGISTER #c") == "Channel is already registered"
    assert await cs(stranger, "INFO #c") == "Channel #c is registered"
    assert (await stranger.expect("NOTICE")).params[-1] == "Founder: alice"


async def test_founder_and_access_list_get_their_status_on_join(server, clients) -> None:
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    bob = await registered_account(server, "bob", "correct-horse")
    carol = await connected(server, "carol")
    clients.extend([alice, bob, carol])
    await cs(alice, "REGISTER #c")
    assert await cs(bob, "AMODE #c +o alice") == "Only the channel founder can do this"
    assert await cs(alice, "AMODE #c +o bob") == "Successfully set persistent mode +o on bob"
    assert await cs(alice, "AMODE #c +o bob") == "No changes were made"
    bob.send("JOIN #c")
    names = await bob.expect("353")
    assert names.params[-1].split() == ["~alice", "@bob"]
    carol.send("JOIN #c")
    assert (await carol.expect("353")).params[-1].split() == ["~alice", "@bob", "carol"]
    assert await cs(alice, "VOICE #c carol") == "Successfully granted voice"
    assert (await carol.expect("MODE")).params == ["#c", "+v", "carol"]
    assert await cs(carol, "OP #c") == "You're not logged into an account"
    bob.send("PRIVMSG ChanServ :OP #c")  # bob is owed +o by the access list
    assert (await bob.expect(lambda m: m.source == CS and m.command == "NOTICE")).params[-1] == (
        "Successfully granted operator privileges"
    )
    assert await cs(alice, "DEOP #c bob") == "Successfully removed operator privileges"


async def test_ops_cannot_kick_or_deop_the_founder(server, clients) -> None:
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    bob = await connected(server, "bob", "#c")
    clients.extend([alice, bob])
    await cs(alice, "REGISTER #c")
    await alice.expect("MODE")
    alice.send("MODE #c +o bob")
    await bob.expect("MODE")
    bob.send("KICK #c alice :mutiny")
    assert (await bob.expect("482")).params[1] == "#c"
    bob.send("MODE #c -q alice")
    assert (await bob.expect("482")).params[1] == "#c"
    alice.send("KICK #c bob :no")
    assert (await bob.expect("KICK")).params[1] == "bob"


async def test_the_access_list_cannot_take_the_founders_status_through_chanserv(server, clients) -> None:
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    bob = await registered_account(server, "bob", "correct-horse", "#c")
    clients.extend([alice, bob])
    await cs(alice, "REGISTER #c")
    assert await cs(alice, "AMODE #c +o bob") == "Successfully set persistent mode +o on bob"
    assert await cs(bob, "OP #c") == "Successfully granted operator privileges"
    await alice.expect("MODE", "#c", "+o", "bob")
    assert await cs(bob, "DEOP #c alice") == "Only the channel founder can do this"
    assert await cs(bob, "VOICE #c alice") == "Only the channel founder can do this"
    assert "MODE" not in commands(await sync(alice))
    assert await cs(alice, "DEOP #c bob") == "Successfully removed operator privileges"


async def test_a_registered_channel_and_its_settings_survive_a_restart(stored, clients) -> None:
    server = await stored()
    alice = await registered_account(server, "alice", "correct-horse", "#keep")
    await registered_account(server, "bob", "correct-horse")
    await cs(alice, "REGISTER #keep")
    await cs(alice, "AMODE #keep +v bob")
    for line in ("TOPIC #keep :kept topic", "MODE #keep +mk secret", "MODE #keep +l 42", "MODE #keep +b *!*@spam",
                 "MODE #keep +f *4:20", "MODE #keep +j 5:30"):
        alice.send(line)
    await sync(alice)
    await server.stop()
    again = await stored()
    alice = await LineClient.connect(again)
    clients.append(alice)
    await alice.register("alice")
    alice.send("PRIVMSG NickServ :IDENTIFY correct-horse")
    await alice.expect("900")
    alice.send("LIST #keep")
    listed = await alice.expect("322")
    assert listed.params[1:] == ["#keep", "0", "kept topic"]  # there, empty, with its topic
    alice.send("JOIN #keep secret")
    assert (await alice.expect("353")).params[-1] == "~alice"
    alice.send("MODE #keep")
    modes = await alice.expect("324")
    assert set(modes.params[2][1:]) == {"m", "n", "t", "f", "j", "l", "k"}
    assert modes.params[3:] == ["*4:20", "5:30", "42", "secret"]
    alice.send("MODE #keep b")
    assert (await alice.expect("367")).params[2] == "*!*@spam"
    bob = await LineClient.connect(again)
    clients.append(bob)
    await bob.register("bob")
    bob.send("PRIVMSG NickServ :IDENTIFY correct-horse")
    await bob.expect("900")
    bob.send("JOIN #keep secret")
    assert (await bob.expect("353")).params[-1].split() == ["~alice", "+bob"]


async def test_drop_takes_a_confirmation_code(server, clients) -> None:
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    clients.append(alice)
    await cs(alice, "REGISTER #c")
    assert (await cs(alice, "DROP #c")).startswith("Warning: unregistering this channel")
    code = (await alice.expect("NOTICE")).params[-1].split()[-1]
    assert await cs(alice, f"DROP #c {code}") == "Channel #c is now unregistered"
    assert await cs(alice, "INFO #c") == "Channel #c is not registered"


async def test_a_dropped_account_leaves_nothing_to_the_next_holder_of_its_name(stored, clients) -> None:
    """Its channels are unregistered, its access entries and private conversations gone:
    whoever registers the name afterwards is a stranger to them, now and after a restart."""
    server = await stored()
    zoe = await registered_account(server, "zoe", "correct-horse", "#zoo", "#bobs")
    bob = await registered_account(server, "bob", "correct-horse", "#bobs")
    clients.extend([zoe, bob])
    await cs(zoe, "REGISTER #zoo")
    bob.send("PRIVMSG ChanServ :REGISTER #bobs")  # zoe created #bobs: bob is no op there
    zoe.send("MODE #bobs +o bob")
    await bob.expect("MODE", "#bobs", "+o", "bob")
    assert await cs(bob, "REGISTER #bobs") == "Channel #bobs successfully registered"
    assert await cs(bob, "AMODE #bobs +o zoe") == "Successfully set persistent mode +o on zoe"
    zoe.send("PRIVMSG bob :a secret between us")
    await bob.expect("PRIVMSG", "bob")
    zoe.send("PRIVMSG NickServ :DROP")
    code = (await zoe.expect(lambda m: m.command == "NOTICE" and "To confirm" in m.params[-1])).params[-1].split()[-1]
    zoe.send(f"PRIVMSG NickServ :DROP zoe {code}")
    await zoe.expect("901")
    zoe.send("QUIT")
    await zoe.closed()
    heir = await registered_account(server, "zoe", "another-horse")
    clients.append(heir)
    for running in (server, None):
        if running is None:  # and again after a restart, from the store
            await server.stop()
            server = await stored()
            heir = await LineClient.connect(server)
            clients.append(heir)
            await heir.register("zoe")
            heir.send("PRIVMSG NickServ :IDENTIFY another-horse")
            await heir.expect("900")
        assert await cs(heir, "INFO #zoo") in ("Channel #zoo is not registered", "Channel does not exist")
        heir.send("CAP REQ :batch draft/chathistory")
        await heir.expect("CAP")
        heir.send("CHATHISTORY LATEST bob * 10")
        assert commands(await sync(heir)) == ["BATCH", "BATCH"]  # an empty batch: nothing inherited
        heir.send("PRIVMSG ChanServ :AMODE #bobs")
        listed = [m.params[-1] for m in await sync(heir) if m.command == "NOTICE"]
        assert not any("zoe" in text for text in listed), listed


async def test_a_founder_giving_status_by_hand_is_told_how_to_make_it_last(server, clients) -> None:
    alice = await registered_account(server, "alice", "correct-horse", "#c")
    bob = await registered_account(server, "bob", "correct-horse", "#c")
    carol = await connected(server, "carol", "#c")  # no account: nothing ChanServ could keep
    clients.extend([alice, bob, carol])
    await cs(alice, "REGISTER #c")
    await alice.expect("MODE", "#c", "+q", "alice")
    alice.send("MODE #c +ov bob carol")
    await alice.expect("MODE", "#c", "+ov", "bob", "carol")
    hint = await alice.expect(lambda m: m.command == "NOTICE" and m.source == CS)
    assert hint.params[-1] == (
        "bob's +o in #c lasts until they leave it. To give it at every join: /msg ChanServ AMODE #c +o bob"
    )
    assert "NOTICE" not in commands(await sync(alice))  # one hint: none for carol

    assert await cs(alice, "AMODE #c +v bob") == "Successfully set persistent mode +v on bob"
    await alice.expect("MODE", "#c", "+v", "bob")  # given at once by ChanServ
    alice.send("MODE #c -ov bob bob")
    await alice.expect("MODE", "#c", "-ov", "bob", "bob")
    alice.send("MODE #c +v bob")  # on the access list already: nothing to say
    await alice.expect("MODE", "#c", "+v", "bob")
    assert "NOTICE" not in commands(await sync(alice))

    bob.send("MODE #c +o bob")  # an op who is not the founder cannot use AMODE: no hint to them
    alice.send("MODE #c +o bob")
    await bob.expect("MODE", "#c", "+o", "bob")
    await alice.expect(lambda m: m.command == "NOTICE" and m.source == CS)
    bob.send("MODE #c +h carol")
    await bob.expect("MODE", "#c", "+h", "carol")
    assert "NOTICE" not in commands(await sync(bob))
