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
