// Moderation in one step (/op, /ban, /mute, /kickban...), the ban list in words, invite
// links, from: in searches, and /register.
import test from "node:test";
import assert from "node:assert/strict";
import { casemapper, parseLine, parsePrefix } from "../../../hubbub/web/js/irc.js";
import { ChatState, ago } from "../../../hubbub/web/js/state.js";
import { ALIASES, COMMANDS, banMask, parseSearch, runInput } from "../../../hubbub/web/js/commands.js";
import { invitedChannels, withInvited } from "../../../hubbub/web/js/resume.js";

const NOW = Date.parse("2026-12-05T12:00:00Z");

function context({ registration = null } = {}) {
  const state = new ChatState({ now: () => NOW });
  state.configure({ nick: "me", fold: casemapper("ascii"), prefix: parsePrefix("(ov)@+"), chantypes: "#" });
  state.handle(parseLine(":me!u@h JOIN #garden"));
  state.setActive("#garden");
  const sent = [];
  const calls = [];
  const client = { send: (m) => sent.push(m), say: () => true, accountRegistration: () => registration };
  const ui = new Proxy({}, { get: (_, name) => (...args) => calls.push([name, ...args]) });
  const lines = () => state.activeBuffer.messages.map((r) => r.text);
  return { ctx: { client, state, ui }, sent, calls, state, lines };
}

const mode = (...params) => ({ command: "MODE", params });

test("/op, /deop, /voice, /devoice act on the current channel, several nicks at once", () => {
  const { ctx, sent, lines } = context();
  for (const line of ["/op sam", "/deop sam", "/voice a b", "/devoice a b c d"]) assert.equal(runInput(ctx, line), true);
  assert.deepEqual(sent, [
    mode("#garden", "+o", "sam"),
    mode("#garden", "-o", "sam"),
    mode("#garden", "+vv", "a", "b"),
    mode("#garden", "-vvv", "a", "b", "c"), // MODES=3 by default: the rest in a second line
    mode("#garden", "-v", "d"),
  ]);
  assert.ok(!lines().some((t) => /Unknown command/.test(t)));
});

test("the server's MODES says how many changes go in one line; a channel may be named first", () => {
  const { ctx, sent, state } = context();
  state.configure({ isupport: new Map([["MODES", "4"]]) });
  runInput(ctx, "/op a b c d e");
  runInput(ctx, "/voice #other x");
  assert.deepEqual(sent, [mode("#garden", "+oooo", "a", "b", "c", "d"), mode("#garden", "+o", "e"), mode("#other", "+v", "x")]);
});

test("/ban and /unban: a nick is nick!*@*, a mask is used as given; /ban alone lists the bans", () => {
  const { ctx, sent } = context();
  runInput(ctx, "/ban spammy");
  runInput(ctx, "/ban *!*@203.0.113.5 troll!~t@*");
  runInput(ctx, "/unban spammy");
  runInput(ctx, "/ban");
  assert.deepEqual(sent, [
    mode("#garden", "+b", "spammy!*@*"),
    mode("#garden", "+bb", "*!*@203.0.113.5", "troll!~t@*"),
    mode("#garden", "-b", "spammy!*@*"),
    mode("#garden", "b"),
  ]);
  assert.equal(banMask("a:mallory"), "a:mallory");
});

test("/mute and /unmute are hubbub's mute extban, m:nick!*@*", () => {
  const { ctx, sent } = context();
  runInput(ctx, "/mute spammy");
  runInput(ctx, "/unmute spammy");
  runInput(ctx, "/mute m:x!*@* *!*@10.0.0.1");
  assert.deepEqual(sent, [
    mode("#garden", "+b", "m:spammy!*@*"),
    mode("#garden", "-b", "m:spammy!*@*"),
    mode("#garden", "+bb", "m:x!*@*", "m:*!*@10.0.0.1"),
  ]);
});

test("/kickban (and /kb) bans nick!*@* then kicks, with the reason", () => {
  const { ctx, sent } = context();
  assert.equal(ALIASES.kb, "kickban");
  runInput(ctx, "/kickban spammy go away now");
  runInput(ctx, "/kb troll");
  assert.deepEqual(sent, [
    mode("#garden", "+b", "spammy!*@*"),
    { command: "KICK", params: ["#garden", "spammy", "go away now"] },
    mode("#garden", "+b", "troll!*@*"),
    { command: "KICK", params: ["#garden", "troll"] },
  ]);
});

test("moderation commands outside a channel or without a nick say how to use them", () => {
  const { ctx, sent, state, lines } = context();
  runInput(ctx, "/op");
  assert.match(lines().at(-1), /Usage: \/op nick/);
  state.setActive(state.server.key);
  runInput(ctx, "/ban spammy");
  assert.match(state.server.messages.at(-1).text, /\/ban works in a channel/);
  assert.deepEqual(sent, []);
});

test("the moderation commands are grouped under Moderation for /help", () => {
  const moderation = Object.entries(COMMANDS).filter(([, c]) => c.group === "Moderation").map(([name]) => name);
  for (const name of ["op", "deop", "voice", "devoice", "kick", "ban", "unban", "mute", "unmute", "kickban", "bans"]) {
    assert.ok(moderation.includes(name), name);
  }
  assert.match(COMMANDS.ban.help, /nick!\*@\*/);
  assert.ok(COMMANDS.register && !COMMANDS.register.group);
});

test("/bans, /mode b and /mode +b alone ask for this channel's ban list; /mode alone its modes", () => {
  const { ctx, sent } = context();
  runInput(ctx, "/bans");
  runInput(ctx, "/mode b");
  runInput(ctx, "/mode +b");
  runInput(ctx, "/mode");
  runInput(ctx, "/mode me +w"); // your own nick: user modes, as before
  runInput(ctx, "/mode #other +i");
  assert.deepEqual(sent, [
    mode("#garden", "b"), mode("#garden", "b"), mode("#garden", "+b"), mode("#garden"), mode("me", "+w"), mode("#other", "+i"),
  ]);
});

test("the ban list is shown in the channel, in words, with its end", () => {
  const { state, lines } = context();
  state.setActive(state.server.key); // looking elsewhere: still filed in the channel
  const at = Math.floor((NOW - 120_000) / 1000);
  state.handle(parseLine(`:hubbub.local 367 me #garden spammy!*@* maya!~m@127.0.0.1 ${at}`));
  state.handle(parseLine(`:hubbub.local 367 me #garden m:loud!*@* hubbub.local ${at - 7200}`));
  state.handle(parseLine(":hubbub.local 368 me #garden :End of channel ban list"));
  state.setActive("#garden");
  assert.deepEqual(lines().slice(-3), [
    "spammy!*@* — set by maya, 2 minutes ago",
    "loud!*@* (muted) — set by hubbub.local, 2 hours ago",
    "End of the ban list of #garden (2 bans)",
  ]);
  assert.equal(state.server.messages.length, 0);
  state.handle(parseLine(":hubbub.local 368 me #garden :End of channel ban list"));
  assert.equal(lines().at(-1), "No bans on #garden");
});

test("ago() says how long ago in words", () => {
  assert.equal(ago(NOW - 5_000, NOW), "just now");
  assert.equal(ago(NOW - 60_000, NOW), "1 minute ago");
  assert.equal(ago(NOW - 3 * 86_400_000, NOW), "3 days ago");
  assert.equal(ago(Date.parse("2026-01-02T00:00:00Z"), NOW), "on 2026-01-02");
});

test("an invite link names channels: /#garden, /#a,#b, /?join=%23garden", () => {
  assert.deepEqual(invitedChannels({ hash: "#garden", search: "" }), ["#garden"]);
  assert.deepEqual(invitedChannels({ hash: "#a,#b", search: "" }), ["#a", "#b"]);
  assert.deepEqual(invitedChannels({ hash: "", search: "?join=%23garden" }), ["#garden"]);
  assert.deepEqual(invitedChannels({ hash: "", search: "?join=%23a,%23b" }), ["#a", "#b"]);
  assert.deepEqual(invitedChannels({ hash: "", search: "?join=garden" }), ["#garden"]);
  assert.deepEqual(invitedChannels({ hash: "", search: "" }), []);
  assert.deepEqual(invitedChannels({ hash: "#%E0%A4%A", search: "" }), []); // a broken escape
  assert.deepEqual(withInvited(["#garden"], ["#lobby", "#Garden"]), ["#garden", "#lobby"]);
});

test("from:nick in a search is the sender; the rest is the text", () => {
  assert.deepEqual(parseSearch("from:spammy seeds"), { text: "seeds", from: "spammy" });
  assert.deepEqual(parseSearch("from:spammy"), { text: "", from: "spammy" });
  assert.deepEqual(parseSearch("tomato  seeds"), { text: "tomato seeds", from: "" });
  assert.deepEqual(parseSearch("seeds FROM:@maya"), { text: "seeds", from: "maya" });
});

test("/register uses draft/account-registration when offered, else NickServ", () => {
  let c = context({ registration: { emailRequired: false } });
  runInput(c.ctx, "/register hunter2");
  assert.deepEqual(c.sent, [{ command: "REGISTER", params: ["*", "*", "hunter2"] }]);
  assert.deepEqual(c.calls, [["registering", "hunter2"]]);
  c = context();
  runInput(c.ctx, "/register hunter2 me@example.org");
  assert.deepEqual(c.sent, [{ command: "PRIVMSG", params: ["NickServ", "REGISTER hunter2 me@example.org"] }]);
  c = context({ registration: { emailRequired: true } });
  runInput(c.ctx, "/register hunter2");
  assert.deepEqual(c.sent, []);
  assert.match(c.lines().at(-1), /needs an e-mail address/);
  runInput(c.ctx, "/register hunter2 me@example.org");
  assert.deepEqual(c.sent, [{ command: "REGISTER", params: ["*", "me@example.org", "hunter2"] }]);
  c.state.handle(parseLine(":hubbub.local REGISTER SUCCESS me :Account successfully registered"));
  assert.equal(c.lines().at(-1), "Account successfully registered");
});
