"""The NOTICE that opens a replay to a client without `batch` says when the lines were said."""

from __future__ import annotations

from hubbub.server.replay import Replay
from hubbub.server.storage import StoredMessage

T0 = 1796196600.0  # 2026-12-02 07:30:00 UTC


def opening(*times: float) -> str:
    messages = [StoredMessage("#c", f"m{i}", t, "PRIVMSG", "a!u@h", None, ("#c", "hi"), None, "hi")
                for i, t in enumerate(times)]  # fmt: skip
    first = Replay(messages, "hubbub.local", None, ("#c",), bracketed=True).irc_bytes().split(b"\r\n")[0]
    return first.decode().split(" :", 1)[1]


def test_lines_of_one_minute_say_it_once_and_longer_spans_say_both_ends() -> None:
    assert opening(T0 + 1, T0 + 50) == "Earlier messages of #c, said at 2026-12-02 07:30 UTC:"
    assert opening(T0 + 1, T0 + 190) == "Earlier messages of #c, said from 2026-12-02 07:30 to 07:33 UTC:"
    assert opening(T0, T0 + 86400) == "Earlier messages of #c, said from 2026-12-02 07:30 to 2026-12-03 07:30 UTC:"
