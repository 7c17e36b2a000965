"""Settings: defaults, the TOML file, and `--set SECTION.KEY=VALUE` overrides.

Every setting is declared once, as a dataclass field with its default and a one-line
description; `--print-config` is generated from those declarations, so the printed
file is always complete and always matches what the server reads.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import tomllib
import urllib.parse
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from hubbub.irc.validate import METADATA_KEY_BYTES, cidr_block, is_valid_channel, nick_problem
from hubbub.passwords import DEFAULT_COST, HashCost, cost_of, is_password_hash

log = logging.getLogger("hubbub")


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which key and why."""


def _doc(text: str, **kw: Any) -> Any:
    return field(metadata={"doc": text}, **kw)


@dataclass
class ServerSection:
    name: str = _doc("server name shown to clients as the source of its replies", default="hubbub.local")
    network: str = _doc("network name advertised in ISUPPORT (NETWORK=)", default="hubbub")
    password: str = _doc("connection password clients must send with PASS; empty for none", default="")
    motd: str = _doc("message of the day; empty for none (clients get 422)", default="Welcome to hubbub. Be kind.")
    motd_file: str = _doc("read the message of the day from this file instead (path)", default="")
    default_channel: str = _doc("channel that plain-text (netcat/telnet) users are put in, and that the web client suggests", default="#lobby")
    default_channel_creator_op: bool = _doc("make whoever creates the default channel (its first joiner after a start) its op, as in other channels; off, nobody is, and ops come from ChanServ once it is registered (docs/channels.md)", default=False)
    description: str = _doc("short description shown in WHOIS", default="hubbub chat server")
    cloak_hosts: bool = _doc("show others each user's host as a cloak of its IP address (a keyed hash: `k3j5x7q2m9a4b6c8.hubbub`, the same for the same address, an IPv6 user's /64 by limits.ipv6_prefix) rather than the address; the user itself and operators still see the address (WHOIS); for connections made after a change", default=True)
    cloak_suffix: str = _doc("the cloak's last label (letters, digits, '-'); empty: the network name in lower case", default="")
    cloak_exempt: list[str] = _doc("addresses or CIDR blocks shown as they are, not cloaked: by default this machine's own (a bot or a proxy on it), which tell nobody anything", default_factory=lambda: ["127.0.0.0/8", "::1/128"])


@dataclass
class ListenSection:
    irc: list[str] = _doc("IRC (and plain text) listeners, HOST:PORT; port 0 picks a free port", default_factory=lambda: ["127.0.0.1:6667"])
    tls: list[str] = _doc("IRC over TLS listeners, HOST:PORT", default_factory=list)
    web: str = _doc("HTTP listener (web client, WebSocket, metrics), HOST:PORT; empty to disable", default="127.0.0.1:8080")
    proxy_from: list[str] = _doc("addresses or CIDR blocks of TCP proxies and load balancers (HAProxy, nginx stream) in front of the IRC, TLS and web listeners that send the PROXY protocol header (v1 or v2): a connection from one must begin with it and counts as the client's it names (docs/operators.md); empty: none", default_factory=list)


@dataclass
class StoreSection:
    db: str = _doc("SQLite database file for accounts, channels and history; ':memory:' keeps nothing; a postgresql://user@host/db URL for a PostgreSQL shared by several nodes (docs/store.md)", default="hubbub.db")
    readers: int = _doc("threads (SQLite) or connections (PostgreSQL) answering history and search queries", default=2)
    commit_on_loop: bool = _doc("SQLite: when the writer thread is idle, commit a loop iteration's writes on the event loop itself (no fsync: tens of microseconds, less than the hand-over to the thread); false keeps every write on the writer thread", default=False)
    output_wait: float = _doc("PostgreSQL: seconds output waits for a commit before going on without it (chat goes on while the database is out of reach or does not answer; the writes are kept and committed later); 0 waits for ever", default=2.0)


@dataclass
class HistorySection:
    enabled: bool = _doc("keep channel messages and private messages between accounts (draft/chathistory, search)", default=True)
    autoreplay_lines: int = _doc("lines of history sent on JOIN to clients without draft/chathistory; 0 for none", default=10)
    chathistory_max: int = _doc("most messages one CHATHISTORY or SEARCH answers with (CHATHISTORY=)", default=100)
    events: bool = _doc("also keep joins, parts, quits, kicks, and topic, mode and nick changes (draft/event-playback)", default=True)
    max_age_days: float = _doc("forget messages older than this many days; 0 keeps them", default=0.0)
    max_per_target: int = _doc("keep at most this many messages per channel or conversation; 0 for no limit", default=0)


@dataclass
class AccountsSection:
    registration: bool = _doc("let users register accounts (NickServ REGISTER, draft/account-registration)", default=True)
    login_via_pass: bool = _doc("where server.password is not set, a connection's PASS logs it in, decided before its welcome: 'account:password', or the password of the account named like its nick (for clients and bots without SASL; as ergo)", default=True)
    enforce: str = _doc("a registered nick used without logging in: 'rename' (to a guest nick after enforce_after), 'refuse' (433), 'none'", default="rename")
    enforce_after: float = _doc("seconds a registered nick may be used before logging in, with enforce = 'rename'", default=30.0)
    guest_prefix: str = _doc("nicks given to those renamed: this prefix and digits", default="Guest")
    ghost_timeout: float = _doc("seconds a connection logged in to an account has to answer a PING when a login to the same account is refused the nick it holds (433): silent, it is dropped as a ping timeout and the new login is given the nick; it answers, and it stays (NickServ GHOST drops it) (docs/accounts.md); 0: never asked", default=10.0)
    login_failures: int = _doc("failed logins allowed per connection, and from one IP address to one account, within login_window before further attempts are refused: a guesser gets a handful of tries per account, one who mistypes waits alone (OPER and WEBIRC count per IP address against it; the connection password against login_failures_per_address)", default=5)
    login_failures_per_address: int = _doc("failed logins allowed from one IP address to all accounts together within login_window: bounds one address trying many accounts; the default, four people's login_failures, keeps a few mistyping behind one NAT address (a school, an office) from locking out the rest; wrong connection passwords (PASS) count per IP address against it too, on a count of their own", default=20)
    login_failures_per_account: int = _doc("failed logins allowed to one account from all IP addresses together within login_window: bounds guessing spread over many addresses; the default takes four addresses' worth of login_failures, so no single address can lock the owner out", default=20)
    login_window: float = _doc("seconds over which failed logins are counted", default=60.0)
    register_limit: int = _doc("accounts that may be registered from one IP address within register_window (NickServ REGISTER and draft/account-registration; IRC operators are exempt); 0 for no limit", default=5)
    register_window: float = _doc("seconds over which registrations from one IP address are counted", default=3600.0)
    max_certs: int = _doc("TLS client-certificate fingerprints one account may hold (NickServ CERT)", default=5)
    max_channels: int = _doc("channels one account may register with ChanServ", default=20)
    hash_time_cost: int = _doc("argon2id passes over the memory for each account password hashed (NickServ REGISTER and PASSWD, hubbub account): with hash_memory_kib and hash_parallelism, what a check costs this server and a guess costs a thief of the store; an older hash is made again at this cost at its next login by password", default=DEFAULT_COST.time_cost)
    hash_memory_kib: int = _doc("KiB of memory argon2id fills for each account password hashed and checked (at least 8 per lane)", default=DEFAULT_COST.memory_kib)
    hash_parallelism: int = _doc("argon2id lanes (and threads) of each account password's hash", default=DEFAULT_COST.parallelism)

    def hash_cost(self) -> HashCost:
        return cost_of(self.hash_time_cost, self.hash_memory_kib, self.hash_parallelism)


@dataclass
class LimitsSection:
    flood_control: bool = _doc("throttle each client's commands (token bucket); turn off for benchmarks", default=True)
    flood_burst: int = _doc("commands a client may send at once before being slowed down (joining a channel costs a client several)", default=20)
    flood_rate: float = _doc("commands per second a client may sustain once its burst is spent", default=4.0)
    recvq: int = _doc("bytes of unprocessed input a throttled client may queue before 'Excess Flood'", default=8192)
    flood_exempt_accounts: list[str] = _doc("accounts whose connections flood control neither paces nor closes for 'Excess Flood' while logged in to them (SASL, PASS or NickServ IDENTIFY, until LOGOUT): trusted bots that paste build logs or feed digests; names as registered, in any case; the line length and the sendq still bound them, and a reload reaches connections logged in already (docs/operators.md)", default_factory=list)
    flood_exempt_opers: bool = _doc("IRC operators are not paced by flood control either, while opered (+o): trusted with KILL, K-lines and DIE already, they paste K-line lists and mass commands", default=True)
    sendq: int = _doc("bytes of unsent output a client may fall behind by before it is dropped", default=262144)
    send_buffer: int = _doc("bytes of a client's output the kernel may hold besides (its socket's send buffer, at most sendq); 0 leaves the system's default, which grows to megabytes", default=65536)
    tcp_nodelay: bool = _doc("send each write to a client at once (TCP_NODELAY), as interactive programs do; false lets the kernel hold a write while an earlier one to that client is unacknowledged and send them together (Nagle's algorithm, which InspIRCd and ngIRCd leave on): fewer packets, and a line that closely follows another held up to a round trip and the client's delayed acknowledgement (40 ms on Linux, up to 200 ms elsewhere) (docs/benchmarks.md)", default=True)
    max_clients: int = _doc("connections the server accepts in all, TLS handshakes included; 0 for as many as the descriptor limit allows (which lowers a higher value too, and the log says so)", default=10000)
    max_clients_per_ip: int = _doc("connections accepted from one IP address (IPv6: one network of ipv6_prefix bits); 0 for no limit", default=16)
    connects_per_ip: int = _doc("IRC connections (TCP, TLS, WebSocket) accepted from one IP address (IPv6: one network of ipv6_prefix bits) within connect_window seconds; past it, refused with the seconds to wait: a client or bot reconnecting in a loop, each time registering, joining and replaying history (on every node of a cluster), is slowed to this pace; 0 for no limit", default=30)
    connect_window: float = _doc("seconds over which connects_per_ip counts new connections", default=60.0)
    connect_exempt: list[str] = _doc("addresses or CIDR blocks connects_per_ip does not count: this machine's own by default (a bot on it, a proxy that names no address)", default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    password_checks_per_address: int = _doc("password checks and hashes (SASL, NickServ, account registration, OPER, WEBIRC) that one IP address (IPv6: one network of ipv6_prefix bits) may have under way at once, running or waiting for a worker; past it that address is told the server is busy, as everyone is when the whole queue is full; 0 for no share of its own", default=4)
    ipv6_prefix: int = _doc("bits of an IPv6 address that name one client for every per-address limit (connections, failed logins, registrations, password checks under way): 64 counts a whole /64, which one home or host gets, as one address; 128 counts each address", default=64)
    tls_handshake_timeout: float = _doc("seconds a TLS connection has to complete its handshake (it counts against the limits meanwhile)", default=10.0)
    proxy_header_timeout: float = _doc("seconds a connection from a listen.proxy_from proxy has to send its PROXY header (it counts against no limit meanwhile)", default=5.0)
    registration_timeout: float = _doc("seconds a connection has to complete registration", default=30.0)
    ping_interval: float = _doc("seconds of silence after which the server sends PING", default=120.0)
    ping_timeout: float = _doc("seconds to wait for any reply to that PING before dropping the client", default=60.0)
    nicklen: int = _doc("longest nickname (NICKLEN)", default=30)
    channellen: int = _doc("longest channel name in bytes (CHANNELLEN)", default=64)
    topiclen: int = _doc("longest topic in bytes (TOPICLEN)", default=390)
    awaylen: int = _doc("longest away message in bytes (AWAYLEN)", default=390)
    max_channels: int = _doc("channels one client may be in (CHANLIMIT)", default=50)
    max_targets: int = _doc("targets of one PRIVMSG, NOTICE or NAMES (TARGMAX)", default=4)
    max_modes: int = _doc("mode changes with a parameter in one MODE command (MODES)", default=4)
    namelen: int = _doc("longest realname in bytes, set with USER or SETNAME (NAMELEN)", default=200)
    monitor: int = _doc("nicks one client may watch with MONITOR (MONITOR=)", default=100)
    silence: int = _doc("masks one client's SILENCE list may hold: whose private messages and invitations it never receives (SILENCE=)", default=32)
    multiline_max_bytes: int = _doc("longest draft/multiline message, in bytes of text (max-bytes)", default=4096)
    multiline_max_lines: int = _doc("most lines in one draft/multiline message (max-lines)", default=100)
    metadata_max_keys: int = _doc("metadata keys one user or one channel may hold (max-keys)", default=20)
    metadata_max_subs: int = _doc("metadata keys one client may subscribe to (max-subs)", default=50)
    metadata_max_value_bytes: int = _doc("longest metadata value, in bytes (max-value-bytes)", default=256)
    whowas_entries: int = _doc("departed nicknames remembered for WHOWAS, in all", default=1000)
    kicklen: int = _doc("longest KICK reason in bytes (KICKLEN)", default=300)
    keylen: int = _doc("longest channel key in bytes, set with MODE +k (KEYLEN)", default=32)
    max_list_entries: int = _doc("entries each channel list (+b, +e, +I) may hold (MAXLIST)", default=100)
    max_kick_targets: int = _doc("nicks one KICK command may remove (TARGMAX KICK)", default=4)
    join_lock: float = _doc("seconds a +j channel stays closed to joins once its rule is reached (437 meanwhile); 0: +j closes nothing", default=60.0)
    knock_delay: float = _doc("seconds before the same person, or anyone on the same channel, may KNOCK again (712 meanwhile; IRC operators exempt); 0 for no wait", default=60.0)


@dataclass
class TlsSection:
    cert: str = _doc("certificate chain (PEM) for the listen.tls listeners (and for HTTPS when web.tls is on)", default="hubbub.crt")
    key: str = _doc("private key (PEM) of that certificate", default="hubbub.key")
    self_signed: bool = _doc("generate a self-signed pair at cert and key when they do not exist yet", default=False)
    sts: bool = _doc("advertise an IRCv3 STS policy (clients then insist on TLS) when TLS listeners exist and the certificate is not self-signed (such clients would refuse one they cannot verify)", default=True)
    sts_duration: int = _doc("seconds clients keep to TLS after seeing the STS policy; 0 withdraws it", default=2592000)
    client_certs: bool = _doc("ask TLS clients for a certificate, accepting any (self-signed too), for CertFP: SASL EXTERNAL and NickServ CERT; clients without one connect as usual", default=True)


@dataclass
class WebSection:
    allowed_origins: list[str] = _doc("origins whose pages may open WebSockets here (\"https://chat.example.org\"; \"*\" for any); empty: the web listener's own origin only", default_factory=list)
    max_frame: int = _doc("largest WebSocket message accepted, in bytes; a bigger one closes the connection (1009); a line longer than IRC allows but within this gets 417", default=16384)
    handshake_timeout: float = _doc("seconds an HTTP connection has to send its request (a WebSocket, its upgrade); also how long an idle HTTP connection is kept", default=10.0)
    tls: bool = _doc("serve HTTPS and wss:// on listen.web, with the [tls] certificate and key", default=False)
    trusted_proxies: list[str] = _doc("reverse proxies (addresses or CIDR blocks) whose X-Forwarded-For and X-Forwarded-Proto are believed", default_factory=list)
    metrics: bool = _doc("serve Prometheus metrics at /metrics (to the addresses metrics_from lists)", default=True)
    metrics_from: list[str] = _doc("addresses or CIDR blocks that may read /metrics: the connecting peer's address, and every address a proxy's X-Forwarded-For, X-Real-IP or Forwarded header names, must be among them (others get 404); empty: nobody", default_factory=lambda: ["127.0.0.0/8", "::1/128"])


@dataclass
class ClusterSection:
    url: str = _doc("Redis shared by the nodes of one network (redis://[USER:PASSWORD@]HOST:PORT/DB, rediss:// for TLS); empty: this process is the whole network", default="")
    node_timeout: float = _doc("seconds that decide a lost node: its heartbeat lasts half of it (then the others quit "
                               "its users); a node out of reach of Redis for all of it refuses its clients' sends",
                               default=10.0)
    keyspace: str = _doc("prefix of every Redis key: networks sharing one Redis need different ones", default="hubbub")
    log_length: int = _doc("entries the shared log keeps; a node further behind starts again from a snapshot", default=100000)
    snapshot_interval: float = _doc("seconds between the snapshots of the network's state that joining nodes start from", default=30.0)


@dataclass
class AdminSection:
    location: str = _doc("where the server is (ADMIN, first line); empty shows server.description", default="")
    organization: str = _doc("who runs it (ADMIN, second line); empty shows the network name", default="")
    email: str = _doc("how to reach the administrator (ADMIN, last line)", default="")


@dataclass
class OperBlock:
    name: str
    password_hash: str
    hosts: list[str] = field(default_factory=list)  # user@host masks allowed to use it; empty: any


@dataclass
class WebircBlock:
    """A WebIRC gateway (KiwiIRC's webircgateway, The Lounge...) allowed to name the
    addresses of the users it connects (the WEBIRC command, handlers/webirc.py)."""

    password_hash: str  # argon2id, as for operators (`hubbub hash-password`)
    hosts: list[str]  # the addresses or CIDR blocks the gateway connects from
    name: str = ""  # how WHOIS and the log call it; empty: the name the gateway gives itself


@dataclass
class Config:
    server: ServerSection = field(default_factory=ServerSection)
    listen: ListenSection = field(default_factory=ListenSection)
    store: StoreSection = field(default_factory=StoreSection)
    history: HistorySection = field(default_factory=HistorySection)
    accounts: AccountsSection = field(default_factory=AccountsSection)
    limits: LimitsSection = field(default_factory=LimitsSection)
    tls: TlsSection = field(default_factory=TlsSection)
    web: WebSection = field(default_factory=WebSection)
    admin: AdminSection = field(default_factory=AdminSection)
    cluster: ClusterSection = field(default_factory=ClusterSection)
    opers: list[OperBlock] = field(default_factory=list)
    webirc: list[WebircBlock] = field(default_factory=list)

    def motd_lines(self) -> list[str]:
        """The MOTD as lines; read from `motd_file` when set. A file that cannot be read
        means no MOTD (clients get 422) rather than no server, but never silently: the
        log says which file and why, at start-up and at each REHASH (both read it here).
        A file that is not UTF-8 is shown with its undecodable bytes replaced."""
        lines, problem = self.read_motd()
        if problem:
            log.warning("%s", problem)
        return lines

    def read_motd(self) -> tuple[list[str], str | None]:
        """The MOTD's lines, and what is wrong with `motd_file` (None when nothing is),
        for `motd_lines` to log and `--check-config` to print."""
        text = self.server.motd
        path = self.server.motd_file
        problem = None
        if path:
            try:
                raw = Path(path).read_bytes()
            except OSError as exc:
                return [], f"cannot read server.motd_file {found_at(path)}: {exc.strerror or exc}; no MOTD is shown"
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problem = (f"server.motd_file {path} is not UTF-8 (byte {exc.start}); "
                           "undecodable bytes are shown as \ufffd")  # fmt: skip
                text = raw.decode("utf-8", errors="replace")
        return (text.splitlines() if text else []), problem


_SECTIONS = ("server", "listen", "store", "history", "accounts", "limits", "tls", "web", "admin", "cluster")


def _coerce(section: str, key: str, value: Any, want: Any) -> Any:
    where = f"{section}.{key}"
    if want == "bool":
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where} must be true or false")
    if want == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where} must be a whole number")
    if want == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{where} must be a number")
    if want == "str":
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where} must be a string")
    if want == "list[str]":
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        raise ConfigError(f"{where} must be a list of strings")
    raise ConfigError(f"{where}: unsupported type {want}")  # pragma: no cover


def _apply_section(config: Config, section: str, values: dict[str, Any]) -> None:
    target = getattr(config, section)
    known = {f.name: f for f in fields(target)}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"unknown setting {section}.{key}")
        setattr(target, key, _coerce(section, key, value, known[key].type))


def apply_mapping(config: Config, data: dict[str, Any]) -> None:
    """Merge a parsed TOML document into `config`, rejecting unknown keys."""
    for section, values in data.items():
        if section == "opers":
            if not isinstance(values, list):
                raise ConfigError("[[opers]] must be an array of tables")
            config.opers = []
            for block in values:
                if not isinstance(block, dict) or not {"name", "password_hash"} <= block.keys():
                    raise ConfigError("each [[opers]] block needs name and password_hash")
                for key, value in block.items():
                    if key == "hosts":
                        if not isinstance(value, list) or not all(isinstance(v, str) and "@" in v for v in value):
                            raise ConfigError("opers.hosts must be a list of user@host masks")
                        continue
                    if key not in ("name", "password_hash"):
                        raise ConfigError(f"unknown setting opers.{key}")
                    if not isinstance(value, str) or not value:
                        raise ConfigError(f"opers.{key} must be a non-empty string")
                _check_oper_block(block)
                config.opers.append(OperBlock(block["name"], block["password_hash"], list(block.get("hosts", []))))
        elif section == "webirc":
            if not isinstance(values, list):
                raise ConfigError("[[webirc]] must be an array of tables")
            config.webirc = [_webirc_block(block) for block in values]
        elif section in _SECTIONS:
            if not isinstance(values, dict):
                raise ConfigError(f"[{section}] must be a table")
            _apply_section(config, section, values)
        else:
            raise ConfigError(f"unknown section [{section}]")


def _check_oper_block(block: dict[str, Any]) -> None:
    """Refuse, at start-up or REHASH, an operator block that could never be used: OPER
    would answer 464 forever and nothing would say why. The hash must be one
    `verify_password` can check (a password pasted in its place is not), and each
    `hosts` block must be CIDR as the matching reads it (`10.0.0.0/99` matches nothing)."""
    name = block["name"]
    if not is_password_hash(block["password_hash"]):
        raise ConfigError(
            f"[[opers]] {name}: password_hash is not an argon2 hash ($argon2id$...); "
            "make one with `hubbub hash-password`"
        )
    for mask in block.get("hosts", []):
        host = mask.rpartition("@")[2]
        if not host:
            raise ConfigError(f"[[opers]] {name}: hosts entry {mask!r} has no host after the @")
        if "/" in host and cidr_block(host) is None:
            raise ConfigError(f"[[opers]] {name}: hosts entry {mask!r}: {host} is not a CIDR block")


def _webirc_block(block: Any) -> WebircBlock:
    """One `[[webirc]]` table, refused at start-up or REHASH when it could never work: a
    gateway whose every WEBIRC fails shows its users nothing but a closed connection."""
    if not isinstance(block, dict):
        raise ConfigError("[[webirc]] must be an array of tables")
    name = block.get("name", "")
    where = f"[[webirc]] {name}".rstrip()
    for key in block:
        if key == "password":
            raise ConfigError(f"{where}: give password_hash, made with `hubbub hash-password`, not the password")
        if key not in ("name", "password_hash", "hosts"):
            raise ConfigError(f"unknown setting webirc.{key}")
    if not isinstance(name, str) or any(ch.isspace() for ch in name) or len(name) > 64:
        raise ConfigError(f"{where}: name must be a word of at most 64 characters")
    password_hash = block.get("password_hash")
    if not isinstance(password_hash, str) or not is_password_hash(password_hash):
        raise ConfigError(f"{where}: password_hash must be an argon2 hash ($argon2id$...); "
                          "make one with `hubbub hash-password`")  # fmt: skip
    hosts = block.get("hosts")
    if isinstance(hosts, str):
        hosts = [hosts]
    if not isinstance(hosts, list) or not hosts or not all(isinstance(h, str) for h in hosts):
        raise ConfigError(f"{where}: hosts must list the addresses or CIDR blocks the gateway connects from")
    for host in hosts:
        if cidr_block(host) is None:
            raise ConfigError(f"{where}: hosts entry {host!r} is not an address or CIDR block")
    return WebircBlock(password_hash, list(hosts), name)


def parse_override(text: str) -> tuple[str, str, Any]:
    """Split `SECTION.KEY=VALUE`; VALUE is read as TOML, or as a bare string if it is not."""
    name, sep, raw = text.partition("=")
    section, dot, key = name.strip().partition(".")
    if not sep or not dot or not section or not key:
        raise ConfigError(f"--set expects SECTION.KEY=VALUE, got {text!r}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return section, key, value


def found_at(path: str) -> str:
    """A file's path as a message about it says it: absolute, so that a relative one
    shows where it was looked for (the directory the server started in, `/` for a
    service without WorkingDirectory, the checkout for scripts/serve), not only its name."""
    return os.path.abspath(path)


def load(path: str | None = None, overrides: list[str] | None = None, *, check: bool = True) -> Config:
    """Defaults, then the TOML file at `path`, then each `--set` override in order.
    `check=False` leaves the whole to the caller's `validate`, once its own flags are on
    it: some rules join keys a flag may set (a cluster's url in the file, its store's
    `--db` on the command line)."""
    config = Config()
    if path:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"cannot read {found_at(path)}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:  # TOML is UTF-8; tomllib decodes before it parses
            raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        apply_mapping(config, data)
    for text in overrides or []:
        section, key, value = parse_override(text)
        if section not in _SECTIONS:
            raise ConfigError(f"unknown section {section!r} in --set {text}")
        wanted = {f.name: f.type for f in fields(getattr(config, section))}.get(key)
        if wanted == "str" and not isinstance(value, str):
            # `server.password=1234` means the text 1234, though it also reads as TOML
            value = text.partition("=")[2].strip()
        _apply_section(config, section, {key: value})
    if check:
        validate(config)
    return config


# Sizes and counts go to the kernel and to C (a socket buffer is a C int), times to the
# event loop's timers: nines typed for "no limit" must be refused, not fail each connection.
MAX_SETTING_INT = 2**31 - 1
MAX_SETTING_FLOAT = 1e9


def _validate_magnitudes(config: Config) -> None:
    for section in fields(config):
        values = getattr(config, section.name)
        if isinstance(values, list):
            continue  # opers, webirc: names and passwords
        for item in fields(values):
            value = getattr(values, item.name)
            if isinstance(value, bool):
                continue
            if isinstance(value, int) and value > MAX_SETTING_INT:
                raise ConfigError(f"{section.name}.{item.name} must be at most {MAX_SETTING_INT}")
            if isinstance(value, float) and not value <= MAX_SETTING_FLOAT and value == value:
                raise ConfigError(f"{section.name}.{item.name} must be at most {MAX_SETTING_FLOAT:.0f}")


def validate(config: Config) -> None:
    """Reject values that would make the server misbehave rather than fail later."""
    _validate_magnitudes(config)
    lim = config.limits
    for key in ("flood_burst", "recvq", "sendq", "nicklen", "channellen", "topiclen",
                "awaylen", "max_channels", "max_targets", "max_modes",
                "namelen", "monitor", "silence", "multiline_max_bytes", "multiline_max_lines",
                "kicklen", "keylen", "max_list_entries", "max_kick_targets",
                "metadata_max_keys", "metadata_max_subs", "metadata_max_value_bytes"):
        if getattr(lim, key) < 1:
            raise ConfigError(f"limits.{key} must be at least 1")
    # a metadata reply (`:server 761 nick target key * :value`) must fit in one line
    room = 510 - len(f":{config.server.name} 761  *  * :".encode()) - METADATA_KEY_BYTES
    room -= lim.nicklen + max(lim.nicklen, lim.channellen)
    if lim.metadata_max_value_bytes > room:
        raise ConfigError(f"limits.metadata_max_value_bytes can be at most {room} with these names' lengths")
    for key, blocks in (("server.cloak_exempt", config.server.cloak_exempt), ("limits.connect_exempt", lim.connect_exempt),
                        ("listen.proxy_from", config.listen.proxy_from)):
        for block in blocks:
            try:
                ipaddress.ip_network(block, strict=False)
            except ValueError:
                raise ConfigError(f"{key}: {block!r} is not an address or CIDR block") from None
    if not lim.connect_window > 0:
        raise ConfigError("limits.connect_window must be positive")
    for name in lim.flood_exempt_accounts:
        # not held to limits.nicklen: an account registered under a longer one keeps its name
        problem = nick_problem(name, max(len(name), 1))
        if problem is not None:
            raise ConfigError(f"limits.flood_exempt_accounts: {name!r} is not an account name ({problem}); "
                              "several are a list: ['bot1', 'bot2']")  # fmt: skip
    if config.server.cloak_suffix and not _DNS_LABEL.fullmatch(config.server.cloak_suffix):
        raise ConfigError("server.cloak_suffix must be letters, digits and '-' (a DNS label, up to 63)")
    if not 16 <= lim.ipv6_prefix <= 128:
        raise ConfigError("limits.ipv6_prefix must be between 16 and 128")
    for key in ("max_clients", "max_clients_per_ip", "connects_per_ip", "password_checks_per_address", "whowas_entries", "send_buffer", "knock_delay", "join_lock"):
        if not getattr(lim, key) >= 0:  # written so that nan is refused too
            raise ConfigError(f"limits.{key} cannot be negative")
    if config.tls.sts_duration < 0:
        raise ConfigError("tls.sts_duration cannot be negative")
    if config.listen.tls and not (config.tls.cert and config.tls.key):
        raise ConfigError("listen.tls needs tls.cert and tls.key (or tls.self_signed = true with both paths)")
    if config.web.tls and config.listen.web and not (config.tls.cert and config.tls.key):
        raise ConfigError("web.tls needs tls.cert and tls.key (or tls.self_signed = true with both paths)")
    for key in ("flood_rate", "registration_timeout", "ping_interval", "ping_timeout", "tls_handshake_timeout",
                "proxy_header_timeout"):
        if not getattr(lim, key) > 0:  # written so that nan is refused too
            raise ConfigError(f"limits.{key} must be positive")
    # Both go out as single IRC parameters (a message source, the NETWORK= token):
    # whitespace there would break every line that carries them.
    for key in ("name", "network"):
        value = getattr(config.server, key)
        if not value or any(ch.isspace() for ch in value) or value.startswith(":"):
            raise ConfigError(f"server.{key} must be a non-empty word")
    if not _SERVER_NAME.fullmatch(config.server.name):
        raise ConfigError(f"server.name {config.server.name!r} is not a server name: letters, digits, "
                          "'-' and '_' in parts joined by dots (irc.example.org)")  # fmt: skip
    if config.accounts.enforce not in ("rename", "refuse", "none"):
        raise ConfigError("accounts.enforce must be 'rename', 'refuse' or 'none'")
    if not config.accounts.enforce_after >= 0:
        raise ConfigError("accounts.enforce_after cannot be negative")
    if not config.accounts.ghost_timeout >= 0:
        raise ConfigError("accounts.ghost_timeout cannot be negative")
    for key in ("login_failures", "login_failures_per_address", "login_failures_per_account",
                "max_certs", "max_channels"):
        if getattr(config.accounts, key) < 1:
            raise ConfigError(f"accounts.{key} must be at least 1")
    if not config.accounts.login_window > 0:
        raise ConfigError("accounts.login_window must be positive")
    if not config.accounts.hash_cost().takeable():
        raise ConfigError("accounts.hash_time_cost must be at least 1, accounts.hash_parallelism from 1 to 255, "
                          "accounts.hash_memory_kib at least 8 per lane (8 × hash_parallelism)")
    if config.accounts.register_limit < 0:
        raise ConfigError("accounts.register_limit cannot be negative")
    if not config.accounts.register_window > 0:
        raise ConfigError("accounts.register_window must be positive")
    hist = config.history
    if hist.chathistory_max < 1:
        raise ConfigError("history.chathistory_max must be at least 1")
    for key in ("autoreplay_lines", "max_per_target", "max_age_days"):
        if not getattr(hist, key) >= 0:  # written so that nan is refused too
            raise ConfigError(f"history.{key} cannot be negative")
    if config.store.readers < 1:
        raise ConfigError("store.readers must be at least 1")
    if not config.store.output_wait >= 0:  # 0 waits for ever; below it, every commit would be late at once
        raise ConfigError("store.output_wait cannot be negative (0 waits for ever)")
    cluster = config.cluster
    if cluster.url:
        _validate_redis_url(cluster.url)
    _validate_store_url(config.store.db)
    if cluster.url and config.store.db != ":memory:" and not config.store.db.startswith(("postgresql://", "postgres://")):
        raise ConfigError("a cluster's nodes must share one store: --db postgresql://USER@HOST/DB "
                          "(or --db :memory: to keep nothing)")
    if cluster.node_timeout < 1:
        raise ConfigError("cluster.node_timeout must be at least 1 second")
    if cluster.log_length < 1000:
        raise ConfigError("cluster.log_length must be at least 1000")
    if cluster.snapshot_interval <= 0:
        raise ConfigError("cluster.snapshot_interval must be positive")
    if not cluster.keyspace or any(c in cluster.keyspace for c in " {}"):
        raise ConfigError("cluster.keyspace must be a word without spaces or braces")
    if not is_valid_channel(config.server.default_channel, lim.channellen):
        raise ConfigError(f"server.default_channel {config.server.default_channel!r} is not a valid channel name")
    for addr in config.listen.irc + config.listen.tls + ([config.listen.web] if config.listen.web else []):
        parse_hostport(addr)
    _validate_web(config.web)


# A server name is a host name (RFC 2812 2.3.1; '_' too, as host names in use have it):
# it is matched by masks (LINKS, WHO's server field) and shown as a message source, so a
# wildcard or a '!' or '@' in it would make it match or read as something else.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?"
_SERVER_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")

# What a Redis URL may name as files (rediss://): checked when the configuration is read,
# since redis-py opens them only when it connects, and then says "Error 2 connecting to
# HOST:PORT. No such file or directory." without naming the file.
_REDIS_URL_FILES = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")


def _validate_redis_url(url: str) -> None:
    """Refuse, when the configuration is read, a Redis URL that redis-py would refuse only
    as the node starts (a traceback, not a configuration error), or would read otherwise
    than written (a database that is not a number quietly becomes database 0): so that
    `--check-config` and a start say the same thing."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("cluster.url must be a redis://, rediss:// or unix:// URL")
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:  # an unclosed [IPv6 bracket: urllib's message would quote the password
        raise ConfigError("cluster.url cannot be read: its host is not HOST:PORT or [IPv6]:PORT") from None
    if parts.scheme != "unix":
        _check_redis_port(parts)
        if not re.fullmatch(r"/?|/\d+", parts.path):
            raise ConfigError("cluster.url: the database after the host must be a number (redis://HOST:PORT/0), "
                              f"not {parts.path[1:]!r}")  # fmt: skip
    query = urllib.parse.parse_qs(parts.query)
    for key in _REDIS_URL_FILES:
        for path in query.get(key, [])[:1]:  # redis-py reads the first
            try:
                Path(path).open("rb").close()
            except OSError as exc:
                raise ConfigError(f"cluster.url: cannot read {key} {path}: {exc.strerror or exc}") from None
    _try_redis_connection(url, parts.scheme)


def _check_redis_port(parts: urllib.parse.SplitResult) -> None:
    """A port redis-py would fail on at start (urllib's ValueError) or connect to in vain (0)."""
    written = parts.netloc.rpartition("@")[2]
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ConfigError(f"cluster.url: the port must be a number from 1 to 65535, not {written}")


def _try_redis_connection(url: str, scheme: str) -> None:
    """Make (without opening) the connection redis-py would make from `url`: its options
    are read there, and one it does not know or cannot read is refused there."""
    from redis.asyncio.connection import ConnectionPool
    from redis.exceptions import RedisError

    try:
        ConnectionPool.from_url(url).make_connection()  # type: ignore[no-untyped-call]  # redis-py: untyped
    except TypeError as exc:  # an option the connection does not take
        name = re.search(r"keyword argument '(\w+)'", str(exc))
        option = f"{name.group(1)}=" if name else "an option"
        hint = " (TLS options need rediss://)" if name and name.group(1).startswith("ssl") else ""
        raise ConfigError(f"cluster.url: {option} is not an option of a {scheme}:// URL{hint}") from None
    except (ValueError, RedisError) as exc:
        raise ConfigError(f"cluster.url: {exc}") from None


def _validate_store_url(db: str) -> None:
    """Read a PostgreSQL URL as the store will: what it cannot read (a port that is not
    one, say) is a mistake in the configuration, not a store that failed to start."""
    from hubbub.store import POSTGRESQL_SCHEMES

    if not db.startswith(POSTGRESQL_SCHEMES):
        return
    from hubbub.server.storage import StoreError
    from hubbub.store.postgres import parse_url

    try:
        parse_url(db)
    except StoreError as exc:
        raise ConfigError(f"store.db: {exc}") from None


def _validate_web(web: WebSection) -> None:
    if web.max_frame < 512:
        raise ConfigError("web.max_frame must be at least 512")
    if not web.handshake_timeout > 0:
        raise ConfigError("web.handshake_timeout must be positive")
    for origin in web.allowed_origins:
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise ConfigError(f"web.allowed_origins: {origin!r} is not an origin (scheme://host[:port], or *)")
    for key in ("trusted_proxies", "metrics_from"):
        for block in getattr(web, key):
            try:
                ipaddress.ip_network(block, strict=False)
            except ValueError:
                raise ConfigError(f"web.{key}: {block!r} is not an address or CIDR block") from None


_DNS_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_ORIGIN = re.compile(r"https?://(\[[0-9a-fA-F:.]+\]|[^/:\s\[\]]+)(:\d{1,5})?")


def parse_hostport(text: str, default_port: int | None = None) -> tuple[str, int]:
    """`HOST:PORT`, `[v6]:PORT` or `:PORT` (all interfaces) into a (host, port) pair."""
    if text.startswith("[") and "]" in text:
        host, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ConfigError(f"{text!r} is not [HOST]:PORT")
        sep, port = rest[:1], rest[1:]
    else:
        host, sep, port = text.rpartition(":")
        if not sep:
            host = text
    if not sep:
        if default_port is None:
            raise ConfigError(f"{text!r} is not HOST:PORT")
        port = str(default_port)
    if not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise ConfigError(f"{text!r}: port must be a number from 0 to 65535")
    return host, int(port)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def default_config_text() -> str:
    """A complete TOML file of the defaults, every key commented out with its meaning."""
    config = Config()
    lines = [
        "# hubbub configuration. Every key is shown with its default value, commented out.",
        "# Uncomment and change what you need; command-line flags override this file,",
        "# and `--set SECTION.KEY=VALUE` overrides any single key. Relative paths (store.db,",
        "# server.motd_file, tls.cert, tls.key) are read from the directory the server runs in.",
    ]
    for section in _SECTIONS:
        lines += ["", f"[{section}]"]
        for f in fields(getattr(config, section)):
            lines.append(f"# {f.metadata['doc']}")
            lines.append(f"# {f.name} = {_toml_value(getattr(getattr(config, section), f.name))}")
    lines += [
        "",
        "# Server operators, one block each. Make the hash with `hubbub hash-password`.",
        "# [[opers]]",
        '# name = "alice"',
        '# password_hash = "$argon2id$v=19$m=65536,t=3,p=4$..."',
        "# optional: user@host masks this block may be used from (OPER answers 464 elsewhere)",
        '# hosts = ["*@127.0.0.1", "*@10.0.0.0/8"]',
        "",
        "# WebIRC gateways (KiwiIRC, The Lounge...), one block each: what connects from hosts",
        "# and sends WEBIRC with this password gives its users' own addresses (docs/web.md).",
        "# [[webirc]]",
        '# name = "kiwiirc"',
        '# password_hash = "$argon2id$v=19$m=65536,t=3,p=4$..."',
        '# hosts = ["127.0.0.1", "10.0.0.0/24"]',
        "",
    ]
    return "\n".join(lines)
