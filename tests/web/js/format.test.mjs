// Message text: formatting codes, links, nick colours, mentions.
import test from "node:test";
import assert from "node:assert/strict";
import { casemapper } from "../../../hubbub/web/js/irc.js";
import { linkify, mentions, nickColour, NICK_COLOURS, parseFormatting, richText, safeUrl, stripFormatting } from "../../../hubbub/web/js/format.js";

const styles = (text) => parseFormatting(text).map((r) => [r.text, r.style]);

test("plain text is one unstyled run", () => {
  const runs = parseFormatting("just text");
  assert.equal(runs.length, 1);
  assert.equal(runs[0].text, "just text");
  assert.equal(runs[0].style.bold, false);
});

test("bold, italics, underline, strike and monospace toggle; reset clears", () => {
  const runs = parseFormatting("a\x02b\x1dc\x02d\x0fe\x1ff\x1eg\x11h");
  assert.deepEqual(runs.map((r) => r.text), ["a", "b", "c", "d", "e", "f", "g", "h"]);
  assert.equal(runs[1].style.bold, true);
  assert.equal(runs[2].style.bold && runs[2].style.italic, true);
  assert.equal(runs[3].style.bold, false);
  assert.equal(runs[3].style.italic, true);
  assert.equal(runs[4].style.italic, false);
  assert.equal(runs[5].style.underline, true);
  assert.equal(runs[6].style.strike, true);
  assert.equal(runs[7].style.mono, true);
});

test("colour codes: one or two digits, a background after a comma, a bare code resets", () => {
  const [[, a], [, b], [t3, c], [t4, d]] = styles("\x034red\x0312,8blue on yellow\x03,plain comma\x0304,text");
  assert.equal(a.fg, 4);
  assert.equal(b.fg, 12);
  assert.equal(b.bg, 8);
  assert.equal(t3, ",plain comma"); // a comma without digits is text
  assert.equal(c.fg, null);
  assert.equal(c.bg, null);
  assert.equal(t4, ",text");
  assert.equal(d.fg, 4);
});

test("two digits are always read: \\x03123 is colour 12 then the text 3", () => {
  const runs = parseFormatting("\x03123");
  assert.equal(runs[0].text, "3");
  assert.equal(runs[0].style.fg, 12);
});

test("extended colours fold onto the 16, 99 means default, hex colours are kept", () => {
  assert.equal(parseFormatting("\x0320x")[0].style.fg, 4);
  assert.equal(parseFormatting("\x0399x")[0].style.fg, null);
  const hex = parseFormatting("\x04FF8800,000000x")[0].style;
  assert.equal(hex.fg, "#ff8800");
  assert.equal(hex.bg, "#000000");
});

test("stripFormatting leaves what a person reads", () => {
  assert.equal(stripFormatting("\x02bold\x02 \x0304,01red\x03 \x1ditalic"), "bold red italic");
});

test("only http and https URLs become links", () => {
  assert.deepEqual(linkify("see https://example.org/a?b=1."), [{ text: "see " }, { text: "https://example.org/a?b=1", href: "https://example.org/a?b=1" }, { text: "." }]);
  assert.deepEqual(linkify("javascript:alert(1) data:text/html,<b>x</b> ftp://x"), [{ text: "javascript:alert(1) data:text/html,<b>x</b> ftp://x" }]);
  assert.equal(safeUrl("javascript:alert(1)"), null);
  assert.equal(safeUrl("HTTPS://Example.org"), "https://example.org/");
  const wiki = linkify("(https://en.wikipedia.org/wiki/IRC_(protocol))");
  assert.equal(wiki[1].href, "https://en.wikipedia.org/wiki/IRC_(protocol)");
  assert.equal(wiki[2].text, ")");
});

test("a link stops at quotes and angle brackets, so markup cannot ride inside it", () => {
  const [link, rest] = linkify('http://x.example/"><img src=x onerror=alert(1)>');
  assert.equal(link.href, "http://x.example/");
  assert.equal(rest.text, '"><img src=x onerror=alert(1)>');
});

test("richText cuts a link along formatting runs", () => {
  const runs = richText("go \x02https://example.org/\x02x now");
  const linked = runs.filter((r) => r.href);
  assert.equal(linked.map((r) => r.text).join(""), "https://example.org/x");
  assert.ok(linked.every((r) => r.href === "https://example.org/x"));
  assert.equal(linked[0].style.bold, true);
  assert.equal(linked[1].style.bold, false);
});

test("nick colours are stable and in range", () => {
  const seen = new Set();
  for (const nick of ["alice", "bob", "carol", "dave", "eve", "mallory", "trent", "peggy"]) {
    const c = nickColour(nick);
    assert.equal(c, nickColour(nick));
    assert.ok(c >= 0 && c < NICK_COLOURS);
    seen.add(c);
  }
  assert.ok(seen.size > 3, "colours spread");
});

test("a mention is the nick as a whole word, in any case", () => {
  const fold = casemapper("rfc1459");
  assert.ok(mentions("hey Alice, look", "alice", fold));
  assert.ok(mentions("alice: hi", "alice", fold));
  assert.ok(mentions("\x02alice\x02!", "alice", fold));
  assert.ok(!mentions("malice aforethought", "alice", fold));
  assert.ok(!mentions("alice_2 is here", "alice", fold));
  assert.ok(mentions("[bot] hi", "[bot]", fold));
});
