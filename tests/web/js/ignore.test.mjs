// /ignore: wildcard masks, what they name, what is hidden, and the server's list (SILENCE)
// that /ignore and /silence keep.
import test from "node:test";
import assert from "node:assert/strict";
import { casemapper, parseLine, parsePrefix } from "../../../hubbub/web/js/irc.js";
import { fullMask, maskMatches, wildcardMatch } from "../../../hubbub/web/js/ignore.js";
import { ChatState, SERVER_KEY } from "../../../hubbub/web/js/state.js";
import { runInput } from "../../../hubbub/web/js/commands.js";

const fold = casemapper("rfc1459");
const bob = { nick: "Bob", user: "~bob", host: "evil.example" };

test("* is any run of characters, ? one, and the whole text must match", () => {
  assert.ok(wildcardMatch("bob", "bob"));
  assert.ok(wildcardMatch("b*", "bob"));
  assert.ok(wildcardMatch("*b", "bob"));
  assert.ok(wildcardMatch("b?b", "bob"));
  assert.ok(wildcardMatch("*", ""));
  assert.ok(wildcardMatch("a*b*c", "aXbYbZc"));
  assert.ok(!wildcardMatch("bo", "bob"));
  assert.ok(!wildcardMatch("b?", "bob"));
  assert.ok(!wildcardMatch("a*b*c", "aXbYcZ"));
  assert.ok(!wildcardMatch("?", ""));
});

test("many stars against a long text that never matches: answered at once, no backtracking blow-up", () => {
  assert.ok(!wildcardMatch(`${"*a".repeat(30)}*b`, "a".repeat(400)));
});

test("a mask is completed as the server completes a SILENCE entry", () => {
  assert.equal(fullMask("bob"), "bob!*@*");
  assert.equal(fullMask("*@evil.example"), "*!*@evil.example");
  assert.equal(fullMask("bob!~bob"), "bob!~bob@*");
  assert.equal(fullMask("!x@h"), "*!x@h");
  assert.equal(fullMask("bob!~bob@evil.example"), "bob!~bob@evil.example");
  assert.equal(fullMask("a:mallory"), "a:mallory");
});

test("a nick (wildcards allowed) names the nick; a mask names nick!user@host; case folded as the server says", () => {
  assert.ok(maskMatches("bob", bob, fold));
  assert.ok(maskMatches("BO*", bob, fold));
  assert.ok(!maskMatches("bobby", bob, fold));
  assert.ok(!maskMatches("evil*", bob, fold)); // a nick is not matched against the host
  assert.ok(maskMatches("*!*@evil.example", bob, fold));
  assert.ok(maskMatches("*@*.EXAMPLE", bob, fold));
  assert.ok(maskMatches("bob!~bob", bob, fold)); // bob!~bob@*
  assert.ok(!maskMatches("*!*@good.example", bob, fold));
  assert.ok(maskMatches("bob[m]", { nick: "Bob{M}", user: "u", host: "h" }, fold)); // rfc1459: [] are {}
  assert.ok(!maskMatches("*!*@*", { nick: "bob", user: "", host: "" }, fold)); // no mask known
});

function setup({ silence = "32" } = {}) {
  const s = new ChatState();
  const isupport = new Map(silence === null ? [] : [["SILENCE", silence]]);
  s.configure({ nick: "me", fold: casemapper("ascii"), prefix: parsePrefix("(ov)@+"), chantypes: "#", isupport });
  const feed = (...lines) => lines.forEach((l) => s.handle(parseLine(l)));
  feed(":me!u@h JOIN #a");
  s.setActive("#a");
  const sent = [];
  const client = { send: (m) => sent.push(m), say: () => true };
  const ui = new Proxy({}, { get: () => () => {} });
  return { s, feed, sent, ctx: { client, state: s, ui } };
}

const shown = (b) => b.messages.map((r) => r.text);
const last = (s) => s.activeBuffer.messages.at(-1);

test("an ignored person's messages, private messages, notices, typing, reactions and invites are not shown", () => {
  const { s, feed, ctx } = setup();
  runInput(ctx, "/ignore bob");
  feed(":bob!b@h PRIVMSG #a :in the channel", ":carol!c@h PRIVMSG #a :carol talks");
  feed(":bob!b@h PRIVMSG me :privately", ":bob!b@h NOTICE me :a notice");
  feed("@+typing=active :bob!b@h TAGMSG #a", ":bob!b@h INVITE me #trap");
  assert.deepEqual(shown(s.buffer("#a")).slice(-1), ["carol talks"]);
  assert.ok(!shown(s.buffer("#a")).includes("in the channel"));
  assert.equal(s.buffer("bob"), null); // no conversation opened
  assert.deepEqual(s.typingNicks("#a"), []);
  assert.ok(!s.buffers.get(SERVER_KEY).messages.some((r) => /trap|a notice/.test(r.text)));
  // from history too: their messages and their reactions
  s.handleBatch({
    type: "chathistory", params: ["#a"], tags: {}, source: null,
    messages: [
      parseLine("@msgid=1;time=2024-05-01T12:00:00.000Z :carol!c@h PRIVMSG #a :earlier"),
      parseLine("@msgid=2;time=2024-05-01T12:01:00.000Z :bob!b@h PRIVMSG #a :bob earlier"),
      parseLine("@msgid=3;time=2024-05-01T12:02:00.000Z;+draft/reply=1;+draft/react=👍 :bob!b@h TAGMSG #a"),
    ],
  });
  assert.ok(shown(s.buffer("#a")).includes("earlier"));
  assert.ok(!shown(s.buffer("#a")).includes("bob earlier"));
  assert.deepEqual(s.reactionsTo(s.buffer("#a"), "1"), []);
  // our own lines are never hidden, even matching a mask
  runInput(ctx, "/ignore *");
  feed(":me!u@h PRIVMSG #a :mine");
  assert.equal(last(s).text, "mine");
});

test("/ignore and /unignore keep the list, say so, and change the server's list quietly", () => {
  const { s, feed, sent, ctx } = setup();
  runInput(ctx, "/ignore");
  assert.equal(last(s).text, "Ignoring: nobody. /unignore to stop.");
  runInput(ctx, "/ignore Bob");
  assert.match(last(s).text, /^Ignoring Bob: their messages are hidden, and their private messages, notices and invites are stopped at the server\./);
  assert.deepEqual(sent, [{ command: "SILENCE", params: ["+Bob"] }]);
  feed(":me!u@h SILENCE +Bob!*@*"); // the server's answer: not said again
  assert.match(last(s).text, /^Ignoring Bob/);
  runInput(ctx, "/ignore bob");
  assert.equal(last(s).text, "bob is already ignored.");
  runInput(ctx, "/ignore *!*@evil.example");
  runInput(ctx, "/ignore");
  assert.equal(last(s).text, "Ignoring: Bob, *!*@evil.example. /unignore to stop.");
  sent.length = 0;
  runInput(ctx, "/unignore BOB");
  assert.equal(last(s).text, "No longer ignoring BOB.");
  assert.deepEqual(sent, [{ command: "SILENCE", params: ["-BOB"] }]);
  feed(":srv FAIL SILENCE NO_SUCH_ENTRY BOB!*@* :That mask is not on your silence list"); // it was full, say
  assert.equal(last(s).text, "No longer ignoring BOB.");
  runInput(ctx, "/unignore bob");
  assert.equal(last(s).kind, "error");
  assert.equal(last(s).text, "bob was not ignored.");
  assert.deepEqual(s.ignores, ["*!*@evil.example"]);
});

test("on a server without SILENCE, /ignore hides here only and /silence says there is none", () => {
  const { s, sent, ctx } = setup({ silence: null });
  runInput(ctx, "/ignore bob");
  assert.equal(last(s).text, "Ignoring bob: their messages are hidden. /unignore bob to see them again.");
  runInput(ctx, "/silence");
  assert.equal(last(s).kind, "error");
  assert.deepEqual(sent, []);
});

test("/silence: the server's list in one line, its changes and its errors said where the person is", () => {
  const { s, feed, sent, ctx } = setup();
  runInput(ctx, "/silence +spam*");
  runInput(ctx, "/silence");
  assert.deepEqual(sent, [{ command: "SILENCE", params: ["+spam*"] }, { command: "SILENCE", params: [] }]);
  feed(":me!u@h SILENCE +spam*!*@*");
  assert.equal(last(s).text, "Silenced at the server: spam*!*@* (their private messages, notices and invites do not reach you)");
  feed(":srv 271 me me spam*!*@*", ":srv 271 me me a:mallory", ":srv 272 me :End of Silence List");
  assert.equal(last(s).text, "Silenced at the server (2 of 32): spam*!*@*, a:mallory. /silence -mask takes one off.");
  feed(":me!u@h SILENCE -spam*!*@*");
  assert.equal(last(s).text, "No longer silenced at the server: spam*!*@*");
  feed(":srv 272 me :End of Silence List");
  assert.equal(last(s).text, "Nobody is silenced at the server. /silence +mask (or /ignore) adds someone.");
  feed(":srv 511 me x!*@* :Your silence list is full");
  assert.equal(last(s).kind, "error");
  assert.match(last(s).text, /^Your server-side ignore list is full \(32 masks\): x!\*@\* is not silenced at the server/);
  feed(":srv FAIL SILENCE INVALID_MASK m:x :a SILENCE mask is nick!user@host or a:account, not m:");
  assert.equal(last(s).kind, "error");
  assert.match(last(s).text, /not m:$/);
  feed(":srv 461 me SILENCE :Not enough parameters");
  assert.deepEqual([last(s).kind, last(s).text], ["error", "SILENCE: Not enough parameters"]);
});

test("a new connection's server list starts empty: what was quiet on the last one is forgotten", () => {
  const { s, feed, ctx } = setup();
  runInput(ctx, "/ignore bob"); // its answer never came
  s.setConnection({ status: "waiting" });
  s.setConnection({ status: "registered" });
  runInput(ctx, "/silence +bob");
  feed(":me!u@h SILENCE +bob!*@*");
  assert.match(last(s).text, /^Silenced at the server: bob!\*@\*/);
});
