"""The RPL_ISUPPORT (005) tokens: what this server enforces, advertised exactly."""

from __future__ import annotations

from hubbub import __version__
from hubbub.config import Config
from hubbub.irc.validate import CHANTYPES
from hubbub.server.channel import FLAG_MODES, STATUS_MODES, STATUS_PREFIXES

USER_MODES = "i"
VERSION = f"hubbub-{__version__}"


def isupport_tokens(config: Config) -> list[str]:
    lim = config.limits
    prefixes = "".join(STATUS_PREFIXES[m] for m in STATUS_MODES)
    targmax = f"PRIVMSG:{lim.max_targets},NOTICE:{lim.max_targets},JOIN:,PART:,NAMES:1,WHOIS:1"
    return [
        f"AWAYLEN={lim.awaylen}",
        "CASEMAPPING=ascii",
        f"CHANLIMIT={CHANTYPES}:{lim.max_channels}",
        f"CHANMODES=,,,{FLAG_MODES}",
        f"CHANNELLEN={lim.channellen}",
        f"CHANTYPES={CHANTYPES}",
        f"MODES={lim.max_modes}",
        f"NETWORK={config.server.network}",
        f"NICKLEN={lim.nicklen}",
        f"PREFIX=({STATUS_MODES}){prefixes}",
        f"TARGMAX={targmax}",
        f"TOPICLEN={lim.topiclen}",
        "UTF8ONLY",
    ]


def myinfo_modes() -> tuple[str, str]:
    """User modes and channel modes, as RPL_MYINFO lists them."""
    return USER_MODES, "".join(sorted(FLAG_MODES + STATUS_MODES))
