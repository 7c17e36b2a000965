// What the server refuses, and a nick taken at connection: IrcClient over a fake
// WebSocket with a fake clock, as transcripts.
import test from "node:test";
import assert from "node:assert/strict";
import { IrcClient, RECLAIM_INTERVAL_MS, RECLAIM_PATIENCE_MS } from "../../../hubbub/web/js/client.js";
import { resendable } from "../../../hubbub/web/js/commands.js";
import { casemapper } from "../../../hubbub/web/js/irc.js";
import { FakeSocket, fakeTimers } from "./fakes.mjs";

const CAPS = "message-tags server-time batch echo-message labeled-response draft/multiline=max-bytes=4096,max-lines=20";

/** A client registered as `registeredAs` (wanting `nick`: taken, unless the server gave
 * it `forced`, unasked), with `caps`, its page having held `heldNick` last; what it emitted. */
function connected({ caps = CAPS, nick = "alice", registeredAs = nick, forced = false, isupport = "CASEMAPPING=ascii", heldNick = null } = {}) {
  FakeSocket.all = [];
  const timers = fakeTimers();
  const client = new IrcClient({
    url: "ws://example/webirc", nick, heldNick, WebSocket: FakeSocket,
    setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout, now: () => timers.now, random: () => 0.5,
  });
  const seen = { refused: [], messages: [] };
  client.on("refused", (r) => seen.refused.push(r));
  client.on("message", (m) => seen.messages.push(m));
  client.connect();
  const ws = FakeSocket.all[0];
  ws.open();
  ws.receive(`:srv CAP * LS :${caps}`);
  const req = ws.take({ keepalive: false }).find((l) => l.startsWith("CAP REQ"));
  ws.receive(`:srv CAP * ACK :${req.slice("CAP REQ :".length)}`);
  if (registeredAs !== nick && !forced) ws.receive(`:srv 433 * ${nick} :Nickname is already in use`);
  ws.receive(`:srv 001 ${registeredAs} :Welcome ${registeredAs}!~u@127.0.0.1`, `:srv 005 ${registeredAs} ${isupport} :are supported`, `:srv 376 ${registeredAs} :End`);
  seen.messages.length = 0;
  ws.sent = ws.sent.filter((line) => !line.startsWith("CAP ") && !line.startsWith("NICK "));
  return { client, ws, timers, seen };
}

const labelOf = (line) => /^@(?:[^ ]*;)?label=([^; ]+)/.exec(line)?.[1];

test("a labeled message refused with FAIL is given back whole, and the FAIL is not shown", () => {
  const { client, ws, seen } = connected();
  client.say("#a", "hello there");
  const [line] = ws.take({ keepalive: false });
  assert.match(line, /^@label=\S+ PRIVMSG #a :hello there$/);
  ws.receive(`@label=${labelOf(line)} :srv FAIL PRIVMSG TEMPORARILY_UNAVAILABLE :Not sent: the network is out of reach, try again soon`);
  assert.equal(seen.refused.length, 1);
  const [r] = seen.refused;
  assert.deepEqual([r.target, r.command, r.action, r.text, r.lines, r.code], ["#a", "PRIVMSG", false, "hello there", 1, "TEMPORARILY_UNAVAILABLE"]);
  assert.equal(r.reason, "Not sent: the network is out of reach, try again soon");
  assert.deepEqual(seen.messages, []); // not shown a second time, as a bare FAIL
});

test("a message that was echoed is not given back when a later one is refused", () => {
  const { client, ws, seen } = connected();
  client.say("#a", "first");
  const first = ws.take({ keepalive: false })[0];
  ws.receive(`@label=${labelOf(first)} :alice!~u@h PRIVMSG #a :first`);
  client.say("#a", "second");
  const second = ws.take({ keepalive: false })[0];
  ws.receive(`@label=${labelOf(second)} :srv 404 alice #a :Cannot send to channel (+m)`);
  assert.deepEqual(seen.refused.map((r) => [r.text, r.code, r.reason]), [["second", "404", "Cannot send to channel (+m)"]]);
});

test("without labels, a FAIL or a 404 answers the oldest message not answered yet", () => {
  const { client, ws, seen } = connected({ caps: "message-tags batch echo-message" });
  client.say("#a", "one");
  client.say("bob", "two");
  assert.deepEqual(ws.take({ keepalive: false }), ["PRIVMSG #a one", "PRIVMSG bob two"]);
  ws.receive(":alice!~u@h PRIVMSG #a one"); // echoed: sent
  ws.receive(":srv FAIL PRIVMSG TEMPORARILY_UNAVAILABLE :Not sent: the network is out of reach, try again soon");
  assert.deepEqual(seen.refused.map((r) => [r.target, r.text]), [["bob", "two"]]);
  client.say("#m", "three");
  ws.receive(":srv 404 alice #m :Cannot send to channel (+m)");
  assert.deepEqual(seen.refused.map((r) => r.text), ["two", "three"]);
  ws.receive(":srv FAIL PRIVMSG TEMPORARILY_UNAVAILABLE :Not sent"); // nothing left to answer: shown as it is
  assert.equal(seen.refused.length, 2);
  assert.equal(seen.messages.at(-1).command, "FAIL");
});

test("without labels, the echo of a NOTICE batch answers it: a FAIL BATCH after it is not its refusal", () => {
  const { client, ws, seen } = connected({ caps: "message-tags batch echo-message draft/multiline=max-bytes=4096,max-lines=20" });
  client.say("#a", "one\ntwo", { command: "NOTICE" });
  const out = ws.take({ keepalive: false });
  assert.deepEqual(out.slice(0, 4), ["BATCH +ml1 draft/multiline #a", "@batch=ml1 NOTICE #a one", "@batch=ml1 NOTICE #a two", "BATCH -ml1"]);
  ws.receive(
    ":alice!~u@h BATCH +e draft/multiline #a", "@batch=e :alice!~u@h NOTICE #a one", "@batch=e :alice!~u@h NOTICE #a two",
    ":alice!~u@h BATCH -e",
  );
  ws.receive(":srv FAIL BATCH MULTILINE_INVALID :Invalid multiline batch"); // not about the notice: it was echoed
  assert.deepEqual(seen.refused, []);
  assert.equal(seen.messages.at(-1).command, "FAIL");
});

test("a paste refused part way: the rest is not sent, and is given back with the refused part", () => {
  const { client, ws, seen } = connected({ caps: "message-tags batch echo-message labeled-response" });
  client.say("#a", "l1\nl2\nl3");
  let out = ws.take({ keepalive: false });
  assert.match(out[0], /PRIVMSG #a l1$/);
  const ping = out[1].split(" ")[1];
  ws.receive(`@label=${labelOf(out[0])} :alice!~u@h PRIVMSG #a l1`, `:srv PONG srv ${ping}`);
  out = ws.take({ keepalive: false });
  assert.match(out[0], /PRIVMSG #a l2$/);
  ws.receive(`@label=${labelOf(out[0])} :srv FAIL PRIVMSG TEMPORARILY_UNAVAILABLE :Not sent: the network is out of reach, try again soon`);
  ws.receive(`:srv PONG srv ${out[1].split(" ")[1]}`);
  assert.deepEqual(ws.take({ keepalive: false }), []); // l3 is not sent after l2 was refused
  assert.deepEqual(seen.refused.map((r) => [r.text, r.lines]), [["l2\nl3", 2]]);
});

test("a typing notification refused says nothing; nor does its FAIL without a label", () => {
  const { client, ws, seen } = connected();
  client.typing("#a", "active");
  const [line] = ws.take({ keepalive: false });
  assert.match(line, /^@\+typing=active;label=\S+ TAGMSG #a$|^@label=\S+;\+typing=active TAGMSG #a$/);
  ws.receive(`@label=${labelOf(line.replace("+typing=active;", ""))} :srv FAIL TAGMSG TEMPORARILY_UNAVAILABLE :Not sent: the network is out of reach, try again soon`);
  client.typing("bob", "active");
  ws.receive(`@label=${labelOf(ws.take({ keepalive: false })[0].replace("+typing=active;", ""))} :srv 404 alice bob :Cannot send`);
  assert.deepEqual(seen.refused, []);
  assert.deepEqual(seen.messages, []);
});

test("taken at connection, the nick this page held is MONITORed and asked for once offline", () => {
  // our own session of before a reload, not yet gone: ours to take back at once
  const { client, ws, seen } = connected({ nick: "erin", registeredAs: "erin_", isupport: "CASEMAPPING=ascii MONITOR=100", heldNick: "erin" });
  assert.deepEqual(ws.take({ keepalive: false }), ["MONITOR + erin"]);
  ws.receive(":srv 730 erin_ :erin!u@h"); // still there: nothing to do, nothing shown
  assert.deepEqual(ws.take({ keepalive: false }), []);
  ws.receive(":srv 731 erin_ :erin");
  assert.deepEqual(ws.take({ keepalive: false }), ["NICK erin"]);
  ws.receive(":srv 433 erin_ erin :Nickname is already in use"); // taken again meanwhile: quietly
  ws.receive(":srv 731 erin_ :erin");
  assert.deepEqual(ws.take({ keepalive: false }), ["NICK erin"]);
  ws.receive(":erin_!~u@h NICK erin");
  assert.equal(client.nick, "erin");
  assert.deepEqual(ws.take({ keepalive: false }), ["MONITOR - erin"]);
  assert.deepEqual(seen.messages.map((m) => m.command), ["NICK"]);
});

test("a nick this page did not hold is asked for once it has stayed offline a while: another tab's reload does not swap them", () => {
  const { client, ws, timers } = connected({ nick: "erin", registeredAs: "erin_", isupport: "CASEMAPPING=ascii MONITOR=100" });
  assert.deepEqual(ws.take({ keepalive: false }), ["MONITOR + erin"]);
  ws.receive(":srv 731 erin_ :erin"); // the other tab reloads...
  timers.advance(RECLAIM_PATIENCE_MS - 1);
  assert.deepEqual(ws.take({ keepalive: false }), []);
  ws.receive(":srv 730 erin_ :erin!u@h"); // ...and is back as erin
  timers.advance(RECLAIM_PATIENCE_MS * 2);
  assert.deepEqual(ws.take({ keepalive: false }), []);
  assert.equal(client.nick, "erin_");
  ws.receive(":srv 731 erin_ :erin"); // closed for good
  timers.advance(RECLAIM_PATIENCE_MS / 2);
  ws.receive(":srv 731 erin_ :erin"); // said again: the wait is not started over
  timers.advance(RECLAIM_PATIENCE_MS / 2);
  assert.deepEqual(ws.take({ keepalive: false }), ["NICK erin"]);
  ws.receive(":erin_!~u@h NICK erin");
  assert.equal(client.nick, "erin");
  assert.deepEqual(ws.take({ keepalive: false }), ["MONITOR - erin"]);
  assert.equal(client.heldNick, "erin");
});

/** The connection lost and made again (registered as `registeredAs`, `nick` taken): the new socket. */
function reconnected({ client, ws, timers }, { nick, registeredAs, isupport }) {
  ws.close();
  timers.advance(60_000); // past the longest backoff
  const again = FakeSocket.all.at(-1);
  assert.notEqual(again, ws);
  again.open();
  again.receive(`:srv CAP * LS :${CAPS}`);
  const req = again.take({ keepalive: false }).find((l) => l.startsWith("CAP REQ"));
  again.receive(`:srv CAP * ACK :${req.slice("CAP REQ :".length)}`);
  again.receive(`:srv 433 * ${nick} :Nickname is already in use`);
  again.receive(`:srv 001 ${registeredAs} :Welcome`, `:srv 005 ${registeredAs} ${isupport} :are supported`, `:srv 376 ${registeredAs} :End`);
  again.sent = again.sent.filter((line) => !line.startsWith("CAP ") && !line.startsWith("NICK "));
  assert.equal(client.nick, registeredAs);
  return again;
}

test("reconnected, a page takes back at once the nick it held (its own session, not gone yet), not one it did not", () => {
  const isupport = "CASEMAPPING=ascii MONITOR=100";
  const held = connected({ nick: "erin", isupport });
  let ws = reconnected(held, { nick: "erin", registeredAs: "erin_", isupport });
  assert.deepEqual(ws.take({ keepalive: false }), ["MONITOR + erin"]);
  ws.receive(":srv 731 erin_ :erin");
  assert.deepEqual(ws.take({ keepalive: false }), ["NICK erin"]);

  const other = connected({ nick: "erin", registeredAs: "erin_", isupport });
  other.ws.take({ keepalive: false });
  ws = reconnected(other, { nick: "erin", registeredAs: "erin_", isupport });
  assert.deepEqual(ws.take({ keepalive: false }), ["MONITOR + erin"]);
  ws.receive(":srv 731 erin_ :erin");
  assert.deepEqual(ws.take({ keepalive: false }), []);
  other.timers.advance(RECLAIM_PATIENCE_MS);
  assert.deepEqual(ws.take({ keepalive: false }), ["NICK erin"]);
});

test("a nick the server gives at registration, never asked for, is ours, and the nick wanted is waited for", () => {
  // a server (or a bouncer) that registers a guest nick of its own choosing, no NICK line
  const { client, ws } = connected({ nick: "erin", registeredAs: "Guest12345", forced: true, isupport: "MONITOR=100" });
  assert.equal(client.nick, "Guest12345");
  assert.deepEqual(ws.take({ keepalive: false }), ["MONITOR + erin"]);
});

test("without MONITOR the nick wanted is asked for again now and then", () => {
  const { client, ws, timers } = connected({ nick: "erin", registeredAs: "erin_" });
  assert.deepEqual(ws.take({ keepalive: false }), []);
  timers.advance(RECLAIM_INTERVAL_MS);
  assert.deepEqual(ws.take({ keepalive: false }), ["NICK erin"]);
  ws.receive(":srv 433 erin_ erin :Nickname is already in use");
  timers.advance(RECLAIM_INTERVAL_MS);
  assert.deepEqual(ws.take({ keepalive: false }), ["NICK erin"]);
  ws.receive(":erin_!~u@h NICK erin");
  timers.advance(RECLAIM_INTERVAL_MS * 1.5);
  assert.deepEqual(ws.take({ keepalive: false }), []);
  assert.equal(client.nick, "erin");
});

test("a nick chosen by hand ends the wait for the one taken at connection", () => {
  const { client, ws, timers } = connected({ nick: "erin", registeredAs: "erin_", isupport: "MONITOR=10" });
  ws.take({ keepalive: false });
  client.nickChosen();
  assert.deepEqual(ws.take({ keepalive: false }), ["MONITOR - erin"]);
  ws.receive(":srv 731 erin_ :erin");
  timers.advance(RECLAIM_INTERVAL_MS * 1.5);
  assert.deepEqual(ws.take({ keepalive: false }), []);
});

test("a refused message comes back as what sends it again from where the user is", () => {
  const fold = casemapper("ascii");
  const said = (target, text, extra = {}) => ({ target, text, command: "PRIVMSG", action: false, ...extra });
  assert.equal(resendable(said("#a", "hi"), "#A", fold), "hi");
  assert.equal(resendable(said("#a", "/etc/passwd is\ntwo lines"), "#a", fold), "//etc/passwd is\ntwo lines");
  assert.equal(resendable(said("bob", "hi"), "#a", fold), "/msg bob hi");
  assert.equal(resendable(said("bob", "hi"), null, fold), "/msg bob hi");
  assert.equal(resendable(said("#a", "waves", { action: true }), "#a", fold), "/me waves");
  assert.equal(resendable(said("#a", "waves", { action: true }), "#b", fold), null);
  assert.equal(resendable(said("#a", "psst", { command: "NOTICE" }), "#a", fold), "/notice #a psst");
});

test("a reply refused is given back as a reply (the msgid it answered), a paste of one in full", () => {
  const { client, ws, seen } = connected({ caps: "message-tags batch echo-message labeled-response" });
  client.say("#a", "yes", { reply: "m1" });
  let [line] = ws.take({ keepalive: false });
  assert.match(line, /^@\+draft\/reply=m1;label=\S+ PRIVMSG #a yes$/);
  ws.receive(`@label=${labelOf(line.replace("+draft/reply=m1;", ""))} :srv 404 alice #a :Cannot send to channel (+m)`);
  client.say("#a", "not a reply");
  [line] = ws.take({ keepalive: false });
  ws.receive(`@label=${labelOf(line)} :srv 404 alice #a :Cannot send to channel (+m)`);
  // a paste answering m2, its second line refused: what is given back answers m2 too
  client.say("#a", "l1\nl2", { reply: "m2" });
  let out = ws.take({ keepalive: false });
  ws.receive(`@label=${labelOf(out[0].replace("+draft/reply=m2;", ""))} :alice!~u@h PRIVMSG #a l1`, `:srv PONG srv ${out[1].split(" ")[1]}`);
  out = ws.take({ keepalive: false });
  ws.receive(`@label=${labelOf(out[0])} :srv FAIL PRIVMSG TEMPORARILY_UNAVAILABLE :Not sent`);
  assert.deepEqual(seen.refused.map((r) => [r.text, r.reply]), [["yes", "m1"], ["not a reply", null], ["l2", "m2"]]);
});

test("a reply cut off by the connection is given back as a reply; one of several says, not", () => {
  const { client, ws } = connected({ caps: "message-tags batch echo-message" });
  const unsent = [];
  client.on("unsent", (groups) => unsent.push(...groups));
  client.say("#a", "p1\np2", { reply: "m1" }); // p1 goes with a PING behind it: not yet sure
  ws.close();
  assert.deepEqual(unsent.map((g) => [g.text, g.reply]), [["p1\np2", "m1"]]);
  // back, a reply and a plain message to the same conversation, both cut off: one text,
  // which answers nothing as a whole
  client.reconnectNow();
  const again = FakeSocket.all.at(-1);
  again.open();
  again.receive(":srv CAP * LS :message-tags batch echo-message", ":srv CAP * ACK :message-tags batch echo-message");
  again.receive(":srv 001 alice :Welcome alice!~u@127.0.0.1", ":srv 376 alice :End");
  client.say("#a", "q1\nq2", { reply: "m2" });
  client.say("#a", "and more");
  again.close();
  assert.deepEqual(unsent.slice(1).map((g) => [g.text, g.reply]), [["q1\nq2\nand more", null]]);
});
