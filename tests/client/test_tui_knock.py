"""KNOCK in the terminal client, driven with Textual's pilot against a real server: /knock
asks a closed channel's operators for an invitation, and an operator sees the knock in
that channel's buffer, in words, with the command that answers it."""

from __future__ import annotations

from hubbub.app import Runtime
from tests.client.test_tui import SIZE, chat_app, joined, submit, until
from tests.client.test_tui_view import on_screen
from tests.helpers import connected, sync


async def test_knock_asks_to_be_invited_and_says_it_was_delivered_or_refused(server: Runtime) -> None:
    bob = await connected(server, "bob", "#club")  # bob founds #club: its operator
    bob.send("MODE #club +i")
    await bob.expect("MODE")
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        await submit(pilot, "/knock #club it's alice, from the meetup")
        await until(pilot, lambda: on_screen(app, "Your knock on #club was delivered"), "the knock delivered")
        knock = await bob.expect("710")
        assert knock.params[1:3] == ["#club", "alice!~alice@127.0.0.1"]
        assert knock.params[-1] == "has asked for an invite: it's alice, from the meetup"
        await submit(pilot, "/knock club")  # a second one too soon; the # may be left out
        await until(pilot, lambda: on_screen(app, "#club: Too many KNOCKs (user)"), "the refusal")
        refusal = [line for line in app.state.current.lines if "Too many KNOCKs" in line.text]
        assert [line.kind for line in refusal] == ["error"]
        await submit(pilot, "/knock #lobby")
        await until(pilot, lambda: on_screen(app, "#lobby: You are already on that channel"), "already in it")
    await bob.close()


async def test_an_operator_sees_the_knock_in_the_channel_with_how_to_answer_it(server: Runtime) -> None:
    app = chat_app(server, channels=("#mine",))  # alice founds #mine
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#mine"), "alice in #mine")
        await submit(pilot, "/mode +i")
        await until(pilot, lambda: on_screen(app, "+i"), "+i")
        dave = await connected(server, "dave")
        dave.send("KNOCK #mine :please")
        await dave.expect("711")
        mine = app.state.find("#mine")
        assert mine is not None
        said = "dave (~u@127.0.0.1) asks to be invited to #mine: please (/invite dave)"
        await until(pilot, lambda: any(line.text == said for line in mine.lines), "the knock in #mine")
        assert on_screen(app, "dave (~u@127.0.0.1) asks to be invited")
        await submit(pilot, "/invite dave")
        await dave.expect("INVITE")
        await sync(dave)
        await dave.close()


async def test_a_knock_on_a_channel_not_shown_counts_like_a_mention(server: Runtime) -> None:
    """An operator reading another conversation learns someone waits at the door: the
    channel's buffer is marked unread and mentioned, and the terminal bell rings."""
    app = chat_app(server, channels=("#mine", "#other"))  # alice founds both; #other is shown last
    rang: list[bool] = []
    app.bell = lambda: rang.append(True)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#other"), "alice in #other")
        mine = app.state.find("#mine")
        assert mine is not None
        app.client.send("MODE #mine +i")
        await until(pilot, lambda: any("+i" in line.text for line in mine.lines), "+i")
        app.action_select_buffer(app.state.buffers.index(app.state.find("#other")))
        assert app.state.current.name == "#other" and not mine.mentioned
        dave = await connected(server, "dave")
        dave.send("KNOCK #mine :please")
        await dave.expect("711")
        await until(pilot, lambda: mine.mentioned, "#mine marked as mentioned")
        assert mine.unread == 1 and rang
        await dave.close()
