// The page around the message list: the buffer list, topic bar, member list, typing
// line, connection banner, and the dialogs (channel list, quick switch, search, help).
// It renders ChatState and reports what the user clicked; it never talks to the
// server. Changes are gathered and drawn once per animation frame, so a burst of a
// thousand messages costs one layout, not a thousand.

import { SERVER_KEY, firstUnread, missedBeyond } from "./state.js";
import { MessageList } from "./messagelist.js";
import { NewsBelow, countWords } from "./below.js";
import { appendRich, el, nickClass, whenElement } from "./dom.js";
import { stripFormatting } from "./format.js";

const $ = (id) => document.getElementById(id);
const PHONE = "(max-width: 720px)";
const LIST_SHOWN = 300; // channel list rows drawn at once; the filter narrows the rest
// What the connection dot says, by client status (its colour tells the same).
const CONNECTION_WORDS = {
  idle: "not connected", connecting: "connecting", registering: "connecting",
  registered: "connected", waiting: "disconnected", closed: "disconnected",
};
// A member's rank in words, by prefix: a screen reader would say "at" for "@".
const RANKS = { "~": "founder", "&": "protected", "@": "operator", "%": "half-operator", "+": "voiced" };
const TALKED = new Set(["message", "action", "notice"]);
const SAID_MAX = 200; // characters of a message read out from another conversation
const NEWS_TOLD = 3; // messages for you read out at once from elsewhere; past that, counted
const SAID_KEPT_MS = 10000; // an announcement leaves the hidden region after this

/** "3 unread, 1 mentioning you": what waits in a conversation, as its name says it. */
function newsWords(b) {
  const more = b.unread && missedBeyond(b) ? "more than " : "";
  return b.unread ? `${more}${b.unread} unread${b.mentions ? `, ${b.mentions} mentioning you` : ""}` : "";
}

/** A member as a screen reader should name them: nick, rank in words, away. */
function memberName(m) {
  const rank = m.prefix ? RANKS[m.prefix[0]] || m.prefix[0] : "";
  return `${m.nick}${rank ? `, ${rank}` : ""}${m.away ? ", away" : ""}`;
}

export class View {
  /**
   * actions: switchTo(key), closeBuffer(key), needHistory(buffer), openQuery(nick),
   * insertNick(nick), join(channel), search(text), showFound(record), reconnectNow(),
   * focusInput(), answerable(rec), reply(rec), react(rec, emoji, remove)
   */
  constructor(state, actions) {
    this.state = state;
    this.actions = actions;
    this.dirty = new Set();
    this.frame = null;
    this.bufferItems = new Map(); // key -> <li>
    this.app = $("app");
    this.below = new NewsBelow((words) => this.say(words)); // lines said below the window scrolled up
    this.messages = new MessageList($("messages"), {
      fold: () => state.fold,
      needHistory: (b) => actions.needHistory(b),
      nickClicked: (nick) => actions.insertNick(nick),
      stuckChanged: (stuck) => this.showJump(!stuck, false),
      arrivedBelow: (records) => this.arrivedBelow(records),
      missedBelow: (records) => this.missedBelow(records),
      countingBelow: () => this.below.count(this.messages.buffer.key) > 0,
      scrolledBelow: (records) => this.scrolledBelow(records),
      answerable: (rec) => actions.answerable(rec),
      reply: (rec) => actions.reply(rec),
      react: (rec, emoji, remove) => actions.react(rec, emoji, remove),
      reactions: (rec) => state.reactionsTo(this.messages.buffer, rec.msgid),
      repliedTo: (rec) => state.repliedTo(this.messages.buffer, rec),
      say: (words) => this.say(words),
    });
    this.shownKey = null;
    this.searchAvailable = false; // the server offers soju.im/search
    this.phone = window.matchMedia(PHONE);
    this.phone.addEventListener("change", () => this.updatePanels());
    state.subscribe((change) => this.invalidate(change));
    this.bindStatic();
    this.typingTimer = null;
    this.updatePanels();
    // What a screen reader is told beside the log (the region #announcer): news for you
    // from conversations not shown, and where a switch made without moving the focus
    // (Alt+arrows, /join) has taken you.
    this.news = []; // words about messages for you elsewhere, said at the next drawing
    this.newsShown = new Map(); // key -> what waits there, as last drawn in the list
    this.focusMoved = false; // since the last drawing: a moved focus says where it is itself
    this.everConnected = false;
    this.pendingReveal = null; // {key, rec, options}: a message to go to once drawn
    this.found = []; // the search results listed, by their index
    document.addEventListener("focusin", () => { this.focusMoved = true; });
  }

  // -- scheduling ---------------------------------------------------------------------

  invalidate(change) {
    const { type, key } = change;
    if (type === "append" && key !== this.state.active) this.noteNews(key, change.count || 1);
    // The message box is named after the conversation at once: the focus may land on it
    // before the next drawing, and a screen reader reads the name it has then.
    if (type === "active") this.labelInput();
    if (type === "status" && this.state.connection.status !== "registered") this.messages.returning();
    if (type === "append" || type === "prepend" || type === "reset") {
      if (key === this.state.active) this.dirty.add(type === "reset" ? "reset" : "messages");
      if (type === "prepend" || type === "reset") this.dirty.add("status");
    } else if (type === "caughtUp") {
      if (key === this.state.active) this.dirty.add(type);
    } else if (type === "members" || type === "topic" || type === "typing" || type === "reactions") {
      if (key === this.state.active) this.dirty.add(type);
      if (type === "reactions") this.dirty.add("found"); // search results of any conversation
    } else this.dirty.add(type);
    this.schedule();
  }

  schedule() {
    if (this.frame !== null) return;
    // Hidden tabs get no animation frames: draw on a timer there (the title still counts).
    if (document.hidden) this.frame = setTimeout(() => this.flush(), 250);
    else this.frame = requestAnimationFrame(() => this.flush());
  }

  flush() {
    this.frame = null;
    const d = this.dirty;
    this.dirty = new Set();
    const s = this.state;
    if (this.shownKey !== s.active || !s.buffers.has(this.shownKey) || d.has("active")) {
      this.showActive(); // draws everything about the buffer
    } else {
      if (d.has("reset")) this.messages.redraw();
      else if (d.has("messages")) this.messages.update();
      if (d.has("status")) this.messages.updateStatus();
      if (d.has("divider")) this.messages.placeNewLine();
      if (d.has("buffers") || d.has("self")) this.renderBufferList();
      if (d.has("members")) this.renderMembers();
      if (d.has("topic") || d.has("status")) this.renderTopic();
      if (d.has("typing")) this.renderTyping();
      if (d.has("reactions") && !d.has("reset")) this.messages.refreshReactions();
      if (d.has("status") || d.has("self")) this.renderConnection();
      // Last: opening at the "New messages" line measures the list, once what is drawn
      // around it (the connection banner going, say) has settled its size.
      if (d.has("caughtUp")) this.messages.openAtLine();
    }
    const reveal = this.pendingReveal;
    this.pendingReveal = null;
    if (reveal && reveal.key === s.active) this.messages.reveal(reveal.rec, reveal.options);
    if (d.has("list")) this.renderChannelList();
    if (d.has("found")) this.refreshFoundReactions();
    this.renderTitle();
    this.sayNews();
    this.focusMoved = false;
  }

  /** Everything for a newly active buffer. */
  showActive() {
    const s = this.state;
    const buffer = s.activeBuffer;
    // Switched to with the focus left where it was (Alt+arrows, /join, a landing): the
    // name read on a focus move is not read, so it is said, with what waits there.
    if (!this.focusMoved && (buffer.key !== this.shownKey || this.shownName !== s.displayName(buffer))) {
      this.say(this.arrivalWords(buffer, this.newsShown.get(buffer.key) || ""));
    }
    if (this.shownKey !== buffer.key) this.below.clear(this.shownKey); // not told of where one left
    this.shownKey = buffer.key;
    this.shownName = s.displayName(buffer);
    $("topic").classList.remove("expanded"); // another conversation's topic starts on one line
    // What surrounds the list first: opened at its "New messages" line, it is measured.
    this.renderBufferList();
    this.renderTopic();
    this.renderMembers();
    this.renderTyping();
    this.renderConnection();
    this.renderSearch();
    this.messages.show(buffer);
    this.renderTitle();
    this.app.classList.toggle("no-members", buffer.kind !== "channel");
    this.labelInput();
    this.closePanels();
  }

  labelInput() {
    const buffer = this.state.activeBuffer;
    $("input").setAttribute("aria-label", buffer.kind === "server" ? "Command (type /help)" : `Message ${buffer.name}`);
    $("input").placeholder = buffer.kind === "server" ? "Type /join #channel, or /help" : `Message ${buffer.name}`;
  }

  // -- going to a message -----------------------------------------------------------------

  /** To `rec` in the conversation `key`, once it is drawn: scrolled to, with the focus
   * (MessageList.reveal says how). */
  revealMessage(key, rec, options = {}) {
    this.pendingReveal = { key, rec, options };
    this.schedule();
  }

  /** To the "New messages" line of the conversation shown (Shift+Page Up), with the focus
   * on the first message under it; where there is none, said so. */
  jumpToNewLine() {
    const b = this.state.activeBuffer;
    const rec = firstUnread(b);
    if (rec) this.revealMessage(b.key, rec, { line: true });
    else this.say(`No new messages in ${this.state.displayName(b)}.`);
  }

  // -- what a screen reader is told beside the log ----------------------------------------

  /** Said once, politely, by the hidden live region; gone from it a while later, so that
   * reading the page does not come upon old announcements. */
  say(text) {
    const line = el("p", { text });
    $("announcer").append(line);
    setTimeout(() => line.remove(), SAID_KEPT_MS);
  }

  /** "#dev, 3 unread", "Private conversation with carol", "hubbub, server messages". */
  arrivalWords(buffer, waiting) {
    const name = this.state.displayName(buffer);
    const what = buffer.kind === "query" ? `Private conversation with ${name}`
      : buffer.kind === "server" ? `${name}, server messages`
        : `${name}${buffer.joined ? "" : ", left"}`;
    return `${what}${waiting ? `, ${waiting}` : ""}`;
  }

  /** Records just appended to a conversation not shown: those for you (a private message,
   * a mention, a knock at a channel you run, being removed from a channel) are told, as
   * the log tells what comes into the conversation shown. History is not news. */
  noteNews(key, count) {
    const b = this.state.buffers.get(key);
    if (!b) return;
    for (const r of b.messages.slice(-count)) {
      if (r.history || r.self) continue;
      const words = this.forYou(b, r);
      if (words) this.news.push(words);
    }
  }

  forYou(b, r) {
    const cut = (text) => {
      const plain = stripFormatting(text);
      return plain.length > SAID_MAX ? `${plain.slice(0, SAID_MAX)}…` : plain;
    };
    const text = r.kind === "action" ? `${r.nick} ${cut(r.text)}` : cut(r.text);
    if (r.kind === "kick" && r.mention) return `${r.nick} removed you from ${b.name}${r.text ? ` (${cut(r.text)})` : ""}`;
    if (r.knock) return cut(r.text);
    if (!TALKED.has(r.kind)) return "";
    if (b.kind === "query") return `${r.nick}, privately: ${text}`;
    if (r.mention) return `${r.nick} mentioned you in ${b.name}: ${text}`;
    return "";
  }

  sayNews() {
    const news = this.news.splice(0);
    if (news.length > NEWS_TOLD) news.splice(NEWS_TOLD - 1, Infinity, `and ${news.length - NEWS_TOLD + 1} more messages for you`);
    for (const words of news) this.say(words);
  }

  // -- buffer list --------------------------------------------------------------------

  renderBufferList() {
    const s = this.state;
    const list = $("buffer-list");
    const ordered = s.orderedBuffers();
    const seen = new Set(ordered.map((b) => b.key));
    // Those gone first: in the way, they would make the ones after them look out of place.
    for (const [key, li] of this.bufferItems) {
      if (!seen.has(key)) {
        li.remove();
        this.bufferItems.delete(key);
        this.newsShown.delete(key);
      }
    }
    let previous = null;
    for (const b of ordered) {
      let li = this.bufferItems.get(b.key);
      if (!li) {
        li = this.bufferItem(b);
        this.bufferItems.set(b.key, li);
      }
      this.updateBufferItem(li, b);
      // Move only what is out of place: focus stays on the button the user is on.
      const expected = previous ? previous.nextSibling : list.firstChild;
      if (expected !== li) list.insertBefore(li, expected);
      previous = li;
    }
    $("nick-label").textContent = s.nick ? `${s.nick}${s.away ? " (away)" : ""}` : "";
    this.renderMenuBadge();
  }

  /** The ☰ button (phones, where the list is hidden) counts what is new in the other
   * conversations, blue when someone mentions you, and its name says so. */
  renderMenuBadge() {
    let unread = 0;
    let mentions = 0;
    for (const b of this.state.buffers.values()) {
      if (b.key === this.state.active) continue;
      unread += b.unread;
      mentions += b.mentions;
    }
    const badge = $("toggle-buffers-badge");
    badge.textContent = unread ? (unread > 99 ? "99+" : String(unread)) : "";
    badge.classList.toggle("mention", mentions > 0);
    const news = unread ? `, ${unread} unread${mentions ? `, ${mentions} mentioning you` : ""}` : "";
    $("toggle-buffers").setAttribute("aria-label", `Show conversations${news}`);
  }

  bufferItem(b) {
    const button = el("button", { class: "buffer", type: "button", dataset: { key: b.key } },
      el("span", { class: "name" }), el("span", { class: "badge", "aria-hidden": "true" }));
    const li = el("li", {}, button);
    if (b.kind !== "server") {
      li.append(el("button", { class: "close", type: "button", dataset: { close: b.key }, title: "Close", text: "×" }));
    }
    return li;
  }

  updateBufferItem(li, b) {
    const s = this.state;
    const button = li.firstChild;
    const name = s.displayName(b);
    button.querySelector(".name").textContent = name;
    const badge = button.querySelector(".badge");
    badge.textContent = !b.unread ? "" : b.unread > 999 ? "999+" : `${b.unread}${missedBeyond(b) ? "+" : ""}`;
    badge.classList.toggle("mention", b.mentions > 0);
    li.classList.toggle("unread", b.unread > 0);
    li.classList.toggle("mentioned", b.mentions > 0);
    li.classList.toggle("parted", b.kind === "channel" && !b.joined);
    li.classList.toggle("active", b.key === s.active);
    if (b.key === s.active) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
    const news = newsWords(b);
    this.newsShown.set(b.key, news);
    const left = b.kind === "channel" && !b.joined ? ", left" : ""; // not only the italics say it
    button.setAttribute("aria-label", `${name}${news ? `, ${news}` : ""}${left}`);
    const close = li.querySelector(".close");
    if (close) close.setAttribute("aria-label", `Close ${name}`);
  }

  renderTitle() {
    const title = this.state.pageTitle();
    if (document.title !== title) document.title = title;
  }

  // -- topic, members, typing, connection ---------------------------------------------

  renderTopic() {
    const b = this.state.activeBuffer;
    $("buffer-title").textContent = this.state.displayName(b);
    const topic = $("topic");
    topic.replaceChildren();
    if (b.kind === "channel") {
      appendRich(topic, b.topic);
      topic.title = b.topic ? `${stripFormatting(b.topic)}${b.topicBy ? ` (set by ${b.topicBy})` : ""}` : "";
    } else if (b.kind === "query") {
      topic.textContent = "Private conversation";
      topic.title = "";
    } else {
      topic.textContent = this.state.connection.status === "registered" ? "Server messages" : "";
      topic.title = "";
    }
    this.fitTopic();
  }

  /** A topic cut short on its line gets a "more" button: the keyboard's way to read it all. */
  fitTopic() {
    const topic = $("topic");
    const more = $("topic-more");
    const expanded = topic.classList.contains("expanded");
    more.hidden = !expanded && topic.scrollWidth <= topic.clientWidth;
    more.setAttribute("aria-expanded", String(expanded));
    more.textContent = expanded ? "less" : "more";
  }

  renderMembers() {
    const b = this.state.activeBuffer;
    const list = $("member-list");
    if (b.kind !== "channel") {
      list.replaceChildren();
      $("member-count").textContent = "";
      return;
    }
    const members = this.state.members(b.name);
    $("member-count").textContent = `${members.length} ${members.length === 1 ? "member" : "members"}`;
    const fold = this.state.fold;
    const items = members.map((m) =>
      el("li", { class: m.away ? "away" : null },
        el("button", { type: "button", class: "member", dataset: { nick: m.nick }, title: m.away ? `${m.nick} (away)` : m.nick,
          "aria-label": memberName(m) },
          el("span", { class: "prefix", text: m.prefix ? m.prefix[0] : "" }),
          el("span", { class: `nick ${nickClass(fold, m.nick)}`, text: m.nick }))));
    list.replaceChildren(...items);
  }

  renderTyping() {
    const b = this.state.activeBuffer;
    const nicks = this.state.typingNicks(b.name);
    const line = $("typing");
    let text = "";
    if (nicks.length === 1) text = `${nicks[0]} is typing…`;
    else if (nicks.length === 2) text = `${nicks[0]} and ${nicks[1]} are typing…`;
    else if (nicks.length > 2) text = `${nicks.length} people are typing…`;
    if (line.textContent !== text) line.textContent = text;
    // Typing notices expire by time, not by message: look again while any is shown.
    clearTimeout(this.typingTimer);
    if (nicks.length) this.typingTimer = setTimeout(() => this.renderTyping(), 1000);
  }

  renderConnection() {
    const c = this.state.connection;
    const banner = $("banner");
    const text = $("banner-text");
    const dot = $("connection-dot");
    dot.dataset.status = c.status;
    // Its name says what its colour shows, for those who cannot see the colour.
    const said = CONNECTION_WORDS[c.status] || "not connected";
    dot.title = `${said[0].toUpperCase()}${said.slice(1)}`;
    dot.setAttribute("aria-label", `Connection: ${said}`);
    clearTimeout(this.bannerTimer);
    const countdown = $("banner-countdown");
    countdown.textContent = "";
    if (c.status === "registered" || c.status === "idle") {
      if (c.status === "registered" && this.wasCut) {
        // the banner is a live region: said once that the connection is back, then gone
        this.wasCut = false;
        banner.hidden = false;
        $("reconnect-now").hidden = true;
        text.textContent = this.everConnected ? "Connected again." : "Connected.";
        this.everConnected = true;
        this.bannerTimer = setTimeout(() => { banner.hidden = true; }, 2000);
        return;
      }
      if (c.status === "registered") this.everConnected = true;
      banner.hidden = true;
      return;
    }
    // Connected again is news after a cut, not after the first connection's "Connecting…".
    if (this.everConnected || c.status === "waiting" || c.status === "closed") this.wasCut = true;
    banner.hidden = false;
    $("reconnect-now").hidden = c.status !== "waiting";
    let words = "Connecting…";
    if (c.status === "waiting") {
      // the seconds tick outside what is read out: a screen reader says it once
      const seconds = Math.max(0, Math.ceil((c.retryAt - Date.now()) / 1000));
      words = `Disconnected${c.error ? ` (${c.error})` : ""}. Reconnecting`;
      countdown.textContent = ` in ${seconds} s…`;
      this.bannerTimer = setTimeout(() => this.renderConnection(), 1000);
    } else if (c.status === "closed") {
      words = "Disconnected.";
    }
    if (text.textContent !== words) text.textContent = words;
  }

  /** Records added below the window scrolled up: counted on the button, and told to a
   * screen reader (below.js), which the log does not read them out to. */
  arrivedBelow(records) {
    const b = this.messages.buffer;
    this.below.arrived(b.key, records, { name: this.state.displayName(b), privately: b.kind === "query" });
    this.showJump(true, true);
  }

  /** Missed records under the window of a conversation opened, or gone to (Shift+Page
   * Up), at its "New messages" line: the button to them says how many (not "Newest");
   * they are told only with a line said below after them (below.js). */
  missedBelow(records) {
    const b = this.messages.buffer;
    this.below.waiting(b.key, records, { name: this.state.displayName(b), privately: b.kind === "query" });
    if (this.below.count(b.key)) this.showJump(true, true);
  }

  /** Scrolled while new lines are counted below: the button counts what is still under
   * the window ("↓ Newest" once the reader has them all in view, short of the bottom). */
  scrolledBelow(records) {
    const key = this.messages.buffer.key;
    if (!this.below.scrolled(key, records) || $("jump").hidden) return;
    const count = this.below.count(key);
    this.jumpWords(count ? countWords(count) : "Newest");
  }

  jumpWords(words) {
    $("jump").replaceChildren(el("span", { "aria-hidden": "true", text: "↓ " }), words);
  }

  showJump(show, arrived) {
    const jump = $("jump");
    const key = this.messages.buffer && this.messages.buffer.key;
    if (!show) {
      jump.hidden = true;
      this.below.clear(key);
      return;
    }
    // Once new messages came in below, say so (how many were talked) until the reader
    // goes down to them. The arrow is a picture: a screen reader says the words alone.
    if (jump.hidden || arrived) {
      const count = this.below.count(key);
      this.jumpWords(!arrived ? "Newest" : count ? countWords(count) : "New messages");
    }
    jump.hidden = false;
  }

  // -- panels (slide-overs on phones) -------------------------------------------------

  togglePanel(name) {
    const cls = `show-${name}`;
    if (!this.phone.matches && name === "members") {
      this.app.classList.toggle("hide-members");
      this.updatePanels();
      return;
    }
    const open = !this.app.classList.contains(cls);
    this.closePanels();
    if (open) {
      this.app.classList.add(cls);
      this.updatePanels();
      const first = $(name === "buffers" ? "sidebar" : "members").querySelector(".buffer, .member");
      if (first) first.focus();
    }
  }

  closePanels() {
    if (!this.app.classList.contains("show-buffers") && !this.app.classList.contains("show-members")) return;
    this.app.classList.remove("show-buffers", "show-members");
    this.updatePanels();
  }

  // On phones a closed panel is off screen, and an open one covers the chat as a dialog
  // would: `inert` keeps Tab and screen readers out of what is off screen or behind the
  // scrim (the scrim itself stays, to be tapped).
  updatePanels() {
    const phone = this.phone.matches;
    const open = phone && (this.app.classList.contains("show-buffers") || this.app.classList.contains("show-members"));
    $("sidebar").inert = phone && !this.app.classList.contains("show-buffers");
    $("members").inert = phone && !this.app.classList.contains("show-members");
    $("chat").inert = open;
    $("skip").inert = open;
    $("scrim").hidden = !open;
    // the toggles say whether their panel is shown, for those who cannot see it slide
    const members = phone ? this.app.classList.contains("show-members") : !this.app.classList.contains("hide-members");
    $("toggle-members").setAttribute("aria-expanded", String(members));
    $("toggle-buffers").setAttribute("aria-expanded", String(!phone || this.app.classList.contains("show-buffers")));
  }

  // -- static wiring ------------------------------------------------------------------

  bindStatic() {
    $("buffer-list").addEventListener("click", (event) => {
      const close = event.target.closest("[data-close]");
      if (close) {
        // Its entry goes with the focus on it. Pressed from the keyboard (a click of no
        // pointer: detail 0), the focus goes to the next conversation's (else the one
        // before), not to the page, where Tab would start over; clicked, to the box, as
        // after every click.
        const li = close.closest("li");
        const near = li.nextElementSibling || li.previousElementSibling;
        this.actions.closeBuffer(close.dataset.close);
        if (event.detail === 0 && near) near.querySelector(".buffer").focus();
        else this.actions.focusInput();
        return;
      }
      const button = event.target.closest("[data-key]");
      if (button) {
        this.actions.switchTo(button.dataset.key);
        this.actions.focusInput();
      }
    });
    $("member-list").addEventListener("click", (event) => {
      const member = event.target.closest("[data-nick]");
      if (member) this.actions.openQuery(member.dataset.nick);
    });
    // A long topic is cut to one line; a click on it, or its "more" button, shows all of it.
    const toggleTopic = () => {
      $("topic").classList.toggle("expanded");
      this.fitTopic();
    };
    $("topic").addEventListener("click", (event) => {
      if (!event.target.closest("a")) toggleTopic();
    });
    $("topic-more").addEventListener("click", toggleTopic);
    new ResizeObserver(() => this.fitTopic()).observe($("topic"));
    $("toggle-buffers").addEventListener("click", () => this.togglePanel("buffers"));
    $("toggle-members").addEventListener("click", () => this.togglePanel("members"));
    $("scrim").addEventListener("click", () => this.closePanels());
    // A touch screen reader has no Esc, and the scrim is no button: each panel has a Close.
    for (const [button, toggle] of [["close-buffers", "toggle-buffers"], ["close-members", "toggle-members"]]) {
      $(button).addEventListener("click", () => {
        this.closePanels();
        $(toggle).focus();
      });
    }
    $("jump").addEventListener("click", () => {
      this.messages.jumpToBottom();
      this.actions.focusInput();
    });
    $("reconnect-now").addEventListener("click", () => this.actions.reconnectNow());
    this.bindChannelList();
    this.bindSwitcher();
    this.bindSearch();
  }

  // -- channel list (LIST) ------------------------------------------------------------

  bindChannelList() {
    const dialog = $("list-dialog");
    $("list-filter").addEventListener("input", () => this.renderChannelList());
    $("list-results").addEventListener("click", (event) => {
      const join = event.target.closest("[data-join]");
      if (!join) return;
      dialog.close();
      this.actions.join(join.dataset.join);
    });
    $("list-refresh").addEventListener("click", () => this.actions.requestList());
  }

  openChannelList(filter = "") {
    $("list-filter").value = filter;
    this.renderChannelList();
    $("list-dialog").showModal();
    $("list-filter").focus();
  }

  renderChannelList() {
    const { items, loading } = this.state.channelList;
    const needle = $("list-filter").value.trim().toLowerCase();
    const matches = items
      .filter((c) => !needle || c.name.toLowerCase().includes(needle) || stripFormatting(c.topic).toLowerCase().includes(needle))
      .sort((a, b) => b.users - a.users || (a.name < b.name ? -1 : 1));
    const rows = matches.slice(0, LIST_SHOWN).map((c) => {
      const topic = el("span", { class: "chan-topic" });
      appendRich(topic, c.topic);
      return el("li", {},
        el("span", { class: "name", text: c.name }),
        el("span", { class: "users", title: `${c.users} users` }, `${c.users}`,
          el("span", { class: "visually-hidden", text: c.users === 1 ? " user" : " users" })),
        topic,
        el("button", { type: "button", dataset: { join: c.name }, "aria-label": `Join ${c.name}`, text: "Join" }));
    });
    $("list-results").replaceChildren(...rows);
    $("list-summary").textContent = loading
      ? "Loading…"
      : matches.length > LIST_SHOWN
        ? `Showing ${LIST_SHOWN} of ${matches.length} channels; type to narrow.`
        : `${matches.length} ${matches.length === 1 ? "channel" : "channels"}`;
  }

  // -- quick switch (Ctrl+K) ------------------------------------------------------------

  bindSwitcher() {
    const input = $("switch-filter");
    input.addEventListener("input", () => {
      this.switchIndex = 0;
      this.renderSwitcher();
    });
    input.addEventListener("keydown", (event) => {
      const count = $("switch-results").children.length;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        this.switchIndex = (this.switchIndex + (event.key === "ArrowDown" ? 1 : -1) + count) % Math.max(count, 1);
        this.renderSwitcher();
      } else if (event.key === "Enter") {
        event.preventDefault();
        const chosen = $("switch-results").children[this.switchIndex];
        if (chosen) this.pickSwitch(chosen.dataset.key);
      }
    });
    $("switch-results").addEventListener("click", (event) => {
      const item = event.target.closest("[data-key]");
      if (item) this.pickSwitch(item.dataset.key);
    });
  }

  openSwitcher() {
    this.switchIndex = 0;
    $("switch-filter").value = "";
    this.renderSwitcher();
    $("switch-dialog").showModal();
    $("switch-filter").focus();
  }

  renderSwitcher() {
    const buffers = this.state.findBuffers($("switch-filter").value)
      // Unread first (the usual reason to switch), the conversation already shown last.
      .sort((a, b) => (a.key === this.state.active) - (b.key === this.state.active) ||
        b.mentions - a.mentions || (b.unread > 0) - (a.unread > 0));
    const items = buffers.map((b, i) =>
      el("li", { role: "option", id: `switch-${i}`, "aria-selected": i === this.switchIndex ? "true" : "false", dataset: { key: b.key },
        "aria-label": `${this.state.displayName(b)}${b.unread ? `, ${newsWords(b)}` : ""}` },
        el("span", { class: "name", text: this.state.displayName(b) }),
        b.unread ? el("span", { class: `badge${b.mentions ? " mention" : ""}`, text: String(b.unread) }) : null));
    $("switch-results").replaceChildren(...items);
    $("switch-filter").setAttribute("aria-activedescendant", items.length ? `switch-${this.switchIndex}` : "");
    // The focus stays in the filter: the list does not follow the choice by itself.
    if (items.length) items[this.switchIndex].scrollIntoView({ block: "nearest" });
  }

  pickSwitch(key) {
    $("switch-dialog").close();
    this.actions.switchTo(key);
    this.actions.focusInput();
  }

  // -- search (soju.im/search) ----------------------------------------------------------

  setSearchAvailable(available) {
    this.searchAvailable = available;
    this.renderSearch();
  }

  /** The search box, where the server searches and there is one conversation to search
   * (the server's own buffer has none: `/search` typed there says so). */
  renderSearch() {
    $("search-form").hidden = !this.searchAvailable || this.state.activeBuffer.kind === "server";
  }

  bindSearch() {
    $("search-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = $("search-input").value.trim();
      if (text) this.actions.search(text);
    });
    $("search-results").addEventListener("click", (event) => {
      const item = event.target.closest("[data-found]");
      if (!item) return;
      $("search-dialog").close();
      // Not back to the search box, which on a phone would stay open over the name of the
      // conversation found: to the message box, as the quick switch does (on a phone,
      // nowhere, so that no keyboard pops up), until the message itself is shown and
      // takes the focus.
      $("search-input").blur();
      this.actions.focusInput();
      this.actions.showFound(this.found[Number(item.dataset.found)]);
    });
  }

  /** `failure`: why nothing was searched, in words (main.js), or null. */
  showSearchResults(query, records, failure) {
    const dialog = $("search-dialog");
    $("search-summary").textContent = failure || `${records.length} ${records.length === 1 ? "result" : "results"} for “${query}”`;
    const fold = this.state.fold;
    this.found = records;
    const items = records.map((r, i) => {
      const text = el("span", { class: "text" });
      appendRich(text, r.text);
      const result = el("button", { type: "button", class: "result", dataset: { target: r.target, found: String(i) } },
        el("span", { class: "where", text: r.target }),
        whenElement(r.time),
        el("span", { class: `nick ${nickClass(fold, r.nick)}`, text: r.nick }),
        text);
      this.fillFoundReactions(result, r);
      return el("li", {}, result);
    });
    $("search-results").replaceChildren(...items);
    if (!dialog.open) dialog.showModal();
  }

  /**
   * The reactions the page knows of to a search result (those of its conversation, as
   * under the message there), read only: the result is one button that goes to the
   * message, where they can be pressed. None known (a conversation not open here, a
   * message older than what was loaded of it): none shown.
   */
  fillFoundReactions(result, found) {
    const list = found.msgid ? this.state.reactionsTo(this.state.buffer(found.target), found.msgid) : [];
    const key = list.map((r) => `${r.emoji}${r.nicks.join(",")}`).join(" ");
    const box = result.querySelector(":scope > .reactions");
    if ((box ? box.dataset.key : "") === key) return;
    const fresh = el("span", { class: "reactions", dataset: { key } });
    fresh.append(el("span", { class: "visually-hidden", text: "Reactions: " }));
    list.forEach((r, i) => {
      const who = r.nicks.join(", ");
      fresh.append(el("span", { class: "reaction", title: who },
        el("span", { class: "emoji", text: r.emoji }), el("span", { class: "count", text: String(r.nicks.length) }),
        el("span", { class: "visually-hidden", text: ` (${who})${i < list.length - 1 ? "," : ""} ` })));
    });
    if (box) box.remove();
    if (list.length) result.append(fresh);
  }

  /** The search results listed, their reactions drawn again (state: "reactions"). */
  refreshFoundReactions() {
    if (!$("search-dialog").open) return;
    for (const result of $("search-results").querySelectorAll(".result[data-found]")) {
      const found = this.found[Number(result.dataset.found)];
      if (found) this.fillFoundReactions(result, found);
    }
  }
}

export { SERVER_KEY };
