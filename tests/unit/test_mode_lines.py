"""MODE lines as members see them and as history replays them: one function splits both."""

from __future__ import annotations

from hubbub.server.chanmodes import MODE_LINE_BUDGET, mode_params, parse_mode_changes, split_mode_changes


def test_a_stored_mode_line_is_read_back_into_its_changes() -> None:
    changes = parse_mode_changes("+ov-lk+b", ["alice", "bob", "*", "x!*@*"])
    assert changes == [(True, "o", "alice"), (True, "v", "bob"), (False, "l", None), (False, "k", "*"),
                       (True, "b", "x!*@*")]  # fmt: skip
    assert mode_params("#c", changes) == ["#c", "+ov-lk+b", "alice", "bob", "*", "x!*@*"]


def test_changes_are_split_only_where_a_line_would_pass_512_bytes() -> None:
    head = len(b":alice!~u@127.0.0.1 MODE #c +")
    short = [(True, "b", f"n{i}!*@x") for i in range(4)]
    assert split_mode_changes(head, short) == [short]
    long = [(True, "b", f"n{i}!*@{'a' * 140}") for i in range(4)]
    lines = split_mode_changes(head, long)
    assert len(lines) == 2 and [c for line in lines for c in line] == long
    for line in lines:
        params = mode_params("#c", line)
        text = ":alice!~u@127.0.0.1 MODE " + " ".join(params[:-1]) + " :" + params[-1]
        assert len(text.encode()) <= MODE_LINE_BUDGET
