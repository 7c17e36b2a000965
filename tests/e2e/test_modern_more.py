"""More transcripts against the Modern IRC client protocol document (modern.ircdocs.horse):
the corners a client or bot author leans on that the other transcripts leave out."""

from __future__ import annotations

from tests.helpers import LineClient, commands, connected, sync

SERVER = "hubbub.local"


def _not_mode(messages):
    """The transcript without the server's `MODE #c +nt` of a new channel."""
    return [m for m in messages if m.command != "MODE"]


# -- JOIN / PART ------------------------------------------------------------------------


async def test_join_of_several_channels_answers_each_with_join_topic_then_names(server, clients) -> None:
    alice = await connected(server, "alice", "#a", "#b")
    clients.append(alice)
    alice.send("TOPIC #b :the b topic")
    await alice.expect("TOPIC", "#b", "the b topic")
    bob = await connected(server, "bob")
    clients.append(bob)
    bob.send("JOIN #a,#b")
    reply = _not_mode(await bob.collect_until(lambda m: m.command == "366" and m.params[1] == "#b"))

    def where(m):
        return m.params[0] if m.command == "JOIN" else m.params[2] if m.command == "353" else m.params[1]

    assert [(m.command, where(m)) for m in reply] == [
        ("JOIN", "#a"), ("353", "#a"), ("366", "#a"),
        ("JOIN", "#b"), ("332", "#b"), ("333", "#b"), ("353", "#b"), ("366", "#b"),
    ]  # fmt: skip
    assert reply[4].params == ["bob", "#b", "the b topic"]
    assert "bob" in reply[6].params[-1].split()  # the joiner is in its own NAMES


async def test_part_of_several_channels_gives_each_the_reason_and_errors_for_the_rest(server, clients) -> None:
    alice = await connected(server, "alice", "#a", "#b")
    clients.append(alice)
    alice.send("PART #a,#nope,#b :bye now")
    reply = await alice.collect_until(lambda m: m.command == "PART" and m.params[0] == "#b")
    assert [(m.command, m.params) for m in reply] == [
        ("PART", ["#a", "bye now"]),
        ("403", ["alice", "#nope", "No such channel"]),
        ("PART", ["#b", "bye now"]),
    ]


async def test_part_of_a_channel_one_is_not_in_is_442(server, clients) -> None:
    alice = await connected(server, "alice", "#a")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    bob.send("PART #a :x")
    assert [(m.command, m.params) for m in await sync(bob)] == [("442", ["bob", "#a", "You're not on that channel"])]


# -- TOPIC, NAMES, LIST -------------------------------------------------------------------


async def test_topic_query_by_a_non_member_of_a_public_channel_is_answered(server, clients) -> None:
    alice = await connected(server, "alice", "#a")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("TOPIC #a :public words")
    await alice.expect("TOPIC")
    bob.send("TOPIC #a")
    reply = await sync(bob)
    assert commands(reply) == ["332", "333"]
    assert reply[0].params == ["bob", "#a", "public words"]
    assert reply[1].params[:3] == ["bob", "#a", "alice!~u@127.0.0.1"] and reply[1].params[3].isdigit()


async def test_names_of_a_known_and_an_unknown_channel_ends_each_with_366(server, clients) -> None:
    alice = await connected(server, "alice", "#a")
    clients.append(alice)
    alice.send("NAMES #nope,#a")
    reply = await sync(alice)
    assert [(m.command, m.params[:3]) for m in reply] == [
        ("366", ["alice", "#nope", "End of /NAMES list"]),
        ("353", ["alice", "=", "#a"]),
        ("366", ["alice", "#a", "End of /NAMES list"]),
    ]


async def test_list_of_named_channels_with_an_elist_condition_applies_both(server, clients) -> None:
    alice = await connected(server, "alice", "#big", "#small")
    bob = await connected(server, "bob", "#big")
    clients.extend([alice, bob])
    alice.send("LIST #big,#small,#nope >1")
    reply = await alice.collect_until("323")
    assert [(m.command, m.params[1:3]) for m in reply if m.command == "322"] == [("322", ["#big", "2"])]
    assert reply[-1].params == ["alice", "End of /LIST"]


async def test_list_of_only_unknown_channels_still_ends_with_323(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("LIST #nope,#none")
    reply = await alice.collect_until("323")
    assert "322" not in commands(reply)


# -- KICK / INVITE ---------------------------------------------------------------------------


async def test_kick_of_the_same_nick_twice_kicks_once_then_441(server, clients) -> None:
    alice = await connected(server, "alice", "#a")
    bob = await connected(server, "bob", "#a")
    clients.extend([alice, bob])
    await sync(alice)
    alice.send("KICK #a bob,bob :out")
    reply = await sync(alice)
    assert [(m.command, m.params) for m in reply] == [
        ("KICK", ["#a", "bob", "out"]),
        ("441", ["alice", "bob", "#a", "They aren't on that channel"]),
    ]


async def test_invite_to_a_channel_one_is_not_in_is_442_and_the_target_is_not_told(server, clients) -> None:
    alice = await connected(server, "alice", "#a")
    bob = await connected(server, "bob")
    carol = await connected(server, "carol")
    clients.extend([alice, bob, carol])
    bob.send("INVITE carol #a")
    assert [(m.command, m.params) for m in await sync(bob)] == [("442", ["bob", "#a", "You're not on that channel"])]
    assert "INVITE" not in commands(await sync(carol))


# -- MODE --------------------------------------------------------------------------------------


async def test_setting_a_type_b_or_c_mode_without_its_parameter_is_ignored(server, clients) -> None:
    alice = await connected(server, "alice", "#a")
    clients.append(alice)
    await sync(alice)
    for line in ("MODE #a +k", "MODE #a +l", "MODE #a +o"):
        alice.send(line)
        assert await sync(alice) == []  # "the server MUST ignore that mode"
    alice.send("MODE #a")
    assert (await alice.expect("324")).params == ["alice", "#a", "+nt"]


async def test_user_mode_plus_o_is_ignored_for_a_non_operator(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("MODE alice +o")
    assert await sync(alice) == []
    alice.send("MODE alice")
    assert "o" not in (await alice.expect("221")).params[1]


async def test_user_mode_query_is_case_insensitive_on_the_nick(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("MODE ALICE")
    assert (await alice.expect("221")).params[0] == "alice"


# -- WHO / WHOIS / WHOWAS / USERHOST / ISON ----------------------------------------------------


async def test_who_mask_may_match_the_host(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("WHO 127.0.0.*")
    reply = await alice.collect_until("315")
    assert sorted(m.params[5] for m in reply if m.command == "352") == ["alice", "bob"]
    assert reply[-1].params == ["alice", "127.0.0.*", "End of WHO list"]


async def test_who_with_the_o_flag_lists_only_operators(server, clients) -> None:
    alice = await connected(server, "alice", "#a")
    bob = await connected(server, "bob", "#a")
    clients.extend([alice, bob])
    await sync(alice)
    alice.send("WHO #a o")  # nobody here is an IRC operator
    reply = await alice.collect_until("315")
    assert commands(reply) == ["315"]


async def test_who_and_ison_do_not_see_a_connection_still_registering(server, clients) -> None:
    alice = await connected(server, "alice")
    pending = await LineClient.connect(server)
    clients.extend([alice, pending])
    pending.send("NICK pending")
    await sync(pending)  # the nick is held now (433 for others) but nobody is on the network
    alice.send("WHO pending")
    alice.send("ISON pending")
    alice.send("USERHOST pending")
    reply = await sync(alice)
    assert [(m.command, m.params) for m in reply] == [
        ("315", ["alice", "pending", "End of WHO list"]),
        ("303", ["alice", ""]),
        ("302", ["alice", ""]),
    ]


async def test_whois_of_several_nicks_answers_within_targmax(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    targmax = dict(
        item.split(":") for m in alice.received if m.command == "005"
        for token in m.params if token.startswith("TARGMAX=") for item in token[8:].split(",")
    )  # fmt: skip
    assert targmax["WHOIS"] == "1"
    alice.send("WHOIS bob,alice")  # the extra target is silently dropped, as TARGMAX allows
    reply = await sync(alice)
    assert [m.params[1] for m in reply if m.command == "318"] == ["bob,alice"]  # what was asked, as sent
    assert {m.params[1] for m in reply if m.command != "318"} == {"bob"}


async def test_whois_order_starts_with_311_and_ends_with_318(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob", "#a")
    clients.extend([alice, bob])
    bob.send("AWAY :lunch")
    await bob.expect("306")
    alice.send("WHOIS bob")
    reply = await sync(alice)
    assert reply[0].command == "311" and reply[-1].command == "318"
    assert {"312", "317", "319", "301"} <= set(commands(reply))
    assert all(m.params[:2] == ["alice", "bob"] for m in reply)  # client's nick, then the target


async def test_whowas_takes_no_wildcards(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    bob.send("NICK robert")
    await bob.expect("NICK")
    alice.send("WHOWAS b*")
    assert [(m.command, m.params[:2]) for m in await sync(alice)] == [
        ("406", ["alice", "b*"]),
        ("369", ["alice", "b*"]),
    ]
    alice.send("WHOWAS BOB")  # "lexically the same": with the casemapping
    assert commands(await sync(alice)) == ["314", "312", "369"]


async def test_userhost_answers_for_at_most_five_nicks(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("USERHOST alice alice alice alice alice alice alice")
    reply = await alice.expect("302")
    assert reply.params[1].split() == ["alice=+~u@127.0.0.1"] * 5


async def test_ison_takes_nicks_in_several_parameters(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("ISON nobody BOB :alice ghost")
    assert (await alice.expect("303")).params == ["alice", "bob alice"]


# -- AWAY, PING, messages ---------------------------------------------------------------------


async def test_away_with_an_empty_message_unsets_it(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("AWAY :gone")
    await alice.expect("306")
    alice.send("AWAY :")
    assert (await alice.expect(lambda m: m.command in ("305", "306"))).command == "305"


async def test_ping_with_an_empty_token_is_409(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("PING :")
    assert [(m.command, m.params[0]) for m in await sync(alice)] == [("409", "alice")]


async def test_lines_ending_in_a_bare_lf_and_empty_lines_are_accepted(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send(b"\r\n")
    alice.send(b"PRIVMSG alice :lf only\n")
    reply = await sync(alice)
    assert [(m.command, m.params) for m in reply] == [("PRIVMSG", ["alice", "lf only"])]


async def test_privmsg_with_a_trailing_free_last_parameter_takes_one_word(server, clients) -> None:
    alice = await connected(server, "alice")
    bob = await connected(server, "bob")
    clients.extend([alice, bob])
    alice.send("PRIVMSG bob hello world")  # no ':': the text is the single middle parameter
    assert (await bob.expect("PRIVMSG")).params == ["bob", "hello"]


async def test_a_failing_target_does_not_stop_a_notice_to_the_others(server, clients) -> None:
    alice = await connected(server, "alice", "#a")
    bob = await connected(server, "bob", "#a")
    clients.extend([alice, bob])
    await sync(alice)
    await sync(bob)
    alice.send("NOTICE nobody,#nope,#a :hear ye")
    assert (await bob.expect("NOTICE")).params == ["#a", "hear ye"]
    assert await sync(alice) == []  # and NOTICE is never answered with an error


# -- registration, nicks, unknown commands ----------------------------------------------------


async def test_numerics_before_registration_name_the_client_star(server, clients) -> None:
    alice = await connected(server, "alice")
    newcomer = await LineClient.connect(server)
    clients.extend([alice, newcomer])
    # the first line is an IRC registration command, or the connection would be in plain mode
    for line in ("NICK alice", "NICK", "NICK 1x", "JOIN #a", "WHOIS alice", "LUSERS", "FOOBAR", "USER u 0 *"):
        newcomer.send(line)
    newcomer.send("NICK newcomer")
    newcomer.send("USER u 0 * :Real Name")
    reply = await newcomer.collect_until("001")
    numerics = [m for m in reply if m.command.isdigit() and m.command != "001"]
    assert [m.command for m in numerics] == ["433", "431", "432", "451", "451", "451", "421", "461"]
    assert all(m.params[0] == "*" for m in numerics)


async def test_erroneous_nick_as_the_very_first_line_is_432_and_registration_goes_on(server, clients) -> None:
    bot = await LineClient.connect(server)
    clients.append(bot)
    bot.send("NICK 1bot")  # an old-style bot: no CAP, straight to NICK and USER
    bot.send("NICK bot1")
    bot.send("USER bot 0 * :A bot")
    reply = await bot.collect_until("001")
    assert ("432", ["*", "1bot", "Erroneous nickname"]) in [(m.command, m.params) for m in reply]


async def test_numerics_follow_a_nick_change_at_once(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("NICK Alicia")
    alice.send("FOOBAR")
    alice.send("NICK alicia")  # a change of case only
    alice.send("FOOBAR")
    reply = await sync(alice)
    assert [(m.command, m.params[0]) for m in reply] == [
        ("NICK", "Alicia"), ("421", "Alicia"), ("NICK", "alicia"), ("421", "alicia"),
    ]  # fmt: skip


async def test_nick_to_the_same_nick_does_nothing(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("NICK alice")
    assert await sync(alice) == []


async def test_lowercase_commands_are_accepted_and_421_names_the_command(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("whois alice")
    assert (await alice.expect("318")).params[:2] == ["alice", "alice"]
    alice.send("frobnicate now")
    reply = await alice.expect("421")
    assert reply.params[0] == "alice" and reply.params[1].upper() == "FROBNICATE"


async def test_quit_with_an_empty_reason_is_a_plain_quit(server, clients) -> None:
    alice = await connected(server, "alice", "#a")
    bob = await connected(server, "bob", "#a")
    clients.extend([alice, bob])
    await sync(alice)
    bob.send("QUIT :")
    lines = await bob.closed()
    assert lines and lines[-1].startswith("ERROR :")
    quit_line = await alice.expect("QUIT")
    assert quit_line.source.startswith("bob!") and quit_line.params in (["Quit"], ["Quit: "])


async def test_quit_before_registration_gets_error_and_close(server, clients) -> None:
    newcomer = await LineClient.connect(server)
    clients.append(newcomer)
    newcomer.send("NICK newcomer")
    newcomer.send("QUIT :never mind")
    lines = await newcomer.closed()
    assert lines[-1].startswith("ERROR :") and "never mind" in lines[-1]


# -- server queries ----------------------------------------------------------------------------


async def test_lusers_always_has_251_and_255_with_the_client_first(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("LUSERS")
    reply = await sync(alice)
    assert {"251", "255"} <= set(commands(reply))
    assert all(m.params[0] == "alice" for m in reply)


async def test_admin_time_info_version_of_this_server_by_name(server, clients) -> None:
    alice = await connected(server, "alice")
    clients.append(alice)
    for line in ("ADMIN " + SERVER, "TIME " + SERVER, "INFO", "VERSION " + SERVER):
        alice.send(line)
        reply = await sync(alice)
        assert reply and all(m.params[0] == "alice" for m in reply if m.command.isdigit())
    alice.send("ADMIN")
    reply = await alice.collect_until("259")
    assert commands(reply) == ["256", "257", "258", "259"]
    assert reply[0].params[1] == SERVER
