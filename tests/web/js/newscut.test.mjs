// A bulk drawing (a conversation redrawn) holds back the live lines that came since the
// last drawing, to add them once it is drawn, read out: up to NEWS_MAX of them; more are
// a backlog, drawn with the rest and not read out.
import test from "node:test";
import assert from "node:assert/strict";
import { NEWS_MAX, newsCut } from "../../../hubbub/web/js/messagelist.js";

/** A buffer of `old` lines already drawn and `news` live lines after them. */
function buffer(old, news, base = 0) {
  const messages = [];
  for (let i = 0; i < old; i++) messages.push({ seq: i + 1, news: false });
  for (let i = 0; i < news; i++) messages.push({ seq: old + i + 1, news: true });
  return { base, end: base + messages.length, at: (index) => messages[index - base] };
}
const isNews = (rec) => rec.news;

test("ten new lines are news, held back to be read out", () => {
  assert.equal(NEWS_MAX, 10);
  const b = buffer(30, 10, 5);
  assert.equal(newsCut(b, isNews), b.end - 10);
});

test("eleven new lines are a backlog: nothing is held back", () => {
  const b = buffer(30, 11, 5);
  assert.equal(newsCut(b, isNews), b.end);
});

test("a few new lines are news; none, nothing is held back", () => {
  const b = buffer(30, 3);
  assert.equal(newsCut(b, isNews), b.end - 3);
  assert.equal(newsCut(buffer(30, 0), isNews), 30);
});

test("a conversation of new lines alone: ten are news, eleven a backlog", () => {
  assert.equal(newsCut(buffer(0, 10, 7), isNews), 7);
  const b = buffer(0, 11, 7);
  assert.equal(newsCut(b, isNews), b.end);
  assert.equal(newsCut(buffer(0, 0, 7), isNews), 7);
});
