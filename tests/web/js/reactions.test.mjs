// Replies (+draft/reply) and reactions (+draft/react, +draft/unreact): in ChatState, what a
// reply points at, how reactions add up per message, and how history pages bring them; in
// IrcClient, the tags that go out.
import test from "node:test";
import assert from "node:assert/strict";
import { casemapper, parseLine, parsePrefix } from "../../../hubbub/web/js/irc.js";
import { ChatState, SERVER_KEY } from "../../../hubbub/web/js/state.js";
import { IrcClient } from "../../../hubbub/web/js/client.js";
import { FakeSocket, fakeTimers } from "./fakes.mjs";

function joined() {
  const s = new ChatState({ now: () => 1_000_000 });
  s.configure({ nick: "me", fold: casemapper("ascii"), prefix: parsePrefix("(ov)@+"), chantypes: "#" });
  const feed = (...lines) => lines.forEach((l) => s.handle(parseLine(l)));
  feed(":me!u@h JOIN #a", ":srv 353 me = #a :@me bob carol", ":srv 366 me #a :End");
  return { s, feed, b: s.buffer("#a") };
}

const at = (minute) => `time=2024-05-01T12:${String(minute).padStart(2, "0")}:00.000Z`;
const said = (id, minute, text, nick = "bob") => `@msgid=${id};${at(minute)} :${nick}!x@h PRIVMSG #a :${text}`;
const reaction = (to, emoji, minute, nick, tag = "+draft/react") =>
  `@${at(minute)};+draft/reply=${to};${tag}=${emoji} :${nick}!x@h TAGMSG #a`;
const chips = (s, b, msgid) => s.reactionsTo(b, msgid).map((r) => `${r.emoji}${r.nicks.join(",")}${r.self ? "*" : ""}`);

function history(target, lines) {
  return { type: "chathistory", params: [target], tags: {}, source: null, messages: lines.map(parseLine) };
}

test("a reply names the message it answers, found when that message is loaded", () => {
  const { s, feed, b } = joined();
  feed(said("m1", 1, "hello"), `@msgid=m2;${at(2)};+draft/reply=m1 :carol!x@h PRIVMSG #a :hi bob`);
  feed(`@msgid=m3;${at(3)};+draft/reply=gone :carol!x@h PRIVMSG #a :and you`);
  const [, reply, orphan] = b.messages.filter((r) => r.kind === "message");
  assert.equal(reply.replyTo, "m1");
  assert.equal(s.repliedTo(b, reply).text, "hello");
  assert.equal(orphan.replyTo, "gone");
  assert.equal(s.repliedTo(b, orphan), null); // "a reply to an earlier message"
  // the original comes with scroll-back: found then
  s.handleBatch(history("#a", [said("gone", 0, "earlier")]));
  assert.equal(s.repliedTo(b, orphan).text, "earlier");
});

test("reactions add up per emoji, each person once, and are no line nor unread", () => {
  const { s, feed, b } = joined();
  s.setActive(SERVER_KEY);
  feed(said("m1", 1, "hello"));
  const unread = b.unread;
  const lines = b.messages.length;
  const changes = [];
  s.subscribe((c) => c.type === "reactions" && changes.push(c.msgid));
  feed(reaction("m1", "👍", 2, "carol"), reaction("m1", "👍", 3, "Carol"), reaction("m1", "🎉", 4, "bob"));
  feed(reaction("m1", "👍", 5, "me")); // ours, echoed
  assert.deepEqual(chips(s, b, "m1"), ["👍carol,me*", "🎉bob"]);
  assert.equal(b.messages.length, lines);
  assert.equal(b.unread, unread);
  assert.deepEqual(changes, ["m1", "m1", "m1"]); // the same reaction again changes nothing
});

test("an unreact takes one person's reaction back; an older word does not undo a newer", () => {
  const { s, feed, b } = joined();
  feed(said("m1", 1, "hello"), reaction("m1", "👍", 2, "carol"), reaction("m1", "👍", 3, "me"));
  feed(reaction("m1", "👍", 4, "me", "+draft/unreact"));
  assert.deepEqual(chips(s, b, "m1"), ["👍carol"]);
  feed(reaction("m1", "👍", 5, "carol", "+draft/unreact"));
  assert.deepEqual(s.reactionsTo(b, "m1"), []);
  // a history page older than what is known (scroll-back after a reload): carol's react
  // at minute 2 does not come back over her unreact at minute 5
  s.handleBatch(history("#a", [reaction("m1", "👍", 2, "carol")]));
  assert.deepEqual(s.reactionsTo(b, "m1"), []);
});

test("reactions in a history page count as live ones, those to messages not loaded wait", () => {
  const { s, b } = joined();
  s.setActive(SERVER_KEY);
  s.setFocused(false);
  // the newest page (after a reload): reactions to m1, which is older than the page
  s.handleBatch(history("#a", [said("m2", 3, "news"), reaction("m1", "❤️", 4, "carol"), reaction("m2", "😂", 5, "bob"),
    `@msgid=m3;${at(6)};+draft/reply=m1 :carol!x@h PRIVMSG #a :about that`]));
  const talk = b.messages.filter((r) => r.kind === "message");
  assert.deepEqual(talk.map((r) => r.text), ["news", "about that"]);
  assert.deepEqual(chips(s, b, "m2"), ["😂bob"]);
  assert.equal(s.repliedTo(b, talk[1]), null);
  // the page before brings m1: its reaction was kept for it, and the reply finds it
  s.handleBatch(history("#a", [said("m1", 1, "old news", "me"), reaction("m1", "❤️", 2, "bob")]));
  assert.deepEqual(chips(s, b, "m1"), ["❤️bob,carol"]);
  assert.equal(s.repliedTo(b, b.messages.at(-1)).text, "old news");
  assert.ok(b.messages.every((r) => r.kind !== "tagmsg"));
});

test("a reaction in a private conversation goes to it, ours echoed to its target too", () => {
  const s = new ChatState({ now: () => 1_000_000 });
  s.configure({ nick: "me", fold: casemapper("ascii"), prefix: parsePrefix("(ov)@+"), chantypes: "#" });
  s.handle(parseLine(`@msgid=p1;${at(1)} :bob!x@h PRIVMSG me :psst`));
  s.handle(parseLine(`@${at(2)};+draft/reply=p1;+draft/react=😮 :me!u@h TAGMSG bob`));
  s.handle(parseLine(`@${at(3)};+draft/reply=p1;+draft/react=😢 :bob!x@h TAGMSG me`));
  assert.deepEqual(chips(s, s.buffer("bob"), "p1"), ["😮me*", "😢bob"]);
  // typing notifications are still typing notifications
  s.handle(parseLine("@+typing=active :bob!x@h TAGMSG me"));
  assert.deepEqual(s.typingNicks("bob"), ["bob"]);
});

// -- what the client sends -------------------------------------------------------------

function registered(caps) {
  FakeSocket.all = [];
  const timers = fakeTimers();
  const client = new IrcClient({ url: "ws://example/webirc", nick: "alice", WebSocket: FakeSocket,
    setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout, now: () => timers.now, random: () => 0.5 });
  client.connect();
  const ws = FakeSocket.all[0];
  ws.open();
  ws.receive(":srv NOTICE * :*** Welcome", `:srv CAP * LS :${caps}`);
  const req = ws.take().find((l) => l.startsWith("CAP REQ"));
  if (req) ws.receive(`:srv CAP * ACK :${req.slice("CAP REQ :".length)}`);
  ws.receive(":srv 001 alice :Welcome alice!~alice@127.0.0.1", ":srv 376 alice :End");
  ws.take();
  return { client, ws };
}

test("a reply carries +draft/reply (a multi-line one on its batch); a reaction is a TAGMSG", () => {
  const { client, ws } = registered("message-tags echo-message batch draft/multiline=max-bytes=4096,max-lines=10");
  client.say("#a", "yes", { reply: "m1" });
  assert.deepEqual(ws.take(), ["@+draft/reply=m1 PRIVMSG #a yes"]);
  client.say("#a", "one\ntwo", { reply: "m2" });
  const sent = [];
  for (let got = ws.take(); got.length; got = ws.take()) {
    for (const line of got) {
      const pace = /^PING (hubbub-pace-\d+)$/.exec(line);
      if (pace) ws.receive(`:srv PONG srv ${pace[1]}`);
      else sent.push(line);
    }
  }
  assert.equal(sent[0], "@+draft/reply=m2 BATCH +ml1 draft/multiline #a");
  assert.ok(client.react("#a", "m1", "👍"));
  client.react("#a", "m1", "👍", { remove: true });
  assert.deepEqual(ws.take(), ["@+draft/reply=m1;+draft/react=👍 TAGMSG #a", "@+draft/reply=m1;+draft/unreact=👍 TAGMSG #a"]);
});

test("without message-tags nothing carries a client tag, and there is no reaction to send", () => {
  const { client, ws } = registered("echo-message");
  client.say("#a", "yes", { reply: "m1" });
  assert.deepEqual(ws.take(), ["PRIVMSG #a yes"]);
  assert.equal(client.react("#a", "m1", "👍"), false);
  assert.deepEqual(ws.take(), []);
});

// -- who a reaction is: an account, or a nick followed through its changes -------------

const acct = (line, account) => line.replace(/^@/, `@account=${account};`);
const nickAt = (from, to, minute) => `@${at(minute)} :${from}!x@h NICK ${to}`;

test("a nick change seen live renames the reactor in every conversation; the new nick takes the old one's back", () => {
  const { s, feed, b } = joined();
  feed(":me!u@h JOIN #b", ":srv 353 me = #b :me carol", ":srv 366 me #b :End");
  const other = s.buffer("#b");
  feed(said("m1", 1, "hello"), `@msgid=n1;${at(1)} :carol!x@h PRIVMSG #b :hi`);
  const inB = (line) => line.replace(/ TAGMSG #a$/, " TAGMSG #b");
  feed(reaction("m1", "👍", 2, "carol"), inB(reaction("n1", "🎉", 2, "carol")), reaction("m1", "👍", 3, "me"));
  const changed = new Set();
  s.subscribe((c) => c.type === "reactions" && changed.add(c.key));
  feed(nickAt("carol", "carol2", 4), nickAt("me", "me2", 5));
  assert.deepEqual(chips(s, b, "m1"), ["👍carol2,me2*"]);
  assert.deepEqual(chips(s, other, "n1"), ["🎉carol2"]);
  assert.deepEqual([...changed].sort(), ["#a", "#b"]);
  // the same again under the new nick: still once; an unreact under it takes it back
  feed(reaction("m1", "👍", 6, "carol2"), reaction("m1", "👍", 7, "me2", "+draft/unreact"));
  assert.deepEqual(chips(s, b, "m1"), ["👍carol2"]);
  feed(inB(reaction("n1", "🎉", 8, "carol2", "+draft/unreact")));
  assert.deepEqual(chips(s, other, "n1"), []);
  // someone who takes the old nick afterwards is someone else
  feed(reaction("m1", "👍", 9, "carol"));
  assert.deepEqual(chips(s, b, "m1"), ["👍carol2,carol"]);
});

test("with account-tag a reaction is its account's, whatever nick it comes from", () => {
  const { s, feed, b } = joined();
  feed(said("m1", 1, "hello"));
  // carol reacts, leaves, comes back as cz (no NICK seen): the same person
  feed(acct(reaction("m1", "❤️", 2, "carol"), "carol"), acct(reaction("m1", "❤️", 3, "cz"), "carol"));
  assert.deepEqual(chips(s, b, "m1"), ["❤️cz"]);
  feed(acct(reaction("m1", "❤️", 4, "cz", "+draft/unreact"), "carol"));
  assert.deepEqual(chips(s, b, "m1"), []);
  // ours under another nick, before the page knew our account: ours once it does (900)
  feed(acct(reaction("m1", "😂", 5, "old-me"), "me"));
  assert.deepEqual(chips(s, b, "m1"), ["😂old-me"]);
  feed(":srv 900 me me!u@h me :You are now logged in as me");
  assert.deepEqual(chips(s, b, "m1"), ["😂old-me*"]);
  feed(acct(reaction("m1", "😂", 6, "me", "+draft/unreact"), "me"));
  assert.deepEqual(chips(s, b, "m1"), []);
  // a guest who takes the nick of someone logged in is not them
  feed(acct(reaction("m1", "🎉", 7, "bob"), "bob"), reaction("m1", "🎉", 8, "bob", "+draft/unreact"));
  assert.deepEqual(chips(s, b, "m1"), ["🎉bob"]);
});

test("a reaction given before logging in counts for the account the nick next reacts from", () => {
  const { s, feed, b } = joined();
  feed(said("m1", 1, "hello"));
  // carol reacts as a guest, registers her nick and gives the same again: one person
  feed(reaction("m1", "👍", 2, "carol"), acct(reaction("m1", "👍", 3, "carol"), "carol"));
  assert.deepEqual(chips(s, b, "m1"), ["👍carol"]);
  // bob reacts as a guest, logs in and takes it back
  feed(reaction("m1", "❤️", 4, "bob"));
  assert.deepEqual(chips(s, b, "m1"), ["👍carol", "❤️bob"]);
  feed(acct(reaction("m1", "❤️", 5, "bob", "+draft/unreact"), "bob"));
  assert.deepEqual(chips(s, b, "m1"), ["👍carol"]);
  // dan, under the nick he changed to before logging in
  feed(reaction("m1", "😮", 6, "dan"), nickAt("dan", "dan2", 7), acct(reaction("m1", "😮", 8, "dan2", "+draft/unreact"), "dan"));
  assert.deepEqual(chips(s, b, "m1"), ["👍carol"]);
  // of one millisecond, which came first is not known: one person, in either order
  const guest = reaction("m1", "🎉", 9, "eve");
  const logged = acct(guest, "eve");
  for (const pages of [[guest, logged], [logged, guest]]) {
    const other = joined();
    for (const line of pages) other.s.handleBatch(history("#a", [line]));
    assert.deepEqual(chips(other.s, other.b, "m1"), ["🎉eve"]);
  }
});

test("our reaction given before we logged in is still ours after, and taken back logged in", () => {
  const { s, feed, b } = joined();
  feed(said("m1", 1, "hello"), reaction("m1", "👍", 2, "me"));
  feed(":srv 900 me me!u@h me :You are now logged in as me");
  assert.deepEqual(chips(s, b, "m1"), ["👍me*"]); // drawn pressed: a press sends the unreact
  feed(acct(reaction("m1", "👍", 3, "me", "+draft/unreact"), "me")); // its echo, with our account
  assert.deepEqual(chips(s, b, "m1"), []);
});

test("history pages in any order agree with what was seen live, a login among them", () => {
  // carol reacts 👍 as a guest, becomes carol2, logs in and gives it again, takes it back;
  // then a guest takes the nick carol and reacts 👍: someone else
  const lines = [
    reaction("m1", "👍", 2, "carol"),
    nickAt("carol", "carol2", 3),
    acct(reaction("m1", "👍", 4, "carol2"), "carol"),
    acct(reaction("m1", "👍", 5, "carol2", "+draft/unreact"), "carol"),
    reaction("m1", "👍", 6, "carol"),
  ];
  const live = joined();
  live.feed(said("m1", 1, "hello"), ...lines);
  const seen = chips(live.s, live.b, "m1");
  assert.deepEqual(seen, ["👍carol"]);
  for (const order of orders(lines)) {
    const { s, b } = joined();
    s.handleBatch(history("#a", [said("m1", 1, "hello")]));
    for (const line of order) s.handleBatch(history("#a", [line]));
    assert.deepEqual(chips(s, b, "m1"), seen, order.join(" | "));
  }
  for (const line of lines) live.s.handleBatch(history("#a", [line]));
  assert.deepEqual(chips(live.s, live.b, "m1"), seen);
});

/** Every order of `items` (pages of one line each). */
function* orders(items) {
  if (items.length <= 1) {
    yield items;
    return;
  }
  for (let i = 0; i < items.length; i++) {
    for (const rest of orders([...items.slice(0, i), ...items.slice(i + 1)])) yield [items[i], ...rest];
  }
}

test("history pages in any order agree with what was seen live, nick changes among them", () => {
  // carol reacts 👍, becomes carol2, reacts ❤️ and takes her 👍 back; then someone else
  // takes the nick carol and reacts 😮 (no accounts: nicks alone say who is who)
  const lines = [
    reaction("m1", "👍", 2, "carol"),
    nickAt("carol", "carol2", 3),
    reaction("m1", "❤️", 4, "carol2"),
    reaction("m1", "👍", 5, "carol2", "+draft/unreact"),
    reaction("m1", "😮", 6, "carol"),
  ];
  const live = joined();
  live.feed(said("m1", 1, "hello"), ...lines);
  const seen = chips(live.s, live.b, "m1");
  assert.deepEqual(seen, ["❤️carol2", "😮carol"]);
  let tried = 0;
  for (const order of orders(lines)) {
    const { s, b } = joined();
    s.handleBatch(history("#a", [said("m1", 1, "hello")]));
    for (const line of order) s.handleBatch(history("#a", [line]));
    assert.deepEqual(chips(s, b, "m1"), seen, order.join(" | "));
    tried++;
  }
  assert.equal(tried, 120);
  // and after all that seen live, the same pages again change nothing
  for (const line of lines.reverse()) live.s.handleBatch(history("#a", [line]));
  assert.deepEqual(chips(live.s, live.b, "m1"), seen);
});

test("one person toggling a chip all day keeps few words, and what stands stays right", () => {
  const { s, feed, b } = joined();
  feed(said("m1", 1, "hello"), reaction("m1", "👍", 2, "bob"));
  for (let i = 0; i < 600; i++) {
    const time = `time=2024-05-01T13:00:00.${String(i).padStart(3, "0")}Z`;
    feed(`@${time};+draft/reply=m1;+draft/${i % 2 ? "unreact" : "react"}=👍 :carol!x@h TAGMSG #a`);
  }
  assert.deepEqual(chips(s, b, "m1"), ["👍bob"]); // carol's last word (599) is an unreact
  assert.ok(b.reactions.get("m1").get("👍").size <= 256);
});

test("the words that make a guest reaction an account's are kept when one emoji has too many", () => {
  const { s, feed, b } = joined();
  // carol as a guest, then logged in under her nick; then, logged in as cz, all day
  feed(said("m1", 1, "hello"), reaction("m1", "👍", 2, "carol"), acct(reaction("m1", "👍", 3, "carol"), "carol"));
  for (let i = 0; i < 600; i++) {
    const time = `time=2024-05-01T13:00:00.${String(i).padStart(3, "0")}Z`;
    feed(`@account=carol;${time};+draft/reply=m1;+draft/react=👍 :cz!x@h TAGMSG #a`);
  }
  assert.deepEqual(chips(s, b, "m1"), ["👍cz"]);
  assert.ok(b.reactions.get("m1").get("👍").size <= 256);
});

test("without echo-message our own reaction is keyed by our account, as the server's history will key it", () => {
  const { client, ws } = registered("message-tags account-tag sasl");
  ws.receive(":srv 900 alice alice!~alice@127.0.0.1 alice :You are now logged in as alice");
  const seen = [];
  client.on("message", (m) => seen.push(m));
  client.react("#a", "m1", "👍");
  assert.equal(seen.length, 1);
  assert.equal(seen[0].tags.account, "alice");
  // and a state fed both (the echo made here, the same from history) counts it once
  const s = new ChatState({ now: () => 1_000_000 });
  s.configure({ nick: "alice", fold: casemapper("ascii"), chantypes: "#" });
  s.handle(parseLine(":srv 900 alice alice!~alice@127.0.0.1 alice :You are now logged in as alice"));
  s.handle(parseLine(":alice!u@h JOIN #a"));
  s.handle(seen[0]);
  s.handleBatch(history("#a", [`@account=alice;${at(59)};+draft/reply=m1;+draft/react=👍 :alice!u@h TAGMSG #a`]));
  assert.deepEqual(chips(s, s.buffer("#a"), "m1"), ["👍alice*"]);
});
