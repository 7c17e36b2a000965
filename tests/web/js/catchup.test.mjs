// What a return fetches of a conversation's history (catchUp), and how the catch-ups of
// many conversations are paced (CatchUpQueue); and what the state does when more was
// missed than fetched (missedMoreThanFetched, missedBeyond).
import test from "node:test";
import assert from "node:assert/strict";
import { CatchUpQueue, catchUp } from "../../../hubbub/web/js/catchup.js";
import { casemapper, parseLine, parsePrefix } from "../../../hubbub/web/js/irc.js";
import { ChatState, firstUnread, missedBeyond } from "../../../hubbub/web/js/state.js";

const LIMIT = 100;

/** A server's history of `count` messages, said at ms 1..count, and what was asked of it. */
function server(count) {
  const all = Array.from({ length: count }, (_, i) => ({ t: i + 1 }));
  const asked = [];
  const answer = (messages) => Promise.resolve({ messages, full: messages.length >= LIMIT, error: null });
  const ask = (subcommand, reference) => {
    asked.push(`${subcommand} ${reference}`);
    if (subcommand === "LATEST") return answer(all.slice(-LIMIT));
    if (subcommand === "BEFORE") return answer(all.filter((m) => m.t < Number(reference)).slice(-LIMIT));
    const since = Date.parse(reference.slice("timestamp=".length));
    return answer(all.filter((m) => m.t > since).slice(0, LIMIT));
  };
  return { ask, asked, time: (m) => m.t, ref: (m) => String(m.t) };
}

test("a reload goes back from the newest page to the point read to: 150 missed, two requests", async () => {
  const h = server(1000);
  const result = await catchUp({ ...h, readTo: () => 850 });
  assert.deepEqual(h.asked, ["LATEST *", "BEFORE 901"]);
  assert.equal(result.end, "reached");
  assert.equal(result.oldest.t, 801); // the page that reached it brings some read before, as context
});

test("a reload with little missed costs one request, as before", async () => {
  const h = server(1000);
  const result = await catchUp({ ...h, readTo: () => 990 });
  assert.deepEqual(h.asked, ["LATEST *"]);
  assert.equal(result.end, "reached");
});

test("a point read to that is not known (a first visit) stops after the newest page", async () => {
  for (const point of [0, null]) {
    const h = server(1000);
    assert.equal((await catchUp({ ...h, readTo: () => point })).end, "unknown");
    assert.deepEqual(h.asked, ["LATEST *"]);
  }
});

test("the point read to is asked after each answer: a read marker told meanwhile counts", async () => {
  const h = server(1000);
  let point = 0;
  const ask = (subcommand, reference) => {
    point = 850; // MARKREAD came before the answer
    return h.ask(subcommand, reference);
  };
  assert.equal((await catchUp({ ...h, ask, readTo: () => point })).end, "reached");
  assert.deepEqual(h.asked, ["LATEST *", "BEFORE 901"]);
});

test("the history's beginning ends it, before the point read to", async () => {
  const h = server(180);
  assert.equal((await catchUp({ ...h, readTo: () => 0.5 })).end, "beginning");
  assert.deepEqual(h.asked, ["LATEST *", "BEFORE 81"]);
});

test("more missed than the cap: it stops, naming the oldest message fetched", async () => {
  const h = server(5000);
  const result = await catchUp({ ...h, readTo: () => 10, pages: 10 });
  assert.equal(result.end, "cap");
  assert.equal(h.asked.length, 10);
  assert.equal(result.oldest.t, 4001); // the newest 1,000, unbroken
});

test("a reconnection asks what followed the newest message it has: one request for a few", async () => {
  const h = server(1000);
  const result = await catchUp({ ...h, since: 995, readTo: () => 0 });
  assert.deepEqual(h.asked, [`AFTER timestamp=${new Date(994).toISOString()}`]);
  assert.equal(result.end, "reached");
});

test("a reconnection misses none of what was said in the millisecond of the newest it has", async () => {
  // A burst: four messages of one millisecond, the first two loaded before the drop. The
  // server leaves out all of the millisecond named, as hubbub does.
  const all = [{ id: "a", t: 7 }, { id: "b", t: 7 }, { id: "c", t: 7 }, { id: "d", t: 7 }];
  const got = [];
  const ask = (subcommand, reference) => {
    const since = Date.parse(reference.slice("timestamp=".length));
    const messages = all.filter((m) => m.t > since);
    got.push(...messages.map((m) => m.id));
    return Promise.resolve({ messages, full: false, error: null });
  };
  await catchUp({ ask, since: 7, time: (m) => m.t, ref: (m) => m.id });
  assert.ok(got.includes("c") && got.includes("d"), got);
});

test("a reconnection that missed more than a page drops what it had and goes on as a reload", async () => {
  const h = server(1000);
  const forgotten = [];
  const result = await catchUp({ ...h, since: 750, readTo: () => 700, forget: (ms) => forgotten.push(ms) });
  // AFTER brought 750..849: more may follow. Up to 849 is dropped, then back from the newest.
  assert.deepEqual(forgotten, [849]);
  assert.deepEqual(h.asked, [`AFTER timestamp=${new Date(749).toISOString()}`, "LATEST *", "BEFORE 901", "BEFORE 801", "BEFORE 701"]);
  assert.equal(result.end, "reached");
  assert.equal(result.oldest.t, 601);
});

test("a reconnection with a few missed keeps what it had", async () => {
  const h = server(1000);
  const forgotten = [];
  await catchUp({ ...h, since: 950, readTo: () => 700, forget: (ms) => forgotten.push(ms) });
  assert.deepEqual(forgotten, []);
});

test("a failed request ends it with its error", async () => {
  const ask = () => Promise.resolve({ messages: [], full: false, error: "disconnected" });
  const result = await catchUp({ ask, since: 0, readTo: () => 5, time: (m) => m.t, ref: String });
  assert.deepEqual(result, { end: "error", error: "disconnected", oldest: null });
});

// -- pacing -------------------------------------------------------------------------------

/** Jobs that end when the test says: started[] names those begun, finish(key) ends one. */
function jobs() {
  const started = [];
  const ends = new Map();
  const job = (key) => () => new Promise((resolve) => {
    started.push(key);
    ends.set(key, resolve);
  });
  const finish = async (key) => {
    ends.get(key)();
    for (let i = 0; i < 5; i++) await Promise.resolve(); // the queue's turn
  };
  return { started, job, finish };
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

test("the catch-ups of many conversations run a few at a time, in order; the one looked at at once", async () => {
  const { started, job, finish } = jobs();
  const done = [];
  const q = new CatchUpQueue({ atOnce: 2, done: (key) => done.push(key) });
  for (const key of ["#a", "#b", "#c", "#d"]) q.add(key, job(key));
  q.add("#looked", job("#looked"), { now: true });
  await settle();
  assert.deepEqual(started, ["#a", "#b", "#looked"]);
  await finish("#a");
  assert.deepEqual(started, ["#a", "#b", "#looked"]); // still two running besides
  await finish("#looked");
  assert.deepEqual(started, ["#a", "#b", "#looked", "#c"]);
  await finish("#b");
  await finish("#c");
  assert.deepEqual(started, ["#a", "#b", "#looked", "#c", "#d"]);
  assert.deepEqual(done, ["#a", "#looked", "#b", "#c"]);
});

test("a conversation opened while its catch-up waits gets it at once; one per conversation", async () => {
  const { started, job } = jobs();
  const q = new CatchUpQueue({ atOnce: 1 });
  q.add("#a", job("#a"));
  q.add("#b", job("#b"));
  q.add("#c", job("#c"));
  q.add("#a", job("#a again"));
  q.hurry("#c");
  await settle();
  assert.deepEqual(started, ["#a", "#c"]);
  assert.equal(q.has("#b"), true);
  q.add("#b", job("#b again"), { now: true }); // asked for now: the one waiting starts
  await settle();
  assert.deepEqual(started, ["#a", "#c", "#b"]);
});

test("hurrying a catch-up resolves once it is over: scroll-back waits for it", async () => {
  const { job, finish } = jobs();
  const q = new CatchUpQueue({ atOnce: 1 });
  q.add("#a", job("#a"));
  q.add("#b", job("#b"));
  let over = false;
  q.hurry("#b").then(() => {
    over = true;
  });
  await settle();
  assert.equal(over, false);
  await finish("#b");
  assert.equal(over, true);
  let none = false;
  await q.hurry("#nothing").then(() => {
    none = true;
  });
  assert.equal(none, true);
});

test("a lost connection drops the catch-ups waiting; a failing one does not stop the others", async () => {
  const { started, job, finish } = jobs();
  const q = new CatchUpQueue({ atOnce: 1 });
  q.add("#fails", () => Promise.reject(new Error("broken")));
  q.add("#a", job("#a"));
  q.add("#b", job("#b"));
  await settle();
  assert.deepEqual(started, ["#a"]);
  q.clear();
  await finish("#a");
  assert.deepEqual(started, ["#a"]);
  assert.equal(q.has("#b"), false);
});

// -- more missed than fetched ------------------------------------------------------------------

const at = (minute) => Date.parse(`2024-05-01T12:00:00.000Z`) + minute * 60000;

function page() {
  const s = new ChatState({ now: () => at(1000) });
  s.configure({ nick: "me", fold: casemapper("ascii"), prefix: parsePrefix("(ov)@+"), chantypes: "#" });
  s.feed = (...lines) => lines.forEach((l) => s.handle(parseLine(l)));
  return s;
}

function history(target, minutes) {
  return {
    type: "chathistory", params: [target], tags: {}, source: null,
    messages: minutes.map((m) => parseLine(`@msgid=m${m};time=${new Date(at(m)).toISOString()} :bob!b@h PRIVMSG ${target} :said at ${m}`)),
  };
}

test("more missed than fetched: what no longer joins the newest is dropped, and the line says so", () => {
  const s = page();
  s.seenBefore.set("#a", at(3)); // read up to there
  s.feed(`@time=${new Date(at(1)).toISOString()} :me!u@h JOIN #a`, ":srv 366 me #a :End");
  s.handleBatch(history("#a", [1, 2, 3])); // loaded before the connection dropped
  s.setConnection({ status: "waiting" });
  s.feed(`@time=${new Date(at(900)).toISOString()} :me!u@h JOIN #a`);
  s.handleBatch(history("#a", [500, 501, 502])); // the newest, back to the cap; 4..499 not fetched
  const b = s.buffer("#a");
  s.missedMoreThanFetched(b, at(500));
  assert.deepEqual(b.messages.filter((r) => r.kind === "message").map((r) => r.text), ["said at 500", "said at 501", "said at 502"]);
  assert.equal(b.msgids.has("m1"), false); // fetched again by scroll-back, not taken for a duplicate
  assert.equal(b.historyDone, false);
  assert.equal(missedBeyond(b), 3);
  assert.equal(firstUnread(b).text, "said at 500");
  assert.equal(b.unread, 3);

  s.handleBatch(history("#a", [3, 4])); // scroll-back reaches the point read to
  assert.equal(missedBeyond(b), 0);
  assert.equal(firstUnread(b).text, "said at 4");
  assert.equal(b.unread, 4);
});

test("a catch-up still due keeps its starting point when the connection drops again", () => {
  const s = page();
  s.feed(`@time=${new Date(at(1)).toISOString()} :me!u@h JOIN #a`, ":srv 366 me #a :End");
  const b = s.buffer("#a");
  b.historyPending = true; // its turn had not come
  s.feed(`@time=${new Date(at(5)).toISOString()} :bob!b@h PRIVMSG #a :live, after a hole`);
  s.setConnection({ status: "waiting" });
  assert.equal(b.resumeFrom, 0); // not from the live line: the hole before it would stay
});
