"""Settings: defaults, the TOML file, `--set` overrides, validation and --print-config."""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, fields
from pathlib import Path

import pytest

from hubbub.config import (
    Config,
    ConfigError,
    OperBlock,
    WebircBlock,
    default_config_text,
    load,
    parse_hostport,
    parse_override,
)
from hubbub.passwords import DECOY_HASH


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "hubbub.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


# -- defaults and file -----------------------------------------------------------------


def test_zero_configuration_loads_the_documented_defaults() -> None:
    config = load(None, [])
    assert config.server.name == "hubbub.local"
    assert config.server.password == ""
    assert config.server.default_channel == "#lobby"
    assert config.listen.irc == ["127.0.0.1:6667"]
    assert config.listen.web == "127.0.0.1:8080"
    assert config.limits.flood_control is True
    assert config.limits.sendq == 262144
    assert config.opers == []


def test_toml_file_overrides_defaults_and_leaves_the_rest(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[server]\nname = "irc.example"\nmotd = "hi"\n\n'
        "[limits]\nsendq = 4096\nflood_control = false\nflood_rate = 3\n",
    )
    config = load(path, [])
    assert config.server.name == "irc.example"
    assert config.server.motd == "hi"
    assert config.limits.sendq == 4096
    assert config.limits.flood_control is False
    assert config.limits.flood_rate == 3.0 and isinstance(config.limits.flood_rate, float)
    assert config.server.network == "hubbub"
    assert config.limits.nicklen == Config().limits.nicklen


def test_set_overrides_win_over_the_file_in_order(tmp_path: Path) -> None:
    path = _write(tmp_path, "[limits]\nsendq = 4096\n")
    config = load(path, ["limits.sendq=8192", "limits.sendq=16384"])
    assert config.limits.sendq == 16384


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(str(tmp_path / "nope.toml"), [])


def test_a_relative_file_that_is_missing_is_named_by_where_it_was_looked_for(tmp_path: Path, monkeypatch) -> None:
    """A service started in `/`, or scripts/serve, which runs in the checkout, looks for
    `hubbub.toml` elsewhere than where it was written: the message says where."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as refused:
        load("hubbub.toml", [])
    assert str(refused.value) == f"cannot read {tmp_path / 'hubbub.toml'}: No such file or directory"


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load(_write(tmp_path, "[server\nname = 1\n"), [])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[nosuch]\nx = 1\n", "unknown section"),
        ("[server]\nnmae = 'x'\n", "unknown setting server.nmae"),
        ("[limits]\nsendq = '4096'\n", "limits.sendq must be a whole number"),
        ("[limits]\nsendq = 4096.5\n", "limits.sendq"),
        ("[limits]\nflood_control = 'yes'\n", "limits.flood_control must be true or false"),
        ("[limits]\nflood_control = 1\n", "limits.flood_control"),
        ("[limits]\nsendq = true\n", "limits.sendq"),
        ("[limits]\nflood_rate = true\n", "limits.flood_rate"),
        ("[server]\nname = 5\n", "server.name must be a string"),
        ("[listen]\nirc = [1, 2]\n", "listen.irc must be a list of strings"),
        ("server = 5\n", r"\[server\] must be a table"),
    ],
)
def test_unknown_or_mistyped_keys_in_the_file_are_rejected(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load(_write(tmp_path, text), [])


def test_single_string_for_a_list_setting_becomes_a_list(tmp_path: Path) -> None:
    config = load(_write(tmp_path, "[listen]\nirc = '0.0.0.0:6667'\n"), [])
    assert config.listen.irc == ["0.0.0.0:6667"]


# -- opers -----------------------------------------------------------------------------


def test_oper_blocks_are_read_in_order(tmp_path: Path) -> None:
    other = DECOY_HASH.replace("t=3", "t=2")
    path = _write(
        tmp_path,
        f'[[opers]]\nname = "alice"\npassword_hash = "{DECOY_HASH}"\n\n'
        f'[[opers]]\nname = "bob"\npassword_hash = "{other}"\n',
    )
    assert load(path, []).opers == [OperBlock("alice", DECOY_HASH), OperBlock("bob", other)]


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ('password_hash = "hunter2"\n', r"alice: password_hash is not an argon2 hash.*hubbub hash-password"),
        ('password_hash = "$argon2id$a"\n', r"password_hash is not an argon2 hash"),
        (f'password_hash = "{DECOY_HASH}"\nhosts = ["*@10.0.0.0/99"]\n', r"alice: hosts entry .*not a CIDR block"),
        (f'password_hash = "{DECOY_HASH}"\nhosts = ["*@"]\n', r"alice: hosts entry .*no host"),
    ],
)
def test_oper_block_that_could_never_be_used_is_rejected(tmp_path: Path, block: str, message: str) -> None:
    """A password pasted as its hash, or a host mask matching nothing, would make the
    block silently unusable: refuse it where the operator reads errors."""
    with pytest.raises(ConfigError, match=message):
        load(_write(tmp_path, '[[opers]]\nname = "alice"\n' + block), [])


def test_oper_hosts_with_valid_cidr_blocks_and_wildcards_are_kept(tmp_path: Path) -> None:
    hosts = ["*@127.0.0.1", "*@10.0.0.0/8", "~bot@2001:db8::/32", "*@*"]
    text = f'[[opers]]\nname = "alice"\npassword_hash = "{DECOY_HASH}"\nhosts = {hosts!r}\n'.replace("'", '"')
    assert load(_write(tmp_path, text), []).opers[0].hosts == hosts


@pytest.mark.parametrize(
    "text",
    [
        '[[opers]]\nname = "alice"\n',
        '[[opers]]\npassword_hash = "x"\n',
        'opers = "alice"\n',
        '[[opers]]\nname = "alice"\npassword_hash = "x"\npasword = "typo"\n',
        '[[opers]]\nname = 5\npassword_hash = "x"\n',
        '[[opers]]\nname = ""\npassword_hash = "x"\n',
    ],
)
def test_incomplete_or_misspelled_oper_block_is_rejected(tmp_path: Path, text: str) -> None:
    """A typo in an oper block must not silently drop or mangle the operator."""
    with pytest.raises(ConfigError, match="opers"):
        load(_write(tmp_path, text), [])


# -- --set -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("limits.sendq=4096", ("limits", "sendq", 4096)),
        ("limits.flood_control=false", ("limits", "flood_control", False)),
        ("limits.flood_rate=2.5", ("limits", "flood_rate", 2.5)),
        ("server.name=irc.example", ("server", "name", "irc.example")),
        ('server.motd="Hello there"', ("server", "motd", "Hello there")),
        ("server.motd=Hello there", ("server", "motd", "Hello there")),
        ("listen.irc=['127.0.0.1:0', '[::1]:0']", ("listen", "irc", ["127.0.0.1:0", "[::1]:0"])),
        (" limits.sendq = 4096 ", ("limits", "sendq", 4096)),
        ("server.password=a=b", ("server", "password", "a=b")),
    ],
)
def test_set_value_is_read_as_toml_or_else_as_a_bare_string(
    text: str, expected: tuple[str, str, object]
) -> None:
    assert parse_override(text) == expected


@pytest.mark.parametrize("text", ["limits.sendq", "sendq=1", ".sendq=1", "limits.=1", "=1"])
def test_malformed_set_is_rejected(text: str) -> None:
    with pytest.raises(ConfigError, match="SECTION.KEY=VALUE"):
        parse_override(text)


def test_set_applies_typed_values() -> None:
    config = load(
        None,
        [
            "limits.sendq=4096",
            "limits.flood_control=false",
            "server.name=irc.example",
            "listen.irc=['127.0.0.1:0']",
            "limits.ping_interval=30",
        ],
    )
    assert config.limits.sendq == 4096
    assert config.limits.flood_control is False
    assert config.server.name == "irc.example"
    assert config.listen.irc == ["127.0.0.1:0"]
    assert config.limits.ping_interval == 30.0


@pytest.mark.parametrize(
    ("text", "value"),
    [("server.password=123456", "123456"), ("server.password=true", "true"), ("server.motd=42", "42")],
)
def test_set_of_a_text_setting_keeps_text_that_also_reads_as_toml(text: str, value: str) -> None:
    """`--set server.password=123456` means that password, not a type error."""
    section, key, _ = parse_override(text)
    assert getattr(getattr(load(None, [text]), section), key) == value


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("nosuch.key=1", "unknown section"),
        ("opers.name=x", "unknown section"),
        ("limits.nosuch=1", "unknown setting limits.nosuch"),
        ("limits.sendq=lots", "limits.sendq must be a whole number"),
        ("limits.flood_control=maybe", "limits.flood_control must be true or false"),
    ],
)
def test_set_of_unknown_or_mistyped_key_is_rejected(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load(None, [text])


# -- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "override",
    [
        "limits.sendq=0",
        "limits.recvq=0",
        "limits.flood_burst=0",
        "limits.nicklen=0",
        "limits.max_clients=-1",
        "limits.max_clients_per_ip=-1",
        "limits.password_checks_per_address=-1",
        "limits.flood_rate=0",
        "limits.ping_interval=-5",
        "limits.ping_timeout=nan",
        "limits.registration_timeout=0",
        "server.name=''",
        "server.name='two words'",
        "server.name='tab\tname'",
        "server.network=''",
        "server.network='My Network'",
        "server.default_channel=lobby",
        "server.default_channel='#a b'",
        "listen.irc=['nope']",
        "listen.irc=['127.0.0.1:99999']",
        "listen.web=localhost",
        "web.max_frame=100",
        "web.handshake_timeout=0",
        "web.allowed_origins=['chat.example.org']",
        "web.allowed_origins=['https://chat.example.org/path']",
        "web.trusted_proxies=['proxy.example']",
        "web.trusted_proxies=['10.0.0.0/33']",
        "web.metrics_from=['localhost']",
        "web.metrics_from=['127.0.0.0/40']",
    ],
)
def test_values_that_would_break_the_server_are_rejected(override: str) -> None:
    with pytest.raises(ConfigError):
        load(None, [override])


def test_zero_means_no_limit_for_connection_counts() -> None:
    config = load(None, ["limits.max_clients=0", "limits.max_clients_per_ip=0"])
    assert (config.limits.max_clients, config.limits.max_clients_per_ip) == (0, 0)


def test_empty_web_address_disables_the_web_listener() -> None:
    assert load(None, ["listen.web=''"]).listen.web == ""


def test_web_settings_and_their_defaults() -> None:
    web = load(None, []).web
    assert (web.allowed_origins, web.max_frame, web.handshake_timeout, web.tls, web.trusted_proxies, web.metrics) == (
        [], 16384, 10.0, False, [], True)  # fmt: skip
    web = load(None, ["web.allowed_origins=['https://chat.example.org', 'http://[::1]:8080', '*']",
                      "web.trusted_proxies=['127.0.0.1', '10.0.0.0/8', '::1']", "web.tls=true"]).web
    assert web.allowed_origins == ["https://chat.example.org", "http://[::1]:8080", "*"]
    assert web.trusted_proxies == ["127.0.0.1", "10.0.0.0/8", "::1"] and web.tls


def test_metrics_are_for_loopback_unless_the_list_says_otherwise() -> None:
    assert load(None, []).web.metrics_from == ["127.0.0.0/8", "::1/128"]
    assert load(None, ["web.metrics_from=[]"]).web.metrics_from == []
    assert load(None, ["web.metrics_from='10.0.0.0/24'"]).web.metrics_from == ["10.0.0.0/24"]


def test_motd_file_replaces_motd_and_a_missing_one_means_none(tmp_path: Path) -> None:
    motd = tmp_path / "motd.txt"
    motd.write_text("line one\nline two\n", encoding="utf-8")
    assert load(None, [f"server.motd_file='{motd}'"]).motd_lines() == ["line one", "line two"]
    assert load(None, [f"server.motd_file='{tmp_path / 'gone.txt'}'"]).motd_lines() == []
    assert load(None, ["server.motd=''"]).motd_lines() == []


# -- --print-config ----------------------------------------------------------------------


def _uncommented(text: str) -> str:
    """The printed config with its `# key = value` lines (and the oper and WebIRC examples) enabled."""
    out = []
    for line in text.splitlines():
        m = re.fullmatch(r"# (\w+ = .*|\[\[opers\]\]|\[\[webirc\]\])", line)
        out.append(m.group(1) if m else line)
    return "\n".join(out)


def test_printed_default_config_is_all_comments_and_loads_as_the_defaults(tmp_path: Path) -> None:
    text = default_config_text()
    assert all(table == {} for table in tomllib.loads(text).values())  # only [section] headers
    config = load(_write(tmp_path, text), [])
    assert asdict(config) == asdict(Config())


def test_printed_default_config_uncommented_is_valid_toml_with_every_key(tmp_path: Path) -> None:
    data = tomllib.loads(_uncommented(default_config_text()))
    defaults = Config()
    for section in ("server", "listen", "store", "limits"):
        expected = {
            f.name: getattr(getattr(defaults, section), f.name) for f in fields(getattr(defaults, section))
        }
        assert data[section] == expected
    assert set(data["opers"][0]) == {f.name for f in fields(OperBlock)}
    assert set(data["webirc"][0]) == {f.name for f in fields(WebircBlock)}
    # the example's hash is a placeholder: as it is, it names the command that makes one
    with pytest.raises(ConfigError, match="hubbub hash-password"):
        load(_write(tmp_path, _uncommented(default_config_text())), [])
    text = _uncommented(default_config_text()).replace("$argon2id$v=19$m=65536,t=3,p=4$...", DECOY_HASH)
    config = load(_write(tmp_path, text), [])
    assert asdict(config.limits) == asdict(defaults.limits)
    assert len(config.opers) == 1
    assert config.webirc == [WebircBlock(DECOY_HASH, ["127.0.0.1", "10.0.0.0/24"], "kiwiirc")]


# -- parse_hostport ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:6667", ("127.0.0.1", 6667)),
        ("localhost:0", ("localhost", 0)),
        ("[::1]:6667", ("::1", 6667)),
        ("[::]:6697", ("::", 6697)),
        (":6667", ("", 6667)),
        ("irc.example.org:65535", ("irc.example.org", 65535)),
    ],
)
def test_hostport_forms(text: str, expected: tuple[str, int]) -> None:
    assert parse_hostport(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("irc.example.org", ("irc.example.org", 6667)), ("[::1]", ("::1", 6667)), ("[::1]:7000", ("::1", 7000))],
)
def test_hostport_default_port_applies_when_none_is_given(text: str, expected: tuple[str, int]) -> None:
    """`hubbub chat [::1]` must work like `hubbub chat localhost`."""
    assert parse_hostport(text, 6667) == expected


@pytest.mark.parametrize(
    "text", ["localhost", "host:", "host:port", "host:65536", "host:-1", "[::1]x", "host:\u0661"]
)
def test_bad_hostport_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_hostport(text)
