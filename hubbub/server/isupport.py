"""The RPL_ISUPPORT (005) tokens: what this server enforces, advertised exactly."""

from __future__ import annotations

from hubbub import __version__
from hubbub.config import Config
from hubbub.irc.validate import CHANTYPES
from hubbub.server import bans, chanmodes, elist

USER_MODES = "BRiorsw"  # the letters of handlers/usermodes.py's USER_MODE_TABLE
BOT_MODE = "B"  # bot-mode: the user mode bots set, also their WHO flag
VERSION = f"hubbub-{__version__}"


def isupport_tokens(config: Config) -> list[str]:
    lim = config.limits
    targmax = (
        f"PRIVMSG:{lim.max_targets},NOTICE:{lim.max_targets},TAGMSG:{lim.max_targets},JOIN:,PART:,"
        f"NAMES:{lim.max_targets},WHOIS:1,KICK:{lim.max_kick_targets}"
    )
    maxlist = ",".join(f"{letter}:{lim.max_list_entries}" for letter in "beI")
    history = [f"CHATHISTORY={config.history.chathistory_max}"] if config.history.enabled else []
    refs = ["MSGREFTYPES=timestamp,msgid"] if config.history.enabled else []
    return [
        f"AWAYLEN={lim.awaylen}",
        f"BOT={BOT_MODE}",
        "CASEMAPPING=ascii",
        f"CHANLIMIT={CHANTYPES}:{lim.max_channels}",
        f"CHANMODES={chanmodes.chanmodes_token()}",
        f"CHANNELLEN={lim.channellen}",
        f"CHANTYPES={CHANTYPES}",
        *history,
        f"ELIST={elist.ELIST}",
        "EXCEPTS=e",
        f"ACCOUNTEXTBAN={bans.ACCOUNT}",
        f"EXTBAN={bans.EXTBAN_PREFIX},{bans.EXTBAN_TYPES}",
        "INVEX=I",
        f"KEYLEN={lim.keylen}",
        f"KICKLEN={lim.kicklen}",
        "KNOCK",
        f"MAXLIST={maxlist}",
        f"MODES={lim.max_modes}",
        f"MONITOR={lim.monitor}",
        *refs,
        f"NAMELEN={lim.namelen}",
        f"NETWORK={config.server.network}",
        f"NICKLEN={lim.nicklen}",
        f"PREFIX={chanmodes.prefix_token()}",
        "SAFELIST",
        f"SILENCE={lim.silence}",  # LIST is paced as the client reads it: never a sendq drop (connection.py)
        f"STATUSMSG={chanmodes.statusmsg_token()}",
        f"TARGMAX={targmax}",
        f"TOPICLEN={lim.topiclen}",
        "UTF8ONLY",
        "WHOX",
    ]


def myinfo_modes() -> tuple[str, str]:
    """User modes and channel modes, as RPL_MYINFO lists them."""
    return USER_MODES, chanmodes.myinfo_channel_modes()


def myinfo_param_modes() -> str:
    """The channel modes that take a parameter: RPL_MYINFO's last field."""
    return chanmodes.myinfo_param_modes()
