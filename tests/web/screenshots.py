"""Make the README's screenshots of the web client: `python -m tests.web.screenshots`.

Starts a hubbub server with its web listener (as the browser tests do), has a few
people talk in #lobby, and saves docs/web-desktop.png (1280x800) and
docs/web-phone.png (360x740, a touch screen): the desktop in the light theme and the phone in the dark
one, unless --theme says otherwise. --out DIR writes elsewhere.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from playwright.async_api import async_playwright, expect

from tests.helpers import LineClient
from tests.web.fixtures import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE
from tests.web.wsclient import start_web_server

ROOT = Path(__file__).resolve().parents[2]

CONVERSATION = [
    ("frida", "good morning"),
    ("gus", "morning! coffee first"),
    ("dana", "morning all! the new release notes are up: https://example.org/hubbub/releases"),
    ("erik", "nice. does the web client do \x02multi-line\x02 paste now?"),
    ("dana", "it does, as one \x1ddraft/multiline\x1d message when the server offers it"),
    ("erik", "\x01ACTION tries it\x01"),
    ("erik", "line one\nline two\nline three"),
    ("dana", "\x0303green\x03, \x0304red\x03 and \x0312blue\x03 all render, and links are safe"),
]


async def raw_user(runtime, nick: str, channel: str, realname: str) -> LineClient:
    client = await LineClient.connect(runtime)
    client.send("CAP LS 302")
    client.send("CAP REQ :message-tags batch draft/multiline")
    client.send("CAP END")
    client.send(f"NICK {nick}")
    client.send(f"USER {nick} 0 * :{realname}")
    await client.expect("001")
    await client.expect(lambda m: m.command in ("376", "422"))
    client.nick = nick
    await client.join(channel)
    return client


def say(client: LineClient, channel: str, text: str) -> None:
    lines = text.split("\n")
    if len(lines) == 1:
        client.send(f"PRIVMSG {channel} :{text}")
        return
    client.send(f"BATCH +m draft/multiline {channel}")
    for line in lines:
        client.send(f"@batch=m PRIVMSG {channel} :{line}")
    client.send("BATCH -m")


async def make(out: Path, themes: dict[str, str]) -> None:
    # Two browsers and four people from one address: past the default 16 connections per
    # address (a browser keeps several idle ones open), the second page's files got 503.
    runtime = await start_web_server("limits.max_clients_per_ip=64")
    url = runtime.web_url()
    people: dict[str, LineClient] = {}
    try:
        for nick in ("dana", "erik", "frida", "gus"):
            people[nick] = await raw_user(runtime, nick, "#lobby", f"{nick.title()} Example")
        people["dana"].send("MODE #lobby +o dana")  # dana created the channel: she is op already
        people["dana"].send("TOPIC #lobby :Welcome to hubbub · be kind · https://example.org/hubbub")
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pages = []
            for viewport, name in ((DESKTOP, "web-desktop.png"), (PHONE, "web-phone.png")):
                scheme = themes["desktop" if viewport is DESKTOP else "phone"]
                phone = viewport is PHONE  # a phone's browser: a touch screen, the viewport meta obeyed
                context = await browser.new_context(viewport=viewport, color_scheme=scheme, device_scale_factor=1,
                                                    has_touch=phone, is_mobile=phone)  # fmt: skip
                page = await context.new_page()
                await page.goto(url)
                nick = "alice" if viewport is DESKTOP else "bob"
                await page.fill("#connect-nick", nick)
                await page.fill("#connect-channels", "#lobby #help")
                await page.click("#connect-submit")
                await expect(page.locator("#buffer-list")).to_contain_text("#help")
                await expect(page.locator("#buffer-title")).to_have_text("#lobby")
                await expect(page.locator("#member-list")).to_contain_text(nick)
                pages.append((page, name))
            people["gus"].send("PART #lobby :lunch")
            people["gus"].send("JOIN #lobby")
            for nick, text in CONVERSATION:
                say(people[nick], "#lobby", text)
                await asyncio.sleep(0.05)
            await pages[0][0].fill("#input", "bob: have a look at the phone layout")
            await pages[0][0].press("#input", "Enter")
            people["frida"].send("@+typing=active TAGMSG #lobby")
            await people["erik"].join("#help")
            people["erik"].send("PRIVMSG #help :anyone around?")
            people["gus"].send("PRIVMSG alice :lunch later?")
            for page, name in pages:
                await expect(page.locator("#messages")).to_contain_text("all render")
                await page.mouse.move(0, viewport["height"] - 1)  # no hover highlight in the picture
                await page.wait_for_timeout(300)
                await page.screenshot(path=str(out / name))
                print(f"saved {out / name}")
            await browser.close()
    finally:
        for client in people.values():
            await client.close()
        await runtime.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--theme", choices=["mixed", "light", "dark"], default="mixed",
                        help="mixed: light desktop, dark phone (the default)")
    args = parser.parse_args()
    if args.theme == "mixed":
        themes = {"desktop": "light", "phone": "dark"}
    else:
        themes = {"desktop": args.theme, "phone": args.theme}
    asyncio.run(make(args.out, themes))


if __name__ == "__main__":
    main()
