// resume.js: what a page load does with the settings remembered from the last session.
import test from "node:test";
import assert from "node:assert/strict";
import {
  Landing, PASSWORD_NOT_KEPT, SERVER_BUFFER, activeSetting, activeToRestore, queriesToRestore, refusedTarget, resumeOnLoad,
} from "../../../hubbub/web/js/resume.js";
import { parseLine } from "../../../hubbub/web/js/irc.js";

test("a reload resumes a session going on when all it needs is remembered", () => {
  assert.deepEqual(resumeOnLoad({ nick: "alice", autoconnect: true, usesPassword: false }), { resume: true, reason: "" });
  assert.deepEqual(resumeOnLoad({ nick: "alice", autoconnect: true, usesPassword: true, remember: true, password: "pw" }),
    { resume: true, reason: "" });
});

test("a password not remembered brings the connect screen back, saying so", () => {
  assert.deepEqual(resumeOnLoad({ nick: "alice", autoconnect: true, usesPassword: true, remember: false }),
    { resume: false, reason: PASSWORD_NOT_KEPT });
  assert.match(PASSWORD_NOT_KEPT, /password is not remembered/);
  assert.deepEqual(resumeOnLoad({ nick: "alice", autoconnect: true, usesServerPassword: true, remember: false }),
    { resume: false, reason: PASSWORD_NOT_KEPT }); // the server's own, likewise
});

test("a first visit, a /quit or a refused nickname show the connect screen without that reason", () => {
  for (const settings of [{}, { nick: "alice", autoconnect: false, usesPassword: true }, { autoconnect: true },
    { nick: "alice", autoconnect: true, quit: true }]) {
    assert.deepEqual(resumeOnLoad(settings), { resume: false, reason: "" });
  }
});

test("the private conversations come back with the session they belonged to", () => {
  const settings = { nick: "alice", autoconnect: true, queries: ["bob", "carol", "bob", "", 7] };
  assert.deepEqual(queriesToRestore(settings, "alice"), ["bob", "carol"]);
  assert.deepEqual(queriesToRestore(settings, "mallory"), []); // someone else's name
  assert.deepEqual(queriesToRestore({ ...settings, autoconnect: false }, "alice"), []); // after a refused nick
  assert.deepEqual(queriesToRestore({ ...settings, quit: true }, "alice"), []); // after a /quit
  assert.deepEqual(queriesToRestore({ nick: "alice", autoconnect: true }, "alice"), []); // none remembered
  assert.deepEqual(queriesToRestore({ nick: "alice", autoconnect: true, queries: "bob" }, "alice"), []);
});

test("the buffer looked at is remembered by name, the server buffer as '*'", () => {
  assert.equal(activeSetting({ kind: "server", name: "HubNet" }), SERVER_BUFFER);
  assert.equal(activeSetting({ kind: "channel", name: "#Lobby" }), "#Lobby");
  assert.equal(activeSetting({ kind: "query", name: "Bob" }), "Bob");
});

test("the buffer looked at comes back with the session it belonged to", () => {
  const settings = { nick: "alice", autoconnect: true, active: "#b" };
  assert.equal(activeToRestore(settings, "alice"), "#b");
  assert.equal(activeToRestore({ ...settings, active: SERVER_BUFFER }, "alice"), SERVER_BUFFER);
  assert.equal(activeToRestore(settings, "mallory"), null); // someone else's name
  assert.equal(activeToRestore({ ...settings, autoconnect: false }, "alice"), null); // after a refused nick
  assert.equal(activeToRestore({ ...settings, quit: true }, "alice"), null); // after a /quit
  assert.equal(activeToRestore({ nick: "alice", autoconnect: true }, "alice"), null); // none remembered
  assert.equal(activeToRestore({ ...settings, active: "" }, "alice"), null);
  assert.equal(activeToRestore({ ...settings, active: 7 }, "alice"), null);
});

test("an error numeric names its target after our nick; other lines name none", () => {
  assert.equal(refusedTarget(parseLine(":srv 473 alice #b :Cannot join channel (+i)")), "#b");
  assert.equal(refusedTarget(parseLine(":srv 403 alice #nope :No such channel")), "#nope");
  assert.equal(refusedTarget(parseLine(":srv 332 alice #b :a topic")), null);
  assert.equal(refusedTarget(parseLine(":srv 421 alice :Unknown command")), null);
  assert.equal(refusedTarget(parseLine(":alice!u@h JOIN #b")), null);
});

const lower = (name) => name.toLowerCase();
const landing = (wanted, { channels = ["#a", "#b"], queries = ["bob"] } = {}) =>
  new Landing({ wanted, channels, queries, fold: lower });

test("without a buffer remembered, a session lands on the first channel once joined", () => {
  const l = landing(null);
  assert.ok(l.pending);
  assert.equal(l.arrived("#b"), null); // another channel first: not where it lands
  assert.equal(l.arrived("#A"), "#a"); // any case: the names are compared folded
  assert.ok(!l.pending);
  assert.equal(l.arrived("#a"), null); // once only
});

test("a reload lands on the channel looked at once it is joined, not on the first on the way", () => {
  const l = landing("#b");
  assert.equal(l.arrived("#a"), null); // the first channel is not shown meanwhile
  assert.ok(l.pending);
  assert.equal(l.arrived("#B"), "#B");
  assert.ok(!l.pending);
});

test("a reload lands on the private conversation looked at as soon as it is reopened", () => {
  const l = landing("Bob");
  assert.equal(l.arrived("bob"), "bob");
  assert.equal(l.arrived("#a"), null);
});

test("a reload that was looking at the server buffer stays there: nothing to wait for", () => {
  const l = landing(SERVER_BUFFER);
  assert.ok(!l.pending);
  assert.equal(l.arrived("#a"), null);
});

test("a channel looked at that refuses the join: the first channel, once it is there", () => {
  const joinedFirst = landing("#b");
  assert.equal(joinedFirst.arrived("#a"), null);
  assert.equal(joinedFirst.missed("#b"), "#a");
  const refusedFirst = landing("#b", { channels: ["#a", "#b", "#c"] });
  assert.equal(refusedFirst.missed("#b"), null); // #a not joined yet
  assert.equal(refusedFirst.arrived("#c"), null);
  assert.equal(refusedFirst.arrived("#a"), "#a");
  const none = landing("#b");
  assert.equal(none.missed("#a"), null); // refused as well: nothing left to land on
  assert.equal(none.missed("#b"), null);
  assert.ok(!none.pending);
});

test("a buffer not among those coming back is not waited for", () => {
  // a channel left (so not rejoined), or a conversation closed, before the reload
  assert.equal(landing("#gone").arrived("#a"), "#a");
  assert.equal(landing("carol").arrived("#a"), "#a");
  // nothing to join, nothing coming: the server buffer, over at once
  assert.ok(!landing("#gone", { channels: [], queries: [] }).pending);
});

test("once the person goes somewhere themselves, nothing coming back takes them away", () => {
  const l = landing("#b");
  assert.equal(l.arrived("#a"), null);
  l.moved();
  assert.ok(!l.pending);
  assert.equal(l.arrived("#b"), null);
  assert.equal(l.missed("#b"), null);
  assert.equal(l.giveUp(), null);
});

test("cut off before the channel looked at came back: the first channel if joined, else stay", () => {
  const joined = landing("#b");
  joined.arrived("#a");
  assert.equal(joined.giveUp(), "#a");
  const notYet = landing("#b");
  assert.equal(notYet.giveUp(), null);
  assert.ok(!notYet.pending);
  assert.equal(notYet.arrived("#a"), null);
});
