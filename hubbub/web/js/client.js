// The connection: IRC over a WebSocket (IRCv3 WebSocket, one line per text frame),
// registration with CAP LS 302 and SASL PLAIN, keepalive, reconnection with backoff,
// batches, and the requests whose answers come back as batches (CHATHISTORY, SEARCH).
// It knows nothing of the page: it emits parsed messages and batches, and state.js
// decides what they mean. The WebSocket class, timers, clock and randomness are
// injectable so the whole protocol runs under node with a fake socket.

import { casemapper, formatLine, parseCapValue, parseCaps, parseIsupport, parseLine, parsePrefix, splitByBytes, utf8Length, escapeTagValue } from "./irc.js";

/** Capabilities the client understands; only those the server offers are requested. */
export const WANTED_CAPS = [
  "message-tags", "server-time", "echo-message", "batch", "labeled-response",
  "away-notify", "extended-join", "multi-prefix", "userhost-in-names", "setname",
  "chghost", "account-notify", "account-tag", "invite-notify", "cap-notify",
  "draft/chathistory", "draft/event-playback", "draft/multiline", "draft/read-marker",
  "soju.im/search", "sasl",
];

// Batches whose lines only make sense together; every other batch type (labeled-response,
// netsplit...) is transparent: its lines are handled one by one as they come.
const COLLECTED_BATCHES = new Set(["chathistory", "draft/chathistory-targets", "draft/multiline", "soju.im/search", "search"]);
// The key a CHATHISTORY TARGETS request waits under among the history requests: no
// target folds to it (a line break is in no nick or channel).
const TARGETS_KEY = "\n targets";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const RECONNECT_BASE_MS = 1000;
export const RECONNECT_MAX_MS = 30000;
const TYPING_INTERVAL_MS = 3000; // the typing spec's minimum gap per target
const PING_AFTER_IDLE_MS = 60000;
const PING_TIMEOUT_MS = 30000;
const REQUEST_TIMEOUT_MS = 20000;
const MAX_NICK_ATTEMPTS = 10; // alternatives to a taken nick tried before giving up
// Registered under another nick than the one wanted (it was taken): without MONITOR to
// say when it is free, asked for again this often.
export const RECLAIM_INTERVAL_MS = 30000;
// A nick wanted that this page did not hold last (another tab or device of the same
// person may have it, and a reload of that page frees it for a second or two) is taken
// back only once it has stayed free this long.
export const RECLAIM_PATIENCE_MS = 15000;
const IN_FLIGHT_KEPT = 100; // messages remembered until the server answers them
// A multiline batch waits whole in the server's input queue while its flood budget
// refills: kept well under the usual input limit (8 KiB) on the wire, tags and all.
const MAX_BATCH_WIRE_BYTES = 6144;
// Worst case lengths for the parts of our own source mask we may not know yet
// (multiline spec's advice), plus its safety margin.
const UNKNOWN_USER = 20;
const UNKNOWN_HOST = 63;
const LINE_SAFETY = 10;

/** Exponential backoff with jitter: attempt 0 -> ~1 s, doubling to 30 s at most. */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** attempt);
  // Half fixed, half random: a restarted server is not hit by every client at once.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

function base64Utf8(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export class IrcClient {
  /**
   * options: url, nick, password (account password for SASL, optional), account (the
   * account that password is for, when not named like the nick), serverPassword (the
   * server's own, PASS, where it asks for one), username, realname, heldNick (the nick
   * this page had last, before a reload: see reclaimNick), and for tests: WebSocket,
   * setTimeout, clearTimeout, now, random.
   */
  constructor(options) {
    this.options = options;
    this.WebSocket = options.WebSocket || globalThis.WebSocket;
    this.setTimeout = options.setTimeout || ((fn, ms) => globalThis.setTimeout(fn, ms));
    this.clearTimeout = options.clearTimeout || ((id) => globalThis.clearTimeout(id));
    this.now = options.now || (() => Date.now());
    this.random = options.random || Math.random;
    this.listeners = new Map();
    this.wantedNick = options.nick;
    this.nickAsked = null; // a nick the person asked for with /nick, until the server's NICK gives it
    this.nick = options.nick;
    // The nick this page was registered under last (kept across reloads by the page): a
    // nick wanted that it held is its own to take back at once (see reclaimNick)
    this.heldNick = options.heldNick || null;
    this.heldBefore = null; // heldNick as it was when the server last registered us
    // The account SASL logs in to (null: the one named like the nick wanted): the one
    // named at the start, then the one the server last said we logged in to with the
    // password we have (900). Kept across connections: a /nick does not change it.
    this.loginAccount = options.account || null;
    this.status = "idle"; // idle, connecting, registering, registered, waiting, closed
    this.attempt = 0;
    this.ws = null;
    this.userClosed = false;
    this.timers = { reconnect: null, keepalive: null, reclaim: null };
    this.resetSession();
  }

  resetSession() {
    this.offered = new Map(); // capability -> value, as offered
    this.enabled = new Set(); // capabilities acknowledged
    this.isupport = new Map();
    this.fold = casemapper("rfc1459");
    this.prefix = parsePrefix("(ov)@+");
    this.chantypes = "#&";
    this.capsPending = 0; // REQs not yet answered during registration
    this.capLsBuffer = new Map();
    this.capEnded = false;
    this.saslState = null;
    this.account = null;
    this.loggingOut = false; // a LOGOUT sent for another tab's (logOutOf), its 901 to come
    // Conversations the server keeps no read marker for (a user without an account, a
    // service): it said so once (FAIL MARKREAD INVALID_PARAMS), and is not asked again
    this.unmarked = new Set();
    this.nickAttempts = 0;
    this.nickTooLong = false; // one of our alternatives to a taken nick was refused as too long
    // Registered under another nick than the one wanted: {nick, monitored, asked, patient}
    // while the wanted one is waited for (see reclaimNick)
    this.reclaim = null;
    // What the user said that the server has not answered yet (its echo, an ACK, or a
    // refusal: FAIL, an error numeric), oldest first: a refusal gives its text back
    this.inFlight = [];
    this.labelCounter = 0;
    this.sayCounter = 0;
    this.sendSeq = 0; // numbers the entries of inFlight
    this.pacingSeq = 0; // the last entry sent before the pacing PING
    this.paced = []; // what say() has yet to send: one unit at a time (see pump)
    this.pacing = null; // the PING token whose PONG lets the next unit go
    this.unconfirmed = null; // the unit sent last, not yet known to have arrived (its echo or PONG)
    this.paceCounter = 0;
    this.registered = false;
    this.user = null;
    this.host = null;
    this.batches = new Map();
    this.lastReceived = this.now();
    this.pingSentAt = 0;
    this.historyRequests = [];
    this.searchRequests = [];
    this.typingTargets = new Map();
    this.typingLabels = new Set(); // labels of typing notifications not answered yet
    this.batchCounter = 0;
    this.lastError = null;
  }

  // -- events -------------------------------------------------------------------------

  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }

  emit(type, detail) {
    for (const fn of this.listeners.get(type) || []) fn(detail);
  }

  setStatus(status, extra = {}) {
    this.status = status;
    this.emit("status", { status, ...extra });
  }

  // -- lifecycle ----------------------------------------------------------------------

  connect() {
    this.userClosed = false;
    this.clearTimer("reconnect");
    if (this.ws) return;
    this.resetSession();
    this.setStatus("connecting");
    let ws;
    try {
      // Text frames are preferred (UTF-8 all the way); binary is what every server must offer.
      ws = new this.WebSocket(this.options.url, ["text.ircv3.net", "binary.ircv3.net"]);
      ws.binaryType = "arraybuffer";
    } catch (err) {
      this.lastError = String(err);
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => this.onOpen();
    ws.onmessage = (event) => {
      if (typeof event.data === "string") this.onLine(event.data);
      else this.onLine(decoder.decode(event.data)); // invalid UTF-8 becomes U+FFFD
    };
    ws.onclose = () => this.onClose(ws);
    ws.onerror = () => {}; // a close event always follows; reconnection happens there
  }

  /** Leave for good (the user quit): QUIT, close, no reconnection. */
  quit(reason = "") {
    this.userClosed = true;
    this.clearTimer("reconnect");
    if (this.ws && this.ws.readyState === 1) this.send({ command: "QUIT", params: reason ? [reason] : [] });
    if (this.ws) this.ws.close(1000);
    this.setStatus("closed");
  }

  /** Try again now instead of waiting for the backoff timer (the network came back). */
  reconnectNow() {
    if (this.userClosed || this.ws) return;
    this.attempt = 0;
    this.connect();
  }

  onOpen() {
    this.setStatus("registering");
    this.lastReceived = this.now();
    this.startKeepalive();
    if (this.options.serverPassword) this.send({ command: "PASS", params: [this.options.serverPassword] });
    this.send({ command: "CAP", params: ["LS", "302"] });
    this.send({ command: "NICK", params: [this.wantedNick] });
    const username = this.options.username || this.wantedNick.replace(/[^A-Za-z0-9]/g, "").slice(0, 10) || "web";
    this.send({ command: "USER", params: [username, "0", "*", this.options.realname || this.wantedNick] });
  }

  onClose(ws) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.clearTimer("keepalive");
    this.clearTimer("reclaim");
    for (const req of [...this.historyRequests, ...this.searchRequests]) req.finish({ messages: [], error: "disconnected" });
    this.historyRequests = [];
    this.searchRequests = [];
    for (const t of this.typingTargets.values()) if (t.timer) this.clearTimeout(t.timer);
    this.typingTargets.clear();
    this.registered = false;
    // What say() had not got through: said, not dropped silently (nor sent again later,
    // maybe long after, in another conversation's flow).
    const unsent = this.unconfirmed ? [this.unconfirmed, ...this.paced] : this.paced;
    this.paced = [];
    this.pacing = null;
    this.unconfirmed = null;
    this.emit("disconnected", { error: this.lastError });
    if (unsent.length && !this.userClosed) this.emit("unsent", this.unsentGroups(unsent));
    if (this.userClosed) this.setStatus("closed");
    else this.scheduleReconnect();
  }

  /** Units of say() not sent, as [{target, command, action, text, lines, reply}]: one per
   * run of units to one target, the text as the user wrote it (lines cut in pieces joined
   * back); `reply`, the msgid its say() answered (+draft/reply), when all of it did, so
   * that given back it goes as a reply again. */
  unsentGroups(units) {
    const groups = [];
    let group = null;
    for (const u of units) {
      if (!group || this.fold(group.target) !== this.fold(u.target) || group.command !== u.command || group.action !== u.action) {
        group = { target: u.target, command: u.command, action: u.action, text: u.text, reply: u.reply || null };
        groups.push(group);
      } else {
        group.text += (u.continues ? "" : "\n") + u.text;
        if (group.reply !== (u.reply || null)) group.reply = null;
      }
    }
    for (const g of groups) g.lines = g.text.split("\n").length;
    return groups;
  }

  scheduleReconnect() {
    const delay = backoffDelay(this.attempt, this.random);
    this.attempt += 1;
    this.setStatus("waiting", { retryAt: this.now() + delay, error: this.lastError });
    this.timers.reconnect = this.setTimeout(() => {
      this.timers.reconnect = null;
      this.connect();
    }, delay);
  }

  clearTimer(name) {
    if (this.timers[name] !== null) {
      this.clearTimeout(this.timers[name]);
      this.timers[name] = null;
    }
  }

  // A silent server may be a dead connection that TCP has not noticed (a laptop that
  // slept): ask for a PONG, and give up on the socket if none comes.
  startKeepalive() {
    const tick = () => {
      const now = this.now();
      if (this.pingSentAt && now - this.pingSentAt > PING_TIMEOUT_MS) {
        this.lastError = "Ping timeout";
        if (this.ws) this.ws.close(4000);
        return;
      }
      if (!this.pingSentAt && now - this.lastReceived > PING_AFTER_IDLE_MS) {
        this.pingSentAt = now;
        this.send({ command: "PING", params: ["hubbub-web"] });
      }
      this.timers.keepalive = this.setTimeout(tick, 5000);
    };
    this.clearTimer("keepalive");
    this.timers.keepalive = this.setTimeout(tick, 5000);
  }

  // -- sending ------------------------------------------------------------------------

  /** Send one message ({tags, command, params}) or a raw line typed by the user. */
  send(message) {
    if (!this.ws || this.ws.readyState !== 1) return false;
    const line = typeof message === "string" ? message : formatLine(message);
    if (/[\r\n]/.test(line)) throw new Error("line break in a line");
    this.ws.send(this.ws.protocol === "binary.ircv3.net" ? encoder.encode(line) : line);
    return true;
  }

  has(cap) {
    return this.enabled.has(cap);
  }

  /** The longest text one PRIVMSG/NOTICE to `target` may carry and still reach others whole. */
  textBudget(command, target) {
    const user = this.user ? this.user.length : UNKNOWN_USER;
    const host = this.host ? this.host.length : UNKNOWN_HOST;
    // ":nick!user@host CMD target :text\r\n"
    const overhead = 1 + utf8Length(this.nick) + 1 + user + 1 + host + 1 + command.length + 1 + utf8Length(target) + 2 + 2;
    return Math.max(64, 512 - overhead - LINE_SAFETY);
  }

  /** A label for a command whose answer matters (labeled-response), or null. */
  newLabel() {
    return this.has("labeled-response") ? `hw${++this.labelCounter}` : null;
  }

  /** Lines (or multiline batches) of ours to `target` not answered yet: their echo, or
   * their labeled answer, is still to come; those of a paste still being paced out
   * (see pump) too, as they will go. */
  unanswered(target) {
    const folded = this.fold(target);
    const to = (u) => (u.command === "PRIVMSG" || u.command === "NOTICE") && this.fold(u.target) === folded;
    return this.inFlight.filter((e) => to(e.unit)).length + this.paced.filter(to).length;
  }

  /** A unit of say() goes out: remembered until the server answers it, where it can
   * tell (its echo, or with labeled-response its labeled answer). */
  track(entry, label) {
    if (!label && !this.has("echo-message")) return;
    this.inFlight.push({ ...entry, label, seq: ++this.sendSeq });
    if (this.inFlight.length > IN_FLIGHT_KEPT) this.inFlight.shift();
  }

  /**
   * Say `text` to `target`, as a PRIVMSG or a NOTICE (`command`). Several lines go as
   * one draft/multiline batch (of that command) when the server offers it (within its
   * limits), otherwise as separate messages; long lines are cut between words. `action`
   * makes it a /me. `reply`: the msgid of the message this answers (+draft/reply, on
   * the first part sent; only with message-tags).
   */
  say(target, text, { command = "PRIVMSG", action = false, reply = null } = {}) {
    if (!this.registered) return false;
    const lines = text.replace(/\r\n?/g, "\n").split("\n");
    while (lines.length && lines[lines.length - 1].trim() === "") lines.pop();
    while (lines.length && lines[0].trim() === "") lines.shift();
    if (!lines.length) return false;
    const typing = this.typingTargets.get(this.fold(target));
    if (typing) {
      // A message ends "typing" for its receivers; nothing pending may contradict it.
      if (typing.timer) this.clearTimeout(typing.timer);
      typing.timer = null;
      typing.sent = null;
    }
    // A unit: what sends it, and what it says (`text`, a piece of a line that `continues`
    // the one before, `wire` as sent) should it have to be reported unsent.
    const units = [];
    const said = ++this.sayCounter; // the units of one say() share it: refused, the rest is not sent
    const single = (text, wire, continues) => {
      const u = { text, wire, continues };
      u.unit = () => this.sendText(command, target, wire, u);
      return u;
    };
    const long = lines.length === 1 && utf8Length(lines[0]) > this.textBudget(command, target);
    if (action) {
      const budget = this.textBudget(command, target) - 9; // "\x01ACTION " and "\x01"
      for (const line of lines) {
        splitByBytes(line, budget).forEach((piece, i) => units.push(single(piece, `\x01ACTION ${piece}\x01`, i > 0)));
      }
    } else if ((lines.length > 1 || long) && this.has("draft/multiline") && this.has("batch")) {
      // A long single line goes as one multiline message too: others see it whole.
      units.push(...this.multilineUnits(command, target, lines));
    } else {
      const budget = this.textBudget(command, target);
      for (const line of lines) {
        if (line === "") continue; // blank lines cannot be sent alone
        splitByBytes(line, budget).forEach((piece, i) => units.push(single(piece, piece, i > 0)));
      }
    }
    const answers = reply && this.has("message-tags") ? reply : null;
    for (const u of units) Object.assign(u, { target, command, action, said, reply: answers });
    if (answers && units.length) units[0].tags = { "+draft/reply": answers };
    this.paced.push(...units);
    this.pump();
    return true;
  }

  /**
   * What the user says goes out one unit (a line, or a multiline batch) at a time when
   * there is more than one: after a unit with more behind it, or after a batch, a PING,
   * and the next unit only once its PONG is back. The server's flood control then
   * holds at most one unit of ours waiting, and a long paste arrives, slowly, instead
   * of overflowing its input queue ("Excess Flood"). A line typed alone goes at once.
   */
  pump() {
    while (this.pacing === null && this.paced.length) {
      const entry = this.paced.shift();
      entry.unit();
      // Until its echo or the PONG comes back, a unit followed by a PING may be lost with
      // the connection; a line sent alone is taken as sent.
      this.unconfirmed = null;
      if (entry.big || this.paced.length) {
        this.unconfirmed = entry;
        this.pacing = `hubbub-pace-${++this.paceCounter}`;
        this.pacingSeq = this.sendSeq;
        this.send({ command: "PING", params: [this.pacing] });
      }
    }
  }

  /** Our own echo (echo-message) of what was sent last: it has arrived. */
  confirmEcho(msg, batch = false) {
    const u = this.unconfirmed;
    if (!u || !msg.source || this.fold(msg.source.nick) !== this.fold(this.nick) || !!u.batch !== batch) return;
    if (this.fold(msg.params[0] || "") !== this.fold(u.target)) return;
    if (batch || (msg.command === u.command && msg.params[1] === u.wire)) this.unconfirmed = null;
  }

  sendText(command, target, text, unit = null) {
    const label = unit ? this.newLabel() : null;
    const tags = { ...(unit && unit.tags), ...(label ? { label } : {}) };
    this.send({ tags, command, params: [target, text] });
    if (unit) this.track({ unit, batch: false }, label);
    if (!this.has("echo-message")) this.emitLocalEcho({ tags: { ...(unit && unit.tags) }, command, params: [target, text] });
  }

  // Without echo-message the server never tells us what we said: make the same
  // message it would have echoed, so the rest of the client has one path (its account
  // tag too: a reaction of ours is keyed by it, as history will bring it).
  emitLocalEcho(message) {
    const prefix = `${this.nick}!${this.user || ""}@${this.host || ""}`;
    const tags = { ...message.tags, time: new Date(this.now()).toISOString() };
    if (this.account && this.has("account-tag")) tags.account = this.account;
    this.emit("message", { ...message, tags, prefix, source: { nick: this.nick, user: this.user || "", host: this.host || "" }, local: true });
  }

  multilineLimits() {
    const value = parseCapValue(this.offered.get("draft/multiline"));
    return {
      maxBytes: parseInt(value["max-bytes"], 10) || 4096,
      maxLines: parseInt(value["max-lines"], 10) || 100,
    };
  }

  /** Lines packed into as few draft/multiline batches of `command` (PRIVMSG or NOTICE)
   * as the server's limits allow: the units that send them (a batch of one line is a
   * plain message). */
  multilineUnits(command, target, lines) {
    const { maxBytes, maxLines } = this.multilineLimits();
    const budget = this.textBudget(command, target);
    const batches = [];
    let current = [];
    let bytes = 0;
    let wire = 0; // the batch's lines as sent: "@batch=mlN[;draft/multiline-concat] PRIVMSG target :text\r\n"
    const overhead = 48 + utf8Length(target);
    for (const line of lines) {
      const pieces = line === "" ? [""] : splitByBytes(line, budget);
      pieces.forEach((piece, i) => {
        const concat = i > 0;
        const size = utf8Length(piece) + (current.length && !concat ? 1 : 0);
        const full = current.length + 1 > maxLines || bytes + size > maxBytes || wire + overhead + size > MAX_BATCH_WIRE_BYTES;
        if (current.length && full) {
          batches.push(current);
          current = [];
          bytes = 0;
          wire = 0;
        }
        wire += overhead + utf8Length(piece);
        // A new batch cannot start with a concatenation; the piece starts a line there.
        const first = current.length === 0;
        current.push({ text: piece, concat: concat && !first, continues: concat });
        bytes += utf8Length(piece) + (first || concat ? 0 : 1);
      });
    }
    if (current.length) batches.push(current);
    const units = [];
    for (const batch of batches) {
      // Blank lines at a batch edge (after a cut) would make an invalid batch.
      while (batch.length && batch[batch.length - 1].text === "") batch.pop();
      while (batch.length && batch[0].text === "") batch.shift();
      if (!batch.length) continue;
      const text = batch.map((item, i) => (i && !item.concat ? "\n" : "") + item.text).join("");
      const said = { text, continues: batch[0].continues };
      const u = batch.length === 1 ? { wire: batch[0].text, ...said } : { big: true, batch: true, ...said };
      u.unit = batch.length === 1 ? () => this.sendText(command, target, batch[0].text, u) : () => this.sendBatch(command, target, batch, u);
      units.push(u);
    }
    return units;
  }

  sendBatch(command, target, batch, unit = null) {
    const ref = `ml${++this.batchCounter}`;
    const label = unit ? this.newLabel() : null;
    // The batch's client tags (a reply) go on its opening line: they are the message's.
    const tags = { ...(unit && unit.tags), ...(label ? { label } : {}) };
    this.send({ tags, command: "BATCH", params: [`+${ref}`, "draft/multiline", target] });
    if (unit) this.track({ unit, batch: true }, label);
    const sent = [];
    for (const item of batch) {
      const tags = { batch: ref };
      if (item.concat) tags["draft/multiline-concat"] = "";
      const message = { tags, command, params: [target, item.text] };
      this.send(message);
      sent.push(message);
    }
    this.send({ command: "BATCH", params: [`-${ref}`] });
    if (!this.has("echo-message")) {
      this.emit("batch", { type: "draft/multiline", params: [target], tags: { ...(unit && unit.tags), time: new Date(this.now()).toISOString() }, source: { nick: this.nick }, messages: sent, local: true });
    }
  }

  /**
   * React to the message `msgid` in `target` with `emoji` (+draft/react on a TAGMSG, as
   * the spec's reply tag names the message), or take the reaction back (`remove`:
   * +draft/unreact, which Goguma and others send; the spec has no word for it). Needs
   * message-tags; without echo-message the page sees its own reaction at once.
   */
  react(target, msgid, emoji, { remove = false } = {}) {
    if (!this.registered || !this.has("message-tags") || !msgid) return false;
    const tags = { "+draft/reply": msgid, [remove ? "+draft/unreact" : "+draft/react"]: emoji };
    this.send({ tags, command: "TAGMSG", params: [target] });
    if (!this.has("echo-message")) this.emitLocalEcho({ tags, command: "TAGMSG", params: [target] });
    return true;
  }

  /**
   * Tell `target` we are typing ("active"), stopped ("paused") or cleared the input
   * ("done"). At most one notification per 3 s per target, as the typing spec asks;
   * a status wanted inside that window is sent when it ends (the last one wins).
   */
  typing(target, status) {
    if (!this.registered || !this.has("message-tags")) return;
    const key = this.fold(target);
    let t = this.typingTargets.get(key);
    if (!t) {
      t = { last: -Infinity, sent: null, timer: null };
      this.typingTargets.set(key, t);
    }
    if (status === t.sent && !t.timer) {
      if (status !== "active") return; // paused/done once is enough
      if (this.now() - t.last < TYPING_INTERVAL_MS) return; // still "active" for its receivers
    }
    if (status !== "active" && t.sent === null && !t.timer) return; // nothing to stop
    const sendNow = () => {
      t.timer = null;
      t.last = this.now();
      t.sent = status;
      // Labeled where the server answers labels: a refusal of it (the network out of
      // reach, a moderated channel) is known for what it is, and not shown
      const label = this.newLabel();
      if (label) {
        this.typingLabels.add(label);
        if (this.typingLabels.size > IN_FLIGHT_KEPT) this.typingLabels.delete(this.typingLabels.values().next().value);
      }
      this.send({ tags: label ? { "+typing": status, label } : { "+typing": status }, command: "TAGMSG", params: [target] });
    };
    if (t.timer) this.clearTimeout(t.timer);
    t.timer = null;
    const wait = t.last + TYPING_INTERVAL_MS - this.now();
    if (wait <= 0) sendNow();
    else t.timer = this.setTimeout(sendNow, wait);
  }

  /**
   * CHATHISTORY <subcommand> <target> <args...>; resolves with {messages, error} when
   * the batch for that target ends (or a FAIL, a timeout, a disconnection).
   * The batch itself is also emitted as a "batch" event: callers only learn it is done.
   */
  chathistory(subcommand, target, ...args) {
    if (!this.has("draft/chathistory") || !this.has("batch")) return Promise.resolve({ messages: [], error: "unsupported" });
    return this.request(this.historyRequests, { command: "CHATHISTORY", params: [subcommand, target, ...args.map(String)] }, this.fold(target));
  }

  /**
   * CHATHISTORY TARGETS: the conversations (channels, and nicks of private ones) with
   * messages between the times `from` and `to` (ms); resolves with {targets: [{name,
   * time}], error}, the latest first. The later time is sent first: the server counts
   * the limit from the first one, and the latest conversations are the ones wanted.
   */
  async chathistoryTargets(from, to, limit) {
    if (!this.has("draft/chathistory") || !this.has("batch")) return { targets: [], error: "unsupported" };
    const stamp = (ms) => `timestamp=${new Date(ms).toISOString()}`;
    const message = { command: "CHATHISTORY", params: ["TARGETS", stamp(to), stamp(from), String(limit)] };
    const { messages, error } = await this.request(this.historyRequests, message, TARGETS_KEY);
    const targets = messages
      .filter((m) => m.command === "CHATHISTORY" && m.params[0] === "TARGETS" && m.params.length >= 3)
      .map((m) => ({ name: m.params[1], time: Date.parse(m.params[2].replace(/^timestamp=/, "")) || 0 }));
    return { targets, error };
  }

  /** draft/account-registration as offered: null when it is not, else {emailRequired}. */
  accountRegistration() {
    if (!this.offered.has("draft/account-registration")) return null;
    const value = parseCapValue(this.offered.get("draft/account-registration"));
    return { emailRequired: "email-required" in value };
  }

  /** SEARCH with soju.im/search attributes ({text, in, from, limit...}). */
  search(attributes) {
    if (!this.has("soju.im/search")) return Promise.resolve({ messages: [], error: "unsupported" });
    const attrs = Object.entries(attributes)
      .filter(([, v]) => v !== undefined && v !== null && v !== "")
      .map(([k, v]) => `${k}=${escapeTagValue(v)}`)
      .join(";");
    return this.request(this.searchRequests, { command: "SEARCH", params: [attrs] }, null);
  }

  request(queue, message, key) {
    return new Promise((resolve) => {
      const req = {
        key,
        finish: (result) => {
          this.clearTimeout(req.timer);
          const i = queue.indexOf(req);
          if (i >= 0) queue.splice(i, 1);
          resolve(result);
        },
      };
      req.timer = this.setTimeout(() => req.finish({ messages: [], error: "timeout" }), REQUEST_TIMEOUT_MS);
      queue.push(req);
      if (!this.send(message)) req.finish({ messages: [], error: "disconnected" });
    });
  }

  /** The largest CHATHISTORY page the server allows (ISUPPORT CHATHISTORY), capped at `wanted`. */
  historyLimit(wanted = 100) {
    const max = parseInt(this.isupport.get("CHATHISTORY"), 10);
    return max > 0 ? Math.min(max, wanted) : wanted;
  }

  /**
   * How to name a message in a CHATHISTORY request: by its msgid when the server says it
   * takes them (ISUPPORT MSGREFTYPES), since that is exact; otherwise by its time, which
   * cannot tell apart the messages of one millisecond (a burst), so that BEFORE a time
   * skips the others of its millisecond.
   */
  historyRef(msgid, ms) {
    const types = (this.isupport.get("MSGREFTYPES") || "").split(",");
    if (msgid && types.includes("msgid")) return `msgid=${msgid}`;
    return `timestamp=${new Date(ms).toISOString()}`;
  }

  /** Read markers are kept per account: without one logged in there is nothing to keep,
   * nor for a conversation the server said it keeps none of. */
  markRead(target, ms) {
    if (!this.has("draft/read-marker") || !this.account || this.unmarked.has(this.fold(target))) return;
    this.send({ command: "MARKREAD", params: [target, `timestamp=${new Date(ms).toISOString()}`] });
  }

  /** Ask for the account's read marker of `target` (answered with MARKREAD), where one
   * is kept: the server tells a channel's on joining, a private conversation's only asked. */
  askReadMarker(target) {
    if (!this.has("draft/read-marker") || !this.account || this.unmarked.has(this.fold(target))) return;
    this.send({ command: "MARKREAD", params: [target] });
  }

  // -- receiving ----------------------------------------------------------------------

  onLine(line) {
    this.lastReceived = this.now();
    this.pingSentAt = 0;
    if (!line) return;
    let msg;
    try {
      msg = parseLine(line);
    } catch {
      return;
    }
    const batchRef = msg.tags.batch;
    if (batchRef && msg.command !== "BATCH") {
      const batch = this.batches.get(batchRef);
      if (batch && batch.collect) {
        batch.messages.push(msg);
        return;
      }
    }
    if (this.answered(msg)) return; // a refusal of what the user said: reported as such
    switch (msg.command) {
      case "PING":
        this.send({ command: "PONG", params: msg.params });
        return;
      case "PONG":
        if (this.pacing !== null && msg.params[msg.params.length - 1] === this.pacing) {
          // what went before the PING has been answered, whatever the answer was
          this.inFlight = this.inFlight.filter((e) => e.seq > this.pacingSeq);
          this.pacing = null;
          this.unconfirmed = null;
          this.pump();
        }
        return;
      case "CAP":
        this.onCap(msg);
        break;
      case "AUTHENTICATE":
        this.onAuthenticate(msg);
        return;
      case "BATCH":
        this.onBatch(msg);
        return;
      case "ERROR":
        this.lastError = msg.params[0] || "Connection closed";
        break;
      case "FAIL":
        this.onFail(msg);
        break;
      case "001":
        this.onWelcome(msg);
        break;
      case "005":
        this.onIsupport(msg);
        break;
      case "432":
      case "433":
      case "436":
        if (!this.registered) {
          this.retryNick(msg);
          return;
        }
        if (this.reclaimRefused(msg)) return;
        break;
      case "464":
        // The server's password, wrong or missing: trying again with it would only be
        // refused again (and count against the address), so the session ends, saying why.
        if (!this.registered) {
          this.refusePassword(msg.params[msg.params.length - 1] || "Password incorrect");
          return;
        }
        break;
      case "376":
      case "422":
        this.reclaimNick(); // the end of the welcome: ISUPPORT (MONITOR) is known
        break;
      case "730":
      case "731":
        if (this.onMonitor(msg)) return;
        break;
      case "900":
        this.account = msg.params[2] || null;
        // Logged in by SASL (before registration only SASL logs in; its 903 may come
        // first): the account the next connections log in to, whatever nick they have.
        if (this.account && !this.registered && ["sent", "done"].includes(this.saslState)) this.loginAccount = this.account;
        break;
      case "901":
        // Once connected and logged in, a 901 is the person's own logout (NickServ LOGOUT)
        // or their account dropped: the only ones hubbub sends. One before the welcome
        // belongs to the login under way, and one while logged out undoes nothing.
        if (this.registered && this.account !== null) this.loggedOut();
        this.account = null;
        break;
      case "903":
      case "904":
      case "905":
      case "906":
      case "907":
      case "902":
        this.onSaslResult(msg);
        break;
      case "NICK":
        if (msg.source && this.fold(msg.source.nick) === this.fold(this.nick)) {
          this.nick = msg.params[0];
          if (this.registered) {
            this.heldNick = this.nick;
            this.stopReclaim(); // the nick wanted back, or another one: nothing to wait for
            // The nick to ask for after a reconnection: one the person chose, not one the
            // server gave (a guest nick in place of one registered to an account), as a
            // reload asks for the nick remembered
            if (this.nickAsked !== null && this.fold(msg.params[0]) === this.fold(this.nickAsked)) {
              this.wantedNick = msg.params[0];
              this.nickAsked = null;
            }
            this.emit("own-nick", { nick: msg.params[0] });
          }
        }
        break;
      case "CHGHOST":
        if (msg.source && this.fold(msg.source.nick) === this.fold(this.nick)) {
          this.user = msg.params[0];
          this.host = msg.params[1];
        }
        break;
      case "JOIN":
      case "PRIVMSG":
        // Our own echo shows the mask others see: the exact budget for later lines.
        if (msg.source && msg.source.host && this.fold(msg.source.nick) === this.fold(this.nick)) {
          this.user = msg.source.user;
          this.host = msg.source.host;
        }
        if (msg.command === "PRIVMSG") {
          this.confirmEcho(msg);
          this.echoed(msg, false);
        }
        break;
      case "NOTICE":
        this.confirmEcho(msg);
        this.echoed(msg, false);
        break;
      default:
    }
    this.emit("message", msg);
  }

  onCap(msg) {
    const sub = (msg.params[1] || "").toUpperCase();
    const more = msg.params[2] === "*" && msg.params.length > 3;
    const list = msg.params[msg.params.length - 1] || "";
    if (sub === "LS") {
      for (const [k, v] of parseCaps(list)) this.capLsBuffer.set(k, v);
      if (more) return;
      this.offered = this.capLsBuffer;
      this.capLsBuffer = new Map();
      if (!this.registered) this.requestCaps([...this.offered.keys()]);
    } else if (sub === "NEW") {
      for (const [k, v] of parseCaps(list)) this.offered.set(k, v);
      this.requestCaps([...parseCaps(list).keys()]);
    } else if (sub === "DEL") {
      for (const k of parseCaps(list).keys()) {
        this.offered.delete(k);
        this.enabled.delete(k);
      }
      this.emit("caps", this.enabled);
    } else if (sub === "ACK") {
      for (const name of list.split(" ")) {
        if (!name) continue;
        if (name[0] === "-") this.enabled.delete(name.slice(1));
        else this.enabled.add(name);
      }
      this.capsPending = Math.max(0, this.capsPending - 1);
      this.emit("caps", this.enabled);
      this.afterCapReply();
    } else if (sub === "NAK") {
      this.capsPending = Math.max(0, this.capsPending - 1);
      this.afterCapReply();
    }
  }

  requestCaps(names) {
    const wanted = names.filter((name) => {
      if (!WANTED_CAPS.includes(name) || this.enabled.has(name)) return false;
      if (name === "sasl") return !this.registered && this.saslUsable();
      return true;
    });
    if (!wanted.length) {
      this.afterCapReply();
      return;
    }
    // Several REQs if needed: one CAP line stays well under 512 bytes.
    let chunk = [];
    const flush = () => {
      if (!chunk.length) return;
      this.capsPending += 1;
      this.send({ command: "CAP", params: ["REQ", chunk.join(" ")] });
      chunk = [];
    };
    for (const name of wanted) {
      if (chunk.join(" ").length + name.length > 400) flush();
      chunk.push(name);
    }
    flush();
  }

  saslUsable() {
    if (!this.options.password || !this.offered.has("sasl")) return false;
    const mechs = this.offered.get("sasl");
    return mechs === "" || mechs.split(",").includes("PLAIN");
  }

  afterCapReply() {
    if (this.registered || this.capEnded || this.capsPending > 0) return;
    if (this.enabled.has("sasl") && this.options.password && this.saslState === null) {
      this.saslState = "started";
      this.send({ command: "AUTHENTICATE", params: ["PLAIN"] });
      return;
    }
    this.endCap();
  }

  endCap() {
    if (this.capEnded) return;
    this.capEnded = true;
    this.send({ command: "CAP", params: ["END"] });
  }

  onAuthenticate(msg) {
    if (this.saslState !== "started" || msg.params[0] !== "+") return;
    this.saslState = "sent";
    const account = this.saslAccount();
    const payload = base64Utf8(`${account}\0${account}\0${this.options.password}`);
    // SASL chunks are 400 bytes; a payload of an exact multiple ends with "+".
    for (let i = 0; i < payload.length; i += 400) this.send({ command: "AUTHENTICATE", params: [payload.slice(i, i + 400)] });
    if (payload.length % 400 === 0) this.send({ command: "AUTHENTICATE", params: ["+"] });
  }

  /** The account SASL logs in to: the one logged in to last (or named at the start),
   * else the one named like the nick wanted. */
  saslAccount() {
    return this.loginAccount || this.wantedNick;
  }

  /**
   * A login that worked once connected (the 900 of a /register, or of an IDENTIFY typed
   * to NickServ): its account, and `password`, are what the next connections log in with.
   */
  loggedInWith(password) {
    this.options.password = password;
    if (this.account) this.loginAccount = this.account;
  }

  /**
   * Logged out on purpose: the password is not to log in with any more, so that a
   * reconnection stays logged out as the server left us ("logged-out" tells the page,
   * which forgets it too). A later login (loggedInWith) gives one again.
   */
  loggedOut() {
    this.options.password = undefined;
    this.loginAccount = null;
    this.loggingOut = false;
    this.emit("logged-out", { account: this.account });
  }

  /**
   * The person logged out of `account` in another tab of this browser: this connection
   * logs out of it too (a NickServ LOGOUT, whose 901 then ends the login as one typed
   * here does), and one not logged in yet (reconnecting) forgets the password it would
   * log in with. True when this tab had something to log out of.
   */
  logOutOf(account, fold) {
    const its = (name) => !!name && fold(name) === fold(account);
    if (this.registered && its(this.account)) {
      if (!this.loggingOut) this.loggingOut = this.send({ command: "PRIVMSG", params: ["NickServ", "LOGOUT"] });
      if (this.loggingOut) return true;
    }
    if (!its(this.loginAccount) && !(this.options.password && its(this.saslAccount()))) return false;
    this.options.password = undefined;
    this.loginAccount = null;
    return true;
  }

  onSaslResult(msg) {
    if (msg.command === "903") this.saslState = "done";
    else {
      this.saslState = "failed";
      this.emit("sasl-failed", { text: msg.params[msg.params.length - 1], account: this.saslAccount() });
    }
    this.endCap();
  }

  /**
   * The nick asked for at registration was refused. Taken (433, 436): try another like
   * it. Erroneous (432): the user's own choice cannot be mended here, so give up and
   * say why ("nick-refused"); one of our alternatives was too long for the server
   * (the user's nick was not), so try shorter ones, no longer than the user's.
   */
  retryNick(msg) {
    const wanted = this.wantedNick;
    if (msg.command === "432" && this.nickAttempts === 0) {
      this.refuseNick(`The server refused the nickname ${wanted}: ${msg.params[msg.params.length - 1]}`);
      return;
    }
    if (msg.command === "432") this.nickTooLong = true;
    this.nickAttempts += 1;
    if (this.nickAttempts > MAX_NICK_ATTEMPTS) {
      this.refuseNick(`No nickname like ${wanted} is free on this server`);
      return;
    }
    let next;
    if (this.nickAttempts === 1) next = `${wanted.slice(0, 12)}_`;
    else {
      const digits = String(Math.floor(this.random() * 1000));
      const room = this.nickTooLong ? Math.max(1, wanted.length - digits.length) : 12;
      next = `${wanted.slice(0, room)}${digits}`;
    }
    this.nick = next;
    this.send({ command: "NICK", params: [next] });
  }

  refusePassword(reason) {
    const text = this.options.serverPassword
      ? `The server refused its password (${reason}): check it and connect again.`
      : "This server asks for its password: enter it to connect.";
    this.lastError = text;
    this.emit("password-refused", { text });
    this.quit();
  }

  refuseNick(text) {
    this.lastError = text;
    this.emit("nick-refused", { nick: this.wantedNick, text });
    this.quit();
  }

  onWelcome(msg) {
    this.registered = true;
    this.attempt = 0;
    this.nick = msg.params[0];
    // Held last before this registration: was the nick wanted ours (reclaimNick)?
    this.heldBefore = this.heldNick;
    this.heldNick = this.nick;
    // Many servers (hubbub too) end 001 with our full mask.
    const words = (msg.params[1] || "").split(" ");
    const mask = words[words.length - 1];
    const bang = mask.indexOf("!");
    const at = mask.indexOf("@");
    if (bang > 0 && at > bang && mask.slice(0, bang) === this.nick) {
      this.user = mask.slice(bang + 1, at);
      this.host = mask.slice(at + 1);
    }
    this.setStatus("registered");
    this.emit("registered", { nick: this.nick });
  }

  onIsupport(msg) {
    for (const [name, value] of parseIsupport(msg.params)) {
      if (value === null) this.isupport.delete(name);
      else this.isupport.set(name, value);
      if (name === "CASEMAPPING") this.fold = casemapper(value || "rfc1459");
      if (name === "PREFIX") this.prefix = parsePrefix(value);
      if (name === "CHANTYPES") this.chantypes = value || "#";
    }
    this.emit("isupport", this.isupport);
  }

  onBatch(msg) {
    const ref = msg.params[0] || "";
    if (ref[0] === "+") {
      const type = msg.params[1] || "";
      this.batches.set(ref.slice(1), {
        ref: ref.slice(1), type, params: msg.params.slice(2), tags: msg.tags, source: msg.source,
        messages: [], parent: msg.tags.batch || null, collect: COLLECTED_BATCHES.has(type),
      });
      return;
    }
    const batch = this.batches.get(ref.slice(1));
    if (!batch) return;
    this.batches.delete(batch.ref);
    if (!batch.collect) return;
    const parent = batch.parent && this.batches.get(batch.parent);
    if (parent && parent.collect) {
      // A batch inside a collected batch (a multiline message inside history): it
      // travels as one item of its parent.
      parent.messages.push({ command: "BATCH", batch });
      return;
    }
    if (batch.type === "draft/multiline") {
      this.confirmEcho({ source: batch.source, params: batch.params }, true);
      const command = batch.messages.length ? batch.messages[0].command : "PRIVMSG"; // or NOTICE
      this.echoed({ source: batch.source, params: batch.params, tags: batch.tags, command }, true);
    }
    // History the page asked for, or history the server sent by itself (the private
    // conversations replayed at login): the page keeps the former only for a buffer it
    // still has.
    if (batch.type === "chathistory") {
      const key = this.fold(batch.params[0] || "");
      batch.requested = this.historyRequests.some((r) => r.key === key);
    }
    this.emit("batch", batch);
    if (batch.type === "chathistory") this.finishRequest(this.historyRequests, this.fold(batch.params[0] || ""), batch);
    else if (batch.type === "draft/chathistory-targets") this.finishRequest(this.historyRequests, TARGETS_KEY, batch);
    else if (batch.type === "soju.im/search" || batch.type === "search") this.finishRequest(this.searchRequests, null, batch);
  }

  finishRequest(queue, key, batch) {
    const req = queue.find((r) => r.key === key);
    if (req) req.finish({ messages: batch.messages, error: null });
  }

  // -- answers to what the user said ----------------------------------------------------

  /** The label a message answers: its own, or that of the batch it is in. */
  labelOf(msg) {
    if (msg.tags.label !== undefined) return msg.tags.label;
    for (let ref = msg.tags.batch, depth = 0; ref && depth < 10; depth++) {
      const batch = this.batches.get(ref);
      if (!batch) break;
      if (batch.tags.label !== undefined) return batch.tags.label;
      ref = batch.parent;
    }
    return null;
  }

  /**
   * A message answering something of ours: a typing notification's (its refusal is
   * dropped: the user did not ask for it), or a unit of say() (its refusal, a FAIL or an
   * error numeric, is emitted as "refused" with the text not sent). True when `msg` is
   * done with here. With labels the answer is known exactly; without, the server
   * answers in order: a FAIL PRIVMSG (or NOTICE, BATCH) is the oldest such message's
   * answer, a 401/403/404 the oldest one's to the target it names.
   */
  answered(msg) {
    const refusal = msg.command === "FAIL" || /^[45]\d\d$/.test(msg.command);
    const opening = msg.command === "BATCH" && (msg.params[0] || "")[0] === "+";
    if (msg.command === "BATCH" && !(opening && msg.params[1] !== "labeled-response")) return false;
    const label = this.labelOf(msg);
    if (label !== null && this.typingLabels.has(label)) {
      this.typingLabels.delete(label);
      return refusal;
    }
    let i = -1;
    if (label !== null) i = this.inFlight.findIndex((e) => e.label === label);
    else if (refusal && msg.command === "FAIL") {
      const command = msg.params[0];
      i = this.inFlight.findIndex((e) => !e.label && (command === "BATCH" ? e.batch : e.unit.command === command));
    } else if (refusal && ["401", "403", "404"].includes(msg.command) && msg.params.length > 2) {
      const target = this.fold(msg.params[1]);
      i = this.inFlight.findIndex((e) => !e.label && this.fold(e.unit.target) === target);
    }
    if (i < 0) return false;
    const entry = this.inFlight[i];
    this.inFlight.splice(0, i + 1); // answered, and what went before it too
    if (!refusal) return false;
    this.refuse(entry.unit, msg);
    return true;
  }

  /** Our own echo of a message not labeled: the oldest of its kind is answered. */
  echoed(msg, batch) {
    if (!msg.source || this.fold(msg.source.nick) !== this.fold(this.nick) || this.labelOf(msg) !== null) return;
    const target = this.fold(msg.params[0] || "");
    const i = this.inFlight.findIndex((e) => !e.label && e.batch === batch && e.unit.command === msg.command && this.fold(e.unit.target) === target);
    if (i >= 0) this.inFlight.splice(0, i + 1);
  }

  /** A unit of say() refused: it and what its say() had not sent yet (the rest of a
   * paste) are not sent, and are said to be, as typed. */
  refuse(unit, msg) {
    if (this.unconfirmed === unit) this.unconfirmed = null;
    const rest = this.paced.filter((u) => u.said === unit.said);
    this.paced = this.paced.filter((u) => u.said !== unit.said);
    const [group] = this.unsentGroups([unit, ...rest]);
    const code = msg.command === "FAIL" ? msg.params[1] || "" : msg.command;
    this.emit("refused", { ...group, code, reason: msg.params[msg.params.length - 1] || "" });
  }

  // -- the nick wanted, taken back ------------------------------------------------------

  /**
   * Registered under another nick than the one wanted (it was taken, by someone else or
   * by our own session that has not timed out yet): wait for it to be free and ask for
   * it then. With MONITOR, the server says when (731); without, it is asked for again
   * every RECLAIM_INTERVAL_MS. Quietly: a refusal of it says nothing.
   *
   * Where this page did not hold that nick last, the one holding it may be another tab
   * or device of the same person: a reload there frees it for a moment, and taking it
   * then would swap the two pages' nicks. So such a page (patient) asks for it only once
   * it has stayed free RECLAIM_PATIENCE_MS; back meanwhile (730), it is waited for again.
   */
  reclaimNick() {
    if (!this.registered || this.reclaim || this.fold(this.nick) === this.fold(this.wantedNick)) return;
    const patient = !this.heldBefore || this.fold(this.heldBefore) !== this.fold(this.wantedNick);
    this.reclaim = { nick: this.wantedNick, monitored: this.isupport.has("MONITOR"), asked: false, patient };
    if (this.reclaim.monitored) this.send({ command: "MONITOR", params: ["+", this.reclaim.nick] });
    else this.scheduleReclaim();
  }

  scheduleReclaim() {
    this.clearTimer("reclaim");
    this.timers.reclaim = this.setTimeout(() => {
      this.timers.reclaim = null;
      this.askNickBack();
    }, RECLAIM_INTERVAL_MS);
  }

  askNickBack() {
    if (!this.reclaim || this.reclaim.asked || !this.registered) return;
    this.reclaim.asked = true;
    this.send({ command: "NICK", params: [this.reclaim.nick] });
  }

  /** Waiting for the nick wanted is over: it is ours, or the user chose another one. */
  stopReclaim() {
    if (!this.reclaim) return;
    if (this.reclaim.monitored) this.send({ command: "MONITOR", params: ["-", this.reclaim.nick] });
    this.clearTimer("reclaim");
    this.reclaim = null;
  }

  /** The user asks for a nick (/nick): the one wanted before is not taken back. */
  nickChosen(nick = null) {
    this.stopReclaim();
    this.nickAsked = nick;
  }

  /** 730 (online) / 731 (offline) about the nick waited for: asked for once offline
   * (once it has stayed offline RECLAIM_PATIENCE_MS, patient). */
  onMonitor(msg) {
    if (!this.reclaim) return false;
    const nicks = (msg.params[1] || "").split(",").filter(Boolean).map((t) => this.fold(t.split("!")[0]));
    if (!nicks.includes(this.fold(this.reclaim.nick))) return false;
    if (!this.reclaim.patient) {
      if (msg.command === "731") this.askNickBack();
    } else if (msg.command === "730") this.clearTimer("reclaim"); // back: waited for again
    else if (this.timers.reclaim === null) {
      this.timers.reclaim = this.setTimeout(() => {
        this.timers.reclaim = null;
        this.askNickBack();
      }, RECLAIM_PATIENCE_MS);
    }
    return nicks.every((n) => n === this.fold(this.reclaim.nick)); // about it alone: said nothing of
  }

  /** Our NICK for the nick wanted refused (taken again meanwhile): waited for again. */
  reclaimRefused(msg) {
    const r = this.reclaim;
    if (!r || !r.asked || this.fold(msg.params[1] || "") !== this.fold(r.nick)) return false;
    r.asked = false;
    if (msg.command === "432") this.stopReclaim(); // refused outright: not asked again
    else if (!r.monitored) this.scheduleReclaim();
    return true;
  }

  onFail(msg) {
    const [command, code] = msg.params;
    if (command === "CHATHISTORY") {
      // FAIL CHATHISTORY <code> <subcommand> <target>? : the target, when given, says which request failed.
      const target = msg.params[2] === "TARGETS" ? TARGETS_KEY : msg.params.length > 4 ? this.fold(msg.params[3]) : null;
      // one naming no target is a conversation's request's, not the TARGETS one's
      const req = this.historyRequests.find((r) => (target === null ? r.key !== TARGETS_KEY : r.key === target));
      if (req) req.finish({ messages: [], error: code });
    } else if (command === "SEARCH" && this.searchRequests.length) {
      this.searchRequests[0].finish({ messages: [], error: code });
    } else if (command === "MARKREAD" && code === "INVALID_PARAMS" && msg.params.length > 3) {
      this.unmarked.add(this.fold(msg.params[2])); // FAIL MARKREAD INVALID_PARAMS <target> :...
    }
  }
}
