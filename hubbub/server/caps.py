"""The IRCv3 capabilities we offer, with their CAP LS values.

Only what is implemented is listed here, and listing it is what makes it requestable.
A capability whose value comes from the configuration also has a function in
`CONFIGURED` (its entry in `SUPPORTED` is the value under the default configuration);
one offered only under some configuration (say `sasl` once accounts exist) goes in
`CONDITIONAL` with the test that decides. `sts` is neither: its value depends on the
connection (sts.py), it is never requestable, and `ls_tokens` adds it.
"""

from __future__ import annotations

from collections.abc import Callable

from hubbub.config import Config, LimitsSection


def _multiline(limits: LimitsSection) -> str:
    return f"max-bytes={limits.multiline_max_bytes},max-lines={limits.multiline_max_lines}"


def _metadata(limits: LimitsSection) -> str:
    return (
        f"before-connect,max-subs={limits.metadata_max_subs},max-keys={limits.metadata_max_keys},"
        f"max-value-bytes={limits.metadata_max_value_bytes}"
    )


# name -> value advertised to CAP LS 302 clients (None: no value), default configuration
SUPPORTED: dict[str, str | None] = {
    "account-notify": None,
    "account-tag": None,
    "away-notify": None,
    "batch": None,
    "draft/account-registration": None,
    "cap-notify": None,
    "chghost": None,
    "draft/channel-rename": None,
    "draft/chathistory": None,
    "draft/event-playback": None,
    "draft/message-redaction": None,
    "draft/read-marker": None,
    "draft/extended-monitor": None,  # the name irctest and older clients know
    "draft/metadata-2": _metadata(LimitsSection()),
    "draft/multiline": _multiline(LimitsSection()),
    "draft/pre-away": None,
    "echo-message": None,
    "extended-join": None,
    "extended-monitor": None,
    "invite-notify": None,
    "labeled-response": None,
    "message-tags": None,
    "multi-prefix": None,
    "sasl": "PLAIN,SCRAM-SHA-256",  # EXTERNAL too for connections with a client certificate
    "server-time": None,
    "setname": None,
    "soju.im/search": None,
    "standard-replies": None,
    "userhost-in-names": None,
}

# name -> its value under a given configuration
CONFIGURED: dict[str, Callable[[Config], str | None]] = {
    "draft/multiline": lambda config: _multiline(config.limits),
    "draft/metadata-2": lambda config: _metadata(config.limits),
}

# name -> whether the configuration lets us offer it
CONDITIONAL: dict[str, Callable[[Config], bool]] = {
    "draft/account-registration": lambda config: config.accounts.registration,
    "draft/chathistory": lambda config: config.history.enabled,
    "draft/event-playback": lambda config: config.history.enabled,
    "draft/message-redaction": lambda config: config.history.enabled,
    "draft/read-marker": lambda config: config.history.enabled,
    "soju.im/search": lambda config: config.history.enabled,
}


def offered(config: Config) -> dict[str, str | None]:
    """The capabilities on offer under `config`, with their values."""
    caps: dict[str, str | None] = {}
    for name, value in SUPPORTED.items():
        available = CONDITIONAL.get(name)
        if available is not None and not available(config):
            continue
        configured = CONFIGURED.get(name)
        caps[name] = configured(config) if configured is not None else value
    return caps


def ls_tokens(
    version: int, config: Config, sts: str | None = None, values: dict[str, str] | None = None
) -> list[str]:
    """The CAP LS list; values are only shown to clients that asked for 302.

    `sts` is the connection's STS policy (sts.policy): listed for 302 clients only, as
    its value is the whole point, and never requestable, so it is not in `offered`.
    """
    tokens = []
    caps = offered(config)
    for name, own in (values or {}).items():  # values that depend on the connection
        if name in caps:
            caps[name] = own
    for name, value in sorted(caps.items()):
        tokens.append(f"{name}={value}" if value and version >= 302 else name)
    if sts is not None and version >= 302:
        tokens.append(f"sts={sts}")
        tokens.sort()
    return tokens
