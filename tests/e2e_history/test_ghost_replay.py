"""A client back after its connection died unseen, while that ghost still holds its nick
and its channels (ghosts.py): its replays start from the ghost's last line, not from the
account's departure before, which would give it again what the ghost had shown. Each
test on a SQLite file, then on PostgreSQL."""

from __future__ import annotations

from hubbub.server import departures
from tests.e2e_accounts.support import registered_account
from tests.e2e_accounts.test_ghosts import sasl_login_refused
from tests.e2e_history.test_autoreplay_rejoin import rejoin, talk, ticking
from tests.helpers import STAMP, connected, sync, unstamped


async def test_a_login_whose_ghost_is_still_there_is_replayed_what_came_after_its_last_line(
    stored, clients, monkeypatch
) -> None:  # fmt: skip
    monkeypatch.setattr(departures, "RECEIVED_MARGIN", 0.0)  # the test's clock ticks a second a reading
    server = await stored("history.autoreplay_lines=10", "accounts.ghost_timeout=60")
    ticking(server)
    alice = await connected(server, "alice", "#c")
    clients.append(alice)
    carol = await registered_account(server, "carol", "correct-horse")
    clients.append(carol)
    ghost = await registered_account(server, "bob", "correct-horse", "#c")
    clients.append(ghost)
    await talk(alice, "seen live")
    carol.send("PRIVMSG bob :dm seen live")
    await ghost.expect("PRIVMSG", "bob", "dm seen live")
    await sync(ghost)  # its last line: from here on it reads nothing, answers nothing
    await talk(alice, "missed")
    carol.send("PRIVMSG bob :dm missed")
    await sync(carol)
    new = await sasl_login_refused(server, "bob", "bob_", "bob")
    clients.append(new)
    private = [m.params[1] for m in await sync(new) if m.command == "PRIVMSG" and m.source.startswith("carol!")]
    assert all(STAMP.match(text) for text in private), private
    assert [unstamped(text) for text in private] == ["dm missed"]
    assert await rejoin(new) == ["missed"]
