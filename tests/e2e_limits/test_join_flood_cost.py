"""A JOIN or PART of many channels costs the flood budget what one line per channel
would: one line joining and leaving fifty channels a go made a hundred events (each
kept in history, in channels nobody keeps) for a single token."""

from __future__ import annotations

import pytest

from tests.e2e_caps.test_multiline import alice_gate
from tests.helpers import connected

# (the line, a burst that leaves tokens for the line and two PINGs after it were the line
# one token, and none were it a token per channel; registering and joining five
# channels take about 7, the JOIN 0 case's five more channels 5)
CASES = [("JOIN " + ",".join(f"#c{i}" for i in range(10)), 12), ("JOIN 0", 18), ("PART #a,#b,#c,#d,#e", 11)]


@pytest.mark.parametrize(("line", "burst"), CASES)
async def test_a_command_on_many_channels_costs_a_token_each(make_server, clients, line: str, burst: int) -> None:
    server = await make_server("limits.flood_control=true", f"limits.flood_burst={burst}", "limits.flood_rate=0.01")
    alice = await connected(server, "alice", "#a", "#b", "#c", "#d", "#e")  # registering and joining: ~7 tokens
    clients.append(alice)
    if line == "JOIN 0":
        alice.send("JOIN #f,#g,#h,#i,#j")  # ten channels to leave
        for _ in range(5):
            await alice.expect("366")
    alice.send(f"{line}\r\nPING after\r\nPING again")  # one write: handled together
    if line.startswith("JOIN #"):
        # the channels are joined one after the other
        await alice.expect(lambda m: m.command == "366" and m.params[1] == "#c9")
    else:
        await alice.expect(lambda m: m.command == "PART" and m.params[0] in ("#e", "#j"))
    # one token for the whole line would have left some for both PINGs: they would be answered
    with pytest.raises(AssertionError):
        await alice.expect("PONG", timeout=1)
    assert len(alice_gate(server).queue) == 2, "the PINGs wait for the debt to be repaid"

async def test_a_join_of_a_few_channels_leaves_the_next_lines_free(make_server, clients) -> None:
    server = await make_server("limits.flood_control=true", "limits.flood_burst=20", "limits.flood_rate=0.01")
    alice = await connected(server, "alice")
    clients.append(alice)
    alice.send("JOIN #a,#b,#c\r\nPING after")
    assert (await alice.expect("PONG")).params[-1] == "after"
