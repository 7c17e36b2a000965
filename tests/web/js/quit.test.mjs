// A /quit ends the session of the tab it was typed in: that tab's reloads show the
// connect screen, another tab's reload resumes its own session, and a new tab starts at
// the connect screen only once the browser's `quit` stands (no tab's session went on to
// take it back: main.js).
import test from "node:test";
import assert from "node:assert/strict";
import { activeToRestore, queriesToRestore, resumeOnLoad, tabView } from "../../../hubbub/web/js/resume.js";

// What the browser remembers once tab A has typed /quit (tab B still connected, or not).
const shared = { nick: "alice", autoconnect: true, channels: ["#lobby"], queries: ["bob"], active: "bob", quit: true };
const tabA = { channels: ["#lobby"], queries: ["bob"], active: "bob", quit: true };
const tabB = { channels: ["#lobby", "#garden"], queries: ["carol"], active: "#garden" };

test("the tab that quit shows the connect screen on its reloads, and starts afresh from it", () => {
  const seen = tabView(shared, tabA);
  assert.deepEqual(resumeOnLoad(seen), { resume: false, reason: "" });
  assert.deepEqual(queriesToRestore(seen, "alice"), []);
  assert.equal(activeToRestore(seen, "alice"), null);
  // its quit is its own, whatever the browser's says meanwhile (taken back by tab B)
  const { quit: _, ...takenBack } = shared;
  assert.deepEqual(resumeOnLoad(tabView(takenBack, tabA)), { resume: false, reason: "" });
});

test("after a /quit, another tab resumes its own session, and a new tab only while a session goes on", () => {
  const seen = tabView(shared, tabB);
  assert.deepEqual(resumeOnLoad(seen), { resume: true, reason: "" });
  assert.deepEqual(queriesToRestore(seen, "alice"), ["carol"]);
  assert.equal(activeToRestore(seen, "alice"), "#garden");

  const lastQuit = tabView(shared, null); // no tab in a session took the browser's quit back
  assert.deepEqual(resumeOnLoad(lastQuit), { resume: false, reason: "" });
  assert.deepEqual(queriesToRestore(lastQuit, "alice"), []);
  const { quit: _, ...goingOn } = shared; // tab B, still in its session, took it back
  assert.deepEqual(resumeOnLoad(tabView(goingOn, null)), { resume: true, reason: "" });
  assert.deepEqual(queriesToRestore(tabView(goingOn, null), "alice"), ["bob"]);

  // A refused nickname or server password, unlike a /quit, stops every tab: what was
  // refused is the browser's, and another tab connecting with it would be refused again.
  const refused = { ...goingOn, autoconnect: false };
  assert.deepEqual(resumeOnLoad(tabView(refused, tabB)), { resume: false, reason: "" });
  assert.deepEqual(resumeOnLoad(tabView(refused, null)), { resume: false, reason: "" });
});
