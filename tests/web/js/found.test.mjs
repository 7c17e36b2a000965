// Going to a search result (main.js: showFound): the result's record found among what a
// conversation has loaded, and whether going further back in its history may still come
// to it (the page fetches older pages while it may, as scrolling up would).
import test from "node:test";
import assert from "node:assert/strict";
import { casemapper, parseLine, parsePrefix } from "../../../hubbub/web/js/irc.js";
import { ChatState, foundRecord, mayReachBack } from "../../../hubbub/web/js/state.js";

const stamp = (minute) => `2024-05-01T12:${String(minute).padStart(2, "0")}:00.000Z`;

function setup() {
  const s = new ChatState({ now: () => Date.parse(stamp(30)) });
  s.configure({ nick: "me", fold: casemapper("ascii"), prefix: parsePrefix("(ov)@+"), chantypes: "#" });
  return s;
}

/** A batch of PRIVMSGs to #a: [msgid or "", minute, text]. */
function batch(type, items) {
  return {
    type, params: type === "chathistory" ? ["#a"] : [], tags: {}, source: null,
    messages: items.map(([id, minute, text]) =>
      parseLine(`@${id ? `msgid=${id};` : ""}time=${stamp(minute)} :bob!b@h PRIVMSG #a :${text}`)),
  };
}

const search = (s, items) => s.searchResults(batch("soju.im/search", items));

test("a result is found by its msgid once its page of history is loaded, not before", () => {
  const s = setup();
  s.handleBatch(batch("chathistory", [["m5", 5, "five"], ["m6", 6, "six"]]));
  const b = s.buffer("#a");
  const [found] = search(s, [["m2", 2, "two"]]);
  assert.equal(found.target, "#a");
  assert.equal(foundRecord(b, found), null);
  assert.ok(mayReachBack(b, found)); // the oldest loaded (minute 5) is later than it
  s.handleBatch(batch("chathistory", [["m1", 1, "one"], ["m2", 2, "two"], ["m3", 3, "three"]]));
  const rec = foundRecord(b, found);
  assert.equal(rec.text, "two");
  assert.ok(b.messages.includes(rec)); // the buffer's own record, the one drawn
});

test("without a msgid a result is found by who said what when", () => {
  const s = setup();
  s.handleBatch(batch("chathistory", [["", 4, "same words"], ["", 5, "same words"]]));
  const [found] = search(s, [["", 5, "same words"]]);
  assert.equal(foundRecord(s.buffer("#a"), found).time, Date.parse(stamp(5)));
});

test("going back stops once the history loaded is older than the result, or the server has no more", () => {
  const s = setup();
  s.handleBatch(batch("chathistory", [["m1", 1, "one"], ["m3", 3, "three"]]));
  const b = s.buffer("#a");
  const [gone] = search(s, [["m2", 2, "deleted since"]]);
  assert.equal(foundRecord(b, gone), null);
  assert.ok(!mayReachBack(b, gone)); // minute 1 is loaded: it would have come with it
  const [older] = search(s, [["m0", 0, "older still"]]);
  assert.ok(mayReachBack(b, older));
  b.historyDone = true; // the beginning of the conversation
  assert.ok(!mayReachBack(b, older));
});

test("what an ignored person said is not among the results", () => {
  const s = setup();
  s.ignore("bob");
  assert.deepEqual(search(s, [["m2", 2, "spam"]]), []);
  s.unignore("bob");
  assert.equal(search(s, [["m2", 2, "spam"]]).length, 1);
});
