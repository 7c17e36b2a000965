import { test } from "node:test";
import assert from "node:assert/strict";
import { BODY_CHARS, notification, notifyStatus } from "../../../hubbub/web/js/notify.js";

const channel = { kind: "channel", key: "#dev" };
const query = { kind: "query", key: "carol" };
const away = { enabled: true, permission: "granted", focused: false, name: "#dev" };
const line = (fields) => ({ kind: "message", nick: "carol", text: "alice: lunch?", self: false, mention: true, ...fields });

test("a mention in a channel, or any private line, while the page is not in front", () => {
  assert.deepEqual(notification(line(), channel, away), { title: "carol in #dev", body: "alice: lunch?", tag: "#dev" });
  assert.deepEqual(notification(line({ mention: false, text: "are you there?" }), query, { ...away, name: "carol" }),
    { title: "carol", body: "are you there?", tag: "carol" });
  assert.equal(notification(line({ kind: "action", text: "waves at alice" }), channel, away).body, "* carol waves at alice");
});

test("nothing in front of the person, nothing not asked for or not allowed, nothing of theirs", () => {
  assert.equal(notification(line(), channel, { ...away, focused: true }), null);
  assert.equal(notification(line(), channel, { ...away, enabled: false }), null);
  for (const permission of ["default", "denied", "unsupported"]) {
    assert.equal(notification(line(), channel, { ...away, permission }), null);
  }
  assert.equal(notification(line({ self: true }), query, away), null); // said from another device
  assert.equal(notification(line({ mention: false }), channel, away), null); // channel talk
  assert.equal(notification(line({ kind: "notice" }), query, away), null); // a service's, a bot's
});

test("formatting goes, a long line is cut", () => {
  assert.equal(notification(line({ text: "\x02alice\x02: \x0304red\x03 alert" }), channel, away).body, "alice: red alert");
  const body = notification(line({ text: `alice ${"x".repeat(500)}` }), channel, away).body;
  assert.equal(body.length, BODY_CHARS);
  assert.ok(body.endsWith("…"));
});

test("/notify says where things stand, and what to do", () => {
  assert.match(notifyStatus(true, "granted"), /are on/);
  assert.match(notifyStatus(false, "granted"), /are off\. \/notify on/);
  assert.match(notifyStatus(true, "default"), /are off/); // asked, not answered yet
  assert.match(notifyStatus(true, "denied"), /blocked for this site/);
  assert.match(notifyStatus(true, "unsupported"), /cannot show/);
});
