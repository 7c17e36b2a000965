// What was missed, on a return (a reload, a reconnection): the messages after the point
// read to (the server's read marker, or the time remembered in localStorage) count as
// unread and mentions, and the "New messages" line goes above the first of them until
// the conversation is read past (left for another, or spoken in).
import test from "node:test";
import assert from "node:assert/strict";
import { casemapper, parseLine, parsePrefix } from "../../../hubbub/web/js/irc.js";
import { ChatState, SERVER_KEY, firstUnread, missedBeyond } from "../../../hubbub/web/js/state.js";
import { fakeTimers } from "./fakes.mjs";

const at = (minute) => Date.parse(`2024-05-01T12:${String(minute).padStart(2, "0")}:00.000Z`);
const stamp = (minute) => new Date(at(minute)).toISOString();

/** A page starting with `seen` remembered (key -> minute), looking at the server buffer. */
function page({ seen = {}, nick = "me" } = {}) {
  const clock = fakeTimers();
  clock.now = at(30);
  const s = new ChatState({ now: () => clock.now });
  for (const [key, minute] of Object.entries(seen)) s.seenBefore.set(key, at(minute));
  s.configure({ nick, fold: casemapper("ascii"), prefix: parsePrefix("(ov)@+"), chantypes: "#" });
  const events = [];
  s.subscribe((e) => events.push(e));
  const feed = (...lines) => lines.forEach((l) => s.handle(parseLine(l)));
  const join = (channel, minute = 20) => feed(`@time=${stamp(minute)} :me!u@h JOIN ${channel}`, `:srv 366 me ${channel} :End`);
  return { s, feed, join, events, clock };
}

/** A chathistory batch: [msgid, minute, text, nick]. */
function history(target, items) {
  return {
    type: "chathistory", params: [target], tags: {}, source: null,
    messages: items.map(([id, minute, text, nick = "bob"]) =>
      parseLine(`@msgid=${id};time=${stamp(minute)} :${nick}!b@h PRIVMSG ${target} :${text}`)),
  };
}

const MISSED = [["a1", 1, "old"], ["a2", 2, "read before"], ["a3", 3, "new one"], ["a4", 4, "hey me, look"], ["a5", 5, "new three"]];

test("after a reload, the history after the point remembered is unread, mentions included", () => {
  const { s, join } = page({ seen: { "#a": 2 } });
  join("#a");
  s.handleBatch(history("#a", MISSED));
  const b = s.buffer("#a");
  assert.equal(b.unread, 3);
  assert.equal(b.mentions, 1);
  assert.ok(b.messages.find((r) => r.msgid === "a4").mention, "the mention is highlighted");
  assert.equal(firstUnread(b).msgid, "a3");
  assert.equal(s.pageTitle(), "(1) Server · hubbub");
  // the same lines again (the autoreplay, then CHATHISTORY LATEST) are not counted twice
  s.handleBatch(history("#a", MISSED));
  assert.equal(b.unread, 3);
});

test("the server's read marker, when later than the page's own point, says what is new", () => {
  const { s, feed, join } = page({ seen: { "#a": 1 } });
  join("#a");
  feed(`:srv MARKREAD #a timestamp=${stamp(3)}`);
  s.handleBatch(history("#a", MISSED));
  const b = s.buffer("#a");
  assert.equal(b.unread, 2);
  assert.equal(firstUnread(b).msgid, "a4");
});

test("a read marker alone (a new browser, an account) is enough", () => {
  const { s, feed, join } = page();
  join("#a");
  feed(`:srv MARKREAD #a timestamp=${stamp(4)}`);
  s.handleBatch(history("#a", MISSED));
  assert.equal(s.buffer("#a").unread, 1);
  assert.equal(firstUnread(s.buffer("#a")).msgid, "a5");
});

test("with no point known, history is not news and there is no line", () => {
  const { s, feed, join } = page();
  join("#a");
  feed(":srv MARKREAD #a *");
  s.handleBatch(history("#a", MISSED));
  assert.equal(s.buffer("#a").unread, 0);
  assert.equal(firstUnread(s.buffer("#a")), null);
});

test("a message of ours said after the point (elsewhere) was said having read what came before", () => {
  const { s, join } = page({ seen: { "#a": 1 } });
  join("#a");
  s.handleBatch(history("#a", [...MISSED.slice(0, 3), ["m1", 3, "on my phone", "me"], ...MISSED.slice(3)]));
  assert.equal(s.buffer("#a").unread, 2);
  assert.equal(firstUnread(s.buffer("#a")).msgid, "a4");
});

test("the line stays in the conversation looked at, uncounted, until it is left for another", () => {
  const { s, join, events } = page({ seen: { "#a": 2, "#b": 0 } });
  join("#a");
  join("#b");
  s.setActive("#a");
  s.handleBatch(history("#a", MISSED));
  const b = s.buffer("#a");
  assert.equal(b.unread, 0, "looked at: nothing unread");
  assert.equal(firstUnread(b).msgid, "a3", "but the line shows where the news starts");
  s.setActive("#a"); // shown again: still there
  assert.equal(firstUnread(b).msgid, "a3");
  events.length = 0;
  s.setActive("#b");
  assert.equal(firstUnread(b), null);
  assert.ok(events.some((e) => e.type === "divider" && e.key === "#a"));
  s.setActive("#a");
  assert.equal(firstUnread(b), null, "back again: read past");
});

test("speaking in the conversation reads past the line", () => {
  const { s, feed, join } = page({ seen: { "#a": 2 } });
  join("#a");
  s.setActive("#a");
  s.handleBatch(history("#a", MISSED));
  assert.ok(firstUnread(s.buffer("#a")));
  feed(`@time=${stamp(31)} :me!u@h PRIVMSG #a :hello all`);
  assert.equal(firstUnread(s.buffer("#a")), null);
});

test("looking at a conversation remembers the newest message seen, and only while looking", () => {
  const { s, feed, join, events } = page();
  join("#a");
  join("#b");
  s.setActive("#a");
  feed(`@msgid=x1;time=${stamp(21)} :bob!b@h PRIVMSG #a :seen`, `@msgid=x2;time=${stamp(22)} :bob!b@h PRIVMSG #b :not seen`);
  assert.equal(s.seenBefore.get("#a"), at(21));
  assert.equal(s.buffer("#b").seen, 0);
  assert.ok(events.some((e) => e.type === "seen" && e.key === "#a"));
  s.setFocused(false);
  feed(`@msgid=x3;time=${stamp(23)} :bob!b@h PRIVMSG #a :in the background`);
  assert.equal(s.seenBefore.get("#a"), at(21));
  s.setFocused(true);
  assert.equal(s.seenBefore.get("#a"), at(23));
});

test("after a reconnection, what was missed is unread, with the line above it", () => {
  const { s, feed, join } = page();
  join("#a");
  join("#b");
  s.setActive("#a");
  feed(`@msgid=r1;time=${stamp(21)} :bob!b@h PRIVMSG #a :before the drop`);
  feed(`@msgid=r2;time=${stamp(21)} :bob!b@h PRIVMSG #b :before the drop`);
  s.setActive("#b"); // #a read up to r1, #b up to r2
  s.setActive(SERVER_KEY);
  s.setConnection({ status: "waiting" });
  s.setConnection({ status: "registered" });
  join("#a", 25);
  join("#b", 25);
  s.handleBatch(history("#a", [["r1", 21, "before the drop"], ["r3", 23, "missed, me"], ["r4", 24, "missed too"]]));
  const a = s.buffer("#a");
  assert.equal(a.unread, 2);
  assert.equal(a.mentions, 1);
  assert.equal(firstUnread(a).msgid, "r3");
  assert.equal(firstUnread(s.buffer("#b")), null, "nothing missed there");
});

test("a return that missed nothing where the person looks keeps no point read to; one that missed something keeps it", () => {
  const { s, join } = page({ seen: { "#a": 5, "#b": 2, "#c": 5 } });
  join("#a");
  join("#b");
  join("#c");
  s.setActive("#a");
  const a = s.buffer("#a");
  const b = s.buffer("#b");
  const c = s.buffer("#c");
  s.settle(a); // what it missed is not fetched yet
  assert.equal(a.unreadAfter, at(5));
  s.handleBatch(history("#a", MISSED)); // nothing after minute 5
  s.caughtUpWith(a);
  assert.equal(a.unreadAfter, null, "the next live line is seen as it comes");
  s.handleBatch(history("#b", MISSED));
  s.caughtUpWith(b); // not looked at: its line waits
  assert.equal(b.unreadAfter, at(2));
  s.setActive("#b"); // looked at, and it missed something: the line stays
  assert.equal(firstUnread(b).msgid, "a3");
  s.handleBatch(history("#c", MISSED));
  s.caughtUpWith(c);
  s.setFocused(false);
  s.setActive("#c"); // shown on a page not looked at: not yet
  assert.equal(c.unreadAfter, at(5));
  s.setFocused(true); // looked at, and it missed nothing
  assert.equal(c.unreadAfter, null);
});

test("more missed than fetched: the line stays above the oldest the return fetched while older pages load", () => {
  const { s, join } = page({ seen: { "#a": 2 } });
  join("#a");
  s.setActive("#b");
  const b = s.buffer("#a");
  s.handleBatch(history("#a", [["m8", 8, "eight"], ["m9", 9, "nine"], ["m10", 10, "ten"]]));
  s.missedMoreThanFetched(b, at(8));
  assert.equal(firstUnread(b).msgid, "m8");
  assert.equal(missedBeyond(b), 3);
  s.handleBatch(history("#a", [["m5", 5, "five"], ["m6", 6, "six"], ["m7", 7, "seven"]])); // scroll-back, one page
  assert.equal(firstUnread(b).msgid, "m8", "the line has not climbed");
  assert.equal(missedBeyond(b), 3, "nor has its count grown");
  s.handleBatch(history("#a", [["m2", 2, "read before"], ["m3", 3, "new one"], ["m4", 4, "four"]])); // the point read to
  assert.equal(firstUnread(b).msgid, "m3", "now above the first missed");
  assert.equal(missedBeyond(b), 0);
});

test("a read marker moved past everything after the catch-up lets the point read to go, where the person looks", () => {
  const { s, feed, join } = page({ seen: { "#a": 2 } });
  join("#a");
  s.setActive("#a");
  const a = s.buffer("#a");
  s.handleBatch(history("#a", MISSED));
  s.caughtUpWith(a);
  assert.equal(firstUnread(a).msgid, "a3"); // missed: the line stays
  feed(`:srv MARKREAD #a timestamp=${stamp(5)}`); // read on another device, up to the newest
  assert.equal(a.unreadAfter, null, "the next live line is seen as it comes");
});

test("a line our account said from another device (another nick) is ours: not unread, and read past", () => {
  const { s, feed } = page({ seen: { dirk: 2 } });
  feed(":srv 900 me me!u@h cleo :You are now logged in as cleo");
  const line = (id, minute, nick, account, text) =>
    parseLine(`@msgid=${id};time=${stamp(minute)};account=${account} :${nick}!u@h PRIVMSG ${nick === "dirk" ? "me" : "dirk"} :${text}`);
  s.ensureBuffer("dirk");
  s.handleBatch({ type: "chathistory", params: ["dirk"], tags: {}, source: null, messages: [
    line("d1", 3, "cleoirc", "cleo", "hi dirk, from my phone"),
    line("d2", 4, "dirk", "dirk", "hi cleo"),
    line("d3", 5, "cleoirc", "cleo", "see you"),
  ] });
  const b = s.buffer("dirk");
  assert.deepEqual(b.messages.filter((r) => r.kind === "message").map((r) => r.self), [true, false, true]);
  assert.equal(b.unread, 0, "answered after dirk's line: read");
  assert.equal(firstUnread(b), null);
});
