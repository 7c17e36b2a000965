"""ChanServ's commands that wait for a code (SET FOUNDER, DROP), done as a person does
them: send the command, read the code from `To confirm, run this command: ...`, send
the command again with it."""

from __future__ import annotations

from tests.helpers import LineClient

CS = "ChanServ!ChanServ@services"
CONFIRM = "To confirm, run this command: /msg ChanServ "


async def code_for(client: LineClient, line: str) -> str:
    """Send `line` to ChanServ; the code its `To confirm` notice asks for."""
    client.send(f"PRIVMSG ChanServ :{line}")
    while True:
        notice = await client.expect(lambda m: m.command == "NOTICE" and m.source == CS)
        text = notice.params[-1]
        if text.startswith(CONFIRM):
            return text.split()[-1]
        assert text.startswith("Warning: ") or text.endswith(" is not the code that confirms it."), text


async def give_channel(client: LineClient, channel: str, account: str) -> str:
    """SET <channel> FOUNDER <account>, confirmed with its code: ChanServ's answer to that."""
    code = await code_for(client, f"SET {channel} FOUNDER {account}")
    client.send(f"PRIVMSG ChanServ :SET {channel} FOUNDER {account} {code}")
    return (await client.expect(lambda m: m.command == "NOTICE" and m.source == CS)).params[-1]
