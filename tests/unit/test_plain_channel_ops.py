"""Running a channel from the plain mode, without a socket: what `/kick`, `/op`, `/ban`,
`/invite` and `/mode` send (as an IRC user in the channel receives it), which channel
they act on, and how the answers read (the modes, the ban lists, the refusals)."""

from __future__ import annotations

import pytest

from hubbub.irc import numerics as n
from hubbub.irc.message import parse
from hubbub.plain.sentences import sentence
from hubbub.server.context import Services
from tests.unit.test_plain_intake import Conn, FakeTimers, server
from tests.unit.test_session import FakeClock


class Channel:
    """alice (IRC) founded #lobby; bob and carol are plain users in it, bob made op. (The
    default channel's creator is its op only with server.default_channel_creator_op.)"""

    def __init__(self, *overrides: str) -> None:
        clock = FakeClock()
        timers = FakeTimers(clock)
        self.net: Services = server(clock, "server.default_channel_creator_op=true", *overrides)
        self.alice = Conn(self.net, timers)
        for line in ("NICK alice", "USER alice 0 * :Alice", "JOIN #lobby"):
            self.alice.send(line)
        self.bob = Conn(self.net, timers)
        self.bob.send("bob")
        self.carol = Conn(self.net, timers)
        self.carol.send("carol")
        self.alice.send("MODE #lobby +o bob")
        for conn in (self.alice, self.bob, self.carol):
            conn.new_bytes()

    def typed(self, line: str) -> list[str]:
        """What bob sees after typing `line`."""
        self.bob.send(line)
        return self.bob.lines()

    def alice_got(self) -> list[str]:
        """The IRC lines alice received since the last look, without their source."""
        return [" ".join([m.command, *m.params]) for m in (parse(line) for line in self.alice.lines())]


@pytest.fixture
def chan() -> Channel:
    return Channel()


# -- what each command sends ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("/kick carol", "KICK #lobby carol bob"),  # no reason: the kicker's nick, as IRC gives it
        ("/kick carol  too   loud ", "KICK #lobby carol too   loud"),
        ("/KICK #lobby carol bye", "KICK #lobby carol bye"),
        ("/op carol", "MODE #lobby +o carol"),
        ("/voice carol alice", "MODE #lobby +vv carol alice"),
        ("/deop alice", "MODE #lobby -o alice"),
        ("/voice carol", "MODE #lobby +v carol"),
        ("/op #lobby carol", "MODE #lobby +o carol"),
        ("/ban carol", "MODE #lobby +b carol!*@*"),
        ("/ban *!*@example.org m:dave", "MODE #lobby +bb *!*@example.org m:dave!*@*"),
        ("/mode +i", "MODE #lobby +i"),
        ("/mode +lk 5 sesame", "MODE #lobby +lk 5 sesame"),
        ("/mode #lobby +m", "MODE #lobby +m"),
    ],
)
def test_each_command_sends_the_irc_command_it_names(chan: Channel, typed: str, sent: str) -> None:
    chan.typed(typed)
    assert chan.alice_got()[-1] == sent


def test_devoice_and_unban_undo_voice_and_ban(chan: Channel) -> None:
    chan.typed("/voice carol")
    chan.typed("/ban dave")
    chan.alice_got()
    chan.typed("/devoice carol")
    chan.typed("/unban dave")
    assert chan.alice_got() == ["MODE #lobby -v carol", "MODE #lobby -b dave!*@*"]


def test_commands_act_on_the_current_channel(chan: Channel) -> None:
    chan.typed("/join #side")  # bob's own channel, and now the current one
    chan.carol.send("/join #side")
    chan.typed("/op carol")
    assert chan.carol.lines()[-1] == "* bob gave carol operator status in #side (+o carol)"
    side = chan.net.state.find_channel("#side")
    carol = chan.net.state.find_user("carol")
    assert side is not None and carol is not None and side.rank(carol) > 0
    lobby = chan.net.state.find_channel("#lobby")
    assert lobby is not None and lobby.rank(carol) == 0
    chan.typed("/kick carol")
    assert carol not in side.members and carol in lobby.members


@pytest.mark.parametrize("typed", ["/invite carol #side", "/invite #side carol"])
def test_invite_takes_the_channel_after_the_nick_or_before_it(chan: Channel, typed: str) -> None:
    chan.typed("/join #side")
    chan.typed("/join #lobby")  # back to talking in #lobby
    assert chan.typed(typed) == ["* You invited carol to #side."]
    assert chan.carol.lines() == ["* bob invites you to #side; type /join #side to go there"]


def test_invite_without_a_channel_is_to_the_current_one(chan: Channel) -> None:
    chan.typed("/part")
    chan.alice.send("JOIN #lobby")
    chan.typed("/join #lobby")
    assert chan.typed("/invite carol") == ["* carol is already in #lobby."]


def test_mode_alone_asks_for_the_current_channels_modes_and_a_nick_for_ones_own(chan: Channel) -> None:
    assert chan.typed("/mode") == ["* Modes of #lobby: +nt (no messages from outside, only operators set the topic)"]
    assert chan.typed("/mode bob") == ["* You have no modes set."]
    assert chan.typed("/mode bob +i") == ["* Your modes changed: +i"]
    assert chan.typed("/mode bob") == ["* Your modes: +i"]
    assert chan.typed("/mode alice +i") == ["* You can only change your own modes."]


def test_ban_alone_lists_the_bans_and_says_when_there_are_none(chan: Channel) -> None:
    assert chan.typed("/ban") == ["* Nobody is banned from #lobby."]
    chan.alice.send("MODE #lobby +b dave")
    chan.typed("/ban carol")
    assert chan.typed("/ban") == [
        "* Banned from #lobby: dave!*@* (set by alice)",
        "* Banned from #lobby: carol!*@* (set by bob)",
        "* End of the bans of #lobby",
    ]
    assert chan.typed("/mode #lobby e") == ["* #lobby has no exceptions to its bans."]
    assert chan.typed("/mode #lobby +I") == ["* #lobby has no invite exceptions."]


# -- usage, limits and refusals ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("/kick", "* Usage: /kick [#channel] NICK [REASON]"),
        ("/kick #lobby", "* Usage: /kick [#channel] NICK [REASON]"),
        ("/op", "* Usage: /op [#channel] NICK"),
        ("/deop", "* Usage: /deop [#channel] NICK"),
        ("/voice", "* Usage: /voice [#channel] NICK"),
        ("/devoice", "* Usage: /devoice [#channel] NICK"),
        ("/unban", "* Usage: /unban [#channel] NICK|MASK"),
        ("/invite", "* Usage: /invite NICK [#channel]"),
        ("/invite carol dave", "* Usage: /invite NICK [#channel]"),
        ("/op a b c d e", "* /op takes at most 4 at a time: type it again for the others."),
        ("/kick dave", "* Nobody is using the nickname dave right now."),
        ("/op dave", "* Nobody is using the nickname dave right now."),
        ("/kick #nowhere carol", "* There is no channel called #nowhere."),
        ("/mode #lobby +x", "* x is not a mode this server knows."),
    ],
)
def test_usage_and_refusals_read_as_sentences(chan: Channel, typed: str, answer: str) -> None:
    assert chan.typed(typed) == [answer]
    assert chan.alice_got() == []


def test_the_most_names_at_once_follows_the_servers_modes_limit() -> None:
    chan = Channel("limits.max_modes=2")
    assert chan.typed("/voice alice carol bob") == ["* /voice takes at most 2 at a time: type it again for the others."]
    chan.typed("/voice alice carol")
    assert chan.alice_got() == ["MODE #lobby +vv alice carol"]


def test_someone_not_an_operator_is_told_so(chan: Channel) -> None:
    for typed in ("/kick bob", "/op carol", "/ban bob", "/mode +m", "/unban bob"):
        chan.carol.send(typed)
        assert chan.carol.lines() == ["* Only operators of #lobby can do that."], typed
    assert chan.alice_got() == []


def test_a_halfop_kicking_an_op_is_told_their_rank_is_not_enough(chan: Channel) -> None:
    chan.alice.send("MODE #lobby +h carol")
    chan.carol.new_bytes()
    chan.carol.send("/kick bob")
    assert chan.carol.lines() == ["* You can't kick them from #lobby: their rank there is as high as yours, or higher."]


def test_an_op_refused_a_higher_ranks_mode_is_told_their_rank_is_too_low(chan: Channel) -> None:
    chan.alice.send("MODE #lobby +o carol")
    chan.carol.new_bytes()
    chan.carol.send("/mode +a bob")  # +a is the founder's to give
    assert chan.carol.lines() == ["* Your rank in #lobby is too low for that."]


def test_outside_any_channel_the_channel_commands_say_so(chan: Channel) -> None:
    chan.typed("/part")
    for typed in ("/kick carol", "/op carol", "/ban", "/invite carol", "/mode", "/mode +i"):
        assert chan.typed(typed) == ["* You are not in a channel."], typed


def test_help_lists_the_channel_commands(chan: Channel) -> None:
    shown = "\n".join(chan.typed("/help"))
    for command in ("/kick", "/op", "/deop", "/voice", "/devoice", "/ban", "/unban", "/invite", "/mode"):
        assert f"{command} " in shown, command


# -- the answers, as sentences ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "said"),
    [
        (["#c", "+"], "* #c has no modes set."),
        (["#c", "+imnst"], "* Modes of #c: +imnst (invite-only, moderated: only people with a voice talk, "
                           "no messages from outside, secret, only operators set the topic)"),
        (["#c", "+CMRTlk", "9", "sesame"], "* Modes of #c: +CMRTlk (no CTCP, only people logged in to an account "
                                          "(or with a voice) talk, only people logged in to an account join, "
                                          "no notices, at most 9 people, the key is sesame)"),
        (["#c", "+kl"], "* Modes of #c: +kl (a key is needed to join, a limit on how many are in)"),  # not a member
        (["#c", "+ntf", "*5:10"], "* Modes of #c: +ntf (no messages from outside, only operators set the topic, "
                                  "more than 5 lines in 10 seconds and you are kicked and banned)"),
        (["#c", "+fl", "3:60", "20"], "* Modes of #c: +fl (more than 3 lines in 60 seconds and you are kicked, "
                                      "at most 20 people)"),
        (["#c", "+Z"], "* Modes of #c: +Z (+Z)"),  # a letter this table does not know yet still shows
    ],
)
def test_channel_modes_read_in_words(params: list[str], said: str) -> None:
    assert sentence(n.RPL_CHANNELMODEIS, ["bob", *params]) == said


def test_list_entries_name_who_set_them_by_nickname() -> None:
    entry = ["bob", "#c", "x!*@*", "alice!~a@host", "1700000000"]
    assert sentence(n.RPL_BANLIST, entry) == "* Banned from #c: x!*@* (set by alice)"
    assert sentence(n.RPL_EXCEPTLIST, entry) == "* Exempt from the bans of #c: x!*@* (set by alice)"
    assert sentence(n.RPL_INVEXLIST, entry) == "* Let into #c without an invitation: x!*@* (set by alice)"


def test_an_invitation_sent_names_the_nick_and_the_channel() -> None:
    assert sentence(n.RPL_INVITING, ["bob", "carol", "#c"]) == "* You invited carol to #c."


def test_mode_shows_the_key_and_the_limit_the_server_sends(chan: Channel) -> None:
    """The sentence is fed the parameters the server really sends (the key last, to members)."""
    chan.typed("/mode +k sesame")
    chan.carol.new_bytes()
    assert chan.typed("/mode") == [
        "* Modes of #lobby: +ntk (no messages from outside, only operators set the topic, the key is sesame)"
    ]
    chan.alice.send("JOIN #other")
    chan.alice.send("MODE #other +l 3")
    assert chan.typed("/mode #other") == [
        "* Modes of #other: +ntl (no messages from outside, only operators set the topic, at most 3 people)"
    ]


@pytest.mark.parametrize(
    ("params", "said"),
    [
        (["op", "#c", "dave!~d@h", "has asked for an invite."],
         "* dave (dave!~d@h) asks to be invited to #c. /invite dave #c lets them in."),
        (["op", "#c", "dave!~d@h", "has asked for an invite: may I come in?"],
         "* dave (dave!~d@h) asks to be invited to #c: may I come in? /invite dave #c lets them in."),
        (["op", "#c", "dave!~d@h", "has asked for an invite: hi: it's me"],
         "* dave (dave!~d@h) asks to be invited to #c: hi: it's me. /invite dave #c lets them in."),
    ],
)
def test_a_knock_reads_as_who_asks_and_how_to_let_them_in(params: list[str], said: str) -> None:
    # 710 names the channel where a numeric names its recipient: `:s 710 #c #c nick!u@h :text`
    assert sentence("710", ["#c", *params[1:]]) == said
