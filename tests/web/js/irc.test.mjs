// The wire format: parsing, serializing, escaping, casemapping, ISUPPORT, splitting.
import test from "node:test";
import assert from "node:assert/strict";
import {
  casemapper, escapeTagValue, formatLine, isChannel, parseCapValue, parseCaps, parseCtcp,
  parseIsupport, parseLine, parsePrefix, splitByBytes, unescapeTagValue, utf8Length,
} from "../../../hubbub/web/js/irc.js";

test("a line with tags, source, middle and trailing parameters is parsed", () => {
  const m = parseLine("@time=2024-05-01T12:00:00.000Z;msgid=abc;+typing=active :alice!~a@host PRIVMSG #chan :hello there");
  assert.deepEqual(m.tags, { time: "2024-05-01T12:00:00.000Z", msgid: "abc", "+typing": "active" });
  assert.deepEqual(m.source, { nick: "alice", user: "~a", host: "host" });
  assert.equal(m.command, "PRIVMSG");
  assert.deepEqual(m.params, ["#chan", "hello there"]);
});

test("tag values are unescaped, bare tags are empty strings", () => {
  const m = parseLine("@a=one\\stwo\\:three\\\\four\\r\\n;b;c=x\\ PING");
  assert.equal(m.tags.a, "one two;three\\four\r\n");
  assert.equal(m.tags.b, "");
  assert.equal(m.tags.c, "x"); // a lone trailing backslash is dropped
  assert.equal(unescapeTagValue("\\q"), "q"); // an unknown escape is the character itself
});

test("escaping round-trips every special character", () => {
  const value = "semi; space \\ cr\r lf\n end";
  assert.equal(unescapeTagValue(escapeTagValue(value)), value);
  assert.ok(!/[; \r\n]/.test(escapeTagValue(value)));
});

test("numerics, lowercase commands, repeated spaces and a server source", () => {
  const m = parseLine(":irc.example 001  me   :Welcome home");
  assert.deepEqual(m.source, { nick: "irc.example", user: "", host: "" });
  assert.equal(m.command, "001");
  assert.deepEqual(m.params, ["me", "Welcome home"]);
  assert.equal(parseLine("ping x").command, "PING");
  assert.deepEqual(parseLine("CAP * LS :").params, ["*", "LS", ""]);
});

test("formatLine adds the colon only where needed and writes tags", () => {
  assert.equal(formatLine({ command: "JOIN", params: ["#a"] }), "JOIN #a");
  assert.equal(formatLine({ command: "PRIVMSG", params: ["#a", "hi there"] }), "PRIVMSG #a :hi there");
  assert.equal(formatLine({ command: "PRIVMSG", params: ["#a", ":)"] }), "PRIVMSG #a ::)");
  assert.equal(formatLine({ command: "AWAY", params: [""] }), "AWAY :");
  assert.equal(
    formatLine({ tags: { "+typing": "active", batch: "x", "draft/multiline-concat": "" }, command: "TAGMSG", params: ["#a"] }),
    "@+typing=active;batch=x;draft/multiline-concat TAGMSG #a",
  );
  assert.equal(formatLine({ tags: { label: "a b;c" }, command: "PING", params: ["x"] }), "@label=a\\sb\\:c PING x");
});

test("formatLine refuses lines that would mean something else on the wire", () => {
  assert.throws(() => formatLine({ command: "PRIVMSG", params: ["#a", "one\r\nQUIT"] }));
  assert.throws(() => formatLine({ command: "PRIVMSG", params: ["#a b", "x"] }));
  assert.throws(() => formatLine({ command: "PRIVMSG", params: [":x", "y"] }));
  assert.throws(() => formatLine({ command: "PRIV MSG", params: [] }));
  assert.throws(() => formatLine({ tags: { "bad tag": "1" }, command: "PING", params: ["x"] }));
});

test("parse then format gives the same line", () => {
  for (const line of ["PRIVMSG #a :hello world", "@msgid=1 TAGMSG #a", "MODE #a +o bob", "TOPIC #a :"]) {
    const m = parseLine(line);
    assert.equal(formatLine(m), line);
  }
});

test("casemapping: ascii folds letters only, rfc1459 also []\\~", () => {
  assert.equal(casemapper("ascii")("Alice[]\\~"), "alice[]\\~");
  assert.equal(casemapper("rfc1459")("Alice[]\\~"), "alice{}|^");
  assert.equal(casemapper("strict-rfc1459")("A[]\\~"), "a{}|~");
  assert.equal(casemapper("ascii")("ÉTÉ"), "ÉtÉ"); // non-ASCII untouched, as the server does
});

test("ISUPPORT tokens, values with \\x escapes, withdrawn tokens", () => {
  const tokens = parseIsupport(["me", "CASEMAPPING=ascii", "NETWORK=My\\x20Net", "-WHOX", "UTF8ONLY", "are supported"]);
  assert.deepEqual(tokens, [["CASEMAPPING", "ascii"], ["NETWORK", "My Net"], ["WHOX", null], ["UTF8ONLY", ""]]);
  assert.deepEqual(parsePrefix("(ohv)@%+"), { modes: "ohv", symbols: "@%+" });
  assert.deepEqual(parsePrefix("garbage"), { modes: "ov", symbols: "@+" });
});

test("capabilities and their values", () => {
  const caps = parseCaps("batch draft/multiline=max-bytes=4096,max-lines=100 sasl=PLAIN,EXTERNAL");
  assert.equal(caps.get("batch"), "");
  assert.deepEqual(parseCapValue(caps.get("draft/multiline")), { "max-bytes": "4096", "max-lines": "100" });
  assert.equal(caps.get("sasl"), "PLAIN,EXTERNAL");
});

test("channels and CTCP", () => {
  assert.ok(isChannel("#a", "#"));
  assert.ok(!isChannel("&a", "#"));
  assert.ok(!isChannel("", "#"));
  assert.deepEqual(parseCtcp("\x01ACTION waves\x01"), { command: "ACTION", text: "waves" });
  assert.deepEqual(parseCtcp("\x01VERSION\x01"), { command: "VERSION", text: "" });
  assert.equal(parseCtcp("plain"), null);
});

test("splitting by bytes never breaks a code point and keeps words whole", () => {
  const text = "héllo wörld 🎉 ".repeat(40);
  for (const max of [7, 20, 64, 100]) {
    const pieces = splitByBytes(text, max);
    assert.equal(pieces.join(""), text);
    for (const p of pieces) {
      assert.ok(utf8Length(p) <= max, `${utf8Length(p)} > ${max}`);
      assert.ok(!/[\ud800-\udbff]$/.test(p), "a lone high surrogate at a cut");
    }
  }
  assert.deepEqual(splitByBytes("aaaa bbbb cccc", 10), ["aaaa bbbb ", "cccc"]);
  assert.equal(utf8Length("é🎉a"), 2 + 4 + 1);
});
