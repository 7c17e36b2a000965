// What a return (a reload, a reconnection) fetches of each conversation's history, and
// in what order. Plain logic over an injected request function, so node tests it
// without a server; main.js wires it to the connection and the state.
//
// One rule holds what is loaded together: it is one unbroken stretch of the
// conversation that ends with its newest message, since scroll-back continues it from
// its oldest message (BEFORE) and nothing ever fills a hole in the middle.

/** Requests of history at most per conversation on a return, after the first. */
export const CATCH_UP_PAGES = 10;
/** Conversations the person is not looking at whose history is fetched at one time. */
export const OTHERS_AT_ONCE = 2;

/**
 * Fetch what one conversation missed, from the newest message back to the point that
 * matters, so that the "New messages" line can stand above the first message missed:
 *
 * - `since` (ms): a reconnection, with the history up to `since` loaded already. What
 *   followed is asked for (AFTER): one short answer in the usual case. It is asked from
 *   the millisecond before: a server may leave out all of the millisecond named (as
 *   hubbub does), and a burst's lines share one, so some said after the newest loaded
 *   may be of its millisecond; those of it loaded already come again, and are dropped
 *   (by msgid) where they are, placing the rest (state.js placeHistory). A full one means
 *   more may follow, and a stretch fetched from the newest back would have to be fitted
 *   in between, which time alone cannot do for messages of one millisecond: what is
 *   loaded is dropped instead (`forget(ms)`: everything up to the newest message that
 *   answer brought), and it goes on as a reload does.
 * - no `since`: a reload (nothing loaded). The newest page (LATEST), then the pages
 *   before it (BEFORE) until one reaches back to the point read to (`readTo()`, asked
 *   after each answer: the server's read marker may come meanwhile). A point not known
 *   (0 or null) stops after the newest page, as any first visit.
 *
 * Going back from the newest keeps what is loaded unbroken at every step (each page
 * goes before the rest), and brings, with the last page, a few of the messages read
 * before: the missed ones are seen in their context. At most `pages` pages: past that,
 * the answer says "cap" and `oldest` is the oldest message fetched (more was missed
 * than fetched).
 *
 * ask(subcommand, reference) -> Promise<{messages, full, error}> sends one CHATHISTORY;
 * time(item) -> ms and ref(item) -> reference describe the items it answers with.
 * Resolves with {end, oldest}: end is "reached", "beginning" (the server has nothing
 * older), "unknown" (no point to reach), "cap", or "error" (with `error`).
 */
export async function catchUp({ ask, since = 0, readTo = () => 0, forget = () => {}, time, ref, pages = CATCH_UP_PAGES }) {
  if (since) {
    const after = await ask("AFTER", `timestamp=${new Date(since - 1).toISOString()}`);
    if (after.error) return { end: "error", error: after.error, oldest: null };
    if (!after.full) return { end: "reached", oldest: null };
    forget(Math.max(...after.messages.map(time)));
  }
  let page = await ask("LATEST", "*");
  for (let asked = 1; ; asked++) {
    if (page.error) return { end: "error", error: page.error, oldest: null };
    if (!page.full) return { end: "beginning", oldest: null };
    const oldest = page.messages.reduce((a, b) => (time(b) < time(a) ? b : a));
    const point = readTo();
    if (!point) return { end: "unknown", oldest };
    if (time(oldest) <= point) return { end: "reached", oldest };
    if (asked >= pages) return { end: "cap", oldest };
    page = await ask("BEFORE", ref(oldest));
  }
}

/**
 * The catch-ups of a return, paced: a burst of one request per conversation (fifty
 * channels, fifty requests) would queue the person's own lines behind them at the
 * server. The conversation looked at goes at once (`now`, or `hurry` once it is
 * opened); the others at most `atOnce` at a time, in the order they came back. Each
 * conversation (any key: main.js gives the buffer itself) has one catch-up at a time.
 * `done(key)` is told when one is over.
 */
export class CatchUpQueue {
  constructor({ atOnce = OTHERS_AT_ONCE, done = () => {} } = {}) {
    this.atOnce = atOnce;
    this.done = done;
    this.waiting = []; // {key, run}, oldest first
    this.running = new Map(); // key -> {key, run}
  }

  has(key) {
    return this.running.has(key) || this.waiting.some((e) => e.key === key);
  }

  /** `run` (an async function) for `key`, at once if `now`, else when its turn comes;
   * nothing new if `key` has one already (brought forward if `now`). */
  add(key, run, { now = false } = {}) {
    if (this.has(key)) {
      if (now) this.hurry(key);
      return;
    }
    const entry = { key, run };
    entry.over = new Promise((resolve) => {
      entry.end = resolve;
    });
    if (now) this.start(entry);
    else {
      this.waiting.push(entry);
      this.pump();
    }
  }

  /** The person opened `key`: its catch-up, if it waits, starts now. Resolves once it
   * is over (at once when there is none). */
  hurry(key) {
    const i = this.waiting.findIndex((e) => e.key === key);
    if (i >= 0) this.start(this.waiting.splice(i, 1)[0]);
    const entry = this.running.get(key);
    return entry ? entry.over : Promise.resolve();
  }

  /** The connection is gone: what waits will not run (the next return adds it again);
   * what runs ends by itself (its requests fail with the connection). */
  clear() {
    for (const entry of this.waiting) entry.end();
    this.waiting = [];
  }

  start(entry) {
    this.running.set(entry.key, entry);
    Promise.resolve()
      .then(() => entry.run())
      .catch(() => {})
      .finally(() => {
        if (this.running.get(entry.key) === entry) this.running.delete(entry.key);
        entry.end();
        this.done(entry.key);
        this.pump();
      });
  }

  pump() {
    while (this.running.size < this.atOnce && this.waiting.length) this.start(this.waiting.shift());
  }
}
