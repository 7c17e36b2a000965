"""irctest's controller for hubbub: copied into an irctest checkout as
irctest/controllers/hubbub.py by scripts/irctest/run (docs/conformance.md).

Starts ``python -m hubbub serve`` on the port irctest picks, with an in-memory
store, no web listener, flood control and per-address limits off (as the Ergo and
InspIRCd controllers do for their servers), an operator block ``operuser`` /
``operpassword``, and, for ``ssl=True`` cases, a TLS listener with a self-signed
certificate.

Accounts are registered over IRC with ``NickServ REGISTER`` (the store is in
memory, so the offline ``hubbub account`` command cannot reach it).
"""

import os
import shutil
import subprocess
import sys
from typing import Any, Optional, Set, Type

from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.cases import BaseServerTestCase

# The interpreter that runs hubbub: the one running irctest (where hubbub is installed),
# unless HUBBUB_PYTHON names another (a virtual environment's: `.venv/bin/python`).
HUBBUB_PYTHON = os.environ.get("HUBBUB_PYTHON", sys.executable)

OPER_NAME = "operuser"
OPER_PASSWORD = "operpassword"

_oper_hash_cache: Optional[str] = None


def _oper_hash() -> str:
    """argon2id hash of the operator password, made once per test session."""
    global _oper_hash_cache
    if _oper_hash_cache is None:
        out = subprocess.run(
            [HUBBUB_PYTHON, "-m", "hubbub", "hash-password"],
            input=OPER_PASSWORD + "\n",
            capture_output=True,
            text=True,
            check=True
        )
        _oper_hash_cache = out.stdout.strip()
    return _oper_hash_cache


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class HubbubController(BaseServerController, DirectoryBasedController):
    software_name = "hubbub"
    _port_wait_interval = 0.05
    supported_sasl_mechanisms = {"PLAIN", "SCRAM-SHA-256"}
    supports_sts = False
    extban_mute_char = "m"

    def supports_cap(self, cap: str) -> bool:
        """irctest skips (rather than fails) a test when a capability it asked
        for with skip_if_cap_nak is refused and this says it is not one the
        server must support; hubbub advertises what it supports, so a refusal
        means "not implemented"."""
        return False

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: Optional[str],
        ssl: bool,
        run_services: bool,
        faketime: Optional[str] = None,
        valid_metadata_keys: Optional[Set[str]] = None,
        invalid_metadata_keys: Optional[Set[str]] = None,
        **kwargs: Any,
    ) -> None:
        assert self.proc is None
        self.create_config()
        assert self.directory
        self.hostname = hostname
        self.port = port

        settings = {
            "server.name": "My.Little.Server",
            # what LINKS shows (RPL_LINKS); irctest's other controllers say "test server"
            "server.description": '"test server"',
            "limits.flood_control": "false",
            "limits.max_clients_per_ip": "0",
            "limits.connects_per_ip": "0",
            "limits.password_checks_per_address": "0",
            # history replay on JOIN to clients without draft/chathistory would
            # interleave old lines with what tests expect after a JOIN
            "history.autoreplay_lines": "0",
            "accounts.register_limit": "0",
            "accounts.login_failures": "1000",
            "accounts.login_failures_per_address": "1000",
            "accounts.login_failures_per_account": "1000",
            # no "log in within 30 seconds" notices on registered nicks
            "accounts.enforce": '"none"',
        }

        lines = []
        lines.append("[[opers]]")
        lines.append(f"name = {_toml_str(OPER_NAME)}")
        lines.append(f"password_hash = {_toml_str(_oper_hash())}")
        if password is not None:
            settings["server.password"] = _toml_str(password)
        config_path = self.directory / "hubbub.toml"
        with open(config_path, "w") as fd:
            fd.write("\n".join(lines) + "\n")

        command = [
            HUBBUB_PYTHON,
            "-m",
            "hubbub",
            "serve",
            "--config",
            str(config_path),
            "--no-web",
            "--db",
            ":memory:",
            "--log-level",
            "warning",
        ]
        if ssl:
            settings["tls.cert"] = _toml_str(str(self.directory / "tls.crt"))
            settings["tls.key"] = _toml_str(str(self.directory / "tls.key"))
            settings["tls.self_signed"] = "true"
            command += ["--tls-listen", f"{hostname}:{port}"]
        else:
            command += ["--listen", f"{hostname}:{port}"]
        for key, value in settings.items():
            command += ["--set", f"{key}={value}"]

        if faketime and shutil.which("faketime"):
            command = ["faketime", "-f", faketime, *command]
            self.faketime_enabled = True

        self.proc = self.execute(command, proc_name="hubbub", cwd=self.directory)

    def wait_for_services(self) -> None:
        # NickServ is part of the server: nothing to wait for.
        pass

    def registerUser(
        self,
        case: BaseServerTestCase,  # type: ignore
        username: str,
        password: Optional[str] = None,
    ) -> None:
        assert password
        client = case.addClient(show_io=True)
        case.sendLine(client, "NICK " + username)
        case.sendLine(client, "USER r e g :user")
        while case.getRegistrationMessage(client).command != "001":
            pass
        case.getMessages(client)
        case.sendLine(client, f"PRIVMSG NickServ :REGISTER {password}")
        msgs = case.getMessages(client)
        assert any(
            m.command == "NOTICE" and m.params[-1] == "Account created" for m in msgs
        ), msgs
        case.sendLine(client, "QUIT")
        case.assertDisconnected(client)


def get_irctest_controller_class() -> Type[HubbubController]:
    return HubbubController
