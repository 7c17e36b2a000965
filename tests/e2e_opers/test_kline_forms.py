"""KLINE as operators coming from other servers type it: the duration after the mask
(InspIRCd, Unreal), a reason without its colon, a nick that is not connected."""

from __future__ import annotations

from tests.e2e_opers.support import an_oper, connected_from

BANNED = "127.0.0.2"


async def test_the_duration_after_the_mask_is_a_duration_not_the_reason(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    ircop.send(f"KLINE *@{BANNED} 1h :spam bots")
    confirm = await ircop.expect("NOTICE", "ircop")
    assert confirm.params[1] == f"*** Added K-line on *@{BANNED} for 1h: spam bots"
    [kline] = oper_server.state.klines.active(oper_server.clock())
    assert kline.expires is not None and round(kline.expires - kline.set_at) == 3600


async def test_a_reason_without_its_colon_keeps_all_its_words(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    target = await connected_from(oper_server, BANNED, "target")
    clients.extend([ircop, target])
    ircop.send(f"KLINE 10m *@{BANNED} go away now")
    confirm = await ircop.expect("NOTICE", "ircop")
    assert confirm.params[1] == f"*** Added K-line on *@{BANNED} for 10m: go away now"
    assert (await target.expect("ERROR")).params == [f"Closing Link: {BANNED} (K-Lined: go away now)"]


async def test_a_nick_nobody_uses_is_401_and_nothing_is_klined(oper_server, clients) -> None:
    ircop = await an_oper(oper_server)
    clients.append(ircop)
    ircop.send("KLINE nosuchnick :bye")
    reply = await ircop.expect("401")
    assert reply.params[1] == "nosuchnick"
    assert oper_server.state.klines.active(oper_server.clock()) == []
    ircop.send("KLINE *@localhost :a host without a dot, written as a mask")
    assert "Added K-line on *@localhost permanently" in (await ircop.expect("NOTICE", "ircop")).params[1]
