"""Replies and reactions sent from the terminal client, driven with Textual's pilot against
a real server: /reply, /react and /unreact name a message by counting back through what
others said (or by their nick), go out as the web client sends them, show once in our own
buffer, and are refused in words where they cannot go. Reactions in the history fetched
on joining show as live ones do.

`pilot.press` cannot type an emoji: the lines are put in the input (`submit`)."""

from __future__ import annotations

from collections.abc import Callable

from hubbub.app import Runtime
from hubbub.client import DEFAULT_CAPS
from hubbub.client import events as ev
from hubbub.client.tui.app import ChatApp
from tests.client.test_tui import SIZE, chat_app, joined, shown_text, submit, until
from tests.e2e_caps.support import capped
from tests.helpers import LineClient, sync


def lines_of(app: ChatApp) -> list[str]:
    return [line.text for line in app.state.current.lines]


def has(app: ChatApp, text: str) -> Callable[[], bool]:
    return lambda: any(text in line for line in lines_of(app))


def errors(app: ChatApp) -> list[str]:
    return [line.text for line in app.state.current.lines if line.kind == "error"]


async def said(bob: LineClient, text: str) -> str:
    """bob says `text` in #lobby; its msgid (bob has echo-message)."""
    bob.send(f"PRIVMSG #lobby :{text}")
    echo = await bob.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == text)
    return echo.tags["msgid"]


async def test_reply_and_react_to_a_message_counted_back_from_the_newest(server: Runtime) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob = await capped(server, "bob", "message-tags", "echo-message", channels=("#lobby",))
        keys = await said(bob, "who has the keys?")
        van = await said(bob, "and the van?")
        await until(pilot, has(app, "and the van?"), "bob's questions")

        await submit(pilot, "/reply 2 I do")
        reply = await bob.expect("PRIVMSG")
        assert (reply.params, reply.tags["+draft/reply"]) == (["#lobby", "I do"], keys)
        await until(pilot, has(app, '(↪ bob: "who has the keys?") I do'), "our reply with its quote")
        await until(pilot, lambda: '(↪ bob: "who has the keys?") I do' in shown_text(app), "the reply drawn")

        # our reply and the reaction lines are not counted: 1 is still bob's newest
        await submit(pilot, "/react 1 👍")
        react = await bob.expect("TAGMSG")
        assert react.tags["+draft/react"] == "👍" and react.tags["+draft/reply"] == van
        await submit(pilot, "/unreact bob: +1")  # a nick names their newest; a word for the emoji
        unreact = await bob.expect("TAGMSG")
        assert unreact.tags["+draft/unreact"] == "👍" and unreact.tags["+draft/reply"] == van
        await submit(pilot, "/react 2 :tada:")
        tada = await bob.expect("TAGMSG")
        assert (tada.tags["+draft/react"], tada.tags["+draft/reply"]) == ("🎉", keys)
        await said(bob, "thanks")  # after our reactions' echoes
        await until(pilot, has(app, "thanks"), "bob's thanks")
        assert [t for t in lines_of(app) if t.startswith("You ")][-3:] == [
            'You reacted 👍 to bob: "and the van?"',
            'You took back 👍 from bob: "and the van?"',
            'You reacted 🎉 to bob: "who has the keys?"',
        ]
        assert sum(t.endswith(" I do") for t in lines_of(app)) == 1  # the echo alone, not twice
        await until(pilot, lambda: 'You reacted 👍 to bob: "and the van?"' in shown_text(app), "the reaction drawn")
        assert errors(app) == []
        await bob.close()


async def test_our_reply_and_reaction_show_once_without_echo_message(server: Runtime) -> None:
    app = chat_app(server, caps=DEFAULT_CAPS - {"echo-message"})
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob = await capped(server, "bob", "message-tags", "echo-message", channels=("#lobby",))
        await said(bob, "who has the keys?")
        await until(pilot, has(app, "who has the keys?"), "bob's question")
        await submit(pilot, "/reply 1 I do")
        await submit(pilot, "/react 1 ❤️")
        await bob.expect("TAGMSG")
        await until(pilot, has(app, 'You reacted ❤️ to bob: "who has the keys?"'), "our reaction")
        assert lines_of(app)[-2:] == ['(↪ bob: "who has the keys?") I do',
                                      'You reacted ❤️ to bob: "who has the keys?"']
        await bob.close()


async def test_replies_and_reactions_that_cannot_go_are_refused_in_words(server: Runtime) -> None:
    app = chat_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob = await capped(server, "bob", "message-tags", "echo-message", channels=("#lobby",))
        await submit(pilot, "/react 1 👍")
        await until(pilot, has(app, "There is no message 1 back: nobody else has said anything here."), "none")
        await said(bob, "one")
        await said(bob, "two")
        await until(pilot, has(app, "two"), "bob's lines")
        await submit(pilot, "/reply 3 hello")
        await until(pilot, has(app, "There is no message 3 back: 2 from others here, 1 the newest."), "too far")
        await submit(pilot, "/reply so what")
        await until(pilot, has(app, "“so” is no number"), "neither a number nor a nick")
        await submit(pilot, "/react 1 thumbs")
        await until(pilot, has(app, "Which emoji? 👍 ❤️ 😂 😮 😢 🎉, or +1 heart lol wow sad tada."), "no emoji")
        await submit(pilot, "/reply 1")
        await until(pilot, has(app, "Which message, and what do you answer? Usage: /reply N|nick message"), "usage")
        # a server that gives no msgid: nothing names the message
        app._redraw(app.state.apply(ev.MessageReceived(
            "carol", "#lobby", "no id here", "privmsg", "#lobby", False, False, False, app.state.clock())))
        await submit(pilot, "/react 1 👍")
        await until(pilot, has(app, 'That message (carol: "no id here") came without a msgid'), "no msgid")
        await pilot.press("alt+1")  # the server buffer
        await submit(pilot, "/react 1 👍")
        await until(pilot, has(app, "This is the server buffer: replies and reactions are for a channel"), "server")
        assert not [m for m in await sync(bob) if m.command in ("PRIVMSG", "TAGMSG")]  # nothing went out
        await bob.close()


async def test_without_message_tags_replies_and_reactions_are_refused(server: Runtime) -> None:
    app = chat_app(server, caps=DEFAULT_CAPS - {"message-tags"})
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#lobby"), "alice in #lobby")
        bob = await capped(server, "bob", "message-tags", "echo-message", channels=("#lobby",))
        await said(bob, "who has the keys?")
        await until(pilot, has(app, "who has the keys?"), "bob's question")
        for typed in ("/reply 1 I do", "/react 1 👍"):
            await submit(pilot, typed)
        refusal = "This server does not pass message tags on (no message-tags), so replies and reactions cannot"
        await until(pilot, lambda: sum(refusal in t for t in errors(app)) == 2, "both refused")
        assert not [m for m in await sync(bob) if m.command in ("PRIVMSG", "TAGMSG")]
        await bob.close()


async def test_reactions_in_the_history_fetched_on_joining_show_as_live_ones(server: Runtime) -> None:
    bob = await capped(server, "bob", "message-tags", "echo-message", channels=("#keys",))
    carol = await capped(server, "carol", "message-tags", "echo-message", channels=("#keys",))
    bob.send("PRIVMSG #keys :who has the keys?")
    keys = (await bob.expect("PRIVMSG")).tags["msgid"]
    carol.send(f"@+draft/react=👍;+draft/reply={keys} TAGMSG #keys")
    await carol.expect("TAGMSG")
    carol.send(f"@+draft/unreact=👍;+draft/reply={keys} TAGMSG #keys")
    await carol.expect("TAGMSG")
    bob.send(f"@+draft/react=🎉;+draft/reply={keys} TAGMSG #keys")
    await bob.expect(lambda m: m.command == "TAGMSG" and m.source is not None and m.source.startswith("bob"))
    carol.send("PRIVMSG #keys :the van is outside")
    await carol.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "the van is outside")
    app = chat_app(server, channels=("#keys",))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#keys", 3), "alice in #keys")
        await until(pilot, has(app, "the van is outside"), "the history")
        texts = lines_of(app)
        assert texts[texts.index("who has the keys?") : texts.index("the van is outside") + 1] == [
            "who has the keys?",
            'carol reacted 👍 to bob: "who has the keys?"',
            'carol took back 👍 from bob: "who has the keys?"',
            'bob reacted 🎉 to bob: "who has the keys?"',
            "the van is outside",
        ]
        drawn = 'bob reacted 🎉 to bob: "who has the keys?"'
        await until(pilot, lambda: drawn in shown_text(app), "the reaction drawn")
        assert all(line.history for line in app.state.current.lines if "reacted" in line.text)
    await bob.close()
    await carol.close()


async def test_a_reply_to_a_reply_quotes_what_it_said_not_what_it_answered(server: Runtime) -> None:
    bob = await capped(server, "bob", "message-tags", "echo-message", channels=("#keys",))
    carol = await capped(server, "carol", "message-tags", "echo-message", channels=("#keys",))

    async def says(who: LineClient, text: str, to: str | None = None) -> str:
        """`who` says `text` in #keys (answering the message `to`); its msgid."""
        who.send(f"@+draft/reply={to} PRIVMSG #keys :{text}" if to else f"PRIVMSG #keys :{text}")
        echo = await who.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == text)
        return echo.tags["msgid"]

    keys = await says(bob, "who has the keys?")
    i_do = await says(carol, "I do", to=keys)
    app = chat_app(server, channels=("#keys",))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, joined(app, "#keys", 3), "alice in #keys")
        await until(pilot, has(app, '(↪ bob: "who has the keys?") I do'), "carol's reply in the history")
        great = await says(bob, "great", to=i_do)  # answering a line of the history
        await until(pilot, has(app, "great"), "bob's reply")
        await says(carol, "see you", to=great)  # answering a line seen live
        await until(pilot, has(app, "see you"), "carol's reply")
        assert lines_of(app)[-2:] == ['(↪ carol: "I do") great', '(↪ bob: "great") see you']
        await submit(pilot, "/react carol 👍")
        await until(pilot, has(app, "You reacted 👍 to"), "our reaction")
        assert lines_of(app)[-1] == 'You reacted 👍 to carol: "see you"'
        # a reply that came without a msgid, named in the refusal by what it said
        app._redraw(app.state.apply(ev.MessageReceived(
            "dave", "#keys", "me neither", "privmsg", "#keys", False, False, False, app.state.clock(),
            tags={"+draft/reply": great})))
        await submit(pilot, "/react dave 👍")
        await until(pilot, has(app, 'That message (dave: "me neither") came without a msgid'), "the refusal")
    await bob.close()
    await carol.close()
