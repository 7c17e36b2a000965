// What the user sees, as data: buffers (the server, channels, private conversations),
// their messages, members, topics, unread and mention counts, who is typing, the
// channel list. Parsed IRC messages go in (handle, handleBatch); change notices come
// out to subscribers. No DOM, no sockets, no timers: the clock is injected, so every
// rule here is a unit test away.

import { casemapper, isChannel, parseCtcp, parsePrefix, parseTime } from "./irc.js";
import { NICKSERV, hidePasswords, mentions } from "./format.js";
import { modesInWords, parseModeChanges } from "./modewords.js";
import { fullMask, maskMatches } from "./ignore.js";

export const SERVER_KEY = "\u0000server";
export const DEFAULT_MAX_MESSAGES = 50000;
const TYPING_ACTIVE_MS = 6000; // the typing spec: active lasts 6 s, paused 30 s
const TYPING_PAUSED_MS = 30000;
// Message kinds that are people talking (they count as unread); the rest are events.
// Wallops are operators talking to each other, in the server buffer.
export const TALK = new Set(["message", "action", "notice", "wallops"]);
export const PRESENCE = new Set(["join", "part", "quit", "nick"]);
// Reactions (+draft/react): the emoji offered, and how many messages' reactions a buffer
// keeps (those to messages not loaded wait there for them; the oldest go first).
export const REACTION_CHOICES = ["👍", "❤️", "😂", "😮", "😢", "🎉"];
const REACTIONS_KEPT = 5000;
const REACTION_MAX_CHARS = 32; // the spec leaves the value free: longer is no chip, and ignored
// Words (a react, an unreact) kept for one emoji on one message; past it, only what
// decides each person's standing is kept (a client toggling one chip all day).
const REACTION_WORDS_KEPT = 256;
const RENAMES_KEPT = 5000; // the nick changes remembered, to whom an old reaction now belongs

/** The record the "New messages" line goes above: the first one talked by someone else
 * after the point read to (the buffer's unreadAfter), or null. */
export function firstUnread(buffer) {
  const after = buffer.unreadAfter;
  if (!after || buffer.kind === "server") return null;
  const floor = lineFloor(buffer);
  let first = null;
  for (let i = buffer.messages.length - 1; i >= 0; i--) {
    const r = buffer.messages[i];
    if (r.time <= after) break;
    if (TALK.has(r.kind) && !r.self) first = r;
    if (r === floor) break;
  }
  return first;
}

/**
 * While more was missed than a return fetched, the record the line stays above: the
 * oldest that return fetched. Pages scroll-back loads above it are missed too, but the
 * line does not climb with each (it would leave the screen of whoever went to it, and
 * its count grow); once the point read to is loaded, the line goes above the first
 * message missed. null: no such record.
 */
function lineFloor(buffer) {
  if (!buffer.lineAt || !buffer.missedMore || buffer.historyDone || !buffer.unreadAfter) return null;
  const oldest = buffer.oldest();
  return oldest && oldest.time > buffer.unreadAfter ? buffer.lineAt : null;
}

/**
 * More was missed in `buffer` than a return fetched (it stops at a cap): how many of the
 * messages missed are loaded, the first ones further back (scroll-back brings them);
 * 0 once the point read to is loaded, or when nothing is known to lie beyond.
 */
export function missedBeyond(buffer) {
  if (!buffer.missedMore || buffer.historyDone || !buffer.unreadAfter) return 0;
  const oldest = buffer.oldest();
  if (!oldest || oldest.time <= buffer.unreadAfter) return 0;
  const floor = lineFloor(buffer); // those under the line: as many as the return fetched
  let n = 0;
  let under = !floor;
  for (const r of buffer.messages) {
    under = under || r === floor;
    if (under && TALK.has(r.kind) && !r.self) n++;
  }
  return n;
}

/** The record in `buffer` of a search result (state.searchResults), or null: by msgid,
 * or where there is none, by what it says, who said it and when. */
export function foundRecord(buffer, found) {
  const same = (r) => (found.msgid ? r.msgid === found.msgid : false) ||
    (r.time === found.time && r.nick === found.nick && r.text === found.text && r.kind === found.kind);
  return buffer.messages.find(same) || null;
}

/** Whether older history of `buffer` may still hold `found`: the server has more, and
 * what is loaded does not yet go back past its time. */
export function mayReachBack(buffer, found) {
  const oldest = buffer.oldest();
  return !buffer.historyDone && (!oldest || oldest.time >= found.time);
}

/**
 * Where the records of a history page (oldest first, in the server's order) go among
 * `messages` (a buffer's, in order); `known` holds the msgids the buffer has.
 *
 * Time alone cannot place them: a line's server-time is in milliseconds, and the lines
 * of a burst share one. What does say the order: the page's own (the server's), the
 * buffer's (pages placed before, live lines as they came), and the lines both hold (by
 * msgid), between which the page's other lines go. Elsewhere, by time, and where the
 * times are equal, by what a page is, one unbroken stretch of the conversation: a line
 * held but not in the page is older than all of it when it comes before a line the page
 * shares, newer when after one. A page that shares none goes before the held lines of
 * its newest millisecond (they came live while it was on its way, or it is scroll-back).
 *
 * Returns {merged, fresh, before}: all the records in order, the page's new ones, and
 * for each of those how many of `messages` precede it.
 */
export function placeHistory(messages, page, known) {
  const shared = new Map(); // msgid -> its index in `messages`
  if (page.some((r) => r.msgid && known.has(r.msgid))) {
    messages.forEach((r, i) => r.msgid && shared.set(r.msgid, i));
  }
  const newest = page.length ? page[page.length - 1].time : 0;
  const merged = [];
  const fresh = [];
  const before = [];
  let held = 0; // messages[held..] are still to place
  let run = []; // the page's new records since the last line shared
  // messages[held..upTo) and `run`, by time; on a tie, the held line first if olderOnTie
  const place = (upTo, olderOnTie) => {
    let j = 0;
    while (held < upTo || j < run.length) {
      const e = messages[held];
      const p = run[j];
      if (j >= run.length || (held < upTo && (e.time < p.time || (e.time === p.time && olderOnTie(e))))) {
        merged.push(messages[held++]);
      } else {
        before.push(held);
        fresh.push(p);
        merged.push(p);
        j++;
      }
    }
    run = [];
  };
  const taken = new Set();
  let anchored = false;
  for (const r of page) {
    if (r.msgid) {
      if (taken.has(r.msgid)) continue;
      taken.add(r.msgid);
    }
    const at = r.msgid ? shared.get(r.msgid) : undefined;
    if (at === undefined) {
      if (!(r.msgid && known.has(r.msgid))) run.push(r);
    } else if (at >= held) {
      place(at, () => true);
      merged.push(messages[held++]);
      anchored = true;
    }
  }
  place(messages.length, anchored ? () => false : (e) => e.serverTime && e.time < newest);
  return { merged, fresh, before };
}

class Buffer {
  constructor(key, name, kind) {
    this.key = key;
    this.name = name;
    this.kind = kind; // "server", "channel", "query"
    this.messages = [];
    this.base = 0; // absolute index of messages[0]: prepending lowers it, trimming raises it
    this.msgids = new Map(); // msgid -> its record (a reply names what it answers by msgid)
    // Reactions by the msgid they are to, loaded or not: one that comes before its message
    // (a history page of reactions newer than the messages loaded) is there when it loads.
    // Each word as it came (who is who is decided when they are drawn: ChatState.standing).
    this.reactions = new Map(); // msgid -> Map(emoji -> Map(word key -> {nick, account, time, on}))
    this.unread = 0;
    this.mentions = 0;
    this.topic = "";
    this.topicBy = "";
    this.topicAt = 0;
    this.members = new Map(); // folded nick -> {nick, prefix, away, user, host}
    this.sortedMembers = null; // cache, dropped on every member change
    this.namesPending = null; // members being collected from 353 until 366
    this.joined = false;
    this.joining = false; // our JOIN came, the end of its NAMES (366) not yet
    this.rejoin = false; // joined when the connection dropped (and not parted or kicked since)
    this.joinKey = null; // the channel key (+k) to rejoin with, as joined with or last seen set
    this.typing = new Map(); // folded nick -> {nick, until}
    this.historyDone = false; // no older history on the server
    this.historyLoading = false;
    this.historyUnavailable = false; // the server keeps no history (no draft/chathistory)
    // What was missed is still to fetch (a return's catch-up waits, runs, or was cut short
    // by the connection): resumeFrom stays as it is until it is done (main.js, catchup.js).
    this.historyPending = false;
    this.missedMore = false; // a return found more missed than it fetched (missedBeyond)
    this.lineAt = null; // then, the oldest record it fetched: the "New messages" line stays above it (lineFloor)
    this.readMarker = 0; // ms: messages up to here were read (draft/read-marker)
    this.resumeFrom = 0; // ms: the newest message seen before the connection dropped
    this.seen = 0; // ms: the newest message shown while the page was looked at (kept in localStorage)
    // ms: on a return (a reload, a reconnection) the point read to: what is said after it
    // counts as unread and the "New messages" line goes above it. 0: returning, the point
    // not known (the server's read marker may still say it); null: none (read past).
    this.unreadAfter = null;
    this.caughtUp = false; // this return's catch-up is done: what it missed is all in (settle)
    this.listCount = 0; // entries of a ban (exception...) list being shown
  }

  get end() {
    return this.base + this.messages.length;
  }

  at(index) {
    return this.messages[index - this.base];
  }

  /** Time of the newest message that came with a server time (for CHATHISTORY AFTER). */
  lastServerTime() {
    for (let i = this.messages.length - 1; i >= 0; i--) if (this.messages[i].serverTime) return this.messages[i].time;
    return 0;
  }

  oldest() {
    return this.messages.find((r) => r.serverTime) || null;
  }
}

export class ChatState {
  constructor({ now = () => Date.now(), maxMessages = DEFAULT_MAX_MESSAGES } = {}) {
    this.now = now;
    this.maxMessages = maxMessages;
    this.listeners = new Set();
    this.seq = 0;
    this.nick = "";
    this.account = null; // the account logged in to (900), which our reactions are keyed by
    this.fold = casemapper("rfc1459");
    // Nick changes seen (live, or in history pages): folded old nick -> [{to, time, n}] by
    // time (n: the order they were learned in, for those of one millisecond). A reaction
    // given under a nick belongs to whoever that nick became after it.
    this.renames = new Map();
    this.renamesLearned = []; // [folded old nick, entry], oldest first: the first forgotten
    this.renameSeq = 0;
    this.chantypes = "#&";
    this.prefix = parsePrefix("(ov)@+");
    this.chanmodes = ["b", "k", "l", "imnst"];
    this.modesPerLine = 3; // ISUPPORT MODES: mode changes with an argument per MODE line
    this.network = "";
    // ISUPPORT SILENCE: how many masks the server's own ignore list takes (0: it has none)
    this.silenceLimit = 0;
    this.ignores = []; // nicks and masks whose messages are hidden (/ignore), as typed
    // SILENCE changes sent for /ignore and /unignore (and again on each connection), as
    // "+mask" or "-mask" folded: the server's answer to them is not shown (/silence's is)
    this.silenceQuiet = new Set();
    this.silenceListed = []; // the entries of a SILENCE list coming in (271), until its end (272)
    this.away = false;
    this.awayText = null; // the message of the last /away (null: /back since), to be away again on a new connection
    this.connection = { status: "idle" };
    this.buffers = new Map();
    // private conversations closed with lines of ours not echoed yet: key -> how many
    this.closedUnanswered = new Map();
    this.active = SERVER_KEY;
    this.focused = true;
    this.channelList = { items: [], loading: false };
    this.whois = new Map(); // folded nick -> lines being collected
    // The point read to in each conversation when the page was last open (buffer key ->
    // ms, from localStorage): a conversation opened has its messages after it as unread.
    this.seenBefore = new Map();
    // folded nick -> {buffer, text}: the away message last said after a line sent to them (301)
    this.awayTold = new Map();
    this.buffers.set(SERVER_KEY, new Buffer(SERVER_KEY, "server", "server"));
  }

  // -- subscriptions ------------------------------------------------------------------

  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(type, key = null, extra = {}) {
    for (const fn of this.listeners) fn({ type, key, ...extra });
  }

  // -- configuration from the connection -----------------------------------------------

  configure({ nick, fold, chantypes, prefix, isupport }) {
    if (nick !== undefined) this.nick = nick;
    if (fold) this.fold = fold;
    if (chantypes) this.chantypes = chantypes;
    if (prefix) this.prefix = prefix;
    if (isupport) {
      if (isupport.has("CHANMODES")) this.chanmodes = isupport.get("CHANMODES").split(",");
      if (isupport.has("MODES")) this.modesPerLine = Number(isupport.get("MODES")) || 3;
      this.silenceLimit = isupport.has("SILENCE") ? Number(isupport.get("SILENCE")) || Infinity : 0;
      if (isupport.has("NETWORK")) {
        this.network = isupport.get("NETWORK");
        this.server.name = this.network;
        this.emit("buffers");
        this.emit("topic", this.server.key); // its header shows the name too, not only the list
      }
    }
  }

  setConnection(connection) {
    this.connection = connection;
    if (connection.status !== "registered") {
      this.silenceQuiet.clear(); // a new connection's list starts empty
      this.awayTold.clear(); // who is away is told again on the next connection
      // The echoes still awaited for closed conversations were the old connection's:
      // they will not come, and must not hide the next line's
      this.closedUnanswered.clear();
      // Nobody is known to be typing or present once we are gone; membership comes
      // back with the NAMES of the rejoin.
      for (const b of this.buffers.values()) {
        b.typing.clear();
        // Where to fetch missed messages from once back (CHATHISTORY AFTER).
        // Not while a catch-up is still due: what it would start from is still to fetch.
        if (!b.resumeFrom && !b.historyPending && (b.joined || b.kind === "query")) b.resumeFrom = b.lastServerTime();
        // What is said while away is new: from the point read to (a line not yet read
        // past stays where it is).
        if (b.kind !== "server" && !b.unreadAfter) b.unreadAfter = Math.max(b.readMarker, b.seen);
        b.caughtUp = false;
        b.joining = false;
        if (b.joined) {
          b.joined = false;
          b.members.clear();
          this.membersChanged(b);
        }
      }
      this.emit("buffers");
    }
    this.emit("status");
  }

  get server() {
    return this.buffers.get(SERVER_KEY);
  }

  // -- buffers ------------------------------------------------------------------------

  keyOf(name) {
    return name === SERVER_KEY ? SERVER_KEY : this.fold(name);
  }

  isChannel(name) {
    return isChannel(name, this.chantypes);
  }

  buffer(name) {
    return this.buffers.get(this.keyOf(name)) || null;
  }

  ensureBuffer(name) {
    const key = this.keyOf(name);
    let b = this.buffers.get(key);
    if (!b) {
      this.closedUnanswered.delete(key); // opened again: what comes back of it is shown
      b = new Buffer(key, name, this.isChannel(name) ? "channel" : "query");
      b.seen = this.seenBefore.get(key) || 0;
      b.unreadAfter = b.seen; // a return: after what was seen last time is new
      this.buffers.set(key, b);
      this.emit("buffers");
    }
    return b;
  }

  /**
   * Close a buffer. `unanswered`: lines of ours to a private conversation that the
   * server has not echoed yet; their echoes, when they come, do not open it again (a
   * line sent, then the conversation closed at once, on a slow network).
   */
  closeBuffer(name, unanswered = 0) {
    const key = this.keyOf(name);
    if (key === SERVER_KEY || !this.buffers.has(key)) return;
    if (unanswered > 0 && this.buffers.get(key).kind === "query") this.closedUnanswered.set(key, unanswered);
    const order = this.orderedBuffers().map((b) => b.key);
    this.buffers.delete(key);
    if (this.active === key) {
      const i = order.indexOf(key);
      this.active = order[i + 1] || order[i - 1] || SERVER_KEY;
      if (!this.buffers.has(this.active)) this.active = SERVER_KEY;
      this.markRead(this.activeBuffer);
      this.emit("active", this.active);
    }
    this.emit("buffers");
  }

  /** Server first, then channels, then private conversations, each alphabetical. */
  orderedBuffers() {
    const rank = { server: 0, channel: 1, query: 2 };
    return [...this.buffers.values()].sort((a, b) => rank[a.kind] - rank[b.kind] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** The name a buffer goes by in the list: the server buffer is the network's. */
  displayName(buffer) {
    return buffer.kind === "server" ? this.network || "Server" : buffer.name;
  }

  /**
   * The page's title: how many mentions and private messages wait (a tab in the
   * background says it), then the buffer shown, named as the list and the heading name
   * it (the server buffer "Server" when the server gives no network name), then the
   * client's own name.
   */
  pageTitle() {
    let waiting = 0;
    for (const b of this.buffers.values()) waiting += b.mentions || (b.kind === "query" ? b.unread : 0);
    return `${waiting ? `(${waiting}) ` : ""}${this.displayName(this.activeBuffer)} · hubbub`;
  }

  /**
   * The buffers whose name holds `text` (any case), in list order: what the quick
   * switcher offers. The server buffer answers to the name the list shows for it and
   * to the word "server" (its key is no name anyone would type).
   */
  findBuffers(text) {
    const needle = this.fold(text.trim());
    if (!needle) return this.orderedBuffers();
    const names = (b) => (b.kind === "server" ? [this.displayName(b), "server"] : [b.name]);
    return this.orderedBuffers().filter((b) => names(b).some((name) => this.fold(name).includes(needle)));
  }

  /** The names of the private conversations open (remembered across reloads). Asked
   * after every change of the list, unread counts included: no sorting here. */
  queryNames() {
    const names = [];
    for (const b of this.buffers.values()) if (b.kind === "query") names.push(b.name);
    return names;
  }

  get activeBuffer() {
    return this.buffers.get(this.active) || this.server;
  }

  setActive(name) {
    const key = this.keyOf(name);
    if (!this.buffers.has(key)) return;
    // Left: what was new there has been read, and its "New messages" line goes.
    if (key !== this.active && this.buffers.has(this.active)) this.readPast(this.buffers.get(this.active));
    this.active = key;
    this.markRead(this.buffers.get(key));
    this.settle(this.buffers.get(key));
    this.emit("active", key);
    this.emit("buffers");
  }

  setFocused(focused) {
    this.focused = focused;
    if (focused) {
      this.markRead(this.activeBuffer);
      this.settle(this.activeBuffer);
      this.emit("buffers");
    }
  }

  markRead(buffer) {
    buffer.unread = 0;
    buffer.mentions = 0;
    this.noteSeen(buffer);
  }

  /** The buffer shown to someone looking: its newest message is seen (remembered for a return). */
  noteSeen(buffer) {
    if (buffer.kind === "server" || buffer.key !== this.active || !this.focused) return;
    const last = buffer.lastServerTime();
    if (last <= buffer.seen) return;
    buffer.seen = last;
    this.seenBefore.set(buffer.key, last);
    this.emit("seen", buffer.key);
  }

  /** A return's catch-up of `buffer` is done (main.js): what it missed is all in. */
  caughtUpWith(buffer) {
    buffer.caughtUp = true;
    this.settle(buffer);
  }

  /**
   * A return's point read to has served once the conversation looked at has fetched what
   * it missed and that was nothing: what is said next is seen as it comes, as before the
   * return (else the first live line would stand under a "New messages" line). Asked
   * when the catch-up ends, and when the conversation is looked at later.
   */
  settle(buffer) {
    if (buffer.unreadAfter === null || !buffer.caughtUp) return;
    if (buffer.key !== this.active || !this.focused || firstUnread(buffer)) return;
    this.readPast(buffer);
  }

  /** The "New messages" line of a buffer is done with (left for another, or spoken in). */
  readPast(buffer) {
    if (buffer.unreadAfter === null) return;
    buffer.unreadAfter = null;
    buffer.missedMore = false; // what a next return misses is its own
    buffer.lineAt = null;
    this.emit("divider", buffer.key);
  }

  isNickServ(name) {
    return this.fold(name) === this.fold(NICKSERV);
  }

  isSelf(nick) {
    return !!nick && this.fold(nick) === this.fold(this.nick);
  }

  // -- ignoring (/ignore) ---------------------------------------------------------------

  /** Hide the messages of a nick or a mask from now on; false if it is hidden already. */
  ignore(mask) {
    if (!mask || this.ignores.some((m) => this.fold(m) === this.fold(mask))) return false;
    this.ignores.push(mask);
    this.emit("ignores");
    return true;
  }

  /** See their messages again; false if that nick or mask was not ignored. */
  unignore(mask) {
    const kept = this.ignores.filter((m) => this.fold(m) !== this.fold(mask));
    if (kept.length === this.ignores.length) return false;
    this.ignores = kept;
    this.emit("ignores");
    return true;
  }

  /** Whether what `source` ({nick, user, host}) says is hidden; never our own. */
  isIgnored(source) {
    if (!source || !this.ignores.length || this.isSelf(source.nick)) return false;
    if (!source.user && !source.host && source.nick.includes(".")) return false; // a server
    return this.ignores.some((mask) => maskMatches(mask, source, this.fold));
  }

  /** A SILENCE change ("+" or "-", `mask`) sent for the person's ignore list: the
   * server's answer to it is not shown (theirs to /silence is). */
  silenceQuietly(sign, mask) {
    this.silenceQuiet.add(sign + this.fold(fullMask(mask)));
  }

  // -- messages -----------------------------------------------------------------------

  /** A record: what one line of the message view shows. */
  record(kind, fields, msg = null) {
    const serverTime = !!(msg && msg.tags && msg.tags.time);
    const time = msg ? parseTime(msg.tags && msg.tags.time, this.now()) : this.now();
    return {
      seq: ++this.seq,
      kind,
      time,
      serverTime,
      msgid: (msg && msg.tags && msg.tags.msgid) || null,
      nick: "",
      text: "",
      self: false,
      mention: false,
      ...fields,
    };
  }

  /** Append live records to a buffer, counting unread and mentions. */
  append(buffer, record, { countUnread = true, mentionAlways = false } = {}) {
    if (record.msgid) {
      if (buffer.msgids.has(record.msgid)) return false;
      buffer.msgids.set(record.msgid, record);
    }
    const last = buffer.messages[buffer.messages.length - 1];
    if (last && record.time < last.time && record.serverTime && last.serverTime) {
      // Arrived after something newer (history fetched after live lines): it goes after
      // the last record not newer than it, and the rest keep their order.
      let i = buffer.messages.length;
      while (i > 0 && buffer.messages[i - 1].time > record.time) i--;
      buffer.messages.splice(i, 0, record);
      this.trim(buffer);
      this.emit("reset", buffer.key);
    } else {
      buffer.messages.push(record);
      this.trim(buffer);
      this.emit("append", buffer.key, { count: 1 });
    }
    if (countUnread && TALK.has(record.kind) && !record.self) this.countUnread(buffer, record, mentionAlways);
    if (record.self && TALK.has(record.kind)) {
      this.readPast(buffer); // spoken there: read
      if (countUnread && (buffer.unread || buffer.mentions)) {
        // from another device of ours, answering: what came before it was read there
        buffer.unread = 0;
        buffer.mentions = 0;
        this.emit("buffers");
      }
    }
    this.noteSeen(buffer);
    return true;
  }

  countUnread(buffer, record, mentionAlways) {
    if (buffer.key === this.active && this.focused) return;
    if (buffer.readMarker && record.time <= buffer.readMarker) return;
    if (buffer.unreadAfter && record.serverTime && record.time <= buffer.unreadAfter) return;
    buffer.unread += 1;
    if (record.mention || mentionAlways) {
      buffer.mentions += 1;
      this.emit("called", buffer.key, { record }); // a desktop notification may be due (notify.js)
    }
    this.emit("buffers");
  }

  /**
   * The counts again once the read marker moved: the lines counted are the newest ones
   * talked, so of those only the ones after the marker stay unread. True if they changed.
   */
  recountUnread(buffer) {
    let counted = 0;
    let unread = 0;
    let mentions = 0;
    for (let i = buffer.messages.length - 1; i >= 0 && counted < buffer.unread; i--) {
      const r = buffer.messages[i];
      if (!TALK.has(r.kind) || r.self) continue;
      counted += 1;
      if (r.time <= buffer.readMarker) break;
      unread += 1;
      if (r.mention || buffer.kind === "query") mentions += 1;
    }
    mentions = Math.min(mentions, buffer.mentions);
    if (unread === buffer.unread && mentions === buffer.mentions) return false;
    buffer.unread = unread;
    buffer.mentions = mentions;
    return true;
  }

  trim(buffer) {
    const excess = buffer.messages.length - this.maxMessages;
    if (excess <= 0) return;
    for (const r of buffer.messages.splice(0, excess)) if (r.msgid) buffer.msgids.delete(r.msgid);
    buffer.base += excess;
    buffer.historyDone = false; // what was dropped can be fetched again
  }

  /**
   * A return fetched the newest messages back to `time` (ms) and stopped there, more
   * having been missed than it fetches: the "New messages" line says that the first
   * ones are further back (missedBeyond), and anything loaded before, which no longer
   * joins them, is dropped.
   */
  missedMoreThanFetched(buffer, time) {
    buffer.missedMore = true;
    this.dropBefore(buffer, time);
    buffer.lineAt = buffer.messages.find((r) => TALK.has(r.kind) && !r.self && r.time > (buffer.unreadAfter || 0)) || null;
    this.emit("divider", buffer.key);
    this.emit("buffers");
  }

  /**
   * The records older than `time` (ms) are dropped: a return found more missed after
   * them than it can fit in order (catchup.js). Scroll-back fetches them again, in
   * order, from the server.
   */
  dropBefore(buffer, time) {
    const i = buffer.messages.findIndex((r) => r.time >= time);
    const count = i < 0 ? buffer.messages.length : i;
    if (!count) return;
    for (const r of buffer.messages.splice(0, count)) if (r.msgid) buffer.msgids.delete(r.msgid);
    buffer.base += count;
    buffer.historyDone = false;
    this.emit("reset", buffer.key);
  }

  /**
   * A page of history (a chathistory batch, in the server's order) into a buffer: before
   * everything (scroll-back), after everything (missed while away), or among what is
   * there (placeHistory). The lines it holds already (by msgid) are left where they are.
   */
  insertHistory(buffer, records) {
    // Oldest first, as the server sends them; within one millisecond the server's order
    // is the only one there is (a stable sort keeps it).
    const page = records.slice().sort((a, b) => a.time - b.time);
    const { merged, fresh, before } = placeHistory(buffer.messages, page, buffer.msgids);
    if (!fresh.length) return 0;
    for (const r of fresh) {
      if (r.msgid) buffer.msgids.set(r.msgid, r);
      r.history = true; // drawn quietly: a screen reader does not read a backlog out
    }
    const talked = (r) => TALK.has(r.kind) && !r.self;
    // On a return, what was said after the point read to is news wherever it goes; a
    // message of ours said later (from another device) was said having read up to it.
    if (buffer.unreadAfter) {
      for (const r of fresh) if (r.self && TALK.has(r.kind) && r.time > buffer.unreadAfter) buffer.unreadAfter = r.time;
    }
    const after = buffer.unreadAfter;
    const had = buffer.messages.length;
    buffer.messages = merged;
    if (before.every((n) => n === 0)) {
      buffer.base -= fresh.length;
      this.emit("prepend", buffer.key, { count: fresh.length });
    } else if (before.every((n) => n === had)) {
      this.trim(buffer);
      this.emit("append", buffer.key, { count: fresh.length });
    } else {
      this.trim(buffer);
      this.emit("reset", buffer.key);
    }
    // Without a point read to: what goes after something shown was missed while away
    // (the rejoin or a live line came first) and is unread like any new message; what
    // goes before everything is earlier history.
    fresh.forEach((r, i) => {
      if (talked(r) && (after ? r.time > after : before[i] > 0)) this.countUnread(buffer, r, buffer.kind === "query");
    });
    if (after) this.emit("divider", buffer.key);
    this.noteSeen(buffer);
    return fresh.length;
  }

  /** A local line (command feedback, errors) in a buffer (the active one by default). */
  info(text, { buffer = null, kind = "info" } = {}) {
    const b = buffer || this.activeBuffer;
    this.append(b, this.record(kind, { text }), { countUnread: false });
  }

  // -- input from the connection ------------------------------------------------------

  handle(msg) {
    const handler = HANDLERS[msg.command];
    if (handler) handler(this, msg);
    else if (/^\d{3}$/.test(msg.command)) this.numeric(msg);
  }

  handleBatch(batch) {
    if (batch.type === "draft/multiline") {
      // One PRIVMSG or NOTICE, shown and counted as a line of it would be.
      talk(this, multilineAsMessage(batch));
    } else if (batch.type === "chathistory") {
      const target = batch.params[0];
      if (!target) return;
      // History asked for a conversation closed while it was on its way: not opened again
      if (batch.requested && !this.buffer(target)) return;
      // History of a conversation with someone is named after them even in lines we sent.
      const buffer = this.ensureBuffer(target);
      const records = [];
      let renamed = false; // a nick change in the page: whose reactions are whose may differ
      for (const item of batch.messages) {
        const msg = item.command === "BATCH" ? multilineAsMessage(item.batch) : item;
        if (["PRIVMSG", "NOTICE", "TAGMSG"].includes(msg.command) && this.isIgnored(msg.source)) continue;
        if (msg.command === "TAGMSG") this.react(buffer, msg); // a reaction: no line of its own
        const rec = this.historyRecord(msg);
        if (rec && rec.kind === "nick" && this.noteRename(rec.nick, rec.newNick, rec.time)) renamed = true;
        if (rec) records.push(rec);
      }
      this.insertHistory(buffer, records);
      if (renamed) this.reactionsRenamed();
    }
  }

  /** Records for search results: not stored in any buffer; the view lists them. */
  searchResults(batch) {
    const out = [];
    for (const item of batch.messages) {
      const msg = item.command === "BATCH" ? multilineAsMessage(item.batch) : item;
      if (this.isIgnored(msg.source)) continue; // hidden in search as everywhere else
      const rec = this.talkRecord(msg);
      if (!rec) continue;
      const target = msg.params[0];
      rec.target = this.isChannel(target) ? target : this.isSelf(target) ? (msg.source && msg.source.nick) || target : target;
      out.push(rec);
    }
    return out;
  }

  /** PRIVMSG/NOTICE (and /me) as a record, or null for CTCP that is not shown. */
  talkRecord(msg) {
    if (!msg.source || msg.params.length < 2) return null;
    const text = msg.params[msg.params.length - 1];
    const nick = msg.source.nick;
    const self = this.isSelf(nick) || this.ofOurAccount(msg);
    const ctcp = parseCtcp(text);
    let kind = msg.command === "NOTICE" ? "notice" : "message";
    let body = text;
    if (ctcp) {
      if (ctcp.command !== "ACTION" || msg.command !== "PRIVMSG") return null;
      kind = "action";
      body = ctcp.text;
    }
    if (self && this.isNickServ(msg.params[0])) body = hidePasswords(body);
    // NickServ and ChanServ name you in what they answer ("You're now logged in as jill"):
    // not a mention of you in the sense of someone calling you
    const service = this.isNickServ(nick) || this.fold(nick) === this.fold("ChanServ");
    // The account's name calls us too: on a second device as alice_, "alice: lunch?" is for us
    const named = mentions(body, this.nick, this.fold) || (!!this.account && mentions(body, this.account, this.fold));
    const mention = !self && !service && named;
    const replyTo = (msg.tags && msg.tags["+draft/reply"]) || null;
    return this.record(kind, { nick, text: body, self, mention, replyTo }, msg);
  }

  /** Whether `msg` was said by the account we are logged in to (account-tag), from
   * another device (under another nick): ours, as a line of this page is. */
  ofOurAccount(msg) {
    const account = msg.tags && msg.tags.account;
    return !!account && account !== "*" && !!this.account && this.fold(account) === this.fold(this.account);
  }

  /** The message `rec` replies to (+draft/reply), when it is loaded; else null. */
  repliedTo(buffer, rec) {
    return (rec.replyTo && buffer.msgids.get(rec.replyTo)) || null;
  }

  /**
   * A reaction (+draft/react, with +draft/reply naming the message) or its withdrawal
   * (+draft/unreact: not in the spec, but what Goguma and others send) in `buffer`.
   * Each person counts once per emoji on a message; their latest word (by server time)
   * stands, whatever order history pages bring them in. A person is their account where
   * the message says it (account-tag), else their nick, followed through the nick
   * changes known; a word given before logging in counts for the account the nick next
   * reacts under (reactors). False if `msg` is no reaction.
   */
  react(buffer, msg) {
    const tags = msg.tags || {};
    const to = tags["+draft/reply"];
    const add = tags["+draft/react"];
    const emoji = add || tags["+draft/unreact"];
    if (!to || !emoji || !msg.source) return false;
    if ([...emoji].length > REACTION_MAX_CHARS) return true;
    const account = tags.account && tags.account !== "*" ? tags.account : null;
    const word = { nick: msg.source.nick, account, time: parseTime(tags.time, this.now()), on: !!add };
    const key = `${account ? `a ${this.fold(account)}` : `n ${this.fold(word.nick)}`} ${word.time} ${word.on}`;
    let byEmoji = buffer.reactions.get(to);
    if (!byEmoji) {
      byEmoji = new Map();
      buffer.reactions.set(to, byEmoji);
      if (buffer.reactions.size > REACTIONS_KEPT) buffer.reactions.delete(buffer.reactions.keys().next().value);
    }
    let words = byEmoji.get(emoji);
    if (!words) byEmoji.set(emoji, (words = new Map()));
    if (words.has(key)) return true; // the same word again (a page fetched twice)
    const before = drawn(this.reactionsTo(buffer, to));
    words.set(key, word);
    if (words.size > REACTION_WORDS_KEPT) this.compact(words);
    // Older news than what is known (a history page), or the same again: nothing changes.
    if (drawn(this.reactionsTo(buffer, to)) !== before) this.emit("reactions", buffer.key, { msgid: to });
    return true;
  }

  /**
   * Each person's standing on one emoji (`words`, a message's): identity -> {nick, on,
   * since, self, first, last}. A person is "a <account>" for a word that counts for one
   * (reactors), else "n <nick>", the nick being the one the word's became; their latest
   * word stands (the same word again does not move them: `since` is when it first stood).
   * An account is named by the nick of its latest word, as that nick is now.
   */
  standing(words) {
    const people = new Map();
    for (const { word: w, nick, account } of this.reactors(words)) {
      const id = account ? `a ${this.fold(account)}` : `n ${this.fold(nick)}`;
      const self = account ? !!this.account && this.fold(account) === this.fold(this.account) : this.isSelf(nick);
      const had = people.get(id);
      if (had && had.on === w.on) {
        had.last = w;
        if (account) had.nick = nick; // the person under the nick they used last
      } else people.set(id, { nick, on: w.on, since: w.time, self, first: w, last: w });
    }
    return people;
  }

  /**
   * The words on one emoji by time, each with who gave it: `nick`, the nick it came from
   * as that nick is now (currentNick), and `account`, the one it counts for. A word with
   * no account counts for the account of the next word under the same nick that has one
   * (`link`, that word; of the same millisecond or later): logging in (or registering)
   * changes no one, so someone who reacted as a guest and again once logged in counts
   * once, and takes back logged in what they gave before. Not the other way round: a
   * word with no account after one with it may be a guest who took the nick its owner
   * left, and is theirs.
   */
  reactors(words) {
    const out = [...words.values()].sort((a, b) => a.time - b.time)
      .map((word) => ({ word, nick: this.currentNick(word.nick, word.time), account: word.account, link: null }));
    const next = new Map(); // folded nick -> the earliest word with an account under it, of those later
    // From the newest back, a millisecond at a time: one with an account of the same
    // millisecond counts as next (which came first is not known), whatever order they came in.
    for (let end = out.length; end > 0; ) {
      let start = end - 1;
      while (start > 0 && out[start - 1].word.time === out[end - 1].word.time) start--;
      const group = out.slice(start, end);
      for (const r of group) if (r.account) next.set(this.fold(r.nick), r);
      for (const r of group) {
        const link = r.account ? null : next.get(this.fold(r.nick));
        if (link) Object.assign(r, { account: link.account, link: link.word });
      }
      end = start;
    }
    return out;
  }

  /** Too many words on one emoji: only each person's latest, the one their standing
   * dates from (their place in the chip's list), the emoji's first (the chip's place),
   * and the words that tell whose the kept ones without an account are, are kept. */
  compact(words) {
    const keep = new Set([firstWord(words)]);
    for (const p of this.standing(words).values()) keep.add(p.first).add(p.last);
    for (const r of this.reactors(words)) if (r.link && keep.has(r.word)) keep.add(r.link);
    for (const [key, w] of words) if (!keep.has(w)) words.delete(key);
  }

  /** The reactions to the message `msgid` of `buffer`, as drawn: [{emoji, nicks, self}]
   * (the emoji in the order first given, the nicks in the order they reacted; by server
   * time, so that history pages in any order draw them alike). */
  reactionsTo(buffer, msgid) {
    const out = [];
    const byEmoji = buffer && msgid ? buffer.reactions.get(msgid) : null;
    if (!byEmoji) return out;
    const first = (words) => (words.size ? firstWord(words).time : 0);
    const emojis = [...byEmoji].map(([emoji, words]) => ({ emoji, words, first: first(words) }));
    for (const { emoji, words } of emojis.sort((a, b) => a.first - b.first)) {
      const on = [...this.standing(words).values()].filter((p) => p.on).sort((a, b) => a.since - b.since);
      if (on.length) out.push({ emoji, nicks: on.map((p) => p.nick), self: on.some((p) => p.self) });
    }
    return out;
  }

  /**
   * `from` became `to` at `time` (ms): a NICK seen live or in a history page. Learned
   * once (a page may bring one seen live); the chips where the old nick stood are drawn
   * again. True if it was news.
   */
  noteRename(from, to, time) {
    const key = this.fold(from);
    let list = this.renames.get(key);
    if (!list) this.renames.set(key, (list = []));
    if (list.some((r) => r.time === time && r.to === to)) return false;
    let i = list.length;
    while (i > 0 && list[i - 1].time > time) i--;
    const entry = { to, time, n: ++this.renameSeq };
    list.splice(i, 0, entry);
    this.renamesLearned.push([key, entry]);
    if (this.renamesLearned.length > RENAMES_KEPT) {
      const [oldKey, old] = this.renamesLearned.shift();
      const rest = this.renames.get(oldKey).filter((r) => r !== old);
      if (rest.length) this.renames.set(oldKey, rest);
      else this.renames.delete(oldKey);
    }
    return true;
  }

  /** The chips of every conversation may name someone else now (a rename learned). */
  reactionsRenamed() {
    for (const b of this.buffers.values()) if (b.reactions.size) this.emit("reactions", b.key);
  }

  /**
   * The nick that whoever was `nick` at `time` went on to, through the renames known. A
   * rename of the same millisecond comes after the word (said under the old nick, it
   * was said before); each next one after the last, so that a chain ends.
   */
  currentNick(nick, time) {
    let t = time;
    let n = 0;
    for (;;) {
      const list = this.renames.get(this.fold(nick));
      const next = list && list.find((r) => r.time > t || (r.time === t && r.n > n));
      if (!next) return nick;
      ({ to: nick, time: t, n } = next);
    }
  }

  /** Which buffer a PRIVMSG/NOTICE belongs in (created when needed), or null. */
  talkBuffer(msg, rec) {
    let target = msg.params[0];
    // STATUSMSG (@#chan): a message to the ops of a channel is shown in the channel.
    while (target.length > 1 && this.prefix.symbols.includes(target[0]) && this.isChannel(target.slice(1))) target = target.slice(1);
    if (this.isChannel(target)) return this.ensureBuffer(target);
    if (rec.self) {
      const key = this.keyOf(target);
      const left = this.closedUnanswered.get(key);
      if (left === undefined || this.buffers.has(key)) return this.ensureBuffer(target);
      if (left > 1) this.closedUnanswered.set(key, left - 1);
      else this.closedUnanswered.delete(key);
      return null; // the echo of a line said before the conversation was closed
    }
    // A server's name has a dot, a nick never does.
    const fromServer = !msg.source.user && !msg.source.host && msg.source.nick.includes(".");
    if (target === "*" || fromServer) return this.server;
    if (rec.kind === "notice") return this.buffer(rec.nick) || this.activeBuffer;
    return this.ensureBuffer(rec.nick);
  }

  /** Any message from history as a record; membership is not touched (it is the past). */
  historyRecord(msg) {
    const nick = msg.source ? msg.source.nick : "";
    const self = this.isSelf(nick);
    switch (msg.command) {
      case "PRIVMSG":
      case "NOTICE":
        return this.talkRecord(msg);
      case "JOIN":
        return this.record("join", { nick, self }, msg);
      case "PART":
        return this.record("part", { nick, self, text: msg.params[1] || "" }, msg);
      case "QUIT":
        return this.record("quit", { nick, self, text: msg.params[0] || "" }, msg);
      case "NICK":
        return this.record("nick", { nick, self, newNick: msg.params[0] }, msg);
      case "KICK":
        return this.record("kick", { nick, self, target: msg.params[1], text: msg.params[2] || "" }, msg);
      case "TOPIC":
        return this.record("topic", { nick, self, text: msg.params[1] || "" }, msg);
      case "MODE":
        return this.record("mode", { nick, self, ...this.modeText(msg) }, msg);
      default:
        return null;
    }
  }

  typingStopped(buffer, nick) {
    if (buffer.typing.delete(this.fold(nick))) this.emit("typing", buffer.key);
  }

  /** Nicks typing in a buffer now (their notifications not yet expired). */
  typingNicks(name) {
    const b = this.buffer(name);
    if (!b) return [];
    const now = this.now();
    const out = [];
    for (const [key, t] of b.typing) {
      if (t.until > now) out.push(t.nick);
      else b.typing.delete(key);
    }
    return out;
  }

  // -- members ------------------------------------------------------------------------

  memberRank(member) {
    const i = member.prefix ? this.prefix.symbols.indexOf(member.prefix[0]) : -1;
    return i < 0 ? this.prefix.symbols.length : i;
  }

  /** Members by rank (ops first), then by name. Cached until the membership changes. */
  members(name) {
    const b = this.buffer(name);
    if (!b) return [];
    if (!b.sortedMembers) {
      b.sortedMembers = [...b.members.values()].sort((x, y) => {
        const r = this.memberRank(x) - this.memberRank(y);
        if (r) return r;
        const fx = this.fold(x.nick);
        const fy = this.fold(y.nick);
        return fx < fy ? -1 : fx > fy ? 1 : 0;
      });
    }
    return b.sortedMembers;
  }

  membersChanged(buffer) {
    buffer.sortedMembers = null;
    this.emit("members", buffer.key);
  }

  addMember(buffer, nick, fields = {}) {
    const key = this.fold(nick);
    const existing = buffer.members.get(key);
    buffer.members.set(key, { nick, prefix: "", away: false, user: "", host: "", ...existing, ...fields });
    this.membersChanged(buffer);
  }

  /** Channels (and the private conversation) where `nick` is known: where their QUIT and NICK show. */
  buffersOf(nick) {
    const key = this.fold(nick);
    return [...this.buffers.values()].filter((b) => b.members.has(key) || (b.kind === "query" && b.key === key));
  }

  /** A NAMES entry: "@+nick!user@host" with multi-prefix and userhost-in-names. */
  parseNamesEntry(entry) {
    let i = 0;
    while (i < entry.length && this.prefix.symbols.includes(entry[i])) i++;
    const prefix = entry.slice(0, i);
    const rest = entry.slice(i);
    const bang = rest.indexOf("!");
    const at = rest.indexOf("@");
    return {
      nick: bang >= 0 ? rest.slice(0, bang) : at >= 0 ? rest.slice(0, at) : rest,
      prefix: [...prefix].sort((a, b) => this.prefix.symbols.indexOf(a) - this.prefix.symbols.indexOf(b)).join(""),
      user: bang >= 0 ? rest.slice(bang + 1, at >= 0 ? at : undefined) : "",
      host: at >= 0 ? rest.slice(at + 1) : "",
    };
  }

  /**
   * A MODE from the server (no person: a name with a dot, or no source) between our
   * JOIN and the end of its NAMES, only setting modes and none of them a member's
   * rank: the modes of a channel our JOIN created, as the charybdis family of servers
   * (hubbub too) shows its creator. Anything a person (or a service) set is not this.
   */
  isCreationModes(buffer, msg) {
    const source = msg.source;
    const fromServer = !source || (!source.user && !source.host && source.nick.includes("."));
    const modes = msg.params[1] || "";
    const setsOnly = /^\+[^+-]+$/.test(modes) && ![...modes.slice(1)].some((c) => this.prefix.modes.includes(c));
    return buffer.joining && fromServer && setsOnly;
  }

  /** A MODE line's letters (`text`) and, for a channel's, what they do (`words`). */
  modeText(msg) {
    const text = msg.params.slice(1).join(" ");
    const target = msg.params[0] || "";
    if (!isChannel(target, this.chantypes)) return { text, words: "" };
    const changes = parseModeChanges(msg.params[1] || "", msg.params.slice(2), this.chanmodes, this.prefix.modes);
    return { text, words: modesInWords(changes, target) };
  }

  /** Channel MODE with prefix modes (+o nick) updates members; returns nothing. */
  applyChannelModes(buffer, modeString, args) {
    const [listModes = "", alwaysArg = "", setArg = ""] = this.chanmodes;
    let adding = true;
    let argIndex = 0;
    let changed = false;
    for (const c of modeString) {
      if (c === "+" || c === "-") {
        adding = c === "+";
        continue;
      }
      const prefixIndex = this.prefix.modes.indexOf(c);
      if (prefixIndex >= 0) {
        const nick = args[argIndex++];
        const member = nick && buffer.members.get(this.fold(nick));
        if (member) {
          const symbol = this.prefix.symbols[prefixIndex];
          const set = new Set(member.prefix);
          if (adding) set.add(symbol);
          else set.delete(symbol);
          member.prefix = [...this.prefix.symbols].filter((s) => set.has(s)).join("");
          changed = true;
        }
      } else if (listModes.includes(c) || alwaysArg.includes(c) || (adding && setArg.includes(c))) {
        const arg = args[argIndex++];
        if (c === "k" && alwaysArg.includes(c)) {
          // a key changed in our sight: the one to rejoin with (a member sees it, others get "*")
          if (!adding) buffer.joinKey = null;
          else if (arg && arg !== "*") buffer.joinKey = arg;
          this.emit("key", buffer.key);
        }
      }
    }
    if (changed) this.membersChanged(buffer);
  }

  // -- numerics -----------------------------------------------------------------------

  numeric(msg) {
    const code = Number(msg.command);
    const params = msg.params.slice(1); // drop our own nick
    const text = params.length > 1 ? `${params.slice(0, -1).join(" ")}: ${params[params.length - 1]}` : params[0] || "";
    const handler = NUMERICS[msg.command];
    if (handler) {
      handler(this, msg, params);
      return;
    }
    if (code >= 400 && code < 600) {
      // An error about a channel or nick goes where the user will look for it.
      // A channel left earlier is listed but not looked at: where it was typed, then.
      const about = params.length > 1 ? this.buffer(params[0]) : null;
      const shown = about && !(about.kind === "channel" && !about.joined) ? about : this.activeBuffer;
      this.info(text, { buffer: shown, kind: "error" });
    } else if (code !== 4 && code !== 5) {
      this.info(counted(params) || text, { buffer: this.server });
    }
  }

  /** Where a channel's list is shown: in the channel when it is open here, else where the person is. */
  listBuffer(channel) {
    return this.buffer(channel) || this.activeBuffer;
  }

  whoisLine(nick, text) {
    const key = this.fold(nick);
    if (!this.whois.has(key)) this.whois.set(key, []);
    this.whois.get(key).push(text);
  }
}

/** The earliest of a message's words on one emoji (undefined: none). */
function firstWord(words) {
  let first;
  for (const w of words.values()) if (!first || w.time < first.time) first = w;
  return first;
}

/** Reactions as drawn (reactionsTo), as one string: whether they changed. */
function drawn(list) {
  return list.map((r) => `${r.emoji}${r.self ? "*" : ""}${r.nicks.join(",")}`).join(" ");
}

// A received draft/multiline batch as the one PRIVMSG or NOTICE it stands for (its
// lines' command: a batch is all one or all the other).
function multilineAsMessage(batch) {
  let text = "";
  batch.messages.forEach((m, i) => {
    const line = m.params[m.params.length - 1] || "";
    if (i === 0) text = line;
    else if (m.tags && m.tags["draft/multiline-concat"] !== undefined) text += line;
    else text += `\n${line}`;
  });
  const first = batch.messages[0] || { command: "PRIVMSG", params: [batch.params[0]] };
  return {
    tags: { ...batch.tags },
    prefix: batch.source ? batch.source.nick : "",
    source: batch.source || first.source,
    command: first.command || "PRIVMSG",
    params: [batch.params[0], text],
  };
}

// -- command handlers: one small function per command ---------------------------------

const HANDLERS = {
  PRIVMSG: talk,
  NOTICE: talk,

  TAGMSG(s, msg) {
    if (s.isIgnored(msg.source)) return; // neither their reactions nor their typing
    if (msg.source && msg.tags["+draft/reply"]) {
      // In the conversation it was said in: ours echoed (to its target), or to us from someone.
      const target = msg.params[0] || "";
      const buffer = s.isChannel(target) || s.isSelf(msg.source.nick) ? s.buffer(target) : s.buffer(msg.source.nick);
      if (buffer && s.react(buffer, msg)) return;
    }
    const status = msg.tags["+typing"];
    if (!status || !msg.source || s.isSelf(msg.source.nick)) return;
    const target = msg.params[0];
    // to us, or to another device of our account under its nick (the server copies it here)
    const buffer = s.isChannel(target) ? s.buffer(target) : s.buffer(msg.source.nick);
    if (!buffer) return;
    const key = s.fold(msg.source.nick);
    if (status === "done") buffer.typing.delete(key);
    else buffer.typing.set(key, { nick: msg.source.nick, until: s.now() + (status === "paused" ? TYPING_PAUSED_MS : TYPING_ACTIVE_MS) });
    s.emit("typing", buffer.key);
  },

  JOIN(s, msg) {
    const channel = msg.params[0];
    const nick = msg.source.nick;
    const buffer = s.ensureBuffer(channel);
    const self = s.isSelf(nick);
    if (self) {
      buffer.joined = true;
      buffer.joining = true;
      buffer.rejoin = true;
      buffer.members.clear();
      s.membersChanged(buffer);
      // The topic is the channel's as it is now: a 332 follows if it has one (a channel
      // back after a restart, or rejoined later, may have none any more).
      buffer.topic = "";
      buffer.topicBy = "";
      buffer.topicAt = 0;
      s.emit("topic", buffer.key);
      s.emit("joined", buffer.key);
      s.emit("buffers"); // a channel rejoined is no longer drawn as left
    }
    // extended-join: JOIN #chan account :realname
    s.addMember(buffer, nick, { user: msg.source.user, host: msg.source.host, realname: msg.params[2] || "" });
    s.append(buffer, s.record("join", { nick, self }, msg));
  },

  PART(s, msg) {
    const buffer = s.buffer(msg.params[0]);
    if (!buffer) return;
    const nick = msg.source.nick;
    const self = s.isSelf(nick);
    s.append(buffer, s.record("part", { nick, self, text: msg.params[1] || "" }, msg));
    if (self) {
      buffer.joined = false;
      buffer.rejoin = false;
      buffer.members.clear();
      buffer.typing.clear();
      s.emit("buffers");
      s.emit("left", buffer.key);
    } else {
      buffer.members.delete(s.fold(nick));
      s.typingStopped(buffer, nick);
    }
    s.membersChanged(buffer);
  },

  KICK(s, msg) {
    const buffer = s.buffer(msg.params[0]);
    if (!buffer) return;
    const target = msg.params[1];
    s.append(buffer, s.record("kick", { nick: msg.source.nick, target, text: msg.params[2] || "", mention: s.isSelf(target) }, msg));
    if (s.isSelf(target)) {
      buffer.joined = false;
      buffer.rejoin = false;
      buffer.members.clear();
      buffer.typing.clear();
      s.emit("buffers");
      s.emit("left", buffer.key);
    } else buffer.members.delete(s.fold(target));
    s.membersChanged(buffer);
  },

  QUIT(s, msg) {
    const nick = msg.source.nick;
    for (const buffer of s.buffersOf(nick)) {
      s.append(buffer, s.record("quit", { nick, text: msg.params[0] || "" }, msg));
      if (buffer.members.delete(s.fold(nick))) s.membersChanged(buffer);
      s.typingStopped(buffer, nick);
    }
  },

  NICK(s, msg) {
    const oldNick = msg.source.nick;
    const newNick = msg.params[0];
    const self = s.isSelf(oldNick);
    const oldKey = s.fold(oldNick);
    const touched = s.buffersOf(oldNick);
    if (s.noteRename(oldNick, newNick, parseTime(msg.tags.time, s.now()))) s.reactionsRenamed();
    if (self) {
      s.nick = newNick;
      s.emit("self");
      if (!touched.includes(s.server)) touched.push(s.server);
    }
    for (const buffer of touched) {
      s.append(buffer, s.record("nick", { nick: oldNick, newNick, self }, msg), { countUnread: false });
      const member = buffer.members.get(oldKey);
      if (member) {
        buffer.members.delete(oldKey);
        buffer.members.set(s.fold(newNick), { ...member, nick: newNick });
        s.membersChanged(buffer);
      }
    }
    // The private conversation follows the person (unless one with the new name exists).
    const query = s.buffers.get(oldKey);
    const newKey = s.fold(newNick);
    if (query && query.kind === "query" && oldKey !== newKey && !s.buffers.has(newKey)) {
      s.buffers.delete(oldKey);
      query.key = newKey;
      query.name = newNick;
      s.buffers.set(newKey, query);
      if (s.active === oldKey) s.active = newKey;
      s.emit("buffers");
      s.emit("active", s.active);
    } else if (query && query.kind === "query" && oldKey === newKey) {
      query.name = newNick;
      s.emit("buffers");
    }
  },

  TOPIC(s, msg) {
    const buffer = s.buffer(msg.params[0]);
    if (!buffer) return;
    buffer.topic = msg.params[1] || "";
    buffer.topicBy = msg.source.nick;
    buffer.topicAt = parseTime(msg.tags.time, s.now());
    s.append(buffer, s.record("topic", { nick: msg.source.nick, self: s.isSelf(msg.source.nick), text: buffer.topic }, msg));
    s.emit("topic", buffer.key);
  },

  MODE(s, msg) {
    const target = msg.params[0];
    if (!s.isChannel(target)) {
      // Our own user modes (+w for wallops, +o from OPER): said in the server buffer.
      if (s.isSelf(target)) s.info(`Your user modes: ${msg.params.slice(1).join(" ")}`, { buffer: s.server });
      return;
    }
    const buffer = s.buffer(target);
    if (!buffer) return;
    s.applyChannelModes(buffer, msg.params[1] || "", msg.params.slice(2));
    if (s.isCreationModes(buffer, msg)) {
      // The modes a channel we just made starts with (the server's "+nt", sent to its
      // creator only) are nobody's doing: what they tell a person is that their join
      // made the channel. Said so, quietly, instead of "hubbub.local sets mode +nt".
      s.append(buffer, s.record("info", { text: `You created ${buffer.name}.` }, msg), { countUnread: false });
      return;
    }
    s.append(buffer, s.record("mode", { nick: msg.source ? msg.source.nick : "", ...s.modeText(msg) }, msg));
  },

  AWAY(s, msg) {
    const key = s.fold(msg.source.nick);
    s.awayTold.delete(key); // back, or away with another word: the next 301 is said
    for (const buffer of s.buffers.values()) {
      const member = buffer.members.get(key);
      if (member) {
        member.away = msg.params.length > 0 && msg.params[0] !== "";
        s.membersChanged(buffer);
      }
    }
  },

  CHGHOST(s, msg) {
    const key = s.fold(msg.source.nick);
    for (const buffer of s.buffers.values()) {
      const member = buffer.members.get(key);
      if (member) Object.assign(member, { user: msg.params[0], host: msg.params[1] });
    }
  },

  INVITE(s, msg) {
    if (s.isIgnored(msg.source)) return;
    s.info(`${msg.source.nick} invites ${s.isSelf(msg.params[0]) ? "you" : msg.params[0]} to ${msg.params[1]}`);
  },

  // An operator's (or a server's) message to everyone with user mode +w (and its echo
  // to the operator who sent it): addressed to no conversation, so in the server buffer.
  WALLOPS(s, msg) {
    if (s.isIgnored(msg.source)) return;
    const nick = msg.source ? msg.source.nick : ""; // none: shown as from the server
    s.append(s.server, s.record("wallops", { nick, text: msg.params[msg.params.length - 1] || "", self: s.isSelf(nick) }, msg));
  },

  ERROR(s, msg) {
    s.info(msg.params[0] || "Connection closed", { buffer: s.server, kind: "error" });
  },

  // Our SILENCE list changed (`:me SILENCE +bob!*@*`): said where the person is, unless
  // /ignore or /unignore asked for it (they say it their own way).
  SILENCE(s, msg) {
    const change = msg.params[0] || "";
    if (!msg.source || !s.isSelf(msg.source.nick) || !["+", "-"].includes(change[0])) return;
    const [sign, mask] = [change[0], change.slice(1)];
    const quiet = s.silenceQuiet.delete(sign + s.fold(mask));
    s.silenceQuiet.delete((sign === "+" ? "-" : "+") + s.fold(mask)); // one the server had nothing to say to
    if (quiet) return;
    s.info(sign === "+" ? `Silenced at the server: ${mask} (their private messages, notices and invites do not reach you)`
      : `No longer silenced at the server: ${mask}`);
  },

  FAIL(s, msg) {
    // CHATHISTORY and SEARCH failures are answered where they were asked; read markers
    // and typing notifications (TAGMSG) are the client's own doing, in the background,
    // not something the person asked for: their refusal (the network out of reach) is
    // not the person's business. A message of theirs refused is told by main.js.
    if (["CHATHISTORY", "SEARCH", "MARKREAD", "TAGMSG"].includes(msg.params[0])) return;
    // /unignore of someone the server's list did not hold (it was full): nothing to say
    if (msg.params[0] === "SILENCE" && msg.params[1] === "NO_SUCH_ENTRY" && s.silenceQuiet.delete(`-${s.fold(msg.params[2] || "")}`)) return;
    s.info(`${msg.params[0]}: ${msg.params[msg.params.length - 1]}`, { kind: "error" });
  },

  WARN(s, msg) {
    s.info(`${msg.params[0]}: ${msg.params[msg.params.length - 1]}`);
  },

  // draft/account-registration: REGISTER SUCCESS <account> :<text> (a refusal is a FAIL).
  REGISTER(s, msg) {
    if (msg.params[0] === "SUCCESS") s.info(msg.params[msg.params.length - 1] || "Account registered");
  },

  NOTE(s, msg) {
    s.info(msg.params[msg.params.length - 1], { buffer: s.server });
  },

  MARKREAD(s, msg) {
    const buffer = s.buffer(msg.params[0]);
    const value = msg.params[1] || "";
    if (!buffer || !value.startsWith("timestamp=")) return;
    const ms = parseTime(value.slice("timestamp=".length), 0);
    if (ms <= buffer.readMarker) return;
    buffer.readMarker = ms;
    // Returning with no point known yet (0): history that came before this marker was not
    // counted; what it holds past the marker is news.
    const unknown = buffer.unreadAfter === 0 && !buffer.unread;
    // Returning (or not yet read past the line): what the account has read is not new.
    if (buffer.unreadAfter !== null && ms > buffer.unreadAfter) {
      buffer.unreadAfter = ms;
      if (unknown) {
        for (const r of buffer.messages) {
          if (r.history && TALK.has(r.kind) && !r.self && r.time > ms) s.countUnread(buffer, r, buffer.kind === "query");
        }
      }
      s.emit("divider", buffer.key);
    }
    // Read on another device: whatever is older than the marker is no longer unread.
    if (s.recountUnread(buffer)) s.emit("buffers");
    s.settle(buffer); // read up to past everything on another device: nothing missed here either
  },
};

/**
 * The text of a numeric whose middle parameters are counts (LUSERS): the trailing text
 * alone where it says them already (265 "Current local users 3, max 5"), else the counts
 * before it (254 "1 channels formed"); null for any other numeric.
 */
function counted(params) {
  if (params.length < 2) return null;
  const counts = params.slice(0, -1);
  const last = params[params.length - 1];
  if (!counts.every((c) => /^\d+$/.test(c))) return null;
  return counts.every((c) => last.includes(c)) ? last : `${counts.join(" ")} ${last}`;
}

function talk(s, msg) {
  if (!msg.source) {
    s.info(msg.params[msg.params.length - 1] || "", { buffer: s.server });
    return;
  }
  if (s.isIgnored(msg.source)) return;
  const rec = s.talkRecord(msg);
  if (!rec) return;
  const buffer = s.talkBuffer(msg, rec);
  if (!buffer) return;
  s.typingStopped(buffer, rec.nick);
  if (!rec.self) s.awayTold.delete(s.fold(rec.nick)); // heard from: an away message after it is news again
  // A private message is always worth a mention badge; a server notice never is.
  const countUnread = buffer !== s.server || rec.kind !== "notice";
  s.append(buffer, rec, { countUnread, mentionAlways: buffer.kind === "query" && !rec.self });
}

// -- numerics that need more than "show the text" -----------------------------------------

/** How long ago `ms` was, from `now`, in words: "just now", "2 minutes ago", "3 days ago". */
export function ago(ms, now) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  const say = (n, unit) => `${n} ${unit}${n === 1 ? "" : "s"} ago`;
  if (s < 60) return "just now";
  if (s < 3600) return say(Math.floor(s / 60), "minute");
  if (s < 86400) return say(Math.floor(s / 3600), "hour");
  if (s < 86400 * 60) return say(Math.floor(s / 86400), "day");
  return `on ${new Date(ms).toISOString().slice(0, 10)}`;
}

/** One entry of a channel list (367 <channel> <mask> [<setter> <time>]) in words:
 * "spammy!*@* — set by maya, 2 minutes ago"; a mute (m:) says so. */
function listEntry(what) {
  return (s, msg, p) => {
    const [channel, mask = "", setter = "", when = ""] = p;
    const muted = what === "ban" && mask.startsWith("m:");
    let text = muted ? `${mask.slice(2)} (muted)` : mask;
    const by = setter.split("!")[0];
    const at = Number(when) * 1000;
    if (by) text += ` — set by ${by}${at ? `, ${ago(at, s.now())}` : ""}`;
    const buffer = s.listBuffer(channel);
    buffer.listCount = (buffer.listCount || 0) + 1;
    s.info(text, { buffer });
  };
}

function listEnd(what, plural) {
  return (s, msg, p) => {
    const buffer = s.listBuffer(p[0]);
    const n = buffer.listCount || 0;
    buffer.listCount = 0;
    s.info(n ? `End of the ${what} list of ${p[0]} (${n} ${n === 1 ? what : plural})` : `No ${plural} on ${p[0]}`, { buffer });
  };
}

function whois(format) {
  return (s, msg, p) => s.whoisLine(p[0], format(p));
}

const NUMERICS = {
  "001": (s, msg, p) => {
    s.nick = msg.params[0];
    s.emit("self");
    s.info(p[p.length - 1], { buffer: s.server });
  },
  "301": (s, msg, p) => {
    if (s.whois.has(s.fold(p[0]))) {
      s.whoisLine(p[0], `${p[0]} is away: ${p[1]}`);
      return;
    }
    // Told after each line sent to someone away: said once in their conversation, again
    // when the message changes or once they have been back (AWAY, or a line of theirs).
    const buffer = s.buffer(p[0]) || s.activeBuffer;
    const told = s.awayTold.get(s.fold(p[0]));
    if (told && told.buffer === buffer && told.text === p[1]) return;
    s.awayTold.set(s.fold(p[0]), { buffer, text: p[1] });
    s.info(`${p[0]} is away: ${p[1]}`, { buffer });
  },
  "341": (s, msg, p) => {
    // RPL_INVITING <nick> <channel>: said where it was asked, the channel when it is open
    s.info(`You invited ${p[0]} to ${p[1]}.`, { buffer: s.buffer(p[1]) || s.activeBuffer });
  },
  "305": (s, msg, p) => {
    s.away = false;
    s.emit("self");
    s.info(p[p.length - 1]);
  },
  "306": (s, msg, p) => {
    s.away = true;
    s.emit("self");
    s.info(p[p.length - 1]);
  },
  "311": whois((p) => `${p[0]} is ${p[1]}@${p[2]} (${p[4] || ""})`),
  "312": whois((p) => `${p[0]} is connected to ${p[1]} (${p[2] || ""})`),
  "313": whois((p) => `${p[0]} ${p[1]}`),
  "317": whois((p) => `${p[0]} has been idle ${p[1]} s`),
  "319": whois((p) => `${p[0]} is on ${p[1]}`),
  "330": whois((p) => `${p[0]} is logged in as ${p[1]}`),
  "335": whois((p) => `${p[0]} is a bot`),
  "338": whois((p) => `${p[0]} ${p.slice(1).join(" ")}`),
  "378": whois((p) => `${p[0]} ${p[p.length - 1]}`),
  "671": whois((p) => `${p[0]} uses a secure connection`),
  "318": (s, msg, p) => {
    const key = s.fold(p[0]);
    const lines = s.whois.get(key) || [];
    s.whois.delete(key);
    for (const line of lines) s.info(line, { kind: "whois" });
  },
  "321": (s) => {
    s.channelList = { items: [], loading: true };
    s.emit("list");
  },
  "322": (s, msg, p) => {
    s.channelList.items.push({ name: p[0], users: Number(p[1]) || 0, topic: p[2] || "" });
  },
  "323": (s) => {
    s.channelList.loading = false;
    s.emit("list");
  },
  "324": (s, msg, p) => {
    const buffer = s.buffer(p[0]);
    if (buffer) s.info(`Channel modes: ${p.slice(1).join(" ")}`, { buffer });
  },
  "329": () => {},
  // A channel's lists (/bans, /mode b): each entry as words, in the channel (or where
  // the person is, for a channel not open here), then how many there were.
  "367": listEntry("ban"),
  "368": listEnd("ban", "bans"),
  "348": listEntry("exception"),
  "349": listEnd("exception", "exceptions"),
  "346": listEntry("invite exception"),
  "347": listEnd("invite exception", "invite exceptions"),
  // On joining, the topic of the channel; otherwise the answer to /topic #channel for
  // one we are not in, said where it was asked.
  "331": (s, msg, p) => {
    const buffer = s.buffer(p[0]);
    if (!buffer || !buffer.joined) s.info(`No topic is set on ${p[0]}`);
    if (!buffer) return;
    buffer.topic = "";
    s.emit("topic", buffer.key);
  },
  "332": (s, msg, p) => {
    const buffer = s.buffer(p[0]);
    if (!buffer || !buffer.joined) s.info(`Topic of ${p[0]}: ${p[1] || ""}`);
    if (!buffer) return;
    buffer.topic = p[1] || "";
    s.emit("topic", buffer.key);
  },
  "333": (s, msg, p) => {
    const buffer = s.buffer(p[0]);
    if (!buffer) return;
    buffer.topicBy = (p[1] || "").split("!")[0];
    buffer.topicAt = Number(p[2]) * 1000 || 0;
    s.emit("topic", buffer.key);
  },
  "353": (s, msg, p) => {
    // 353 <me> <symbol> <channel> :names
    const buffer = s.buffer(p[1]);
    if (!buffer) return;
    if (!buffer.namesPending) buffer.namesPending = new Map();
    for (const entry of (p[2] || "").split(" ")) {
      if (!entry) continue;
      const member = s.parseNamesEntry(entry);
      buffer.namesPending.set(s.fold(member.nick), { away: false, ...member });
    }
  },
  "366": (s, msg, p) => {
    const buffer = s.buffer(p[0]);
    if (buffer) buffer.joining = false;
    if (!buffer || !buffer.namesPending) return;
    buffer.members = buffer.namesPending;
    buffer.namesPending = null;
    s.membersChanged(buffer);
  },
  // SILENCE's list: 271 <me> <me> <mask> (ircu; UnrealIRCd leaves out the second nick,
  // InspIRCd adds flags after the mask), then 272; said as one line where the person is.
  "271": (s, msg, p) => s.silenceListed.push(p.length > 1 && s.isSelf(p[0]) ? p[1] : p[0]),
  "272": (s) => {
    const masks = s.silenceListed.splice(0);
    const of = Number.isFinite(s.silenceLimit) && s.silenceLimit ? ` of ${s.silenceLimit}` : "";
    s.info(masks.length ? `Silenced at the server (${masks.length}${of}): ${masks.join(", ")}. /silence -mask takes one off.`
      : "Nobody is silenced at the server. /silence +mask (or /ignore) adds someone.");
  },
  "511": (s, msg, p) => {
    const n = s.silenceLimit;
    const limit = Number.isFinite(n) && n ? ` (${n} mask${n === 1 ? "" : "s"})` : "";
    s.info(`Your server-side ignore list is full${limit}: ${p[0]} is not silenced at the server. /silence lists it, /silence -mask makes room.`, { kind: "error" });
  },
  "433": (s, msg, p) => s.info(`The nickname ${p[0]} is already in use`, { kind: "error" }),
  // KNOCK: someone asks the channel's operators (us) to be invited; our own knock's fate.
  "710": (s, msg, p) => {
    const [nick, userHost] = (p[1] || "").split("!");
    const reason = (p[p.length - 1] || "").replace(/^has asked for an invite\.?:?\s*/i, "");
    const text = `${nick} (${userHost || ""}) asks to be invited to ${p[0]}${reason ? `: ${reason}` : ""} (/invite ${nick})`;
    // Someone waits at the door: counted like a mention, so an operator elsewhere sees it.
    const buffer = s.buffer(p[0]) || s.server;
    const rec = s.record("info", { text, knock: true }, msg); // knock: told elsewhere too (view.js)
    if (s.append(buffer, rec, { countUnread: false })) s.countUnread(buffer, rec, true);
  },
  "711": (s, msg, p) => s.info(`Your knock on ${p[0]} was delivered: its operators may invite you`),
  "712": (s, msg, p) => s.info(`${p[0]}: ${p[p.length - 1]}`, { kind: "error" }),
  "713": (s, msg, p) => s.info(`${p[0]}: ${p[p.length - 1]}`, { kind: "error" }),
  "714": (s, msg, p) => s.info(`${p[0]}: ${p[p.length - 1]}`, { kind: "error" }),
  "480": (s, msg, p) => s.info(`${p[0]}: ${p[p.length - 1]}`, { kind: "error" }), // +K: no knock
  // Quiet numerics: what they say is already shown another way.
  "002": () => {},
  "003": () => {},
  "004": () => {},
  "005": () => {},
  "315": () => {},
  "900": (s, msg, p) => {
    s.account = p[1] || null; // 900 <me> <nick!user@host> <account> :text
    s.info(p[p.length - 1], { buffer: s.server });
    s.reactionsRenamed(); // our reactions by account are ours now
  },
  "901": (s, msg, p) => {
    s.account = null;
    s.info(p[p.length - 1], { buffer: s.server });
    s.reactionsRenamed();
  },
  // A failed SASL login: the client says it ("Login failed"), where the user is.
  "902": () => {},
  "904": () => {},
  "905": () => {},
  "906": () => {},
  "907": () => {},
};
