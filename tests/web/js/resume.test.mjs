// resume.js: what a page load does with the settings remembered from the last session.
import test from "node:test";
import assert from "node:assert/strict";
import { PASSWORD_NOT_KEPT, queriesToRestore, resumeOnLoad } from "../../../hubbub/web/js/resume.js";

test("a reload resumes a session going on when all it needs is remembered", () => {
  assert.deepEqual(resumeOnLoad({ nick: "alice", autoconnect: true, usesPassword: false }), { resume: true, reason: "" });
  assert.deepEqual(resumeOnLoad({ nick: "alice", autoconnect: true, usesPassword: true, remember: true, password: "pw" }),
    { resume: true, reason: "" });
});

test("a password not remembered brings the connect screen back, saying so", () => {
  assert.deepEqual(resumeOnLoad({ nick: "alice", autoconnect: true, usesPassword: true, remember: false }),
    { resume: false, reason: PASSWORD_NOT_KEPT });
  assert.match(PASSWORD_NOT_KEPT, /password is not remembered/);
});

test("a first visit, a /quit or a refused nickname show the connect screen without that reason", () => {
  for (const settings of [{}, { nick: "alice", autoconnect: false, usesPassword: true }, { autoconnect: true }]) {
    assert.deepEqual(resumeOnLoad(settings), { resume: false, reason: "" });
  }
});

test("the private conversations come back with the session they belonged to", () => {
  const settings = { nick: "alice", autoconnect: true, queries: ["bob", "carol", "bob", "", 7] };
  assert.deepEqual(queriesToRestore(settings, "alice"), ["bob", "carol"]);
  assert.deepEqual(queriesToRestore(settings, "mallory"), []); // someone else's name
  assert.deepEqual(queriesToRestore({ ...settings, autoconnect: false }, "alice"), []); // after a /quit
  assert.deepEqual(queriesToRestore({ nick: "alice", autoconnect: true }, "alice"), []); // none remembered
  assert.deepEqual(queriesToRestore({ nick: "alice", autoconnect: true, queries: "bob" }, "alice"), []);
});
