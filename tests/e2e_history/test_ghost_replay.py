"""A login whose nick its own dropped connection still held is welcomed once that ghost
is gone (ghosts.py), so its rejoins replay from where the ghost stopped reading, not
from the account's departure before, which gave it again what the ghost had shown
(The Lounge and ZNC, back within seconds of a blip). Each test on a SQLite file, then
on PostgreSQL."""

from __future__ import annotations

import pytest

from hubbub.server import departures
from tests.e2e_accounts.support import registered_account
from tests.e2e_accounts.test_ghosts import from_nickserv, pass_until_refused, sasl_until_cap_end
from tests.e2e_history.test_autoreplay_rejoin import rejoin, talk, ticking
from tests.helpers import connected, sync


@pytest.mark.parametrize("login", [sasl_until_cap_end, pass_until_refused], ids=["sasl", "pass"])
async def test_a_login_welcomed_after_its_ghost_went_is_replayed_only_what_the_ghost_missed(
    stored, clients, monkeypatch, login
) -> None:  # fmt: skip
    monkeypatch.setattr(departures, "RECEIVED_MARGIN", 0.0)  # the test's clock ticks a second a reading
    server = await stored("history.autoreplay_lines=10", "accounts.ghost_timeout=0.3",
                          "limits.registration_timeout=100000")  # fmt: skip
    ticking(server)
    alice = await connected(server, "alice", "#c")
    clients.append(alice)
    ghost = await registered_account(server, "bob", "correct-horse", "#c")
    clients.append(ghost)
    await talk(alice, "seen live")
    await ghost.expect("PRIVMSG", "#c", "seen live")
    await sync(ghost)  # its last line: from here on it reads nothing, answers nothing
    await talk(alice, "missed")
    new = await login(server, "bob", "bob_", "bob")
    clients.append(new)
    await new.expect(from_nickserv)
    assert (await new.expect("001")).params[0] == "bob"
    new.nick = "bob"
    assert await rejoin(new) == ["missed"]
