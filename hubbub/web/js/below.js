// New messages said below the window while the reader is scrolled up in a conversation.
// They are not drawn where the reader is, so the log does not read them out: someone
// who reads back with a screen reader would stop hearing the conversation without
// knowing it went on. They are told instead, politely and by count ("3 new messages in
// #dev below"), not line by line: a burst is gathered into one announcement, and one
// conversation is announced at most once every GAP_MS, with the count brought up to
// date. Where a conversation opens (or is gone to) at its "New messages" line, what was
// missed under the window is counted as well, and not told by itself. Plain logic over
// an injected clock (unit-tested under node); view.js says the words and puts the count
// on the button to the newest ("↓ 3 new messages").

import { TALK } from "./state.js";

/** How long the first new line waits for the rest of its burst before it is told. */
export const SETTLE_MS = 1000;
/** The least time between two announcements of one conversation. */
export const GAP_MS = 5000;

/**
 * What is said of `count` messages below in the conversation `name` (a private one,
 * `privately`: it is named after the person), the only one from `nick`:
 * "New message from carol in #dev below", "3 new messages in #dev below",
 * "New message from carol below", "3 new messages from carol below".
 */
export function belowWords(count, { name, privately, nick }) {
  const where = privately ? "" : ` in ${name}`;
  if (count === 1) return `New message from ${nick}${where} below`;
  return `${count} new messages${privately ? ` from ${name}` : where} below`;
}

/** "1 new message", "3 new messages": what the button to them says. */
export function countWords(count) {
  return `${count} new message${count === 1 ? "" : "s"}`;
}

export class NewsBelow {
  /**
   * say(words): how an announcement is made. options, for tests: setTimeout,
   * clearTimeout, now.
   */
  constructor(say, options = {}) {
    this.say = say;
    this.setTimeout = options.setTimeout || ((fn, ms) => globalThis.setTimeout(fn, ms));
    this.clearTimeout = options.clearTimeout || ((id) => globalThis.clearTimeout(id));
    this.now = options.now || (() => Date.now());
    // key -> {count, nick, where, told, timer, saidAt}
    this.conversations = new Map();
  }

  /** Talked lines below the window in conversation `key`, since the reader left the bottom. */
  count(key) {
    const c = this.conversations.get(key);
    return c ? c.count : 0;
  }

  /**
   * `records` were added below the window of the conversation `key`, which is
   * `where` ({name, privately}). Others' talk counts (history fetched there too: it was
   * missed all the same); joins, parts and one's own lines do not. Only a live line is
   * told: a backlog alone is counted on the button, not announced.
   */
  arrived(key, records, where) {
    const c = this.add(key, records, where);
    if (!records.some((r) => TALK.has(r.kind) && !r.self && !r.history) || c.timer !== null) return;
    const at = Math.max(this.now() + SETTLE_MS, c.saidAt + GAP_MS);
    c.timer = this.setTimeout(() => this.tell(c), at - this.now());
  }

  /**
   * `records` are what is below the window of `key` now: the conversation opened, or was
   * gone to (Shift+Page Up), at its "New messages" line, above what was missed. They are
   * the count: lines counted below before are among them, not counted twice. Never told
   * by themselves, live or not: they are what the reader came back to (its unread count
   * says so), not news said while reading; a line said after them tells them all (one
   * waiting to be told already tells them all).
   */
  waiting(key, records, where) {
    const before = this.conversations.get(key);
    if (before) {
      before.count = 0;
      before.counted.clear();
    }
    const c = this.add(key, records, where);
    c.told = Math.min(c.told, c.count); // a smaller count is still told when it grows
  }

  add(key, records, where) {
    let c = this.conversations.get(key);
    if (!c) {
      c = { count: 0, counted: new Set(), nick: "", where, told: 0, timer: null, saidAt: -Infinity };
      this.conversations.set(key, c);
    }
    c.where = where;
    for (const r of records) {
      if (!TALK.has(r.kind) || r.self || c.counted.has(r)) continue;
      c.counted.add(r);
      c.count += 1;
      c.nick = r.nick;
    }
    return c;
  }

  /**
   * The reader scrolled in `key` while lines were counted below: `records` are what is
   * under the window now. The count is what of it was counted: it goes down as the
   * reader reads down through the new lines, and what was scrolled into view is read
   * (scrolling back up does not count it again); never told for that. Whether the
   * count changed.
   */
  scrolled(key, records) {
    const c = this.conversations.get(key);
    if (!c || !c.counted.size) return false;
    const still = new Set();
    for (const r of records) if (c.counted.has(r)) still.add(r);
    if (still.size === c.count) return false;
    c.counted = still;
    const count = (c.count = still.size);
    c.told = Math.min(c.told, count); // more said after it is told again
    return true;
  }

  tell(c) {
    c.timer = null;
    if (c.count <= c.told) return;
    c.told = c.count;
    c.saidAt = this.now();
    this.say(belowWords(c.count, { ...c.where, nick: c.nick }));
  }

  /**
   * The reader is back at the newest of `key` (or left it for another conversation):
   * nothing is below any more, and nothing waiting is told. When it was last told is
   * kept: scrolling up and down again does not make it say more often.
   */
  clear(key) {
    const c = this.conversations.get(key);
    if (!c) return;
    if (c.timer !== null) this.clearTimeout(c.timer);
    if (c.saidAt + GAP_MS <= this.now()) this.conversations.delete(key);
    else Object.assign(c, { count: 0, counted: new Set(), nick: "", told: 0, timer: null });
  }
}
