// Message text as data: IRC formatting codes to styled runs, URLs to link runs, nicks
// to colour indexes. Pure functions; the view turns the runs into DOM nodes with
// textContent only, so no text from the network is ever parsed as HTML.

const BOLD = "\x02";
const COLOR = "\x03";
const HEX_COLOR = "\x04";
const RESET = "\x0f";
const MONOSPACE = "\x11";
const REVERSE = "\x16";
const ITALIC = "\x1d";
const STRIKE = "\x1e";
const UNDERLINE = "\x1f";

const CONTROL = /[\x02\x03\x04\x0f\x11\x16\x1d\x1e\x1f]/;

function plainStyle() {
  return { bold: false, italic: false, underline: false, strike: false, mono: false, reverse: false, fg: null, bg: null };
}

// Colours 16-98 fold onto 0-15 (the ircdocs formatting document's advice), 99 is the
// default colour; the view maps 0-15 to classes.
function colourCode(digits) {
  const n = parseInt(digits, 10);
  if (n === 99) return null;
  return n % 16;
}

// Control characters that are not formatting (BEL, a stray CTCP \x01, DEL...), and ANSI
// escape sequences some bots send: never text a person can read, drawn as boxes.
const ANSI = /\x1b\[[0-9;?]*[ -\/]*[@-~]/g;
const NOT_FORMATTING = /[\x00\x01\x05-\x08\x0b-\x0e\x10\x12-\x15\x17-\x1c\x7f]/;
const NOT_FORMATTING_ALL = new RegExp(NOT_FORMATTING.source, "g");

/**
 * Text with formatting codes -> [{text, style}], adjacent text with the same style in
 * one run. Codes are removed; a run's style says what to draw.
 */
export function parseFormatting(text) {
  if (NOT_FORMATTING.test(text)) text = text.replace(ANSI, "").replace(NOT_FORMATTING_ALL, "");
  if (!CONTROL.test(text)) return [{ text, style: plainStyle() }];
  const runs = [];
  let style = plainStyle();
  let buf = "";
  const flush = () => {
    if (buf) runs.push({ text: buf, style: { ...style } });
    buf = "";
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    switch (c) {
      case BOLD: flush(); style.bold = !style.bold; break;
      case ITALIC: flush(); style.italic = !style.italic; break;
      case UNDERLINE: flush(); style.underline = !style.underline; break;
      case STRIKE: flush(); style.strike = !style.strike; break;
      case MONOSPACE: flush(); style.mono = !style.mono; break;
      case REVERSE: flush(); style.reverse = !style.reverse; break;
      case RESET: flush(); style = plainStyle(); break;
      case COLOR: {
        flush();
        const m = /^(\d{1,2})(?:,(\d{1,2}))?/.exec(text.slice(i + 1, i + 6));
        if (!m) {
          style.fg = null;
          style.bg = null;
          break;
        }
        style.fg = colourCode(m[1]);
        if (m[2] !== undefined) style.bg = colourCode(m[2]);
        i += m[0].length;
        break;
      }
      case HEX_COLOR: {
        flush();
        const m = /^([0-9A-Fa-f]{6})(?:,([0-9A-Fa-f]{6}))?/.exec(text.slice(i + 1, i + 14));
        if (!m) {
          style.fg = null;
          style.bg = null;
          break;
        }
        style.fg = `#${m[1].toLowerCase()}`;
        if (m[2] !== undefined) style.bg = `#${m[2].toLowerCase()}`;
        i += m[0].length;
        break;
      }
      default:
        buf += c;
    }
  }
  flush();
  return runs;
}

/** The text a person reads: formatting codes removed. */
export function stripFormatting(text) {
  return parseFormatting(text).map((r) => r.text).join("");
}

// A URL candidate: a scheme we allow, then anything up to whitespace or a character
// that cannot end a URL in prose. Trailing punctuation is trimmed below.
const URL_RE = /\bhttps?:\/\/[^\s<>"'\x00-\x1f\x7f]+/gi;

/**
 * Only http and https become links, checked with the URL parser: "javascript:",
 * "data:" and friends stay text whatever their spelling.
 */
export function safeUrl(candidate) {
  let url;
  try {
    url = new URL(candidate);
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  return url.href;
}

// Punctuation that usually ends the sentence rather than the URL; a closing bracket
// stays when the URL opened one itself (Wikipedia links).
function trimUrl(raw) {
  let url = raw;
  for (;;) {
    const last = url[url.length - 1];
    if (".,:;!?".includes(last)) url = url.slice(0, -1);
    else if (last === ")" && (url.match(/\(/g) || []).length < (url.match(/\)/g) || []).length) url = url.slice(0, -1);
    else if (last === "]" && !url.includes("[")) url = url.slice(0, -1);
    else return url;
  }
}

/** Plain text -> [{text, href?}]: runs of text and links. */
export function linkify(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    const raw = trimUrl(m[0]);
    const href = safeUrl(raw);
    if (!href) continue;
    if (m.index > last) out.push({ text: text.slice(last, m.index) });
    out.push({ text: raw, href });
    last = m.index + raw.length;
  }
  if (last < text.length || out.length === 0) out.push({ text: text.slice(last) });
  return out;
}

/**
 * Formatting and links together: [{text, style, href?}]. A URL may cross formatting
 * runs; it is matched on the plain text and then cut along the runs.
 */
export function richText(text) {
  const runs = parseFormatting(text);
  const plain = runs.map((r) => r.text).join("");
  const links = linkify(plain);
  if (links.length === 1 && !links[0].href) return runs;
  const out = [];
  let runIndex = 0;
  let runOffset = 0;
  for (const link of links) {
    let remaining = link.text.length;
    while (remaining > 0 && runIndex < runs.length) {
      const run = runs[runIndex];
      const take = Math.min(remaining, run.text.length - runOffset);
      out.push({ text: run.text.slice(runOffset, runOffset + take), style: run.style, href: link.href });
      remaining -= take;
      runOffset += take;
      if (runOffset >= run.text.length) {
        runIndex++;
        runOffset = 0;
      }
    }
  }
  return out;
}

export const NICK_COLOURS = 16;

/** A stable colour index for a (casefolded) nick: the same person, the same colour. */
export function nickColour(foldedNick) {
  // FNV-1a: cheap, and spreads similar nicks (alice1, alice2) apart.
  let h = 0x811c9dc5;
  for (let i = 0; i < foldedNick.length; i++) {
    h ^= foldedNick.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % NICK_COLOURS;
}

/** Does `text` mention `nick` as a word (casefolded with `fold`)? */
export function mentions(text, nick, fold) {
  if (!nick) return false;
  const hay = fold(stripFormatting(text));
  const needle = fold(nick);
  let from = 0;
  for (;;) {
    const at = hay.indexOf(needle, from);
    if (at < 0) return false;
    const before = at === 0 ? "" : hay[at - 1];
    const after = hay[at + needle.length] || "";
    // Nick characters include []\`_^{|}- : a mention is bounded by anything else.
    const nickChar = /[\p{L}\p{N}_\-\[\]\\`^{|}]/u;
    if (!nickChar.test(before) && !nickChar.test(after)) return true;
    from = at + 1;
  }
}

// -- passwords in our own lines to NickServ -------------------------------------------------

export const NICKSERV = "NickServ";
export const HIDDEN = "*****";

/** Which of a NickServ command's words are passwords (word 0 is the command): [from, to). */
function passwordWords(words) {
  const count = words.length;
  const command = (words[0] || "").toUpperCase();
  if (command === "IDENTIFY") return count === 2 ? [1, 2] : [2, count]; // IDENTIFY [account] <password>
  if (command === "REGISTER") return [1, Math.min(count, 2)]; // REGISTER <password> [email]
  if (command === "SET" && /^PASS(WORD)?$/i.test(words[1] || "")) return [2, count]; // SET PASSWORD <new>
  if (command === "PASSWD") return [1, count]; // PASSWD <current> <new> <new again>
  if (command === "GHOST") return [2, count]; // GHOST <nick> [password], on services that take one
  return [0, 0];
}

/**
 * A message we sent to NickServ as shown and kept: each password word as HIDDEN, five
 * stars whatever its length (as WeeChat's irc.look.nicks_hide_password). What is sent
 * is not touched; this is only the echo (or local copy) the page shows.
 */
export function hidePasswords(text) {
  return text
    .split("\n")
    .map((line) => {
      const words = [...line.matchAll(/\S+/g)];
      const [from, to] = passwordWords(words.map((w) => w[0]));
      for (let i = to - 1; i >= from; i--) {
        line = line.slice(0, words[i].index) + HIDDEN + line.slice(words[i].index + words[i][0].length);
      }
      return line;
    })
    .join("\n");
}
