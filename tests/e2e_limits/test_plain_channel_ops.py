"""Running a channel from the plain text mode, over real sockets: a person with netcat who
operates a channel kicks, gives and takes op and voice, bans, invites and changes the
channel's modes with slash commands, and the IRC users in it see ordinary KICK, MODE and
INVITE lines. What the server refuses reads as the plain mode's other errors do.

Every wait is for a line: a plain user's answer (`expect_text`), an IRC user's message
(`expect`), or a PING's answer (`sync`) to show that nothing else came.
"""

from __future__ import annotations

import re

from hubbub.app import Runtime
from tests.e2e_limits.test_more_plain import answered
from tests.helpers import LineClient, connect_plain, connected, sync

Opened = list[LineClient]  # the `clients` fixture: closed at the end of a test


async def my_channel(server: Runtime, clients: Opened) -> tuple[LineClient, LineClient]:
    """bob (plain) opened #mine, so he is its operator and it is his current channel;
    alice (IRC) joined it after him, and bob has read her join."""
    bob = await connect_plain(server, "bob")
    clients.append(bob)
    bob.send("/join #mine")
    await bob.expect_text(r"^\* You joined #mine$")
    alice = await connected(server, "alice", "#mine")
    clients.append(alice)
    await bob.expect_text(r"^\* alice joined #mine$")
    return bob, alice


async def test_an_operator_kicks_in_the_current_channel_with_a_reason_or_without(
    server: Runtime, clients: Opened
) -> None:
    bob, alice = await my_channel(server, clients)
    carol = await connect_plain(server, "carol")
    clients.append(carol)
    carol.send("/join #mine")
    await carol.expect_text(r"^\* You joined #mine$")
    await bob.expect_text(r"^\* carol joined #mine$")
    bob.send("/kick alice  too loud")
    kick = await alice.expect("KICK", "#mine", "alice")
    assert kick.source.startswith("bob!") and kick.params[2] == "too loud"
    await bob.expect_text(r"^\* alice was kicked from #mine by bob \(too loud\)$")
    await carol.expect_text(r"^\* alice was kicked from #mine by bob \(too loud\)$")
    bob.send("/kick carol")  # no reason: IRC's, the kicker's nickname
    await carol.expect_text(r"^\* You were kicked from #mine by bob \(bob\); now talking in #lobby$")
    await bob.expect_text(r"^\* carol was kicked from #mine by bob \(bob\)$")


async def test_a_channel_named_first_is_the_one_acted_on(server: Runtime, clients: Opened) -> None:
    bob, alice = await my_channel(server, clients)
    bob.send("/join #lobby")
    await bob.expect_text(r"^\* You are now talking in #lobby$")
    bob.send("/voice #mine alice")
    assert (await alice.expect("MODE")).params == ["#mine", "+v", "alice"]
    bob.send("/kick #mine alice see you")
    assert (await alice.expect("KICK")).params == ["#mine", "alice", "see you"]
    lobby_watcher = await connected(server, "dave", "#lobby")
    clients.append(lobby_watcher)
    bob.send("said in the lobby")  # the current channel is still the lobby
    assert (await lobby_watcher.expect("PRIVMSG", "#lobby")).params[1] == "said in the lobby"


async def test_op_deop_voice_and_devoice_are_mode_changes_everyone_sees(server: Runtime, clients: Opened) -> None:
    bob, alice = await my_channel(server, clients)
    for typed, change, said in (("/op alice", "+o", "gave alice operator status"),
                                ("/deop alice", "-o", "took operator status from alice"),
                                ("/voice alice", "+v", "gave alice a voice"),
                                ("/devoice alice", "-v", "took the voice from alice")):  # fmt: skip
        bob.send(typed)
        mode = await alice.expect("MODE")
        assert mode.source.startswith("bob!") and mode.params == ["#mine", change, "alice"], typed
        await bob.expect_text(rf"^\* bob {said} in #mine \({re.escape(change)} alice\)$")


async def test_bans_are_listed_set_and_lifted(server: Runtime, clients: Opened) -> None:
    bob, alice = await my_channel(server, clients)
    bob.send("/ban")
    await bob.expect_text(r"^\* Nobody is banned from #mine\.$")
    bob.send("/ban carol")
    assert (await alice.expect("MODE")).params == ["#mine", "+b", "carol!*@*"]
    carol = await connected(server, "carol")
    clients.append(carol)
    carol.send("JOIN #mine")
    await carol.expect("474", "carol", "#mine")
    bob.send("/ban")
    await bob.expect_text(r"^\* Banned from #mine: carol!\*@\* \(set by bob\)$")
    await bob.expect_text(r"^\* End of the bans of #mine$")
    bob.send("/unban carol")
    assert (await alice.expect("MODE")).params == ["#mine", "-b", "carol!*@*"]
    await carol.join("#mine")


async def test_an_invitation_lets_someone_into_an_invite_only_channel(server: Runtime, clients: Opened) -> None:
    bob, alice = await my_channel(server, clients)
    bob.send("/mode +i")
    assert (await alice.expect("MODE")).params == ["#mine", "+i"]
    carol = await connected(server, "carol")
    clients.append(carol)
    carol.send("JOIN #mine")
    await carol.expect("473", "carol", "#mine")
    bob.send("/invite carol")
    invite = await carol.expect("INVITE")
    assert invite.source.startswith("bob!") and invite.params == ["carol", "#mine"]
    await bob.expect_text(r"^\* You invited carol to #mine\.$")
    await carol.join("#mine")


async def test_mode_shows_the_channels_modes_in_words_and_changes_them(server: Runtime, clients: Opened) -> None:
    bob, alice = await my_channel(server, clients)
    bob.send("/mode")
    await bob.expect_text(r"^\* Modes of #mine: \+nt \(no messages from outside, only operators set the topic\)$")
    bob.send("/mode +mk sesame")
    assert (await alice.expect("MODE")).params == ["#mine", "+mk", "sesame"]
    bob.send("/mode #mine")
    await bob.expect_text(r"^\* Modes of #mine: \+mntk \(moderated: only people with a voice talk, "
                          r"no messages from outside, only operators set the topic, the key is sesame\)$")
    bob.send("/mode #lobby")  # anyone may look at any channel's
    await bob.expect_text(r"^\* Modes of #lobby: \+nt ")
    bob.send("/mode bob +i")  # one's own user modes, by one's nickname
    await bob.expect_text(r"^\* Your modes changed: \+i$")


async def test_refusals_read_as_the_plain_modes_other_errors(server: Runtime, clients: Opened) -> None:
    lobby_op = await connected(server, "olga", "#lobby")  # first in #lobby: its operator, not bob
    clients.append(lobby_op)
    bob, alice = await my_channel(server, clients)
    bob.send("/join #lobby")
    await bob.expect_text(r"^\* You are now talking in #lobby$")
    for typed in ("/kick olga", "/op bob", "/mode +m", "/ban olga", "/unban olga"):
        lines = await answered(bob, typed)
        assert lines == ["* Only operators of #lobby can do that."], (typed, lines)
    checks = {
        "/kick #mine dave": "* Nobody is using the nickname dave right now.",
        "/kick #mine olga": "* olga is not in #mine.",
        "/op #mine olga": "* olga is not in #mine.",
        "/kick #nowhere alice": "* There is no channel called #nowhere.",
        "/kick": "* Usage: /kick [#channel] NICK [REASON]",
        "/op": "* Usage: /op [#channel] NICK",
        "/unban": "* Usage: /unban [#channel] NICK|MASK",
        "/invite": "* Usage: /invite NICK [#channel]",
        "/op #mine a b c d e": "* /op takes at most 4 at a time: type it again for the others.",
    }
    for typed, answer in checks.items():
        lines = await answered(bob, typed)
        assert lines == [answer], (typed, lines)
    assert not [m for m in await sync(alice) if m.command in ("KICK", "MODE")]
    assert not [m for m in await sync(lobby_op) if m.command in ("KICK", "MODE")]


async def test_outside_any_channel_the_channel_commands_say_so(server: Runtime, clients: Opened) -> None:
    bob = await connect_plain(server, "bob")
    clients.append(bob)
    bob.send("/part")
    await bob.expect_text(r"^\* You left #lobby; /join #channel to talk$")
    for typed in ("/kick alice", "/op alice", "/ban", "/invite alice", "/mode"):
        assert await answered(bob, typed) == ["* You are not in a channel."], typed


SAMPLES = {  # what an operator would type after each channel command /help lists
    "/op": "alice",
    "/deop": "alice",
    "/voice": "alice",
    "/devoice": "alice",
    "/ban": "dave",
    "/unban": "dave",
    "/invite": "carol",
    "/mode": "+t",
    "/kick": "alice bye",
}


async def test_help_lists_the_channel_commands_and_each_is_understood(server: Runtime, clients: Opened) -> None:
    bob, alice = await my_channel(server, clients)
    carol = await connected(server, "carol")
    clients.append(carol)
    bob.send("/help")
    await bob.expect_text(r"^Commands:$")
    shown: list[str] = []
    while not shown or "Long lines are sent" not in shown[-1]:
        shown.append(await bob.expect_text(r""))
    listed = {command for line in shown for command in re.findall(r"(?<![/\w])/[a-z]+", line)}
    assert set(SAMPLES) <= listed, set(SAMPLES) - listed
    for command, sample in SAMPLES.items():
        lines = await answered(bob, f"{command} {sample}")
        assert not [line for line in lines if "Unknown command" in line or "Usage" in line], (command, lines)
    assert (await carol.expect("INVITE")).params == ["carol", "#mine"]
    assert (await alice.expect("KICK")).params == ["#mine", "alice", "bye"]


async def test_a_plain_user_knocks_and_a_plain_operator_reads_who_asks_and_invites(
    server: Runtime, clients: Opened
) -> None:
    bob, alice = await my_channel(server, clients)
    bob.send("/mode +i")
    assert (await alice.expect("MODE")).params == ["#mine", "+i"]
    bob.send("/op alice")
    assert (await alice.expect("MODE")).params == ["#mine", "+o", "alice"]
    carol = await connect_plain(server, "carol")
    clients.append(carol)
    carol.send("/join #mine")
    await carol.expect_text(r"^\* You can't join #mine: it is invite-only, .* /knock #mine asks its operators to\.$")
    carol.send("/knock mine let me in please")  # the '#' may be left out, as with /join
    await carol.expect_text(r"^\* You knocked on #mine: its operators may now /invite you\.$")
    await bob.expect_text(r"^\* carol \(carol!\S+\) asks to be invited to #mine: let me in please\. "
                          r"/invite carol #mine lets them in\.$")
    knock = await alice.expect("710")  # an IRC operator gets the usual numeric
    assert knock.params[0] == "#mine" and knock.params[2].startswith("carol!")
    carol.send("/knock #mine")  # again at once: refused, with how long to wait
    await carol.expect_text(r"^\* You can't knock on #mine yet: you knocked a moment ago \(one knock at a time\); "
                            r"wait \d+ seconds\.$")
    bob.send("/invite carol")
    await carol.expect_text(r"^\* bob invites you to #mine; type /join #mine to go there$")
    carol.send("/join #mine")
    await carol.expect_text(r"^\* You joined #mine$")
    carol.send("/knock #mine")
    await carol.expect_text(r"^\* You are in #mine already\.$")


async def test_knocking_on_an_open_channel_or_one_without_knocks_reads_as_a_sentence(
    server: Runtime, clients: Opened
) -> None:
    bob, alice = await my_channel(server, clients)
    carol = await connect_plain(server, "carol")
    clients.append(carol)
    carol.send("/knock #mine")
    await carol.expect_text(r"^\* #mine is open: no need to knock, /join #mine\.$")
    bob.send("/mode +iK")
    assert (await alice.expect("MODE")).params == ["#mine", "+iK"]
    carol.send("/knock #mine hello?")
    await carol.expect_text(r"^\* #mine does not take knocks \(\+K\): ask one of its operators another way\.$")
    carol.send("/knock")
    await carol.expect_text(r"^\* Usage: /knock #channel \[TEXT\]$")
    carol.send("/help")
    await carol.expect_text(r"^  /knock #chan \[TEXT\] ask to be let into a channel")
