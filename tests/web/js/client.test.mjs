// IrcClient over a fake WebSocket with a fake clock: registration, SASL, batches,
// requests, multiline, typing and reconnection, as transcripts.
import test from "node:test";
import assert from "node:assert/strict";
import { IrcClient, backoffDelay, RECONNECT_MAX_MS } from "../../../hubbub/web/js/client.js";
import { FakeSocket, fakeTimers } from "./fakes.mjs";

function makeClient(options = {}) {
  FakeSocket.all = [];
  const timers = fakeTimers();
  const client = new IrcClient({
    url: "ws://example/webirc", nick: "alice", WebSocket: FakeSocket,
    setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout, now: () => timers.now, random: () => 0.5,
    ...options,
  });
  const events = [];
  for (const type of ["message", "batch", "status", "registered", "sasl-failed"]) client.on(type, (d) => events.push([type, d]));
  client.connect();
  const ws = FakeSocket.all[0];
  ws.open();
  return { client, ws, timers, events };
}

/** What the client sends, answering the PINGs it paces a long message with as a server
 * would (its next part goes only once the PONG is back). */
function takePaced(ws) {
  const out = [];
  for (let got = ws.take(); got.length; got = ws.take()) {
    for (const line of got) {
      const pace = /^PING (hubbub-pace-\d+)$/.exec(line);
      if (pace) ws.receive(`:srv PONG srv ${pace[1]}`);
      else out.push(line);
    }
  }
  return out;
}

function register(ws, caps = "message-tags server-time batch echo-message draft/chathistory draft/multiline=max-bytes=60,max-lines=3 soju.im/search") {
  ws.receive(":srv NOTICE * :*** Welcome", `:srv CAP * LS :${caps}`);
  const req = ws.take().find((l) => l.startsWith("CAP REQ"));
  ws.receive(`:srv CAP * ACK :${req.slice("CAP REQ :".length)}`);
  ws.receive(":srv 001 alice :Welcome alice!~alice@127.0.0.1", ":srv 005 alice CHATHISTORY=50 CASEMAPPING=ascii :are supported", ":srv 376 alice :End");
  ws.take();
}

test("registration: CAP LS 302, NICK, USER; only offered and wanted caps are requested", () => {
  const { client, ws } = makeClient();
  assert.deepEqual(ws.protocols, ["text.ircv3.net", "binary.ircv3.net"]);
  assert.deepEqual(ws.take(), ["CAP LS 302", "NICK alice", "USER alice 0 * alice"]);
  ws.receive(":srv CAP * LS * :message-tags batch unknown-cap", ":srv CAP * LS :server-time sasl=PLAIN");
  assert.deepEqual(ws.take(), ["CAP REQ :message-tags batch server-time"]); // no sasl without a password
  ws.receive(":srv CAP alice ACK :message-tags batch server-time");
  assert.deepEqual(ws.take(), ["CAP END"]);
  ws.receive(":srv 001 alice :Welcome alice!~alice@10.0.0.1");
  assert.equal(client.registered, true);
  assert.equal(client.host, "10.0.0.1");
  assert.ok(client.has("batch"));
});

test("SASL PLAIN when a password is given and the server offers it", () => {
  const { ws, events } = makeClient({ password: "sekrit" });
  ws.take();
  ws.receive(":srv CAP * LS :sasl=PLAIN,EXTERNAL batch");
  assert.deepEqual(ws.take(), ["CAP REQ :sasl batch"]);
  ws.receive(":srv CAP * ACK :sasl batch");
  assert.deepEqual(ws.take(), ["AUTHENTICATE PLAIN"]);
  ws.receive("AUTHENTICATE +");
  const payload = Buffer.from("alice\0alice\0sekrit").toString("base64");
  assert.deepEqual(ws.take(), [`AUTHENTICATE ${payload}`]);
  ws.receive(":srv 900 alice alice!u@h alice :You are now logged in", ":srv 903 alice :SASL successful");
  assert.deepEqual(ws.take(), ["CAP END"]);
  assert.equal(events.filter(([t]) => t === "sasl-failed").length, 0);
});

test("a failed login is reported and registration goes on", () => {
  const { ws, events } = makeClient({ password: "wrong" });
  ws.take();
  ws.receive(":srv CAP * LS :sasl", ":srv CAP * ACK :sasl", "AUTHENTICATE +");
  ws.take();
  ws.receive(":srv 904 alice :SASL authentication failed");
  assert.deepEqual(ws.take(), ["CAP END"]);
  assert.equal(events.filter(([t]) => t === "sasl-failed").length, 1);
});

test("a server without CAP still registers; a taken nick gets another", () => {
  const { client, ws } = makeClient();
  ws.take();
  ws.receive(":srv 421 * CAP :Unknown command", ":srv 433 * alice :Nickname is already in use");
  assert.deepEqual(ws.take(), ["NICK alice_"]);
  ws.receive(":srv 433 * alice_ :Nickname is already in use");
  assert.match(ws.take()[0], /^NICK alice\d+$/);
  ws.receive(":srv 001 alice500 :Welcome");
  assert.equal(client.nick, "alice500");
});

test("a nick the server will not take at all ends the session, saying why", () => {
  const { client, ws, events } = makeClient();
  const refused = [];
  client.on("nick-refused", (d) => refused.push(d));
  ws.take();
  ws.receive(":srv 432 * alice :Erroneous nickname");
  assert.deepEqual(refused, [{ nick: "alice", text: "The server refused the nickname alice: Erroneous nickname" }]);
  assert.equal(client.userClosed, true);
  assert.ok(!ws.take().some((line) => line.startsWith("NICK")));
  assert.ok(!events.some(([type]) => type === "registered"));
});

test("the server's password goes first; refused, the session ends saying why, not reconnecting", () => {
  const { client, ws, timers } = makeClient({ serverPassword: "letmein" });
  const sent = ws.take();
  assert.equal(sent[0], "PASS letmein");
  const refused = [];
  client.on("password-refused", (d) => refused.push(d));
  ws.receive(":srv 464 alice :Password incorrect", "ERROR :Closing Link: 127.0.0.1 (Bad password)");
  ws.close();
  assert.deepEqual(refused, [{ text: "The server refused its password (Password incorrect): check it and connect again." }]);
  assert.equal(client.userClosed, true);
  timers.advance(60_000);
  assert.equal(FakeSocket.all.length, 1); // no second attempt
});

test("without one, a server asking for its password says so", () => {
  const { client, ws } = makeClient();
  assert.ok(!ws.take().some((line) => line.startsWith("PASS")));
  const refused = [];
  client.on("password-refused", (d) => refused.push(d));
  ws.receive(":srv 464 alice :Password incorrect");
  assert.deepEqual(refused, [{ text: "This server asks for its password: enter it to connect." }]);
});

test("alternatives to a taken nick too long for the server get no longer than the nick", () => {
  const { client, ws } = makeClient({ nick: "abcdefghi" });
  ws.take();
  ws.receive(":srv 433 * abcdefghi :Nickname is already in use");
  assert.deepEqual(ws.take(), ["NICK abcdefghi_"]);
  ws.receive(":srv 432 * abcdefghi_ :Erroneous nickname");
  const [next] = ws.take();
  assert.equal(next, "NICK abcdef500");
  ws.receive(":srv 001 abcdef500 :Welcome");
  assert.equal(client.nick, "abcdef500");
});

test("a nick taken again and again is given up on, not tried forever", () => {
  const { client, ws } = makeClient();
  const refused = [];
  client.on("nick-refused", (d) => refused.push(d));
  ws.take();
  for (let i = 0; i < 20 && !client.userClosed; i++) ws.receive(`:srv 433 * ${client.nick} :Nickname is already in use`);
  assert.equal(refused.length, 1);
  assert.match(refused[0].text, /No nickname like alice is free/);
});

test("our own nick change is announced once registered", () => {
  const { client, ws } = makeClient();
  const changes = [];
  client.on("own-nick", (d) => changes.push(d.nick));
  ws.receive(":srv 001 alice :Welcome");
  ws.receive(":bob!u@h NICK robert", ":alice!u@h NICK alicia");
  assert.deepEqual(changes, ["alicia"]);
  assert.equal(client.nick, "alicia");
});

test("binary frames are UTF-8 lines too, and are answered in kind", () => {
  const { ws } = makeClient();
  ws.protocol = "binary.ircv3.net";
  ws.take();
  ws.receive(new TextEncoder().encode("PING :héllo").buffer);
  const [pong] = ws.take();
  assert.equal(new TextDecoder().decode(pong), "PONG héllo");
});

test("PING is answered", () => {
  const { ws } = makeClient();
  ws.take();
  ws.receive("PING :token 1");
  assert.deepEqual(ws.take(), ["PONG :token 1"]);
});

test("a quiet connection is pinged, and dropped if the PONG never comes", () => {
  const { ws, timers, events } = makeClient();
  register(ws);
  timers.advance(55_000);
  assert.deepEqual(ws.take(), []);
  timers.advance(11_000); // checked every 5 s: past 60 s of silence, a PING
  assert.deepEqual(ws.take(), ["PING hubbub-web"]);
  timers.advance(36_000); // and 30 s later, no PONG: give up on this socket
  assert.equal(ws.readyState, 3);
  const waiting = events.find(([t, d]) => t === "status" && d.status === "waiting");
  assert.equal(waiting[1].error, "Ping timeout");
  assert.equal(FakeSocket.all.length, 2); // and it has already tried again
});

test("collected batches arrive whole; labeled-response batches are transparent", () => {
  const { ws, events } = makeClient();
  register(ws);
  events.length = 0;
  ws.receive(
    "@label=1 :srv BATCH +L labeled-response",
    "@batch=L :srv BATCH +h chathistory #a",
    "@batch=h;msgid=1 :bob!b@h PRIVMSG #a :old",
    "@batch=h :bob!b@h BATCH +m draft/multiline #a",
    "@batch=m :bob!b@h PRIVMSG #a :x",
    ":srv BATCH -m",
    ":srv BATCH -h",
    "@batch=L :srv NOTICE alice :inside a label",
    ":srv BATCH -L",
  );
  const batches = events.filter(([t]) => t === "batch").map(([, b]) => b);
  assert.equal(batches.length, 1);
  assert.equal(batches[0].type, "chathistory");
  assert.equal(batches[0].messages.length, 2);
  assert.equal(batches[0].messages[1].batch.type, "draft/multiline");
  const notices = events.filter(([t, m]) => t === "message" && m.command === "NOTICE");
  assert.equal(notices.length, 1);
});

test("CHATHISTORY requests resolve when the batch for their target ends", async () => {
  const { client, ws } = makeClient();
  register(ws);
  assert.equal(client.historyLimit(100), 50);
  const batches = [];
  client.on("batch", (b) => batches.push(b));
  const pending = client.chathistory("BEFORE", "#A", "timestamp=2024-05-01T12:00:00.000Z", 50);
  assert.deepEqual(ws.take(), ["CHATHISTORY BEFORE #A timestamp=2024-05-01T12:00:00.000Z 50"]);
  ws.receive(":srv BATCH +x chathistory #a", "@batch=x :bob!b@h PRIVMSG #a :one", ":srv BATCH -x");
  ws.receive(":srv BATCH +y chathistory bob", "@batch=y :bob!b@h PRIVMSG me :kept", ":srv BATCH -y"); // unasked
  assert.deepEqual(batches.map((b) => [b.params[0], b.requested]), [["#a", true], ["bob", false]]);
  const result = await pending;
  assert.equal(result.messages.length, 1);
  assert.equal(result.error, null);
  const failing = client.chathistory("LATEST", "#b", "*", 50);
  ws.receive(":srv FAIL CHATHISTORY INVALID_TARGET LATEST #b :No such channel");
  assert.equal((await failing).error, "INVALID_TARGET");
});

test("CHATHISTORY TARGETS resolves with the conversations and their times; its FAIL with the error", async () => {
  const { client, ws } = makeClient();
  register(ws);
  const from = Date.UTC(2024, 4, 1, 12, 0, 0);
  const other = client.chathistory("LATEST", "#a", "*", 50); // waiting meanwhile: a TARGETS FAIL is not its
  ws.take();
  const pending = client.chathistoryTargets(from, from + 60000, 20);
  // the later time first: the server counts the limit from it, and the latest are wanted
  assert.deepEqual(ws.take(), ["CHATHISTORY TARGETS timestamp=2024-05-01T12:01:00.000Z timestamp=2024-05-01T12:00:00.000Z 20"]);
  ws.receive(":srv BATCH +t draft/chathistory-targets", "@batch=t :srv CHATHISTORY TARGETS bob 2024-05-01T12:00:30.000Z",
    "@batch=t :srv CHATHISTORY TARGETS #a timestamp=2024-05-01T12:00:10.000Z", ":srv BATCH -t");
  assert.deepEqual(await pending, { targets: [{ name: "bob", time: from + 30000 }, { name: "#a", time: from + 10000 }], error: null });
  const failing = client.chathistoryTargets(from, from + 60000, 20);
  ws.receive(":srv FAIL CHATHISTORY INVALID_PARAMS LATEST :Too many parameters"); // no target: not the TARGETS one's
  ws.receive(":srv FAIL CHATHISTORY INVALID_PARAMS TARGETS :Invalid timestamps or limit");
  assert.equal((await failing).error, "INVALID_PARAMS");
  assert.equal((await other).error, "INVALID_PARAMS"); // the FAIL naming no target was its
});

test("history references a message by msgid only where the server takes msgids", () => {
  const { client, ws } = makeClient();
  register(ws);
  const ms = Date.UTC(2024, 4, 1, 12, 0, 0, 7);
  assert.equal(client.historyRef("m1", ms), "timestamp=2024-05-01T12:00:00.007Z"); // no MSGREFTYPES
  ws.receive(":srv 005 alice MSGREFTYPES=timestamp,msgid :are supported");
  assert.equal(client.historyRef("m1", ms), "msgid=m1"); // exact, where a time is not
  assert.equal(client.historyRef(null, ms), "timestamp=2024-05-01T12:00:00.007Z");
  ws.receive(":srv 005 alice MSGREFTYPES=timestamp :are supported");
  assert.equal(client.historyRef("m1", ms), "timestamp=2024-05-01T12:00:00.007Z");
});

test("read markers are sent only once logged in to an account", () => {
  const { client, ws } = makeClient();
  register(ws, "batch server-time draft/read-marker");
  client.markRead("#a", Date.UTC(2024, 4, 1));
  assert.deepEqual(ws.take(), []); // a guest: the server keeps markers per account
  ws.receive(":srv 900 alice alice!~alice@h alice :You are now logged in as alice");
  client.markRead("#a", Date.UTC(2024, 4, 1));
  assert.deepEqual(ws.take(), ["MARKREAD #a timestamp=2024-05-01T00:00:00.000Z"]);
  ws.receive(":srv 901 alice alice!~alice@h :You are now logged out");
  client.markRead("#a", Date.UTC(2024, 4, 1));
  assert.deepEqual(ws.take(), []);
});

test("a private conversation's read marker is asked for, once logged in, where one is kept", () => {
  const { client, ws } = makeClient();
  register(ws, "batch server-time draft/read-marker");
  client.askReadMarker("bob");
  assert.deepEqual(ws.take(), []); // a guest has none
  ws.receive(":srv 900 alice alice!~alice@h alice :You are now logged in as alice");
  client.askReadMarker("bob");
  assert.deepEqual(ws.take(), ["MARKREAD bob"]);
  ws.receive(":srv FAIL MARKREAD INVALID_PARAMS NickServ :Invalid target");
  client.askReadMarker("NickServ");
  assert.deepEqual(ws.take(), []);
});

test("a conversation the server keeps no read marker for is not asked about again", () => {
  const { client, ws } = makeClient();
  register(ws, "batch server-time draft/read-marker");
  ws.receive(":srv 900 alice alice!~alice@h alice :You are now logged in as alice");
  client.markRead("NickServ", Date.UTC(2024, 4, 1));
  client.markRead("bob", Date.UTC(2024, 4, 1));
  assert.equal(ws.take().length, 2);
  ws.receive(":srv FAIL MARKREAD INVALID_PARAMS NickServ :Invalid target");
  ws.receive(":srv FAIL MARKREAD INVALID_PARAMS timestamp=x :Invalid timestamp");
  client.markRead("nickserv", Date.UTC(2024, 4, 2));
  client.markRead("bob", Date.UTC(2024, 4, 2));
  assert.deepEqual(ws.take(), ["MARKREAD bob timestamp=2024-05-02T00:00:00.000Z"]);
});

test("history is not asked of a server that does not offer it", async () => {
  const { client, ws } = makeClient();
  register(ws, "batch server-time");
  assert.equal((await client.chathistory("LATEST", "#a", "*", 50)).error, "unsupported");
  assert.deepEqual(ws.take(), []);
});

test("SEARCH attributes are escaped and the search batch answers", async () => {
  const { client, ws } = makeClient();
  register(ws);
  const pending = client.search({ text: "two words; more", in: "#a", limit: 10 });
  assert.deepEqual(ws.take(), ["SEARCH text=two\\swords\\:\\smore;in=#a;limit=10"]);
  ws.receive(":srv BATCH +s soju.im/search", "@batch=s :bob!b@h PRIVMSG #a :two words; more", ":srv BATCH -s");
  assert.equal((await pending).messages.length, 1);
});

test("several lines go as draft/multiline batches within max-lines and max-bytes", () => {
  const { client, ws } = makeClient();
  register(ws);
  client.say("#a", "one\ntwo\nthree\nfour");
  const sent = takePaced(ws);
  assert.deepEqual(sent, [
    "BATCH +ml1 draft/multiline #a", "@batch=ml1 PRIVMSG #a one", "@batch=ml1 PRIVMSG #a two", "@batch=ml1 PRIVMSG #a three", "BATCH -ml1",
    "PRIVMSG #a four", // a batch of one line is just a message
  ]);
  client.say("#a", `${"x".repeat(40)}\n${"y".repeat(40)}`); // 81 bytes > max-bytes=60
  assert.deepEqual(takePaced(ws), [`PRIVMSG #a ${"x".repeat(40)}`, `PRIVMSG #a ${"y".repeat(40)}`]);
});

test("a /notice of several lines goes as a draft/multiline batch of NOTICE lines", () => {
  const { client, ws, events } = makeClient();
  register(ws, "batch draft/multiline=max-bytes=60,max-lines=3");
  events.length = 0;
  client.say("#a", "one\ntwo\nthree\nfour", { command: "NOTICE" });
  assert.deepEqual(takePaced(ws), [
    "BATCH +ml1 draft/multiline #a", "@batch=ml1 NOTICE #a one", "@batch=ml1 NOTICE #a two", "@batch=ml1 NOTICE #a three", "BATCH -ml1",
    "NOTICE #a four", // a batch of one line is just a notice
  ]);
  // no echo-message: shown as the server would have echoed it, NOTICE lines
  const local = events.filter(([t, d]) => t === "batch" && d.local).map(([, b]) => b.messages.map((m) => m.command));
  assert.deepEqual(local, [["NOTICE", "NOTICE", "NOTICE"]]);
});

test("a long line is cut between words, with multiline-concat when offered", () => {
  const { client, ws } = makeClient();
  register(ws, "batch draft/multiline=max-bytes=4096,max-lines=100 echo-message");
  const words = Array.from({ length: 120 }, (_, i) => `word${i}`).join(" ");
  client.say("#a", words);
  const sent = takePaced(ws);
  assert.equal(sent[0], "BATCH +ml1 draft/multiline #a");
  assert.ok(sent.slice(2, -1).every((l) => l.startsWith("@batch=ml1;draft/multiline-concat PRIVMSG")));
  const text = sent.slice(1, -1).map((l) => l.slice(l.indexOf(" :") + 2)).join("");
  assert.equal(text, words);
  assert.ok(sent.every((l) => Buffer.byteLength(l) <= 510));
});

test("without multiline, lines go one by one, blank ones skipped, and are echoed locally", () => {
  const { client, ws, events } = makeClient();
  register(ws, "batch server-time");
  events.length = 0;
  client.say("#a", "\nfirst\n\nsecond\n");
  assert.deepEqual(takePaced(ws), ["PRIVMSG #a first", "PRIVMSG #a second"]);
  const echoes = events.filter(([t, m]) => t === "message" && m.local);
  assert.equal(echoes.length, 2); // no echo-message: the client shows what it sent itself
  client.say("#a", "waves", { action: true });
  assert.deepEqual(ws.take(), ["PRIVMSG #a :\x01ACTION waves\x01"]);
});

test("a long message goes one part at a time, each once the server has read the last", () => {
  const { client, ws } = makeClient();
  register(ws, "batch server-time");
  client.say("#a", "hello");
  assert.deepEqual(ws.take(), ["PRIVMSG #a hello"]); // alone: at once, nothing else
  client.say("#a", "one\ntwo\nthree");
  assert.deepEqual(ws.take(), ["PRIVMSG #a one", "PING hubbub-pace-1"]);
  client.say("#a", "typed meanwhile");
  assert.deepEqual(ws.take(), []); // waits its turn, behind the paste
  ws.receive(":srv PONG srv :keepalive-or-other"); // not ours: nothing moves
  assert.deepEqual(ws.take(), []);
  ws.receive(":srv PONG srv hubbub-pace-1");
  assert.deepEqual(ws.take(), ["PRIVMSG #a two", "PING hubbub-pace-2"]);
  ws.receive(":srv PONG srv hubbub-pace-2");
  assert.deepEqual(takePaced(ws), ["PRIVMSG #a three", "PRIVMSG #a :typed meanwhile"]);
});

test("a batch is followed by a PING before anything else goes", () => {
  const { client, ws } = makeClient();
  register(ws);
  client.say("#a", "one\ntwo");
  const sent = ws.take();
  assert.equal(sent[sent.length - 1], "PING hubbub-pace-1");
  client.say("#a", "next");
  assert.deepEqual(ws.take(), []);
  assert.deepEqual(takePaced(ws), []);
  ws.receive(":srv PONG srv hubbub-pace-1");
  assert.deepEqual(ws.take(), ["PRIVMSG #a next"]);
});

test("typing notifications: at most one per 3 s per target, the last wish wins", () => {
  const { client, ws, timers } = makeClient();
  register(ws);
  client.typing("#a", "active");
  client.typing("#a", "active");
  assert.deepEqual(ws.take(), ["@+typing=active TAGMSG #a"]);
  timers.advance(1000);
  client.typing("#a", "done");
  assert.deepEqual(ws.take(), []);
  timers.advance(2000);
  assert.deepEqual(ws.take(), ["@+typing=done TAGMSG #a"]);
  client.typing("#a", "done");
  assert.deepEqual(ws.take(), []);
  timers.advance(5000);
  client.typing("#b", "paused"); // nothing was said to #b: nothing to pause
  assert.deepEqual(ws.take(), []);
});

test("sending a message cancels a pending typing notification", () => {
  const { client, ws, timers } = makeClient();
  register(ws);
  client.typing("#a", "active");
  timers.advance(500);
  client.typing("#a", "paused");
  client.say("#a", "hi");
  timers.advance(5000);
  assert.deepEqual(ws.take(), ["@+typing=active TAGMSG #a", "PRIVMSG #a hi"]);
});

test("reconnects with growing, jittered delays; the count resets once registered", () => {
  const { client, ws, timers, events } = makeClient();
  register(ws);
  ws.close();
  assert.equal(client.status, "waiting");
  const delays = [];
  for (let i = 0; i < 7; i++) {
    const st = events.filter(([t]) => t === "status").at(-1)[1];
    delays.push(st.retryAt - timers.now);
    timers.advance(st.retryAt - timers.now);
    const socket = FakeSocket.all.at(-1);
    socket.close(); // refused again
  }
  assert.deepEqual(delays, [750, 1500, 3000, 6000, 12000, 22500, 22500]);
  timers.advance(RECONNECT_MAX_MS);
  const socket = FakeSocket.all.at(-1);
  socket.open();
  register(socket);
  assert.equal(client.attempt, 0);
});

test("backoff stays between half and all of its ceiling", () => {
  for (let attempt = 0; attempt < 10; attempt++) {
    const ceiling = Math.min(30000, 1000 * 2 ** attempt);
    assert.equal(backoffDelay(attempt, () => 0), ceiling / 2);
    assert.equal(backoffDelay(attempt, () => 0.999999), Math.round(ceiling / 2 + (0.999999 * ceiling) / 2));
  }
});

test("quit says QUIT and does not come back", () => {
  const { client, ws, timers } = makeClient();
  register(ws);
  client.quit("bye");
  assert.deepEqual(ws.take(), ["QUIT bye"]);
  timers.advance(60_000);
  assert.equal(FakeSocket.all.length, 1);
  assert.equal(client.status, "closed");
});

test("after a reconnection the client asks for the nick the user chose last", () => {
  const { client, ws, timers } = makeClient();
  register(ws);
  client.nickChosen("alicia"); // /nick alicia
  ws.receive(":alice!~alice@127.0.0.1 NICK alicia");
  ws.close();
  timers.advance(RECONNECT_MAX_MS);
  const again = FakeSocket.all.at(-1);
  again.open();
  assert.ok(again.take().includes("NICK alicia"));
  assert.equal(client.nick, "alicia");
});

test("after a reconnection the client asks for its own nick, not a guest nick the server gave it", () => {
  const { client, ws, timers } = makeClient();
  register(ws);
  ws.receive(":alice!~alice@127.0.0.1 NICK Guest12345"); // the nick is an account's: taken back
  assert.equal(client.nick, "Guest12345");
  ws.close();
  timers.advance(RECONNECT_MAX_MS);
  const again = FakeSocket.all.at(-1);
  again.open();
  const sent = again.take();
  assert.ok(sent.includes("NICK alice"), sent);
  assert.ok(!sent.includes("NICK Guest12345"), sent);
});
