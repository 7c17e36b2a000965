// Channel mode changes in words: the same sentences as the server's plain-text mode and
// the terminal client (tests/unit/modewords_cases.json is read by both tests).
import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { modesInWords, parseModeChanges } from "../../../hubbub/web/js/modewords.js";

const CHANMODES = ["beI", "k", "fjl", "CKMRTimnst"]; // hubbub's ISUPPORT CHANMODES
const PREFIX_MODES = "qaohv";
const CASES = JSON.parse(readFileSync(new URL("../../unit/modewords_cases.json", import.meta.url), "utf8"));

const said = (line) => {
  const [letters, ...args] = line.split(" ");
  return modesInWords(parseModeChanges(letters, args, CHANMODES, PREFIX_MODES), "#c");
};

for (const [line, words] of CASES) {
  test(`${line} reads as "${words}"`, () => assert.equal(said(line), words));
}

test("a letter the server's CHANMODES does not list takes no parameter", () => {
  assert.deepEqual(parseModeChanges("+Y", ["arg"], CHANMODES, PREFIX_MODES), [{ adding: true, letter: "Y", param: null }]);
});
