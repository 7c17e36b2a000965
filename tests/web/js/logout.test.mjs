// A logout sticks: once the person has logged out (NickServ LOGOUT, or the account
// dropped: the server's 901 once connected and logged in), the connection's own
// reconnections do not log in again with the password it kept; a 901 that is no logout
// of the person's (before the welcome, or while logged out) forgets nothing; and a later
// login typed to NickServ is the one reconnections log in with again.
import test from "node:test";
import assert from "node:assert/strict";
import { IrcClient, RECONNECT_MAX_MS } from "../../../hubbub/web/js/client.js";
import { FakeSocket, fakeTimers } from "./fakes.mjs";

const plain = (account, password) => Buffer.from(`${account}\0${account}\0${password}`).toString("base64");

function makeClient(options = {}) {
  FakeSocket.all = [];
  const timers = fakeTimers();
  const client = new IrcClient({
    url: "ws://example/webirc", nick: "dave", WebSocket: FakeSocket,
    setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout, now: () => timers.now, random: () => 0.5,
    ...options,
  });
  const loggedOut = [];
  client.on("logged-out", (detail) => loggedOut.push(detail));
  client.connect();
  const ws = FakeSocket.all[0];
  ws.open();
  return { client, ws, timers, loggedOut };
}

/** Registration up to the welcome: what the client sent for SASL (none: []). */
function registerAs(ws, { login = null } = {}) {
  ws.take();
  ws.receive(":srv CAP * LS :sasl=PLAIN batch");
  const asked = ws.take();
  const sasl = [];
  if (asked.includes("CAP REQ :sasl batch")) {
    ws.receive(":srv CAP * ACK :sasl batch", "AUTHENTICATE +");
    sasl.push(...ws.take());
    if (login) ws.receive(`:srv 900 dave dave!~u@h ${login} :You are now logged in as ${login}`);
    ws.receive(login ? ":srv 903 dave :SASL authentication successful" : ":srv 904 dave :SASL authentication failed");
  } else {
    ws.receive(":srv CAP * ACK :batch");
  }
  ws.receive(":srv 001 dave :Welcome dave!~u@127.0.0.1", ":srv 376 dave :End");
  ws.take();
  return sasl;
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

test("after a LOGOUT, the connection's reconnections stay logged out", () => {
  const { client, ws, timers, loggedOut } = makeClient({ password: "dave-words" });
  assert.deepEqual(registerAs(ws, { login: "dave" }), ["AUTHENTICATE PLAIN", `AUTHENTICATE ${plain("dave", "dave-words")}`]);
  assert.equal(client.account, "dave");
  ws.receive(":srv 901 dave dave!~u@h :You are now logged out"); // /msg NickServ LOGOUT
  assert.equal(client.account, null);
  assert.equal(loggedOut.length, 1);
  const again = reconnect(ws, timers);
  assert.deepEqual(registerAs(again), []); // no SASL: a guest, as the server left us
  assert.equal(client.account, null);
});

test("a 901 before the welcome, or while logged out, is no logout: the password stays", () => {
  const { client, ws, timers, loggedOut } = makeClient({ password: "dave-words" });
  ws.take();
  ws.receive(":srv CAP * LS :sasl=PLAIN batch", ":srv CAP * ACK :sasl batch", "AUTHENTICATE +");
  ws.take();
  // A server that clears the login under way before giving its answer.
  ws.receive(":srv 901 dave dave!~u@h :You are now logged out", ":srv 904 dave :SASL authentication failed");
  ws.receive(":srv 001 dave :Welcome dave!~u@127.0.0.1", ":srv 376 dave :End");
  ws.receive(":srv 901 dave dave!~u@h :You are now logged out"); // not logged in: nothing undone
  assert.deepEqual(loggedOut, []);
  let again = reconnect(ws, timers);
  assert.deepEqual(registerAs(again, { login: "dave" }), ["AUTHENTICATE PLAIN", `AUTHENTICATE ${plain("dave", "dave-words")}`]);
  // Logged in, then out on purpose: the same line is a logout now.
  again.receive(":srv 901 dave dave!~u@h :You are now logged out (the account was dropped)");
  assert.equal(loggedOut.length, 1);
  again = reconnect(again, timers);
  assert.deepEqual(registerAs(again), []);
});

test("after a LOGOUT, a login typed to NickServ is the one reconnections log in with again", () => {
  const { client, ws, timers } = makeClient({ nick: "dave", password: "dave-words", account: "david" });
  registerAs(ws, { login: "david" });
  ws.receive(":srv 901 dave dave!~u@h :You are now logged out");
  assert.equal(client.loginAccount, null); // the account is forgotten with its password
  ws.receive(":srv 900 dave dave!~u@h dave :You are now logged in as dave"); // IDENTIFY new-words
  client.loggedInWith("new-words");
  const again = reconnect(ws, timers);
  assert.deepEqual(registerAs(again, { login: "dave" }), ["AUTHENTICATE PLAIN", `AUTHENTICATE ${plain("dave", "new-words")}`]);
});

// Another tab of the browser logged out of the account (main.js hears it through the
// shared settings): this connection logs out of it too, once, and says which account
// the logout was of; one of another account, or of none, is left alone.
test("a logout in another tab: a NickServ LOGOUT here, once, and its 901 ends the login", () => {
  const { client, ws, loggedOut } = makeClient({ password: "dave-words" });
  registerAs(ws, { login: "dave" });
  const fold = (name) => name.toLowerCase();
  assert.equal(client.logOutOf("Erin", fold), false); // another account's
  assert.deepEqual(ws.take(), []);
  assert.equal(client.logOutOf("DAVE", fold), true);
  assert.equal(client.logOutOf("dave", fold), true); // heard twice before the answer: sent once
  assert.deepEqual(ws.take(), ["PRIVMSG NickServ LOGOUT"]);
  ws.receive(":srv 901 dave dave!~u@h :You are now logged out");
  assert.equal(client.account, null);
  assert.deepEqual(loggedOut, [{ account: "dave" }]);
  assert.equal(client.logOutOf("dave", fold), false); // nothing left to log out of
  assert.deepEqual(ws.take(), []);
});

test("a logout in another tab while this one reconnects: the password is forgotten", () => {
  const { client, ws, timers } = makeClient({ password: "dave-words" });
  registerAs(ws, { login: "dave" });
  ws.close(); // the network dropped: not connected when the other tab logs out
  assert.equal(client.logOutOf("dave", (name) => name.toLowerCase()), true);
  timers.advance(RECONNECT_MAX_MS);
  const again = FakeSocket.all.at(-1);
  again.open();
  assert.deepEqual(registerAs(again), []); // no SASL: a guest
  assert.equal(client.account, null);
});
