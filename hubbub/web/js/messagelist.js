// The message view of one buffer, windowed: only a slice of the buffer's messages
// (at most MAX_ROWS) is in the DOM at a time, so a buffer of 10,000 or 50,000 messages
// scrolls and appends as fast as one of 100. Scrolling near an edge renders the next
// chunk from memory; at the top of memory it asks for older history from the server.
// Runs of joins, parts, quits and nick changes are folded into one subdued row.

import { stripFormatting } from "./format.js";
import { PRESENCE, REACTION_CHOICES, firstUnread, missedBeyond } from "./state.js";
import { appendRich, dayLabel, dayOf, el, nickClass, timeElement } from "./dom.js";

const PAGE = 150; // rows rendered when a buffer is shown
const CHUNK = 100; // rows added when scrolling near an edge
export const MAX_ROWS = 400; // rows kept in the DOM
const EDGE_PX = 600; // how close to an edge (in pixels) before the next chunk is rendered
const STUCK_PX = 48; // this close to the bottom counts as "following new messages"
export const NEWS_MAX = 10; // live lines a bulk drawing holds back to add as news (more: backlog)
export const LIVE_READ = 5; // live lines of one drawing the log reads out; the rest are counted
const FOUND_MS = 2500; // how long a message gone to (a search result) stays highlighted
const QUOTE_CHARS = 80; // of the message a reply answers, shown above it
// Kinds of rows one can reply and react to: people talking.
const ANSWERABLE = new Set(["message", "action", "notice"]);

/**
 * `done` once the browser has drawn what was just put in the page (its accessibility
 * tree follows the rendering): a frame, then a moment; a hidden tab gets no frames, a
 * timer there. Returns what cancels it.
 */
function afterDrawn(done) {
  let frame = null;
  let timer = null;
  if (document.hidden) timer = setTimeout(done, 250);
  else {
    frame = requestAnimationFrame(() => {
      frame = null;
      timer = setTimeout(done, 50);
    });
  }
  return () => {
    if (frame !== null) cancelAnimationFrame(frame);
    if (timer !== null) clearTimeout(timer);
  };
}

function presenceText(rec) {
  const reason = rec.text ? ` (${stripFormatting(rec.text)})` : "";
  switch (rec.kind) {
    case "join": return `${rec.nick} joined`;
    case "part": return `${rec.nick} left${reason}`;
    case "quit": return `${rec.nick} quit${reason}`;
    case "nick": return `${rec.nick} is now ${rec.newNick}`;
    default: return rec.nick;
  }
}

/** What a row says, read as one line: "carol: hello (mentions you), 14:02"; joins and
 * parts in a run; a reply's quote first, its reactions last. The words the row holds for
 * a screen reader alone (unseen: the colon, the mention, the time) are left out of its
 * parts and said here in their places, once each. */
function rowWords(row) {
  const time = row.querySelector(":scope > .ts");
  if (row.classList.contains("presence")) {
    const chips = [...row.querySelectorAll(".chip")].map((c) => c.textContent);
    return `${chips.join(", ")}${time ? `, ${time.textContent}` : ""}`;
  }
  const extra = (n) => n.matches(".quote, .reactions, .actions, .visually-hidden");
  const parts = [...row.children].filter((n) => n !== time && !extra(n)).map((n) => n.textContent.trim()).filter(Boolean);
  const said = row.classList.contains("message") || row.classList.contains("notice") ? parts.join(": ") : parts.join(" ");
  const mention = row.querySelector(":scope > .mentions-you");
  const quote = row.querySelector(":scope > .quote");
  const reactions = [...row.querySelectorAll(":scope > .reactions .reaction")].map((c) => c.textContent.trim());
  return `${quote ? `${quote.getAttribute("aria-label")}. ` : ""}${said}${mention ? mention.textContent : ""}` +
    `${time ? `, ${time.textContent}` : ""}${reactions.length ? `. Reactions: ${reactions.join(", ")}` : ""}`;
}

/** Out of the log's notice: added to the live region without being read out. */
function quiet(node) {
  node.setAttribute("aria-live", "off");
}

/** "15 more messages in #lobby": what is said once of the lines of a burst not read out. */
function quietWords(count, b) {
  const where = b.kind === "query" ? `from ${b.name}` : b.kind === "server" ? "from the server" : `in ${b.name}`;
  return `${count} more message${count === 1 ? "" : "s"} ${where}`;
}

/** Words for a screen reader alone (a colon, the time after the text): not drawn. */
function unseen(text, cls = "") {
  return el("span", { class: `visually-hidden${cls ? ` ${cls}` : ""}`, text });
}

/** A run of joins and parts: its chips, between its time drawn and its time said. */
function chipsOf(group) {
  return group.querySelector(":scope > .chips");
}

/** A run of joins and parts is timed by its first: drawn first, said last, as a
 * message's time is ("alice joined, bob left, 10:56"). */
function timeGroup(group, ms) {
  const time = timeElement(ms);
  time.setAttribute("aria-hidden", "true");
  const said = unseen(`, ${time.textContent}`, "said-time");
  const old = group.querySelector(":scope > .ts");
  if (old) {
    old.replaceWith(time);
    // Unchanged words left alone: new ones in the log would be read out again.
    const before = group.querySelector(":scope > .said-time");
    if (before.textContent !== said.textContent) before.replaceWith(said);
  } else {
    group.prepend(time);
    group.append(said);
  }
}

// A message from the same person, of the same kind, soon after the previous one and on
// the same day: the phone layout shows its nick and time once for the run.
const RUN_GAP_MS = 5 * 60 * 1000;
function continues(prev, rec) {
  return !!prev && (rec.kind === "message" || rec.kind === "notice") && prev.kind === rec.kind &&
    prev.nick === rec.nick && rec.time - prev.time < RUN_GAP_MS && dayOf(prev.time) === dayOf(rec.time);
}

/**
 * Where a bulk drawing of buffer `b` ends: the live lines after it (`isNews`) are held
 * back, to go in once the bulk is drawn and be read out. Up to NEWS_MAX of them; more
 * are a backlog, drawn with the rest (b.end: nothing held back).
 */
export function newsCut(b, isNews) {
  let cut = b.end;
  while (cut > b.base && b.end - cut <= NEWS_MAX && isNews(b.at(cut - 1))) cut--;
  return b.end - cut > NEWS_MAX ? b.end : cut;
}

export class MessageList {
  /**
   * callbacks: fold() -> casemap function, needHistory(buffer), nickClicked(nick),
   * stuckChanged(following), arrivedBelow(records) (added while the reader is scrolled up),
   * missedBelow(records) (all under the window, at the "New messages" line: they are the count),
   * countingBelow() -> whether lines are counted below, scrolledBelow(records) (what is
   * under the window after a scroll while they are: the count goes down as they are read),
   * answerable(rec) (Reply and React are offered), reply(rec), react(rec, emoji, remove),
   * reactions(rec) -> [{emoji, nicks, self}], repliedTo(rec) -> the record answered or null,
   * say(words) (told once by the page's announcer, beside the log)
   */
  constructor(container, callbacks) {
    this.container = container;
    this.callbacks = callbacks;
    this.buffer = null;
    this.entries = []; // one per rendered message: {rec, el, group, divider}
    this.start = 0; // absolute index of the first rendered message
    this.end = 0; // absolute index after the last rendered message
    this.stuck = true;
    // Shown, and not yet opened at a "New messages" line: once what was missed is drawn
    // (at once, or when the conversation's catch-up ends), the view opens there (openAtLine).
    this.opening = false;
    this.seenEnd = 0; // the buffer's end at the last update: what arrived since is "new"
    this.hushing = null; // cancels what ends the busy state (afterDrawn)
    this.olderLater = null; // cancels older rows drawn once a live line is (update)
    this.seenSeq = 0; // the newest record drawn or counted below: live ones after it are news
    this.newsWaiting = false; // news held back from a bulk drawing, appended once it is over
    this.recountFrame = null; // a count of the lines below, after a scroll, in the next frame
    // Above the first message said after the point read to, on a return (a reload, a
    // reconnection), until the conversation is read past (state.js: unreadAfter).
    // A separator's content is not read (its children are presentational): its name is.
    this.newLine = el("div", { class: "new-line", role: "separator", "aria-label": "New messages", text: "New messages" });
    this.status = el("div", { class: "history-status", role: "status" });
    container.append(this.status);
    container.addEventListener("scroll", () => this.onScroll(), { passive: true });
    container.addEventListener("click", (event) => this.onClick(event));
    // The keyboard's way to the nicks: the list is one Tab stop, ↑ and ↓ go from message
    // to message (the one on gets the focus, a roving tabindex) and Enter does what a
    // click on its author's nick does. Every nick a Tab stop would make hundreds of them.
    this.focusedRow = null;
    container.addEventListener("keydown", (event) => this.onKey(event));
    // The focused row's own buttons (Reply, React, its reactions) are Tab stops while it is
    // focused, and the row stays the one on until the focus leaves it and them.
    container.addEventListener("focusout", (event) => {
      const row = this.focusedRow;
      if (row && row.contains(event.target) && !row.contains(event.relatedTarget)) this.leaveRow();
      // An emoji picker closes once the focus is elsewhere (a click away, Tab past it).
      const actions = event.target.closest && event.target.closest(".actions");
      if (actions && !actions.contains(event.relatedTarget)) this.closePicker(actions.parentElement, false);
    });
    container.addEventListener("keydown", (event) => {
      // Esc in an open emoji picker closes it, back on React.
      const picker = event.key === "Escape" && event.target.closest && event.target.closest(".picker");
      if (picker) {
        event.preventDefault();
        event.stopPropagation();
        this.closePicker(picker.closest(".row"), true);
      }
    });
    // The phone keyboard opening, or a panel sliding, must not leave the newest line hidden.
    new ResizeObserver(() => {
      if (this.stuck) this.scrollToBottom();
    }).observe(container);
  }

  show(buffer) {
    this.buffer = buffer;
    this.seenEnd = buffer.end;
    this.seenSeq = buffer.end > buffer.base ? buffer.at(buffer.end - 1).seq : 0; // switched to: no news
    this.renderBottom();
    this.opening = true;
    if (!buffer.historyPending) this.openAtLine();
  }

  /**
   * Where the reader left off, rather than the newest: the "New messages" line near the
   * top, when the first message missed would be above the view opened at the bottom
   * (as Slack and Discord open). Following new messages stops until the reader scrolls
   * down to them. Everything missed in view: the bottom it stays. Only on opening (a
   * conversation shown, or its catch-up over) and only while the reader is still at the
   * bottom; the focus stays where it is, and nothing is read out again.
   */
  openAtLine() {
    const b = this.buffer;
    const rec = b && this.opening && this.stuck ? firstUnread(b) : null;
    if (!rec) return;
    this.opening = false;
    const c = this.container;
    if (!this.entries.some((e) => e.rec === rec)) this.keepingFocus(() => this.renderAround(rec));
    if (!this.newLine.isConnected) return;
    const offset = this.newLine.getBoundingClientRect().top - c.getBoundingClientRect().top;
    if (offset >= 0) return; // all of it in view
    c.scrollTop += offset - 8;
    this.stuck = false;
    this.callbacks.stuckChanged(false);
    this.countMissed();
    this.onScroll();
  }

  /** At the "New messages" line (opened there, or gone to), the button to the newest
   * counts what is under the window, not "Newest": the reader has not seen it. */
  countMissed() {
    const below = this.missedBelow();
    if (below.length) this.callbacks.missedBelow(below);
  }

  /** The records under the window (not wholly in view, or not drawn): at the
   * "New messages" line, what was missed further down. */
  missedBelow() {
    const b = this.buffer;
    const bottom = this.container.getBoundingClientRect().bottom;
    const first = this.entries.findIndex((e) => e.el.getBoundingClientRect().bottom > bottom);
    const records = first < 0 ? [] : this.entries.slice(first).map((e) => e.rec);
    for (let i = this.end; i < this.seenEnd; i++) records.push(b.at(i));
    return records;
  }

  /** The connection is gone: the view shown opens at the line of what the return brings,
   * as on a reload; not at a line up already (the reader has been here since it came). */
  returning() {
    if (this.buffer && !firstUnread(this.buffer)) this.opening = true;
  }

  /** Draw the rows around `rec` (a record of the buffer shown), in bulk (quietly). */
  renderAround(rec) {
    const b = this.buffer;
    const index = b.base + b.messages.indexOf(rec);
    this.clear();
    this.hush(); // drawn in bulk: to be read at will, not read out at once
    this.newsWaiting = false;
    this.start = this.end = Math.min(b.end, index + CHUNK);
    this.prependRows(Math.max(b.base, index - CHUNK));
    this.seenEnd = b.end;
    this.noteSeen();
    this.updateStatus();
  }

  /** Render the oldest messages loaded, from the first (the Home key). */
  renderTop() {
    const b = this.buffer;
    this.clear();
    this.hush();
    this.newsWaiting = false;
    this.start = this.end = b.base;
    this.appendRows(Math.min(b.end, b.base + PAGE));
    this.seenEnd = b.end;
    this.noteSeen();
    this.stuck = false;
    this.callbacks.stuckChanged(false);
    this.updateStatus();
  }

  /** Render the newest PAGE messages and follow new ones. */
  renderBottom() {
    this.clear();
    const b = this.buffer;
    if (!b) return;
    this.hush();
    // Live lines that came since the last drawing are news, not backlog: they wait until
    // the bulk is drawn and the log is no longer busy, and go in then, read out (a few;
    // past NEWS_MAX they are a backlog too).
    const cut = newsCut(b, (rec) => this.isNews(rec));
    this.newsWaiting = cut < b.end;
    this.start = this.end = cut;
    this.seenEnd = cut; // what is drawn; the news held back is still to arrive
    this.prependRows(Math.max(b.base, cut - PAGE));
    if (!this.newsWaiting) this.noteSeen();
    this.stuck = true;
    this.scrollToBottom();
    this.updateStatus();
    this.callbacks.stuckChanged(true);
    this.fillIfShort();
  }

  /**
   * The buffer changed among what is drawn (a page of history placed in it, a line
   * sorted in by its time, its oldest dropped): drawn again. Followed, from the bottom;
   * scrolled up, around the row at the top of the window, which stays where it was on
   * screen: the reader does not lose their place. New lines since the last drawing are
   * counted below, as update() counts them. The message with the focus keeps it.
   */
  redraw() {
    this.keepingFocus(() => this.drawAround());
  }

  /** redraw(), the focus aside. */
  drawAround() {
    const b = this.buffer;
    const c = this.container;
    const top = c.getBoundingClientRect().top;
    const anchor = b && !this.stuck ? this.entries.find((e) => e.el.getBoundingClientRect().bottom > top) : null;
    if (!anchor || !b.messages.includes(anchor.rec)) {
      this.renderBottom();
      return;
    }
    const offset = anchor.el.getBoundingClientRect().top - top;
    const fresh = b.messages.filter((r) => this.isNews(r));
    this.renderAround(anchor.rec);
    const again = this.entries.find((e) => e.rec === anchor.rec);
    c.scrollTop += again.el.getBoundingClientRect().top - top - offset;
    if (fresh.length) this.callbacks.arrivedBelow(fresh);
  }

  clear() {
    this.keepFocus(this.focusedRow);
    for (const e of this.entries) {
      if (e.divider) e.divider.remove();
      (e.group || e.el).remove();
    }
    this.entries = [];
    this.start = this.end = 0;
    this.newLine.remove();
  }

  /** The "New messages" line where it belongs: above the first unread message when it
   * is drawn, nowhere otherwise. Run after every change of the rows drawn. */
  placeNewLine() {
    const rec = this.buffer ? firstUnread(this.buffer) : null;
    const entry = rec && this.entries.find((e) => e.rec === rec);
    if (!entry) {
      this.newLine.remove();
      return;
    }
    // More missed than fetched: the line is above the oldest loaded, and says so.
    const more = missedBeyond(this.buffer);
    const text = more ? `New messages: more than ${more}, the first ones further up` : "New messages";
    if (this.newLine.textContent !== text) {
      this.newLine.textContent = text;
      this.newLine.setAttribute("aria-label", text);
    }
    if (entry.el.previousSibling !== this.newLine) this.container.insertBefore(this.newLine, entry.el);
    entry.el.classList.remove("cont"); // the line parts a run: the nick is shown again
  }

  /** Bring the window in line with the buffer after messages were added or dropped. */
  update() {
    const b = this.buffer;
    if (!b) return;
    let live = false; // a live line went in: nothing drawn in bulk may hush it now
    if (this.start < b.base) {
      // The buffer dropped its oldest messages (memory cap).
      const gone = Math.min(this.entries.length, b.base - this.start);
      this.removeTop(gone);
      this.start = Math.max(this.start, b.base);
      if (this.end < this.start) {
        this.keepingFocus(() => this.renderBottom());
        return;
      }
    }
    if (this.stuck) {
      if (b.end - this.end > MAX_ROWS) {
        this.keepingFocus(() => this.renderBottom());
        return;
      }
      if (b.end > this.end) {
        live = this.hushIfHistory(this.end, b.end);
        this.newsWaiting = false;
        const read = live ? this.readUpTo(b.end) : b.end;
        this.appendRows(b.end, read);
        if (read < b.end) this.callbacks.say(quietWords(b.end - read, b));
        if (this.entries.length > MAX_ROWS) this.removeTop(this.entries.length - MAX_ROWS);
      }
      this.scrollToBottom();
    } else if (b.end > this.seenEnd) {
      const fresh = [];
      for (let i = Math.max(this.seenEnd, b.base); i < b.end; i++) fresh.push(b.at(i));
      this.callbacks.arrivedBelow(fresh);
    }
    this.seenEnd = b.end;
    this.noteSeen();
    this.updateStatus();
    if (this.container.scrollTop >= EDGE_PX) return;
    // Rows above to draw (a page of history came in the same frame as the live line: a
    // conversation opened with /msg gets its echo and its history at once), drawn in
    // bulk: the log is busy while they go in, which would keep the live line from being
    // read out. They go in once it is drawn, as they would have had they come alone.
    if (live) this.loadOlderSoon();
    else this.loadOlder();
  }

  /** loadOlder() once what was just drawn is (afterDrawn), if still near the top. */
  loadOlderSoon() {
    if (this.olderLater) return;
    const b = this.buffer;
    this.olderLater = afterDrawn(() => {
      this.olderLater = null;
      if (this.buffer === b && this.container.scrollTop < EDGE_PX) this.loadOlder();
    });
  }

  updateStatus() {
    const b = this.buffer;
    let text = "";
    if (b && this.start === b.base) {
      if (b.historyLoading) text = "Loading earlier messages…";
      // Without server history, the top is only where this page came in: nothing to say.
      else if (b.historyDone && !b.historyUnavailable && b.messages.length && b.kind !== "server") text = "Beginning of the conversation";
    }
    if (this.status.textContent !== text) this.status.textContent = text;
  }

  scrollToBottom() {
    this.container.scrollTop = this.container.scrollHeight;
  }

  /** Follow new messages again (the "jump to newest" button, or sending a message). */
  jumpToBottom() {
    const b = this.buffer;
    if (!b) return;
    this.opening = false;
    if (this.end !== b.end) this.renderBottom();
    else {
      this.stuck = true;
      this.scrollToBottom();
      this.callbacks.stuckChanged(true);
    }
  }

  onScroll() {
    const b = this.buffer;
    if (!b) return;
    const c = this.container;
    const fromBottom = c.scrollHeight - c.scrollTop - c.clientHeight;
    // Following stays on while the reader is at the bottom, even if messages arrived
    // since the last frame; it starts again only once the window reaches the newest.
    const stuck = fromBottom < STUCK_PX && (this.stuck || this.end === b.end);
    if (stuck !== this.stuck) {
      this.stuck = stuck;
      this.callbacks.stuckChanged(stuck);
    }
    if (c.scrollTop < EDGE_PX) this.loadOlder();
    if (fromBottom < EDGE_PX && this.end < b.end) this.loadNewer();
    if (!this.stuck && this.recountFrame === null && this.callbacks.countingBelow()) {
      // once a frame at most: measuring the rows is layout work
      this.recountFrame = requestAnimationFrame(() => {
        this.recountFrame = null;
        if (this.buffer === b && !this.stuck) this.callbacks.scrolledBelow(this.missedBelow());
      });
    }
  }

  // A buffer shorter than the screen shows no scrollbar to pull: fetch until it has one.
  fillIfShort() {
    const c = this.container;
    if (c.scrollHeight <= c.clientHeight + EDGE_PX) this.loadOlder();
  }

  loadOlder() {
    const b = this.buffer;
    if (this.start > b.base) {
      const c = this.container;
      const before = c.scrollHeight;
      const top = c.scrollTop;
      this.hush();
      this.prependRows(Math.max(b.base, this.start - CHUNK));
      // Keep what the reader looks at in place while rows appear above it.
      c.scrollTop = top + (c.scrollHeight - before);
      if (this.entries.length > MAX_ROWS) {
        this.removeBottom(this.entries.length - MAX_ROWS);
        this.stuck = false;
        this.callbacks.stuckChanged(false);
      }
      this.updateStatus();
    } else if (!b.historyDone && !b.historyLoading && b.kind !== "server") {
      this.callbacks.needHistory(b);
    }
  }

  /**
   * Rows below the window scrolled near, drawn in bulk (quietly), up to the news: lines
   * that came since the last drawing are the next update's, which reads them out while
   * the reader follows and counts them below if not (or, held back from a bulk drawing,
   * they wait for it). A scroll reaches the page at the start of a frame, before the
   * frame's drawing: the browser's own, of the last drawing, comes after a line that
   * arrived meanwhile, and would otherwise draw it here, unread.
   */
  loadNewer() {
    const b = this.buffer;
    let to = Math.min(b.end, this.end + CHUNK);
    for (let i = this.end; i < to; i++) {
      if (this.isNews(b.at(i))) {
        to = i;
        break;
      }
    }
    if (to <= this.end) return;
    this.hush();
    this.appendRows(to);
    if (this.entries.length > MAX_ROWS) {
      const c = this.container;
      const before = c.scrollHeight;
      const top = c.scrollTop;
      this.removeTop(this.entries.length - MAX_ROWS);
      c.scrollTop = top - (before - c.scrollHeight);
    }
    this.updateStatus();
  }

  // -- going to a message --------------------------------------------------------------

  /**
   * Show `rec` (a record of the buffer shown): drawn with the rows around it if it is
   * not drawn, scrolled to and given the focus, so that a screen reader reads it out.
   * `line`: the "New messages" line above it is brought to the top, and what is under
   * the window counted on the button to the newest, as on opening there; otherwise the
   * message is centred and highlighted for a moment. False if the buffer has no `rec`.
   */
  reveal(rec, { line = false } = {}) {
    const b = this.buffer;
    const i = b ? b.messages.indexOf(rec) : -1;
    if (i < 0) return false;
    this.opening = false;
    let entry = this.entries.find((e) => e.rec === rec);
    if (!entry) {
      this.renderAround(rec);
      entry = this.entries.find((e) => e.rec === rec);
    }
    const row = entry.group || entry.el;
    const c = this.container;
    const top = line && this.newLine.isConnected ? this.newLine : row;
    const offset = top.getBoundingClientRect().top - c.getBoundingClientRect().top;
    c.scrollTop += line ? offset - 8 : offset - (c.clientHeight - row.offsetHeight) / 2;
    this.stuck = false; // following the newest again only if this is the bottom
    this.callbacks.stuckChanged(false);
    this.onScroll();
    if (!line) this.highlight(row);
    else if (!this.stuck) this.countMissed();
    this.focusRow(row);
    return true;
  }

  highlight(row) {
    row.classList.add("found");
    setTimeout(() => row.classList.remove("found"), FOUND_MS);
  }

  // -- the keyboard in the list -------------------------------------------------------

  onKey(event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || event.isComposing) return;
    const c = this.container;
    const on = event.target === c || event.target === this.focusedRow ? event.target : null;
    if (!on) return; // a link in a message keeps its own keys
    if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      event.preventDefault();
      const next = this.nextRow(on === c ? null : on, event.key === "ArrowUp" ? -1 : 1);
      if (next) this.focusRow(next);
    } else if (event.key === "Home" || event.key === "End") {
      // From a message, to the first loaded or the newest (on the list itself the keys
      // scroll it, as the browser does).
      if (on === c) return;
      event.preventDefault();
      if (event.key === "Home") {
        if (this.start > this.buffer.base) this.renderTop();
      } else this.jumpToBottom();
      const rows = [...c.children].filter((n) => n.classList.contains("row"));
      const row = event.key === "Home" ? rows[0] : rows[rows.length - 1];
      if (row) this.focusRow(row);
      if (event.key === "Home") c.scrollTop = 0; // what is said above the first, too
    } else if (event.key === "Enter" && on !== c) {
      const nick = on.querySelector("[data-nick]");
      if (nick) {
        event.preventDefault();
        this.callbacks.nickClicked(nick.dataset.nick);
      }
    }
  }

  /** The row before (step -1) or after (+1) `from`; from the list itself, the last (or
   * first) row in view. Past the rows drawn, the next ones are drawn first. */
  nextRow(from, step) {
    const rows = () => [...this.container.children].filter((n) => n.classList.contains("row"));
    let all = rows();
    if (!from) {
      const c = this.container.getBoundingClientRect();
      const inView = all.filter((r) => {
        const box = r.getBoundingClientRect();
        return box.bottom > c.top && box.top < c.bottom;
      });
      return step < 0 ? inView[inView.length - 1] || all[all.length - 1] : inView[0] || all[0];
    }
    let i = all.indexOf(from);
    if (i + step < 0 || i + step >= all.length) {
      if (step < 0) this.loadOlder();
      else if (this.end < this.buffer.end) this.loadNewer();
      all = rows();
      i = all.indexOf(from);
    }
    return all[i + step] || null;
  }

  /** `row` is the one on, with the focus; `scroll`: brought into view (gone to, not
   * given back after a redraw, which leaves the window where the reader has it). */
  focusRow(row, { scroll = true } = {}) {
    if (this.focusedRow && this.focusedRow !== row) this.leaveRow();
    this.focusedRow = row;
    row.tabIndex = -1;
    // A row is no control: it is named with what it says, the time last (an article may
    // be named; a plain div may not).
    row.setAttribute("aria-label", rowWords(row));
    for (const b of row.querySelectorAll("button, a")) b.tabIndex = 0;
    row.focus({ preventScroll: true });
    if (scroll) row.scrollIntoView({ block: "nearest" });
  }

  /** The row with the focus (or one of its buttons) is about to go (redrawn, dropped):
   * the focus stays in the list rather than falling to the page, where the next key
   * would be lost. */
  keepFocus(row) {
    if (!row) return;
    const had = row.contains(document.activeElement);
    this.leaveRow();
    if (had) this.container.focus({ preventScroll: true });
  }

  /**
   * The rows drawn again by `draw`, without the reader losing their place: a keyboard
   * or screen-reader user on a message is on it again (the same record, or the same
   * msgid), on the same button of it if one had the focus, and the window stays where
   * `draw` left it. Not drawn any more, the list keeps the focus (keepFocus), from
   * which ↑ and ↓ start again at what is in view.
   */
  keepingFocus(draw) {
    const row = this.focusedRow;
    const had = row && row.contains(document.activeElement) ? document.activeElement : null;
    const entry = had && this.entries.find((e) => (e.group || e.el) === row);
    // an emoji of the open picker: the picker is opened again on the row drawn anew
    const picked = had && had.closest(".picker") ? had.getAttribute("aria-label") : null;
    draw();
    if (!entry) return;
    const { rec } = entry;
    const same = (r) => r === rec || (!!rec.msgid && r.msgid === rec.msgid);
    const again = this.entries.find((e) => same(e.rec));
    if (!again) return;
    const node = again.group || again.el;
    this.focusRow(node, { scroll: false });
    if (had === row) return;
    if (picked !== null && node.querySelector(":scope > .actions")) {
      this.openPicker(node, again.rec);
      const emoji = [...node.querySelectorAll(".picker button")].find((b) => b.getAttribute("aria-label") === picked);
      if (emoji) emoji.focus({ preventScroll: true });
      return;
    }
    const button = [...node.querySelectorAll("button, a")].find((b) => b.tagName === had.tagName &&
      b.className === had.className && b.dataset.emoji === had.dataset.emoji && b.getAttribute("href") === had.getAttribute("href"));
    if (button) button.focus({ preventScroll: true });
  }

  leaveRow() {
    const row = this.focusedRow;
    this.focusedRow = null;
    if (!row) return;
    row.removeAttribute("tabindex");
    row.removeAttribute("aria-label");
    for (const b of row.querySelectorAll("button, a")) b.tabIndex = -1;
    this.closePicker(row, false);
  }

  // -- what a screen reader is handed -----------------------------------------------

  // The log is a live region: what goes in is read out. Rows drawn in bulk (history,
  // a conversation shown again, older or newer rows scrolled into view) are there to
  // be read at will, not news: the log is busy while they go in, so the backlog is not
  // read out at once. Busy ends once the browser has drawn them (its accessibility tree
  // follows the rendering), or right before a live line goes in, which is read out.
  hush() {
    this.unhush(); // a bulk draw while one is pending: busy until this one is drawn too
    this.container.setAttribute("aria-busy", "true");
    this.hushing = afterDrawn(() => {
      this.hushing = null;
      this.unhush();
      if (this.newsWaiting) this.update(); // the news held back from the bulk goes in now
    });
  }

  unhush() {
    if (this.hushing) this.hushing();
    this.hushing = null;
    this.container.removeAttribute("aria-busy");
  }

  isNews(rec) {
    return !rec.history && rec.seq > this.seenSeq;
  }

  /** What the buffer holds now has been drawn or counted: later live lines are news. */
  noteSeen() {
    const b = this.buffer;
    if (b && b.end > b.base) this.seenSeq = Math.max(this.seenSeq, b.at(b.end - 1).seq);
  }

  /**
   * Where the rows read out of a live drawing up to `to` end: after the LIVE_READ-th
   * live line. The log is a polite live region, and a screen reader queues what goes in
   * it: twenty lines at once (a paste, a netsplit's quits) would be twenty
   * announcements, read long after they were said. The rest go in out of its notice
   * and are said once, counted ("15 more messages in #lobby"), as news below the window
   * is (below.js).
   */
  readUpTo(to) {
    const b = this.buffer;
    let live = 0;
    for (let i = this.end; i < to; i++) {
      if (!b.at(i).history && ++live === LIVE_READ) return i + 1;
    }
    return to;
  }

  /** Rows from..to about to be appended: quiet if all are history; true if one is live. */
  hushIfHistory(from, to) {
    const b = this.buffer;
    for (let i = from; i < to; i++) {
      if (!b.at(i).history) {
        this.unhush();
        return true;
      }
    }
    this.hush();
    return false;
  }

  // -- rows ---------------------------------------------------------------------------

  /** Rows up to `to` added at the bottom; those from `read` on, out of the log's notice
   * (readUpTo). */
  appendRows(to, read = to) {
    const b = this.buffer;
    for (let i = this.end; i < to; i++) {
      const rec = b.at(i);
      const prev = i > b.base ? b.at(i - 1) : null;
      const entry = { rec, el: null, group: null, divider: null };
      if (!prev || dayOf(prev.time) !== dayOf(rec.time)) {
        entry.divider = this.divider(rec.time);
        if (i >= read) quiet(entry.divider);
        this.container.append(entry.divider);
      }
      if (PRESENCE.has(rec.kind)) {
        const last = this.entries[this.entries.length - 1];
        let group = last && last.group && !entry.divider ? last.group : null;
        if (!group) {
          group = this.presenceGroup(rec);
          // only its time: the chips of the run read out later are its own
          if (i >= read) quiet(group.querySelector(":scope > .said-time"));
          this.container.append(group);
        }
        entry.el = this.chip(rec);
        chipsOf(group).append(entry.el);
        entry.group = group;
      } else {
        entry.el = this.row(rec);
        if (continues(prev, rec)) entry.el.classList.add("cont");
        this.container.append(entry.el);
      }
      if (i >= read) quiet(entry.el);
      this.entries.push(entry);
    }
    this.end = Math.max(this.end, to);
    this.placeNewLine();
    this.refreshQuotes();
  }

  prependRows(from) {
    const b = this.buffer;
    for (let i = this.start - 1; i >= from; i--) {
      const rec = b.at(i);
      const prev = i > b.base ? b.at(i - 1) : null;
      const top = this.entries[0];
      if (top) {
        this.fixDivider(top, rec);
        if (!top.group) top.el.classList.toggle("cont", continues(rec, top.rec));
      }
      const entry = { rec, el: null, group: null, divider: null };
      const before = top ? top.divider || top.group || top.el : null;
      let node;
      if (PRESENCE.has(rec.kind)) {
        entry.el = this.chip(rec);
        if (top && top.group && !top.divider) {
          entry.group = top.group;
          chipsOf(entry.group).prepend(entry.el);
          timeGroup(entry.group, rec.time);
          node = entry.group;
        } else {
          entry.group = this.presenceGroup(rec);
          chipsOf(entry.group).append(entry.el);
          this.container.insertBefore(entry.group, before);
          node = entry.group;
        }
      } else {
        entry.el = this.row(rec);
        if (continues(prev, rec)) entry.el.classList.add("cont");
        this.container.insertBefore(entry.el, before);
        node = entry.el;
      }
      if (!prev || dayOf(prev.time) !== dayOf(rec.time)) {
        entry.divider = this.divider(rec.time);
        this.container.insertBefore(entry.divider, node);
      }
      this.entries.unshift(entry);
    }
    this.start = Math.min(this.start, from);
    this.placeNewLine();
    this.refreshQuotes();
  }

  // The first rendered row drew a date line when nothing was known before it; now
  // that `prevRec` is, the line stays only if the day changed.
  fixDivider(entry, prevRec) {
    const should = dayOf(prevRec.time) !== dayOf(entry.rec.time);
    if (entry.divider && !should) {
      entry.divider.remove();
      entry.divider = null;
    } else if (!entry.divider && should) {
      entry.divider = this.divider(entry.rec.time);
      this.container.insertBefore(entry.divider, entry.group || entry.el);
    }
  }

  removeEntry(entry) {
    const node = entry.group || entry.el;
    if (node === this.focusedRow && (!entry.group || chipsOf(entry.group).childElementCount <= 1)) this.keepFocus(node);
    if (entry.divider) entry.divider.remove();
    if (entry.group) {
      entry.el.remove();
      const chips = chipsOf(entry.group);
      if (!chips.firstChild) entry.group.remove();
      else timeGroup(entry.group, Number(chips.firstChild.dataset.time));
    } else entry.el.remove();
  }

  removeTop(n) {
    for (const entry of this.entries.splice(0, n)) this.removeEntry(entry);
    this.start += n;
    this.placeNewLine();
  }

  removeBottom(n) {
    for (const entry of this.entries.splice(this.entries.length - n, n).reverse()) this.removeEntry(entry);
    this.end -= n;
    this.placeNewLine();
  }

  divider(ms) {
    const day = dayLabel(ms);
    return el("div", { class: "day", role: "separator", "aria-label": day, text: day });
  }

  presenceGroup(rec) {
    const group = el("div", { class: "row presence", role: "article" }, el("span", { class: "chips" }));
    timeGroup(group, rec.time);
    return group;
  }

  chip(rec) {
    return el("span", { class: `chip ${rec.kind}`, dataset: { time: String(rec.time) }, text: presenceText(rec) });
  }

  nick(name, extra = "") {
    return el("span", { class: `nick ${nickClass(this.callbacks.fold(), name)}${extra}`, dataset: { nick: name }, text: name });
  }

  row(rec) {
    const classes = ["row", rec.kind];
    if (rec.mention) classes.push("mention");
    if (rec.self) classes.push("self");
    // The time is shown first but said last ("carol: the build is red, 10:56"): what was
    // said matters more than when, and a list of times first is slow to listen through.
    const time = timeElement(rec.time);
    time.setAttribute("aria-hidden", "true");
    const row = el("div", { class: classes.join(" "), role: "article" }, time);
    // Hebrew or Arabic reads right to left: the text's own first letters say which way.
    const text = el("span", { class: "text", dir: "auto" });
    switch (rec.kind) {
      case "message":
      case "notice":
        // A server's notice (a name with a dot) is not from a person to click on or address.
        row.append(rec.nick && rec.nick.includes(".") ? el("span", { class: "nick server" }, rec.nick) : this.nick(rec.nick),
          unseen(": ", "sep")); // drawn as a column, read as "carol: hello", not "carol hello"
        appendRich(text, rec.text);
        break;
      case "action":
        text.append(this.nick(rec.nick), " ");
        appendRich(text, rec.text);
        break;
      case "topic":
        text.append(this.nick(rec.nick), rec.text ? " changed the topic to: " : " cleared the topic");
        appendRich(text, rec.text);
        break;
      case "kick":
        // Ours (`mention`: the target is us, when it was said): "removed you", as the screen reader says
        text.append(this.nick(rec.nick), " removed ", rec.mention ? "you" : this.nick(rec.target), " from the channel",
          rec.text ? ` (${stripFormatting(rec.text)})` : "");
        break;
      case "mode":
        // A server (its name has a dot) is not a person to click on.
        // In words, then the letters: "alice gave bob operator status (+o bob)".
        text.append(rec.nick && !rec.nick.includes(".") ? this.nick(rec.nick) : rec.nick || "The server",
          rec.words ? ` ${rec.words} (${rec.text})` : ` sets mode ${rec.text}`);
        break;
      case "wallops":
        // The word in backticks: test_static reads the word and a double quote as an import.
        text.append(el("span", { class: "label", text: "Wallops" }), ` from `,
          rec.nick && !rec.nick.includes(".") ? this.nick(rec.nick) : rec.nick || "the server", ": ");
        appendRich(text, rec.text);
        break;
      default: // info, error, whois
        appendRich(text, rec.text);
    }
    row.append(text);
    // The highlight is a colour and an edge; in words too.
    if (rec.mention && ANSWERABLE.has(rec.kind)) row.append(unseen(" (mentions you)", "mentions-you"));
    row.append(unseen(`, ${time.textContent}`));
    // The list is one Tab stop: a message's links are Tab stops only while it is the one
    // on (focusRow), as its buttons are; else Tab would walk every URL said.
    for (const link of text.querySelectorAll("a")) link.tabIndex = -1;
    if (!ANSWERABLE.has(rec.kind)) return row;
    if (rec.replyTo) {
      row.classList.add("replied");
      row.prepend(this.quote(rec));
    }
    // Reply and React first: Tab from the message goes to them, then to its reactions.
    if (this.callbacks.answerable(rec)) row.append(this.actions(rec));
    if (rec.msgid) this.fillReactions(row, rec);
    return row;
  }

  // -- replies and reactions ------------------------------------------------------------

  /** The line above a reply: who said what it answers, and the start of it (a button
   * that goes to it), or that it answers something not loaded. */
  quote(rec) {
    const original = this.callbacks.repliedTo(rec);
    if (!original) {
      return el("span", { class: "quote missing", "aria-label": "A reply to an earlier message" },
        el("span", { "aria-hidden": "true", text: "a reply to an earlier message" }));
    }
    let said = stripFormatting(original.text).replace(/\s+/g, " ").trim();
    if ([...said].length > QUOTE_CHARS) said = `${[...said].slice(0, QUOTE_CHARS).join("")}…`;
    const button = el("button", { type: "button", class: "quote", tabindex: "-1",
      "aria-label": `In reply to ${original.nick}: ${said}` },
    el("span", { class: `qnick ${nickClass(this.callbacks.fold(), original.nick)}`, text: original.nick }),
    el("span", { class: "qtext", text: ` ${said}` }));
    button.addEventListener("click", () => this.reveal(original));
    return button;
  }

  /** Replies drawn before what they answer was loaded (scroll-back brought it): quoted now. */
  refreshQuotes() {
    for (const e of this.entries) {
      if (e.group || !e.rec.replyTo) continue;
      const old = e.el.querySelector(":scope > .quote.missing");
      if (old && this.callbacks.repliedTo(e.rec)) old.replaceWith(this.quote(e.rec));
    }
  }

  /** The reactions under a message, as buttons: the emoji and how many; who, in the name. */
  fillReactions(row, rec) {
    const list = this.callbacks.reactions(rec);
    const key = list.map((r) => `${r.emoji}${r.self ? "*" : ""}${r.nicks.join(",")}`).join(" ");
    let box = row.querySelector(":scope > .reactions");
    if ((box ? box.dataset.key : "") === key) return;
    const focused = box && box.contains(document.activeElement) ? document.activeElement.dataset.emoji : null;
    // Not read out as it changes (the log is a live region): a reaction is no message.
    const fresh = el("div", { class: "reactions", "aria-live": "off", dataset: { key } });
    const tabbable = row === this.focusedRow ? "0" : "-1";
    for (const r of list) {
      const who = r.nicks.join(", ");
      const name = `${r.emoji} ${r.nicks.length}: ${who}${r.self ? " (you: press to take yours back)" : ""}`;
      const chip = el("button", { type: "button", class: "reaction", tabindex: tabbable, title: who,
        "aria-label": name, "aria-pressed": r.self ? "true" : "false", dataset: { emoji: r.emoji } },
      el("span", { class: "emoji", text: r.emoji }), el("span", { class: "count", text: String(r.nicks.length) }));
      chip.disabled = !this.callbacks.answerable(rec);
      chip.addEventListener("click", () => this.callbacks.react(rec, r.emoji, r.self));
      fresh.append(chip);
    }
    if (!list.length) {
      if (box) box.remove();
    } else if (box) box.replaceWith(fresh);
    else row.append(fresh);
    if (focused) {
      const again = [...fresh.children].find((c) => c.dataset.emoji === focused);
      (again || row).focus({ preventScroll: true });
    }
  }

  /** The reactions drawn again where they changed (state: "reactions"). */
  refreshReactions() {
    for (const e of this.entries) if (!e.group && e.rec.msgid && ANSWERABLE.has(e.rec.kind)) this.fillReactions(e.el, e.rec);
  }

  /** Reply and React, shown over a message hovered or focused (tapped, on a touch screen). */
  actions(rec) {
    const box = el("div", { class: "actions", role: "group", "aria-label": "Message actions" });
    // Their pictures are drawn by the style sheet: the row's text stays what was said.
    const reply = el("button", { type: "button", class: "act reply", tabindex: "-1", "aria-label": "Reply", title: "Reply" });
    reply.addEventListener("click", () => this.callbacks.reply(rec));
    const react = el("button", { type: "button", class: "act react", tabindex: "-1", "aria-label": "React",
      title: "React", "aria-expanded": "false" });
    react.addEventListener("click", () => {
      const row = box.parentElement;
      if (row.querySelector(".picker")) this.closePicker(row, true);
      else this.openPicker(row, rec);
    });
    box.append(reply, react);
    return box;
  }

  openPicker(row, rec) {
    const box = row.querySelector(":scope > .actions");
    const react = box.querySelector(".react");
    const mine = new Set(this.callbacks.reactions(rec).filter((r) => r.self).map((r) => r.emoji));
    const picker = el("div", { class: "picker", role: "group", "aria-label": "React with" });
    for (const emoji of REACTION_CHOICES) {
      const b = el("button", { type: "button", class: "act", "aria-label": `React with ${emoji}`,
        "aria-pressed": mine.has(emoji) ? "true" : "false", text: emoji });
      b.addEventListener("click", () => {
        this.callbacks.react(rec, emoji, mine.has(emoji));
        this.closePicker(row, row === this.focusedRow);
      });
      picker.append(b);
    }
    box.insertBefore(picker, react);
    box.classList.add("open");
    react.setAttribute("aria-expanded", "true");
    picker.firstChild.focus({ preventScroll: true });
  }

  closePicker(row, refocus) {
    // Removing it moves the focus out of it, and that focusout comes back here: once.
    const picker = row && row.querySelector(".picker:not(.closing)");
    if (!picker) return;
    picker.classList.add("closing");
    const box = picker.parentElement;
    const react = box.querySelector(".react");
    // On React before the picker goes: removed with the focus in it, it would hand the
    // focus to the page (a focusout without a next element, which leaves the row, and
    // its buttons hidden then cannot take the focus).
    if (refocus || picker.contains(document.activeElement)) react.focus({ preventScroll: true });
    picker.remove();
    box.classList.remove("open");
    react.setAttribute("aria-expanded", "false");
  }

  onClick(event) {
    const t = event.target;
    if (t.closest("button, a")) return;
    const nick = t.closest("[data-nick]");
    if (nick) {
      this.callbacks.nickClicked(nick.dataset.nick);
      return;
    }
    // Nothing hovers on a touch screen: a tap on a message puts it on, with its actions.
    const row = t.closest(".row");
    if (row && row.querySelector(":scope > .actions") && window.matchMedia("(hover: none)").matches) this.focusRow(row);
  }
}
