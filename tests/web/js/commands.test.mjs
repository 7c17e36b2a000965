// Slash commands against a fake client, and Tab completion.
import test from "node:test";
import assert from "node:assert/strict";
import { casemapper, parseLine, parsePrefix } from "../../../hubbub/web/js/irc.js";
import { ChatState } from "../../../hubbub/web/js/state.js";
import { completions, parseInput, runInput, wordBefore } from "../../../hubbub/web/js/commands.js";

function context() {
  const state = new ChatState();
  state.configure({ nick: "me", fold: casemapper("ascii"), prefix: parsePrefix("(ov)@+"), chantypes: "#" });
  state.handle(parseLine(":me!u@h JOIN #a"));
  state.setActive("#a");
  const sent = [];
  const said = [];
  const calls = [];
  const client = {
    send: (m) => sent.push(m),
    say: (target, text, options = {}) => (said.push([target, text, options]), true),
  };
  const ui = new Proxy({}, { get: (_, name) => (...args) => calls.push([name, ...args]) });
  return { ctx: { client, state, ui }, sent, said, calls, state };
}

test("parseInput tells commands from text; // escapes a leading slash", () => {
  assert.deepEqual(parseInput("hello"), { text: "hello" });
  assert.deepEqual(parseInput("//not a command"), { text: "/not a command" });
  assert.deepEqual(parseInput("/JOIN #a key"), { command: "join", args: "#a key" });
  assert.deepEqual(parseInput("/me  waves  twice"), { command: "me", args: " waves  twice" });
});

test("text goes to the current buffer", () => {
  const { ctx, said } = context();
  runInput(ctx, "hello there");
  assert.deepEqual(said, [["#a", "hello there", {}]]);
});

test("in a channel left or kicked from, text and /me are not sent: the person is told how to come back", () => {
  const { ctx, said, state } = context();
  state.handle(parseLine(":op!o@h KICK #a me :out"));
  assert.equal(runInput(ctx, "still here?"), false);
  runInput(ctx, "/me waves");
  assert.deepEqual(said, []);
  const last = state.activeBuffer.messages.at(-1);
  assert.equal(last.text, "You are not in #a: /join #a to come back.");
  state.handle(parseLine(":me!u@h JOIN #a"));
  runInput(ctx, "back");
  assert.deepEqual(said, [["#a", "back", {}]]);
});

test("/join adds the # and asks to switch when the JOIN arrives", () => {
  const { ctx, sent, calls } = context();
  runInput(ctx, "/join lobby,#b");
  assert.deepEqual(sent, [{ command: "JOIN", params: ["#lobby,#b"] }]);
  assert.deepEqual(calls, [["expectJoin", "#lobby"]]);
});

test("/join with keys hands them over, to rejoin with later", () => {
  const { ctx, sent, calls } = context();
  runInput(ctx, "/join #vault,#safe sesame,open");
  assert.deepEqual(sent, [{ command: "JOIN", params: ["#vault,#safe", "sesame,open"] }]);
  assert.deepEqual(calls, [["expectJoin", "#vault"], ["keysGiven", ["#vault", "#safe"], ["sesame", "open"]]]);
});

test("/part, /topic and /kick default to the current channel", () => {
  const { ctx, sent } = context();
  runInput(ctx, "/part see you");
  runInput(ctx, "/topic a new topic");
  runInput(ctx, "/kick bob too loud");
  runInput(ctx, "/kick carol   "); // spaces alone are no reason
  assert.deepEqual(sent, [
    { command: "PART", params: ["#a", "see you"] },
    { command: "TOPIC", params: ["#a", "a new topic"] },
    { command: "KICK", params: ["#a", "bob", "too loud"] },
    { command: "KICK", params: ["#a", "carol"] },
  ]);
});

test("/msg to a nick opens the conversation; /me is an action", () => {
  const { ctx, said, calls, state } = context();
  runInput(ctx, "/msg Bob hi  there");
  runInput(ctx, "/me waves");
  assert.ok(state.buffer("bob"));
  assert.deepEqual(calls, [["switchTo", "bob"]]);
  assert.deepEqual(said, [["Bob", "hi  there", {}], ["#a", "waves", { action: true }]]);
});

test("/away and /back keep what the person wants, sent or not: a new connection is told it", () => {
  const { ctx } = context();
  assert.equal(ctx.state.awayText, null);
  runInput(ctx, "/away gone to lunch");
  assert.equal(ctx.state.awayText, "gone to lunch");
  ctx.client.send = () => false; // disconnected: nothing goes out
  runInput(ctx, "/back");
  assert.equal(ctx.state.awayText, null); // not away again on the next connection
  runInput(ctx, "/away");
  assert.equal(ctx.state.awayText, null); // /away alone is back too
});

test("/nick, /away, /whois, /quote, /quit", () => {
  const { ctx, sent, calls } = context();
  runInput(ctx, "/nick newme");
  runInput(ctx, "/away lunch");
  runInput(ctx, "/away");
  runInput(ctx, "/whois bob");
  runInput(ctx, "/quote PRIVMSG #a :raw");
  runInput(ctx, "/quit bye");
  assert.deepEqual(sent, [
    { command: "NICK", params: ["newme"] },
    { command: "AWAY", params: ["lunch"] },
    { command: "AWAY", params: [] },
    { command: "WHOIS", params: ["bob"] },
    "PRIVMSG #a :raw",
  ]);
  assert.deepEqual(calls, [["nickAsked", "newme"], ["disconnect", "bye"]]);
});

test("an unknown command or missing argument is explained, not sent", () => {
  const { ctx, sent, state } = context();
  assert.equal(runInput(ctx, "/frobnicate"), false);
  runInput(ctx, "/msg");
  assert.deepEqual(sent, []);
  const errors = state.buffer("#a").messages.filter((r) => r.kind === "error").map((r) => r.text);
  assert.match(errors[0], /Unknown command \/frobnicate/);
  assert.match(errors[1], /Usage: \/msg/);
});

test("completion: commands at the start, channels with #, nicks otherwise", () => {
  const fold = casemapper("ascii");
  const opts = { fold, nicks: ["Bob", "bobby", "carol", "bob"], channels: ["#a", "#abc", "#b"], chantypes: "#" };
  assert.deepEqual(completions("/jo", true, opts), ["/join "]);
  assert.deepEqual(completions("#a", false, opts), ["#a", "#abc"]);
  assert.deepEqual(completions("bo", true, opts), ["Bob: ", "bobby: "]);
  assert.deepEqual(completions("bo", false, opts), ["Bob", "bobby"]);
  assert.deepEqual(completions("", false, opts), []);
  assert.deepEqual(completions("@ca", true, opts), ["carol: "]); // as Slack and Discord users type it
  assert.deepEqual(completions("@bo", false, opts), ["Bob", "bobby"]);
  assert.deepEqual(completions("@", false, opts), []);
  assert.deepEqual(wordBefore("hello bo", 8), { start: 6, word: "bo" });
});
