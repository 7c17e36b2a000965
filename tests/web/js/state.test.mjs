// ChatState: what parsed IRC messages mean for buffers, members, counts and history.
import test from "node:test";
import assert from "node:assert/strict";
import { casemapper, parseLine, parsePrefix } from "../../../hubbub/web/js/irc.js";
import { ChatState, SERVER_KEY } from "../../../hubbub/web/js/state.js";

function setup({ nick = "me", now = 1_000_000, maxMessages } = {}) {
  const clock = { now };
  const s = new ChatState({ now: () => clock.now, maxMessages });
  s.configure({ nick, fold: casemapper("ascii"), prefix: parsePrefix("(ohv)@%+"), chantypes: "#" });
  const feed = (...lines) => lines.forEach((l) => s.handle(parseLine(l)));
  return { s, feed, clock };
}

function joined(channel = "#a", names = "@me bob +carol") {
  const t = setup();
  t.feed(`:me!u@h JOIN ${channel}`, `:srv 353 me = ${channel} :${names}`, `:srv 366 me ${channel} :End`);
  return t;
}

const texts = (b) => b.messages.map((r) => r.text || r.kind);

test("joining makes a channel buffer with its members, ranked by prefix", () => {
  const { s } = joined();
  const b = s.buffer("#a");
  assert.equal(b.kind, "channel");
  assert.ok(b.joined);
  assert.deepEqual(s.members("#a").map((m) => `${m.prefix}${m.nick}`), ["@me", "+carol", "bob"]);
});

test("our nick is the one the 001 names, whatever was asked for: our lines are ours, its mentions mention us", () => {
  const { s, feed } = setup({ nick: "erin" });
  feed(":srv 001 Guest12345 :Welcome Guest12345!~u@h");
  assert.equal(s.nick, "Guest12345");
  feed(":Guest12345!~u@h JOIN #a", ":Guest12345!~u@h PRIVMSG #a :mine", ":bob!b@h PRIVMSG #a :Guest12345: hi");
  const [mine, theirs] = s.buffer("#a").messages.filter((r) => r.kind === "message");
  assert.deepEqual([mine.self, theirs.self, theirs.mention], [true, false, true]);
});

test("logged in, the account's name mentions us too, under another nick (a second device); logged out, not", () => {
  const { s, feed } = setup({ nick: "alice_" });
  feed(":srv 001 alice_ :Welcome alice_!~u@h", ":alice_!~u@h JOIN #a");
  feed(":bob!b@h PRIVMSG #a :alice: lunch?");
  feed(":srv 900 alice_ alice_!~u@h alice :You are now logged in as alice", ":bob!b@h PRIVMSG #a :alice: lunch?");
  feed(":bob!b@h PRIVMSG #a :alicex is no one");
  feed(":srv 901 alice_ alice_!~u@h :You are now logged out", ":bob!b@h PRIVMSG #a :alice: still there?");
  const said = s.buffer("#a").messages.filter((r) => r.kind === "message");
  assert.deepEqual(said.map((r) => r.mention), [false, true, false, false]);
});

test("NAMES with multi-prefix and userhost-in-names", () => {
  const { s, feed } = setup();
  feed(":me!u@h JOIN #a", ":srv 353 me = #a :+@dave!d@host me!u@h", ":srv 366 me #a :End");
  const dave = s.buffer("#a").members.get("dave");
  assert.equal(dave.prefix, "@+");
  assert.equal(dave.host, "host");
});

test("others joining, parting, quitting and being kicked change the members and the log", () => {
  const { s, feed } = joined();
  feed(":dave!d@h JOIN #a", ":bob!b@h PART #a :bye", ":carol!c@h QUIT :gone", ":me!u@h KICK #a dave :out");
  const b = s.buffer("#a");
  assert.deepEqual([...b.members.keys()], ["me"]);
  assert.deepEqual(b.messages.map((r) => r.kind), ["join", "join", "part", "quit", "kick"]);
});

test("a message in another buffer counts as unread; a mention also as a mention", () => {
  const { s, feed } = joined();
  s.setActive(SERVER_KEY);
  feed(":bob!b@h PRIVMSG #a :hello", ":bob!b@h PRIVMSG #a :hey me, look");
  const b = s.buffer("#a");
  assert.equal(b.unread, 2);
  assert.equal(b.mentions, 1);
  assert.ok(b.messages.at(-1).mention);
  s.setActive("#a");
  assert.equal(b.unread, 0);
  assert.equal(b.mentions, 0);
});

test("messages in the buffer being read do not count, unless the window is not focused", () => {
  const { s, feed } = joined();
  s.setActive("#a");
  feed(":bob!b@h PRIVMSG #a :seen");
  assert.equal(s.buffer("#a").unread, 0);
  s.setFocused(false);
  feed(":bob!b@h PRIVMSG #a :not seen");
  assert.equal(s.buffer("#a").unread, 1);
});

test("a private message opens a conversation named after the sender, and counts as a mention", () => {
  const { s, feed } = setup();
  feed(":Bob!b@h PRIVMSG me :psst");
  const b = s.buffer("bob");
  assert.equal(b.kind, "query");
  assert.equal(b.name, "Bob");
  assert.equal(b.mentions, 1);
  feed(":me!u@h PRIVMSG Bob :yes?"); // our echo goes to the same conversation
  assert.deepEqual(texts(b), ["psst", "yes?"]);
  assert.ok(b.messages[1].self);
});

test("/me, CTCP that is not shown, notices from the server", () => {
  const { s, feed } = joined();
  feed(":bob!b@h PRIVMSG #a :\x01ACTION waves\x01", ":bob!b@h PRIVMSG me :\x01VERSION\x01", ":irc.example NOTICE * :*** Looking up");
  const b = s.buffer("#a");
  assert.equal(b.messages.at(-1).kind, "action");
  assert.equal(b.messages.at(-1).text, "waves");
  assert.equal(s.buffer("bob"), null);
  assert.equal(s.server.messages.at(-1).text, "*** Looking up");
});

test("nick changes follow people through channels and conversations", () => {
  const { s, feed } = joined();
  feed(":bob!b@h PRIVMSG me :hi", ":bob!b@h NICK robert");
  assert.ok(s.buffer("#a").members.has("robert"));
  assert.ok(!s.buffer("#a").members.has("bob"));
  assert.equal(s.buffer("robert").name, "robert");
  assert.equal(s.buffer("bob"), null);
  feed(":me!u@h NICK myself");
  assert.equal(s.nick, "myself");
});

test("prefix modes change member ranks; other modes take their arguments", () => {
  const { s, feed } = joined();
  feed(":me!u@h MODE #a +kv-o secret bob carol");
  const m = s.buffer("#a").members;
  assert.equal(m.get("bob").prefix, "+");
  assert.equal(m.get("carol").prefix, "+");
  feed(":me!u@h MODE #a +h carol");
  assert.equal(m.get("carol").prefix, "%+");
});

test("the topic comes from 332/333 and from TOPIC", () => {
  const { s, feed } = joined();
  feed(":srv 332 me #a :Welcome", ":srv 333 me #a bob!b@h 1700000000");
  const b = s.buffer("#a");
  assert.equal(b.topic, "Welcome");
  assert.equal(b.topicBy, "bob");
  feed(":carol!c@h TOPIC #a :<b>new</b>");
  assert.equal(b.topic, "<b>new</b>");
  assert.equal(b.messages.at(-1).kind, "topic");
});

test("copies from another device of the account: typing to its nick shows in the sender's conversation; our own line read what came before", () => {
  const { s, feed } = setup({ nick: "alice" });
  feed(":srv 001 alice :Welcome alice!~u@h", ":bob!b@h PRIVMSG alice_phone :lunch?");
  const bob = s.buffer("bob");
  assert.ok(bob, "bob's message to the phone opens bob's conversation here");
  feed("@+typing=active :bob!b@h TAGMSG alice_phone");
  assert.deepEqual(s.typingNicks("bob"), ["bob"]);
  assert.equal(bob.unread, 1);
  feed(":alice!~u@h PRIVMSG bob :yes, at noon"); // the phone's answer, from our own nick
  assert.deepEqual([bob.unread, bob.mentions], [0, 0]);
  feed(":bob!b@h PRIVMSG alice_phone :great");
  assert.equal(bob.unread, 1);
});

test("typing notices show until done, a message, or they expire", () => {
  const { s, feed, clock } = joined();
  feed("@+typing=active :bob!b@h TAGMSG #a", "@+typing=paused :carol!c@h TAGMSG #a");
  assert.deepEqual(s.typingNicks("#a").sort(), ["bob", "carol"]);
  feed(":bob!b@h PRIVMSG #a :done typing");
  assert.deepEqual(s.typingNicks("#a"), ["carol"]);
  feed("@+typing=active :bob!b@h TAGMSG #a");
  clock.now += 7000; // active lasts 6 s, paused 30 s
  assert.deepEqual(s.typingNicks("#a"), ["carol"]);
  feed("@+typing=done :carol!c@h TAGMSG #a");
  assert.deepEqual(s.typingNicks("#a"), []);
  feed("@+typing=active :me!u@h TAGMSG #a"); // our own, echoed: not shown
  assert.deepEqual(s.typingNicks("#a"), []);
});

test("a multiline batch is one message, with concatenated lines joined without a break", () => {
  const { s } = joined();
  s.handleBatch({
    type: "draft/multiline", params: ["#a"], tags: { msgid: "m1", time: "2024-05-01T12:00:00.000Z" },
    source: { nick: "bob", user: "b", host: "h" },
    messages: [parseLine("PRIVMSG #a :one"), parseLine("PRIVMSG #a :two "), parseLine("@draft/multiline-concat PRIVMSG #a :halves")],
  });
  const last = s.buffer("#a").messages.at(-1);
  assert.equal(last.text, "one\ntwo halves");
  assert.equal(last.msgid, "m1");
});

test("a multiline NOTICE batch is one notice, shown and counted where a NOTICE line would be", () => {
  const { s } = joined();
  const batch = (target, lines, msgid) => ({
    type: "draft/multiline", params: [target], tags: { msgid, time: "2024-05-01T12:00:00.000Z" },
    source: { nick: "bob", user: "b", host: "h" },
    messages: lines.map((l) => parseLine(l.startsWith("@") ? l.replace(" ", " :bob!b@h ") : `:bob!b@h ${l}`)),
  });
  s.handleBatch(batch("#a", ["NOTICE #a :build failed:", "NOTICE #a :test_a ", "@draft/multiline-concat NOTICE #a :and test_b"], "n1"));
  const last = s.buffer("#a").messages.at(-1);
  assert.deepEqual([last.kind, last.text, last.nick, last.msgid], ["notice", "build failed:\ntest_a and test_b", "bob", "n1"]);
  // to us from someone we have no conversation with: no conversation opens for a notice, it is
  // shown where we are; on the server buffer, as a NOTICE line there, it is no unread message
  s.setActive(SERVER_KEY);
  s.setFocused(false);
  s.handle(parseLine(":bob!b@h NOTICE me :one line"));
  s.handleBatch(batch("me", ["NOTICE me :two", "NOTICE me :lines"], "n2"));
  assert.equal(s.buffer("bob"), null);
  const server = s.buffer(SERVER_KEY);
  assert.deepEqual(server.messages.slice(-2).map((r) => [r.kind, r.text]), [["notice", "one line"], ["notice", "two\nlines"]]);
  assert.equal(server.unread, 0);
  // from history, a multiline NOTICE is a notice too
  s.handleBatch({
    type: "chathistory", params: ["#a"], tags: {}, source: null,
    messages: [{ command: "BATCH", batch: batch("#a", ["NOTICE #a :old", "NOTICE #a :notice"], "n0") }],
  });
  const old = s.buffer("#a").messages.find((r) => r.msgid === "n0");
  assert.deepEqual([old.kind, old.text], ["notice", "old\nnotice"]);
});

function history(target, items) {
  return {
    type: "chathistory", params: [target], tags: {}, source: null,
    messages: items.map(([id, minute, text, nick = "bob"]) =>
      parseLine(`@msgid=${id};time=2024-05-01T12:${String(minute).padStart(2, "0")}:00.000Z :${nick}!b@h PRIVMSG ${target} :${text}`)),
  };
}

test("history goes before what is shown, then after, and duplicates are dropped", () => {
  const { s, feed } = setup();
  feed("@msgid=5;time=2024-05-01T12:05:00.000Z :bob!b@h PRIVMSG #a :five");
  const b = s.buffer("#a");
  const events = [];
  s.subscribe((c) => c.key === b.key && events.push(c.type));
  s.handleBatch(history("#a", [[3, 3, "three"], [4, 4, "four"], [5, 5, "five"]]));
  assert.deepEqual(texts(b), ["three", "four", "five"]);
  assert.equal(b.base, -2);
  assert.ok(events.includes("prepend"));
  s.handleBatch(history("#a", [[6, 6, "six"], [5, 5, "five"]]));
  assert.deepEqual(texts(b).slice(-4), ["three", "four", "five", "six"]);
});

test("history that falls between known messages is merged in time order", () => {
  const { s, feed } = setup();
  feed("@msgid=1;time=2024-05-01T12:01:00.000Z :bob!b@h PRIVMSG me :one", "@msgid=9;time=2024-05-01T12:09:00.000Z :bob!b@h PRIVMSG me :nine");
  s.handleBatch(history("bob", [[5, 5, "five"]]));
  assert.deepEqual(texts(s.buffer("bob")), ["one", "five", "nine"]);
});

// Lines of one millisecond (a burst): `[msgid, text]` pairs, each at `ms` past noon.
function live(feed, target, ms, ...lines) {
  for (const [id, text] of lines) feed(`@msgid=${id};time=${at(ms)} :bob!b@h PRIVMSG ${target} :${text}`);
}

function at(ms) {
  return new Date(Date.UTC(2024, 4, 1, 12, 0, 0, ms)).toISOString();
}

function page(target, ms, ...lines) {
  return {
    type: "chathistory", params: [target], tags: {}, source: null,
    messages: lines.map(([id, text, t = ms]) => parseLine(`@msgid=${id};time=${at(t)} :bob!b@h PRIVMSG ${target} :${text}`)),
  };
}

test("history of the millisecond of live lines goes where the server had it, not by arrival", () => {
  // The newest page, answered once two live lines were in: what it has before them goes
  // before them, all of one millisecond.
  const { s, feed } = setup();
  live(feed, "#a", 5, ["l1", "live 1"], ["l2", "live 2"]);
  s.handleBatch(page("#a", 5, ["h1", "missed 1"], ["h2", "missed 2"], ["l1", "live 1"], ["l2", "live 2"]));
  assert.deepEqual(texts(s.buffer("#a")), ["missed 1", "missed 2", "live 1", "live 2"]);
  // a page that has a line between two held ones puts it between them
  s.handleBatch(page("#a", 5, ["l1", "live 1"], ["m", "said between"], ["l2", "live 2"]));
  assert.deepEqual(texts(s.buffer("#a")), ["missed 1", "missed 2", "live 1", "said between", "live 2"]);
});

test("a held line of the page's millisecond that the page has not is placed by what the page shares", () => {
  // After the last line it shares: newer than the page (it came live after its answer).
  const { s, feed } = setup();
  live(feed, "#a", 5, ["a", "shared"], ["l", "came later"]);
  s.handleBatch(page("#a", 5, ["a", "shared"], ["h", "in the page"]));
  assert.deepEqual(texts(s.buffer("#a")), ["shared", "in the page", "came later"]);
  // Sharing none: the page goes before the held lines of its newest millisecond...
  const t = setup();
  live(t.feed, "#a", 5, ["l", "live"]);
  t.s.handleBatch(page("#a", 5, ["h1", "older 1", 4], ["h2", "older 2"]));
  assert.deepEqual(texts(t.s.buffer("#a")), ["older 1", "older 2", "live"]);
  // ...and after those of a millisecond before its newest (older than all of it).
  const u = setup();
  live(u.feed, "#a", 5, ["l", "held"]);
  u.s.handleBatch(page("#a", 5, ["h1", "newer 1"], ["h2", "newer 2", 6]));
  assert.deepEqual(texts(u.s.buffer("#a")), ["held", "newer 1", "newer 2"]);
});

test("a live line older than the newest held goes in by time, and leaves the others' order alone", () => {
  const { s, feed } = setup();
  live(feed, "#a", 5, ["l1", "live 1"]);
  s.handleBatch(page("#a", 5, ["h1", "missed 1"], ["l1", "live 1"]));
  live(feed, "#a", 3, ["x", "late"]);
  assert.deepEqual(texts(s.buffer("#a")), ["late", "missed 1", "live 1"]);
});

test("history does not change membership, even with event playback", () => {
  const { s } = joined();
  const batch = history("#a", [[1, 1, "hi"]]);
  batch.messages.push(parseLine("@msgid=2;time=2024-05-01T12:02:00.000Z :zed!z@h JOIN #a"));
  s.handleBatch(batch);
  assert.ok(!s.buffer("#a").members.has("zed"));
  assert.equal(s.buffer("#a").messages.filter((r) => r.nick === "zed")[0].kind, "join");
});

test("history missed while away counts as unread", () => {
  const { s, feed } = joined();
  s.setActive("#a");
  feed("@msgid=1;time=2024-05-01T12:01:00.000Z :bob!b@h PRIVMSG #a :before");
  s.setActive(SERVER_KEY);
  s.handleBatch(history("#a", [[2, 2, "missed"], [3, 3, "missed too"]]));
  assert.equal(s.buffer("#a").unread, 2);
});

test("a buffer keeps at most maxMessages; the window base moves with it", () => {
  const { s, feed } = setup({ maxMessages: 5 });
  for (let i = 0; i < 8; i++) feed(`:bob!b@h PRIVMSG me :m${i}`);
  const b = s.buffer("bob");
  assert.equal(b.messages.length, 5);
  assert.equal(b.base, 3);
  assert.equal(b.end, 8);
  assert.equal(b.at(3).text, "m3");
});

test("WHOIS lines are gathered and shown together, as text", () => {
  const { s, feed } = joined();
  s.setActive("#a");
  feed(":srv 311 me bob b host * :<img src=x onerror=alert(1)>", ":srv 319 me bob :@#a", ":srv 318 me bob :End");
  const lines = s.buffer("#a").messages.filter((r) => r.kind === "whois").map((r) => r.text);
  assert.deepEqual(lines, ["bob is b@host (<img src=x onerror=alert(1)>)", "bob is on @#a"]);
});

test("the channel list is collected from 321..323", () => {
  const { s, feed } = setup();
  feed(":srv 321 me Channel :Users Name", ":srv 322 me #a 3 :topic a", ":srv 322 me #b 1 :", ":srv 323 me :End");
  assert.deepEqual(s.channelList, { loading: false, items: [{ name: "#a", users: 3, topic: "topic a" }, { name: "#b", users: 1, topic: "" }] });
});

test("errors go to the buffer they are about", () => {
  const { s, feed } = joined();
  s.setActive(SERVER_KEY);
  feed(":srv 482 me #a :You're not channel operator");
  assert.equal(s.buffer("#a").messages.at(-1).kind, "error");
  assert.match(s.buffer("#a").messages.at(-1).text, /not channel operator/);
});

test("a read marker from another device clears unread counts", () => {
  const { s, feed } = joined();
  s.setActive(SERVER_KEY);
  feed("@time=2024-05-01T12:01:00.000Z :bob!b@h PRIVMSG #a :hello");
  assert.equal(s.buffer("#a").unread, 1);
  feed(":srv MARKREAD #a timestamp=2024-05-01T12:02:00.000Z");
  assert.equal(s.buffer("#a").unread, 0);
});

test("losing the connection forgets members; the channel is rejoined later", () => {
  const { s } = joined();
  s.setConnection({ status: "waiting", retryAt: 0 });
  const b = s.buffer("#a");
  assert.equal(b.joined, false);
  assert.equal(b.rejoin, true);
  assert.equal(b.members.size, 0);
});

test("closing the active buffer moves to a neighbour", () => {
  const { s, feed } = joined();
  feed(":me!u@h JOIN #b");
  s.setActive("#a");
  s.closeBuffer("#a");
  assert.equal(s.active, "#b");
  assert.equal(s.buffer("#a"), null);
});

test("a dropped connection remembers the newest message seen, to fetch what follows", () => {
  const { s, feed } = joined();
  feed("@time=2024-05-01T12:01:00.000Z :bob!b@h PRIVMSG #a :last seen");
  s.setConnection({ status: "waiting", retryAt: 0 });
  s.setConnection({ status: "connecting" });
  assert.equal(s.buffer("#a").resumeFrom, Date.parse("2024-05-01T12:01:00.000Z"));
});

test("a key set or removed in our sight is the one to rejoin with; leaving is announced", () => {
  const { s, feed } = joined();
  const changes = [];
  s.subscribe((c) => changes.push(c.type));
  feed(":bob!u@h MODE #a +k sesame");
  assert.equal(s.buffer("#a").joinKey, "sesame");
  feed(":bob!u@h MODE #a +o-k carol sesame");
  assert.equal(s.buffer("#a").joinKey, null);
  feed(":bob!u@h MODE #a +lk 10 other");
  assert.equal(s.buffer("#a").joinKey, "other");
  assert.ok(changes.includes("key"));
  feed(":me!u@h PART #a");
  assert.ok(changes.includes("left"));
  feed(":me!u@h JOIN #a", ":bob!u@h KICK #a me :out");
  assert.equal(changes.filter((t) => t === "left").length, 2);
});

test("a failed read marker is not shown: the client asked on its own", () => {
  const { s, feed } = joined();
  const before = s.server.messages.length + s.buffer("#a").messages.length;
  feed(":srv FAIL MARKREAD INVALID_PARAMS bob :Invalid target");
  assert.equal(s.server.messages.length + s.buffer("#a").messages.length, before);
  feed(":srv FAIL JOIN SOMETHING :shown");
  assert.ok(texts(s.activeBuffer).concat(texts(s.server)).some((t) => String(t).includes("JOIN: shown")));
});

test("being kicked clears who was typing there", () => {
  const { s, feed } = joined();
  feed("@+typing=active :bob!b@h TAGMSG #a");
  assert.equal(s.buffer("#a").typing.size, 1);
  feed(":op!o@h KICK #a me :out");
  assert.equal(s.buffer("#a").typing.size, 0);
});

test("counted numerics keep their counts unless the text says them", () => {
  const { s, feed } = setup();
  feed(":srv 254 me 3 :channels formed", ":srv 252 me 1 :operator(s) online",
       ":srv 265 me 4 9 :Current local users 4, max 9", ":srv 266 me :Current global users 4, max 9");
  assert.deepEqual(texts(s.server).slice(-4),
    ["3 channels formed", "1 operator(s) online", "Current local users 4, max 9", "Current global users 4, max 9"]);
});

test("what NickServ and ChanServ say naming you is no mention; a person naming you is", () => {
  const { s, feed } = joined();
  feed(":NickServ!NickServ@services NOTICE me :You're now logged in as me",
       ":ChanServ!ChanServ@services NOTICE me :me is now the founder of #a",
       ":bob!b@h PRIVMSG #a :hey me");
  const records = [...s.buffers.values()].flatMap((b) => b.messages).filter((r) => r.text);
  const mentioned = records.filter((r) => r.mention).map((r) => r.text);
  assert.deepEqual(mentioned, ["hey me"]);
});

test("the quick switcher finds the server buffer by the name the list shows, and as 'server'", () => {
  const { s, feed } = joined("#lobby");
  feed(":bob!b@h PRIVMSG me :hi");
  s.configure({ isupport: new Map([["NETWORK", "HubNet"]]) });
  assert.equal(s.displayName(s.server), "HubNet");
  const found = (text) => s.findBuffers(text).map((b) => s.displayName(b));
  assert.deepEqual(found("hubn"), ["HubNet"]);
  assert.deepEqual(found("Server"), ["HubNet"]);
  assert.deepEqual(found(" LOB "), ["#lobby"]);
  assert.deepEqual(found("bo"), ["bob"]);
  assert.deepEqual(found(""), ["HubNet", "#lobby", "bob"]);
  assert.deepEqual(found("nowhere"), []);
});

test("the network's name, once known, redraws the server buffer's header as well as the list", () => {
  const { s } = setup();
  const changes = [];
  s.subscribe((c) => changes.push([c.type, c.key]));
  s.configure({ isupport: new Map([["NETWORK", "HubNet"]]) });
  assert.ok(changes.some(([type, key]) => type === "topic" && key === SERVER_KEY), JSON.stringify(changes));
  assert.ok(changes.some(([type]) => type === "buffers"));
});

test("a server without NETWORK: its buffer is 'Server', found by that name", () => {
  const { s } = setup();
  assert.equal(s.displayName(s.server), "Server");
  assert.deepEqual(s.findBuffers("serv").map((b) => b.key), [SERVER_KEY]);
});

test("the page title names the buffer shown as the list does, the server buffer 'Server' without NETWORK", () => {
  const { s, feed } = joined("#lobby");
  s.setActive(SERVER_KEY);
  assert.equal(s.pageTitle(), "Server · hubbub");
  s.configure({ isupport: new Map([["NETWORK", "HubNet"]]) });
  assert.equal(s.pageTitle(), "HubNet · hubbub");
  s.setActive("#lobby");
  feed(":bob!b@h PRIVMSG me :psst", ":bob!b@h PRIVMSG me :still there?");
  assert.equal(s.pageTitle(), "(2) #lobby · hubbub"); // what waits elsewhere, counted first
});

test("the private conversations open are named, following nick changes and closing", () => {
  const { s, feed } = joined();
  feed(":bob!b@h PRIVMSG me :hi", ":dave!d@h PRIVMSG me :hello");
  s.ensureBuffer("erin");
  assert.deepEqual(s.queryNames().sort(), ["bob", "dave", "erin"]);
  feed(":bob!b@h NICK :robert");
  s.closeBuffer("dave");
  assert.deepEqual(s.queryNames().sort(), ["erin", "robert"]);
});

test("the modes the server gives a channel our JOIN created say it is new, not which they are", () => {
  const { s, feed } = setup();
  s.setActive(SERVER_KEY);
  feed(":me!u@h JOIN #new", ":hubbub.local MODE #new +ntk sesame", ":srv 353 me = #new :@me", ":srv 366 me #new :End");
  const b = s.buffer("#new");
  assert.deepEqual(b.messages.map((r) => `${r.kind} ${r.text}`), ["join ", "info You created #new."]);
  assert.equal(b.joinKey, "sesame"); // still applied
  assert.equal(b.unread, 0);
  feed(":hubbub.local MODE #new +m", ":bob!b@h MODE #new +s");
  assert.deepEqual(b.messages.slice(2).map((r) => `${r.kind} ${r.text}`), ["mode +m", "mode +s"]);
});

test("modes set by a person, or giving a rank, during a join are shown", () => {
  const { s, feed } = setup();
  feed(":me!u@h JOIN #a", ":ChanServ!ChanServ@services MODE #a +o me", ":irc.example MODE #a +v me",
       ":irc.example MODE #a -t", ":srv 353 me = #a :@me", ":srv 366 me #a :End");
  assert.deepEqual(s.buffer("#a").messages.map((r) => `${r.kind} ${r.text}`), ["join ", "mode +o me", "mode +v me", "mode -t"]);
});

test("someone's away message is said once in their conversation, again once changed or after they were heard from", () => {
  const { s, feed } = joined();
  const away = () => s.buffer("bob").messages.filter((r) => (r.text || "").startsWith("bob is away")).map((r) => r.text);
  feed(":bob!b@h PRIVMSG me :hi");
  for (let i = 0; i < 3; i++) feed(`:me!u@h PRIVMSG bob :line ${i}`, ":srv 301 me bob :gone fishing");
  assert.deepEqual(away(), ["bob is away: gone fishing"]);
  feed(":srv 301 me bob :back at six");
  feed(":bob!b@h AWAY :gone fishing", ":srv 301 me bob :gone fishing"); // away-notify: news again
  feed(":bob!b@h PRIVMSG me :brb", ":srv 301 me bob :gone fishing"); // heard from: again
  assert.deepEqual(away(), ["bob is away: gone fishing", "bob is away: back at six", "bob is away: gone fishing",
    "bob is away: gone fishing"]);
});

test("an INVITE we sent is confirmed in the channel it invites to", () => {
  const { s, feed } = joined();
  feed(":srv 341 me bob #a");
  assert.equal(s.buffer("#a").messages.at(-1).text, "You invited bob to #a.");
});

test("history asked for a conversation closed meanwhile does not open it again; the login's replay opens it", () => {
  const { s, feed } = setup();
  feed("@msgid=1;time=2024-05-01T12:01:00.000Z :bob!b@h PRIVMSG me :one");
  s.closeBuffer("bob");
  assert.equal(s.buffer("bob"), null);
  s.handleBatch({ ...history("bob", [[1, 1, "one"]]), requested: true }); // the page's LATEST, late
  assert.equal(s.buffer("bob"), null);
  s.handleBatch(history("carol", [[2, 2, "kept for you", "carol"]])); // sent by the server at login
  assert.deepEqual(texts(s.buffer("carol")), ["kept for you"]);
});
