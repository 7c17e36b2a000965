"""Wrong server passwords (`PASS`) are counted per address at the looser limit
(`accounts.login_failures_per_address`), on a count of their own: a client that
reconnects with a wrong password again and again (a bouncer, an IRC client's automatic
reconnects) must not shut everyone behind the same address out at the tight limit, nor
out of OPER."""

from __future__ import annotations

from tests.e2e.test_registration import fresh
from tests.e2e_opers.conftest import OPER_NAME, OPER_PASSWORD


async def test_wrong_server_passwords_past_the_tight_limit_lock_out_neither_the_right_one_nor_oper(
    make_oper_server, clients
) -> None:
    server = await make_oper_server("server.password=secret")
    for _ in range(8):  # past accounts.login_failures (5), below the per-address 20
        client = await fresh(server, clients)
        client.send("PASS wrong")
        client.send("NICK guesser")
        client.send("USER g 0 * :G")
        assert (await client.closed())[-1] == "ERROR :Closing Link: 127.0.0.1 (Bad password)"
    client = await fresh(server, clients)
    client.send("PASS secret")
    await client.register("welcome")
    client.send(f"OPER {OPER_NAME} {OPER_PASSWORD}")
    await client.expect("381")
