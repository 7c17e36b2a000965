// The IRC wire format, without I/O: lines with IRCv3 tags in and out, capability and
// ISUPPORT values, nick casemapping. Everything here is a pure function, so the same
// code runs in the page and under `node --test`.

// Message-tags escaping (ircv3 message-tags): the five characters a tag value cannot
// hold raw, and how each is written on the wire.
const TAG_ESCAPES = { ";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n" };
const TAG_UNESCAPES = { ":": ";", s: " ", "\\": "\\", r: "\r", n: "\n" };

export function escapeTagValue(value) {
  return String(value).replace(/[; \\\r\n]/g, (c) => TAG_ESCAPES[c]);
}

export function unescapeTagValue(value) {
  // An unknown escape stands for the character itself; a lone trailing backslash is dropped.
  return value.replace(/\\(.?)/g, (_, c) => (c in TAG_UNESCAPES ? TAG_UNESCAPES[c] : c));
}

/** "nick!user@host" (or a server name) -> {nick, user, host}. */
export function parseSource(prefix) {
  if (!prefix) return null;
  const bang = prefix.indexOf("!");
  const at = prefix.indexOf("@", bang < 0 ? 0 : bang);
  if (bang < 0 && at < 0) return { nick: prefix, user: "", host: "" };
  const nickEnd = bang >= 0 ? bang : at;
  return {
    nick: prefix.slice(0, nickEnd),
    user: bang >= 0 ? prefix.slice(bang + 1, at >= 0 ? at : undefined) : "",
    host: at >= 0 ? prefix.slice(at + 1) : "",
  };
}

/**
 * Parse one line (no CR/LF) into {tags, prefix, source, command, params}.
 * Tolerant of repeated spaces, as servers in the wild send them.
 */
export function parseLine(line) {
  let pos = 0;
  const tags = {};
  const skipSpaces = () => {
    while (line[pos] === " ") pos++;
  };
  const word = () => {
    const end = line.indexOf(" ", pos);
    const w = end < 0 ? line.slice(pos) : line.slice(pos, end);
    pos = end < 0 ? line.length : end;
    return w;
  };
  if (line[0] === "@") {
    pos = 1;
    for (const item of word().split(";")) {
      if (!item) continue;
      const eq = item.indexOf("=");
      if (eq < 0) tags[item] = "";
      else tags[item.slice(0, eq)] = unescapeTagValue(item.slice(eq + 1));
    }
    skipSpaces();
  }
  let prefix = "";
  if (line[pos] === ":") {
    pos++;
    prefix = word();
    skipSpaces();
  }
  const command = word().toUpperCase();
  const params = [];
  for (;;) {
    skipSpaces();
    if (pos >= line.length) break;
    if (line[pos] === ":") {
      params.push(line.slice(pos + 1));
      break;
    }
    params.push(word());
  }
  return { tags, prefix, source: parseSource(prefix), command, params };
}

/**
 * Serialize {tags?, command, params?} to a line (no CR/LF). Refuses what would change
 * meaning on the wire (a line break, a space or leading colon in a middle parameter)
 * rather than sending something other than what was asked.
 */
export function formatLine({ tags = {}, command, params = [] }) {
  if (!/^[A-Za-z0-9]+$/.test(command)) throw new Error(`bad command: ${command}`);
  let out = "";
  const tagParts = [];
  for (const [key, value] of Object.entries(tags)) {
    if (value === undefined || value === null || value === false) continue;
    if (!/^\+?[A-Za-z0-9./-]+$/.test(key)) throw new Error(`bad tag name: ${key}`);
    tagParts.push(value === "" || value === true ? key : `${key}=${escapeTagValue(value)}`);
  }
  if (tagParts.length) out = `@${tagParts.join(";")} `;
  out += command;
  params.forEach((raw, i) => {
    const p = String(raw);
    if (/[\r\n\0]/.test(p)) throw new Error("line break or NUL in a parameter");
    const last = i === params.length - 1;
    if (last && (p === "" || p.includes(" ") || p[0] === ":")) out += ` :${p}`;
    else if (!last && (p === "" || p.includes(" ") || p[0] === ":"))
      throw new Error(`middle parameter cannot hold "${p}"`);
    else out += ` ${p}`;
  });
  return out;
}

/** UTF-8 length of a string, without allocating the bytes. */
export function utf8Length(text) {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      n += 4; // a surrogate pair is one 4-byte code point
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Cut `text` into pieces of at most `maxBytes` UTF-8 bytes, never inside a code point,
 * preferring to cut after a space so words stay whole.
 */
export function splitByBytes(text, maxBytes) {
  if (maxBytes < 4) throw new Error("maxBytes too small");
  const pieces = [];
  let rest = text;
  while (utf8Length(rest) > maxBytes) {
    let bytes = 0;
    let cut = 0;
    let lastSpace = -1;
    for (const ch of rest) {
      const len = utf8Length(ch);
      if (bytes + len > maxBytes) break;
      bytes += len;
      cut += ch.length;
      if (ch === " ") lastSpace = cut;
    }
    // A space in the last half is a good place; otherwise cut mid-word.
    if (lastSpace > cut / 2) cut = lastSpace;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  pieces.push(rest);
  return pieces;
}

/** CAP LS / CAP NEW value list "a b=1 c" -> Map name -> value ("" when bare). */
export function parseCaps(text) {
  const caps = new Map();
  for (const item of text.split(" ")) {
    if (!item) continue;
    const eq = item.indexOf("=");
    if (eq < 0) caps.set(item, "");
    else caps.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return caps;
}

/** "max-bytes=4096,max-lines=100" -> {"max-bytes": "4096", ...} */
export function parseCapValue(value) {
  const out = {};
  for (const item of (value || "").split(",")) {
    if (!item) continue;
    const eq = item.indexOf("=");
    if (eq < 0) out[item] = "";
    else out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/**
 * The tokens of one RPL_ISUPPORT (005) line: [name, value] pairs, value "" when bare and
 * null for "-NAME" (the server withdrew it). Values use \xHH escapes.
 */
export function parseIsupport(params) {
  const tokens = [];
  for (const token of params.slice(1, -1)) {
    if (token[0] === "-") {
      tokens.push([token.slice(1).toUpperCase(), null]);
      continue;
    }
    const eq = token.indexOf("=");
    const name = (eq < 0 ? token : token.slice(0, eq)).toUpperCase();
    const value = eq < 0 ? "" : token.slice(eq + 1).replace(/\\x([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
    tokens.push([name, value]);
  }
  return tokens;
}

/** PREFIX=(ohv)@%+ -> {modes: "ohv", symbols: "@%+"}; the order is rank, highest first. */
export function parsePrefix(value) {
  const m = /^\(([^)]*)\)(.*)$/.exec(value || "");
  if (!m || m[1].length !== m[2].length) return { modes: "ov", symbols: "@+" };
  return { modes: m[1], symbols: m[2] };
}

/**
 * A function folding a nick or channel name as the server's CASEMAPPING says, so that
 * "Alice" and "alice" find the same buffer. Unknown mappings fall back to rfc1459,
 * which is what servers assume when they say nothing.
 */
export function casemapper(mapping) {
  const extra =
    mapping === "ascii" ? "" : mapping === "strict-rfc1459" ? "[]\\" : "[]\\~";
  const table = { "[": "{", "]": "}", "\\": "|", "~": "^" };
  const pattern = new RegExp(`[A-Z${extra.replace(/[\]\\[]/g, "\\$&")}]`, "g");
  return (name) => name.replace(pattern, (c) => table[c] || String.fromCharCode(c.charCodeAt(0) + 32));
}

/** Is `name` a channel, given the server's CHANTYPES? */
export function isChannel(name, chantypes = "#&") {
  return name.length > 0 && chantypes.includes(name[0]);
}

/** CTCP: "\x01ACTION waves\x01" -> {command: "ACTION", text: "waves"}; null if not CTCP. */
export function parseCtcp(text) {
  if (text.length < 2 || text[0] !== "\x01") return null;
  const body = text.slice(1, text.endsWith("\x01") ? -1 : undefined);
  const sp = body.indexOf(" ");
  return {
    command: (sp < 0 ? body : body.slice(0, sp)).toUpperCase(),
    text: sp < 0 ? "" : body.slice(sp + 1),
  };
}

/** An IRCv3 server-time value -> milliseconds since the epoch (or `fallback`). */
export function parseTime(value, fallback) {
  if (!value) return fallback;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? fallback : ms;
}

/** Milliseconds since the epoch -> the server-time format (always UTC, milliseconds). */
export function formatTime(ms) {
  return new Date(ms).toISOString();
}
