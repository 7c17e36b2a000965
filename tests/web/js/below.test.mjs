// New messages below the window scrolled up: counted, and told to a screen reader by
// count, a burst as one announcement, one conversation at most once every GAP_MS.
import test from "node:test";
import assert from "node:assert/strict";
import { GAP_MS, NewsBelow, SETTLE_MS, belowWords, countWords } from "../../../hubbub/web/js/below.js";
import { fakeTimers } from "./fakes.mjs";

const LOBBY = { name: "#lobby", privately: false };
const said = (nick, text = "hi", more = {}) => ({ kind: "message", nick, text, self: false, ...more });

function below() {
  const clock = fakeTimers();
  const told = [];
  const news = new NewsBelow((words) => told.push(words), {
    setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout, now: () => clock.now,
  });
  return { news, told, clock };
}

test("the words: one message names who said it, more are counted; a private one is named after the person", () => {
  assert.equal(belowWords(1, { ...LOBBY, nick: "bob" }), "New message from bob in #lobby below");
  assert.equal(belowWords(3, { ...LOBBY, nick: "bob" }), "3 new messages in #lobby below");
  assert.equal(belowWords(1, { name: "bob", privately: true, nick: "bob" }), "New message from bob below");
  assert.equal(belowWords(4, { name: "bob", privately: true, nick: "bob" }), "4 new messages from bob below");
  assert.equal(countWords(1), "1 new message");
  assert.equal(countWords(12), "12 new messages");
});

test("a burst is told once, by count, once it has settled", () => {
  const { news, told, clock } = below();
  news.arrived("#lobby", [said("bob", "one")], LOBBY);
  clock.advance(100);
  news.arrived("#lobby", [said("carol", "two"), said("bob", "three")], LOBBY);
  news.arrived("#lobby", [said("bob", "four"), said("dave", "five")], LOBBY);
  assert.deepEqual(told, []); // not line by line
  assert.equal(news.count("#lobby"), 5);
  clock.advance(SETTLE_MS);
  assert.deepEqual(told, ["5 new messages in #lobby below"]);
  clock.advance(10 * GAP_MS);
  assert.deepEqual(told, ["5 new messages in #lobby below"]); // once
});

test("a single line names its author", () => {
  const { news, told, clock } = below();
  news.arrived("#lobby", [said("bob")], LOBBY);
  clock.advance(SETTLE_MS);
  assert.deepEqual(told, ["New message from bob in #lobby below"]);
});

test("more lines are told at most once every GAP_MS, with the count brought up to date", () => {
  const { news, told, clock } = below();
  news.arrived("#lobby", [said("bob")], LOBBY);
  clock.advance(SETTLE_MS);
  for (let i = 0; i < 20; i++) {
    clock.advance(200);
    news.arrived("#lobby", [said("carol")], LOBBY);
  }
  assert.deepEqual(told, ["New message from bob in #lobby below"]); // 4 s later: not yet
  clock.advance(GAP_MS);
  assert.deepEqual(told, ["New message from bob in #lobby below", "21 new messages in #lobby below"]);
  clock.advance(10 * GAP_MS);
  assert.equal(told.length, 2);
});

test("joins and parts, one's own lines and history are counted for nothing or not told", () => {
  const { news, told, clock } = below();
  news.arrived("#lobby", [
    { kind: "join", nick: "erin", self: false },
    { kind: "quit", nick: "erin", self: false, text: "bye" },
    said("alice", "from my other device", { self: true }),
  ], LOBBY);
  clock.advance(10 * GAP_MS);
  assert.equal(news.count("#lobby"), 0);
  // History fetched below (missed while away) is counted, not told by itself...
  news.arrived("#lobby", [said("bob", "old", { history: true }), said("bob", "older", { history: true })], LOBBY);
  clock.advance(10 * GAP_MS);
  assert.equal(news.count("#lobby"), 2);
  assert.deepEqual(told, []);
  // ...and a live line after it tells all that is below.
  news.arrived("#lobby", [said("carol", "now")], LOBBY);
  clock.advance(SETTLE_MS);
  assert.deepEqual(told, ["3 new messages in #lobby below"]);
});

test("back at the bottom, nothing waiting is told, and the count starts again", () => {
  const { news, told, clock } = below();
  news.arrived("#lobby", [said("bob"), said("bob")], LOBBY);
  clock.advance(SETTLE_MS / 2);
  news.clear("#lobby");
  clock.advance(10 * GAP_MS);
  assert.deepEqual(told, []);
  assert.equal(news.count("#lobby"), 0);
  news.arrived("#lobby", [said("carol")], LOBBY);
  clock.advance(SETTLE_MS);
  assert.deepEqual(told, ["New message from carol in #lobby below"]);
});

test("scrolling down and up again does not make one conversation say more often", () => {
  const { news, told, clock } = below();
  news.arrived("#lobby", [said("bob")], LOBBY);
  clock.advance(SETTLE_MS);
  news.clear("#lobby");
  clock.advance(100);
  news.arrived("#lobby", [said("carol")], LOBBY);
  clock.advance(SETTLE_MS);
  assert.equal(told.length, 1);
  clock.advance(GAP_MS);
  assert.deepEqual(told, ["New message from bob in #lobby below", "New message from carol in #lobby below"]);
});

test("each conversation is told on its own", () => {
  const { news, told, clock } = below();
  news.arrived("#lobby", [said("bob")], LOBBY);
  clock.advance(SETTLE_MS);
  news.clear("#lobby"); // switched away
  news.arrived("bob", [said("bob"), said("bob")], { name: "bob", privately: true });
  clock.advance(SETTLE_MS);
  assert.deepEqual(told, ["New message from bob in #lobby below", "2 new messages from bob below"]);
});

test("missed lines under a conversation opened at its line are counted, told only with a line after them", () => {
  const { news, told, clock } = below();
  news.waiting("#lobby", [said("bob", "missed"), said("carol", "missed too"), { kind: "join", nick: "erin", self: false }], LOBBY);
  clock.advance(10 * GAP_MS);
  assert.equal(news.count("#lobby"), 2);
  assert.deepEqual(told, []); // live or not: what one came back to is not news below
  news.arrived("#lobby", [said("dave", "now")], LOBBY);
  clock.advance(SETTLE_MS);
  assert.deepEqual(told, ["3 new messages in #lobby below"]);
});

test("gone to the line again, what is below is the count: lines counted below before are not counted twice", () => {
  const { news, told, clock } = below();
  const later = said("dave", "said below");
  news.arrived("#lobby", [later], LOBBY);
  news.waiting("#lobby", [said("bob", "missed"), said("carol", "missed too"), later], LOBBY);
  assert.equal(news.count("#lobby"), 3);
  clock.advance(SETTLE_MS);
  assert.deepEqual(told, ["3 new messages in #lobby below"]); // the line said below tells them all
  news.waiting("#lobby", [said("carol", "missed too"), later], LOBBY); // less of it under the window
  assert.equal(news.count("#lobby"), 2);
  clock.advance(10 * GAP_MS);
  assert.equal(told.length, 1); // not told by itself
  news.arrived("#lobby", [said("erin", "now")], LOBBY);
  clock.advance(SETTLE_MS);
  assert.deepEqual(told.slice(1), ["3 new messages in #lobby below"]); // grown again: told
});

test("scrolled down through what was counted, the count is what is still below; what was in view is not counted again", () => {
  const { news, told, clock } = below();
  const lines = [said("bob", "1"), said("carol", "2"), said("bob", "3"), said("dave", "4")];
  const join = { kind: "join", nick: "erin", self: false };
  news.arrived("#lobby", [...lines, join], LOBBY);
  assert.equal(news.scrolled("#lobby", [...lines, join]), false); // nothing read yet
  assert.equal(news.scrolled("#lobby", [lines[2], lines[3], join]), true);
  assert.equal(news.count("#lobby"), 2);
  assert.equal(news.scrolled("#lobby", [...lines, join]), false); // back up: read already
  assert.equal(news.count("#lobby"), 2);
  clock.advance(SETTLE_MS);
  assert.deepEqual(told, ["2 new messages in #lobby below"]); // what is still below, when told
  assert.equal(news.scrolled("#lobby", [join]), true); // all of them in view
  assert.equal(news.count("#lobby"), 0);
  news.arrived("#lobby", [said("erin", "5")], LOBBY);
  clock.advance(GAP_MS);
  assert.deepEqual(told.slice(1), ["New message from erin in #lobby below"]); // told again as it grows
  assert.equal(news.scrolled("#other", []), false); // nothing counted there
});
