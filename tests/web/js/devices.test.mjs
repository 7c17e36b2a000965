// One person, one account, several devices and tabs: the account SASL logs in to is the
// one logged in to last, whatever the nick (a /nick since, a phone's own nick); and each
// tab resumes its own channels and conversations, a new tab those the browser last had.
import test from "node:test";
import assert from "node:assert/strict";
import { IrcClient, RECONNECT_MAX_MS } from "../../../hubbub/web/js/client.js";
import { TAB_KEYS, accountShown, loginFailed, tabPart, tabView } from "../../../hubbub/web/js/resume.js";
import { FakeSocket, fakeTimers } from "./fakes.mjs";

function makeClient(options = {}) {
  FakeSocket.all = [];
  const timers = fakeTimers();
  const client = new IrcClient({
    url: "ws://example/webirc", nick: "bob", WebSocket: FakeSocket,
    setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout, now: () => timers.now, random: () => 0.5,
    ...options,
  });
  const failures = [];
  client.on("sasl-failed", (detail) => failures.push(detail));
  client.connect();
  const ws = FakeSocket.all[0];
  ws.open();
  return { client, ws, timers, failures };
}

const plain = (account, password) => Buffer.from(`${account}\0${account}\0${password}`).toString("base64");

/** Up to the SASL payload: what the client sends as its AUTHENTICATE, decoded. */
function saslPayload(ws) {
  ws.take();
  ws.receive(":srv CAP * LS :sasl=PLAIN", ":srv CAP * ACK :sasl");
  assert.deepEqual(ws.take(), ["CAP REQ sasl", "AUTHENTICATE PLAIN"]);
  ws.receive("AUTHENTICATE +");
  const sent = ws.take();
  assert.equal(sent.length, 1);
  return Buffer.from(sent[0].slice("AUTHENTICATE ".length), "base64").toString();
}

function welcome(ws, nick) {
  ws.receive(`:srv 001 ${nick} :Welcome ${nick}!~u@127.0.0.1`, `:srv 376 ${nick} :End`);
  ws.take();
}

/** The connection dropped; the next one opened (after the longest backoff). */
function reconnect(ws, timers) {
  ws.close();
  timers.advance(RECONNECT_MAX_MS);
  const again = FakeSocket.all.at(-1);
  assert.notEqual(again, ws);
  again.open();
  return again;
}

test("after a /nick, a reconnection logs in to the account logged in to, not one named like the new nick", () => {
  const { client, ws, timers } = makeClient({ password: "bobpw" });
  assert.equal(saslPayload(ws), "bob\0bob\0bobpw");
  ws.receive(":srv 900 bob bob!~u@h bob :You are now logged in as bob", ":srv 903 bob :SASL authentication successful");
  welcome(ws, "bob");
  client.nickChosen("bobby"); // /nick bobby
  ws.receive(":bob!~u@h NICK bobby");
  assert.equal(client.wantedNick, "bobby");
  const again = reconnect(ws, timers);
  assert.ok(again.take().includes("NICK bobby")); // the nick chosen...
  again.receive(":srv CAP * LS :sasl=PLAIN", ":srv CAP * ACK :sasl", "AUTHENTICATE +");
  assert.deepEqual(again.take(), ["CAP REQ sasl", "AUTHENTICATE PLAIN", `AUTHENTICATE ${plain("bob", "bobpw")}`]); // ...the account logged in to
});

test("a phone's own nick logs in to the account named for it", () => {
  const { client, ws } = makeClient({ nick: "alice_phone", password: "alicepw", account: "alice" });
  assert.equal(saslPayload(ws), "alice\0alice\0alicepw");
  ws.receive(":srv 900 alice_phone alice_phone!~u@h alice :You are now logged in as alice", ":srv 903 alice_phone :ok");
  assert.equal(client.account, "alice");
  assert.equal(client.loginAccount, "alice");
});

test("an account created by /register once connected is the one reconnections log in to, whatever the nick", () => {
  const { client, ws, timers } = makeClient(); // no password at first: no SASL
  ws.take();
  ws.receive(":srv CAP * LS :sasl=PLAIN");
  assert.deepEqual(ws.take(), ["CAP END"]);
  welcome(ws, "bob");
  ws.receive(":srv 900 bob bob!~u@h bob :You are now logged in as bob"); // the /register's
  client.loggedInWith("bobpw");
  client.nickChosen("bobby");
  ws.receive(":bob!~u@h NICK bobby");
  const again = reconnect(ws, timers);
  assert.equal(saslPayload(again), "bob\0bob\0bobpw");
});

test("the account an IDENTIFY logged in to is kept across connections; an unrelated 900 changes nothing", () => {
  const { client, ws, timers } = makeClient({ nick: "eddie", password: "pw", account: "edgar" });
  assert.equal(saslPayload(ws), "edgar\0edgar\0pw");
  ws.receive(":srv 904 eddie :SASL authentication failed");
  welcome(ws, "eddie");
  ws.receive(":srv 900 eddie eddie!~u@h someone :You are now logged in as someone"); // no password known for it
  let again = reconnect(ws, timers);
  assert.equal(saslPayload(again), "edgar\0edgar\0pw");
  welcome(again, "eddie");
  again.receive(":srv 900 eddie eddie!~u@h edward :You are now logged in as edward"); // IDENTIFY edward pw2
  client.loggedInWith("pw2");
  again = reconnect(again, timers);
  assert.equal(saslPayload(again), "edward\0edward\0pw2");
});

test("a failed login says which account it tried", () => {
  const { ws, failures } = makeClient({ nick: "alice_phone", password: "wrong", account: "alice" });
  saslPayload(ws);
  ws.receive(":srv 904 alice_phone :SASL authentication failed");
  assert.deepEqual(failures, [{ text: "SASL authentication failed", account: "alice" }]);
});

test("the hint after a failed login invites /register only for an account named like the nick", () => {
  const same = loginFailed("SASL authentication failed", "Bob", "bob");
  assert.match(same, /^Login failed: SASL authentication failed\. /);
  assert.match(same, /No account by that name\? Type \/register <password> to create one with this nick\./);
  const other = loginFailed("SASL authentication failed", "bob", "bobby");
  assert.doesNotMatch(other, /\/register/);
  assert.match(other, /^Login to the account bob failed: SASL authentication failed\./);
  assert.match(other, /IDENTIFY bob <password>/);
});

test("the Account field shows the account remembered when it is not named like the nick", () => {
  assert.equal(accountShown({ nick: "bobby", account: "bob" }), "bob");
  assert.equal(accountShown({ nick: "Bob", account: "bob" }), ""); // the nick's own: blank says so
  assert.equal(accountShown({ nick: "alice_phone" }), "");
  assert.equal(accountShown({ account: "alice" }), "alice");
  assert.equal(accountShown({ nick: "x", account: 7 }), "");
});

test("a tab resumes its own channels, conversations and buffer; the rest is shared", () => {
  const shared = {
    nick: "alice", account: "alice", autoconnect: true, remember: false, ignores: ["spam*"],
    channels: ["#lobby", "#kitchen"], channelKeys: {}, queries: ["dave"], active: "#kitchen",
  };
  const tabA = { channels: ["#lobby", "#garden"], channelKeys: { "#garden": "sesame" }, active: "#garden" };
  const seen = tabView(shared, tabA);
  assert.deepEqual(seen.channels, ["#lobby", "#garden"]);
  assert.deepEqual(seen.channelKeys, { "#garden": "sesame" });
  assert.equal(seen.active, "#garden");
  assert.equal("queries" in seen, false); // none open in this tab: not another tab's
  for (const key of ["nick", "account", "autoconnect", "remember", "ignores"]) assert.deepEqual(seen[key], shared[key]);
  assert.deepEqual(shared.channels, ["#lobby", "#kitchen"]); // not changed in place
});

test("a new tab starts from what the browser last remembered", () => {
  const shared = { nick: "alice", autoconnect: true, channels: ["#lobby", "#kitchen"], active: "#kitchen" };
  assert.deepEqual(tabView(shared, null), shared);
  assert.deepEqual(tabView(shared, "garbage"), shared);
  assert.deepEqual(tabView(shared, ["#x"]), shared);
});

test("what a tab keeps of its own is its channels, keys, conversations and buffer only", () => {
  assert.deepEqual(TAB_KEYS, ["channels", "channelKeys", "queries", "active"]);
  const settings = { nick: "alice", password: "pw", channels: ["#a"], channelKeys: {}, queries: ["bob"], active: undefined };
  assert.deepEqual(tabPart(settings), { channels: ["#a"], channelKeys: {}, queries: ["bob"] });
});
