"""A connection holding others' deliveries while its JOIN's reply waits
(Connection.hold_deliveries): what waits goes out after the reply, labeled or not, and
after the events of the command still being ordered in a cluster (hold_input)."""

from __future__ import annotations

from hubbub.irc.message import Message
from hubbub.server.channel import Channel
from hubbub.server.delivery import WANTS_TAGS, Outgoing
from hubbub.server.labels import LabeledResponse
from tests.unit.test_delivery_loops import member


def lines(got: list[bytes]) -> list[str]:
    return [line for data in got for line in data.decode().split("\r\n") if line]


def test_what_waited_goes_out_after_the_reply_and_in_order() -> None:
    conn, link = member(Channel("#c", 0.0), "alice")
    conn.hold_deliveries()
    conn.deliver(Outgoing(Message("PRIVMSG", ["#c", "said meanwhile"], "bob!b@h"), 0.0, "m1"))
    conn.follow(Message("353", ["alice", "=", "#c", "bob"], "hubbub.local"))
    conn.send(Message("366", ["alice", "#c", "End of /NAMES list"], "hubbub.local"))  # the reply's own
    assert lines(link.got) == [":hubbub.local 366 alice #c :End of /NAMES list"]
    conn.release_after_reply()
    assert lines(link.got)[1:] == [":bob!b@h PRIVMSG #c :said meanwhile", ":hubbub.local 353 alice = #c :bob"]
    conn.deliver(Outgoing(Message("PRIVMSG", ["#c", "later"], "bob!b@h"), 0.0, "m2"))
    assert lines(link.got)[-1] == ":bob!b@h PRIVMSG #c :later"  # nothing held any more


def test_in_a_cluster_the_labeled_reply_then_what_waited_once_the_last_event_is_applied() -> None:
    """A JOIN of several channels whose last one the network refused (Redis out of
    reach) ends while that event is still counted as being ordered: its labeled reply,
    then what waited, go out when it is done with, not before and not never."""
    conn, link = member(Channel("#c", 0.0), "alice")
    conn.tag_mask = WANTS_TAGS
    conn.labeled = LabeledResponse("J")
    conn.send(Message("JOIN", ["#a"], "alice!a@h"))
    conn.hold_input()  # the JOIN of #b, being ordered
    conn.hold_deliveries()
    conn.finish_label()  # the handler returns: the reply waits for that event
    conn.deliver(Outgoing(Message("PRIVMSG", ["#a", "meanwhile"], "bob!b@h"), 0.0, "m1"))
    conn.resume_reply()  # refused: its FAIL joins the reply, and the JOIN goes on, then ends
    conn.fail("JOIN", "TEMPORARILY_UNAVAILABLE", "#b", "The network is out of reach")
    conn.release_after_reply()
    assert lines(link.got) == []
    conn.release_input()
    got = lines(link.got)
    assert got[0].startswith("@label=J ") and "BATCH +" in got[0], got
    assert got[-1] == "@msgid=m1 :bob!b@h PRIVMSG #a :meanwhile", got
