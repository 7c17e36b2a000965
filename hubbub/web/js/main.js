// Wiring: the connect screen, one session (IrcClient + ChatState + View), the input
// box (commands, completion, history, typing notifications) and the keyboard. The
// protocol lives in client.js, the meaning of messages in state.js, the drawing in
// view.js; this file only connects them.

import { IrcClient } from "./client.js";
import { ChatState, SERVER_KEY, foundRecord, mayReachBack } from "./state.js";
import { CatchUpQueue, catchUp } from "./catchup.js";
import { View } from "./view.js";
import { notification, notifyStatus } from "./notify.js";
import { COMMANDS, completions, parseSearch, resendable, runInput, silenceQuietly, wordBefore } from "./commands.js";
import { parseCtcp } from "./irc.js";
import { el } from "./dom.js";
import { hidePasswords, stripFormatting } from "./format.js";
import {
  Landing, accountShown, activeSetting, activeToRestore, invitedChannels, loginFailed, queriesToRestore, refusedTarget,
  resumeOnLoad, tabPart, tabView, withInvited,
} from "./resume.js";

const $ = (id) => document.getElementById(id);
const SETTINGS_KEY = "hubbub.settings";
// The time of the newest message seen in each conversation while the page was looked at:
// after a reload, what was said since counts as unread (the server's read marker, when
// later, wins). Conversation key -> ms; the most recent SEEN_KEPT are kept.
const SEEN_KEY = "hubbub.seen";
// The nick this tab had last (sessionStorage: a tab's own, kept across its reloads, not
// shared with other tabs): see IrcClient's reclaimNick.
const HELD_NICK_KEY = "hubbub.nick";
// This tab's own session (sessionStorage): its channels and their keys, its private
// conversations, the buffer it shows (resume.js: TAB_KEYS). Written to localStorage too,
// where a new tab starts from; a reload of this tab resumes its own.
const TAB_KEY = "hubbub.tab";
const SEEN_KEPT = 200;
const SEEN_SAVE_MS = 1000;
const HISTORY_PAGE = 100; // messages per CHATHISTORY request
const FOUND_PAGES = 20; // BEFORE requests at most to reach a search result not loaded
const INPUT_HISTORY = 100;
const TYPING_PAUSE_MS = 5000;
const REPLY_QUOTE_CHARS = 80; // of the message being answered, shown above the box
const MARKREAD_DELAY_MS = 1500;
const DEFAULT_CHANNEL = "#lobby"; // the connect screen's guess until the server says its own

// -- settings (localStorage; a browser that refuses storage still works) ---------------

function loadSettings() {
  try {
    return JSON.parse(localStorage.getItem(SETTINGS_KEY)) || {};
  } catch {
    return {};
  }
}

function saveSettings(settings) {
  try {
    localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings));
  } catch {
    /* private mode or storage full: nothing to remember, nothing lost */
  }
}

function updateSettings(changes) {
  saveSettings({ ...loadSettings(), ...changes });
}

function loadTab() {
  try {
    const tab = JSON.parse(sessionStorage.getItem(TAB_KEY));
    return tab && typeof tab === "object" && !Array.isArray(tab) ? tab : null;
  } catch {
    return null;
  }
}

function saveTab(tab) {
  try {
    sessionStorage.setItem(TAB_KEY, JSON.stringify(tab));
  } catch {
    /* not kept: a reload of this tab resumes what the browser last remembered, as a new tab */
  }
}

/** The settings as this tab sees them: the shared ones, with this tab's own session. */
function loadRemembered() {
  return tabView(loadSettings(), loadTab());
}

/** A change to this tab's session (resume.js: TAB_KEYS, and its /quit): kept for its own
 * reloads, and as what a new tab starts from. */
function updateTab(changes) {
  saveTab({ ...(loadTab() || {}), ...changes });
  updateSettings(changes);
}

/**
 * While this tab's session goes on, another tab's /quit does not send a new tab to the
 * connect screen: the browser's `quit` (what a new tab starts from: resume.js, tabView)
 * is taken back here, now and whenever a tab writes it. The write itself tells every
 * other tab (the `storage` event): no heartbeat, which a background tab's throttled
 * timers would keep late, and no count of tabs, which a tab that crashed would leave
 * wrong. A tab the browser froze hears nothing: a new tab then starts at the connect
 * screen, as after the last /quit, and the frozen tab still resumes on its reloads.
 */
function keepSessionShared() {
  const goOn = () => {
    if (loadSettings().quit && !loadRemembered().quit) updateSettings({ quit: undefined }); // not once this tab quit
  };
  goOn();
  window.addEventListener("storage", (event) => {
    if (event.key === SETTINGS_KEY) goOn();
  });
}

function loadSeen() {
  try {
    const seen = JSON.parse(localStorage.getItem(SEEN_KEY));
    return seen && typeof seen === "object" ? seen : {};
  } catch {
    return {};
  }
}

/** The points seen merged into what is stored (another tab may have seen further). */
function saveSeen(points) {
  const merged = loadSeen();
  for (const [key, ms] of points) if (!(Number(merged[key]) >= ms)) merged[key] = ms;
  const kept = Object.entries(merged).filter(([, ms]) => Number(ms) > 0).sort((a, b) => b[1] - a[1]).slice(0, SEEN_KEPT);
  try {
    localStorage.setItem(SEEN_KEY, JSON.stringify(Object.fromEntries(kept)));
  } catch {
    /* nothing remembered: a reload shows no unread line, as before */
  }
}

/** The nick this tab held before a reload. Only after a reload: a tab duplicated (or
 * opened by window.open) starts with a copy of its opener's sessionStorage, and would
 * take for its own the nick the tab it was copied from still holds. */
function loadHeldNick() {
  try {
    const [navigation] = performance.getEntriesByType("navigation");
    if (!navigation || navigation.type !== "reload") return null;
    return sessionStorage.getItem(HELD_NICK_KEY);
  } catch {
    return null;
  }
}

function saveHeldNick(nick) {
  try {
    sessionStorage.setItem(HELD_NICK_KEY, nick);
  } catch {
    /* not remembered: after a reload this tab waits a little longer for its nick */
  }
}

/** ws(s)://<this host>/webirc: the page and the IRC endpoint always share an origin. */
function websocketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/webirc`;
}

// -- the connect screen --------------------------------------------------------------

// RFC 2812 nick characters; a digit or "-" cannot start one.
const NICK_RE = /^[A-Za-z_\[\]\\^{}|`][A-Za-z0-9_\-\[\]\\^{}|`]*$/;

// What is wrong with a nickname NICK_RE refuses, in words a person can act on.
function nickProblem(nick) {
  if (!nick) return "Please choose a nickname.";
  if (/^[0-9-]/.test(nick)) return "A nickname must start with a letter (or one of _[]\\^{}|`), not a digit or -.";
  const bad = [...nick].find((c) => !/[A-Za-z0-9_\-\[\]\\^{}|`]/.test(c));
  return bad === " " ? "A nickname cannot contain spaces." : `A nickname cannot contain “${bad}”: use letters, digits and _-[]\\{}|^\`.`;
}

/** What the server says of itself to the connect screen (/client.json): its own default
 * channel (`server.default_channel`) in place of the page's guess, on a first visit
 * (`suggest`): where its community is; and whether it asks every connection for its
 * password (`server.password`), whose field is shown then. The channel field keeps the
 * guess when the server does not say, and whatever the person typed meanwhile. */
async function askServer(suggest) {
  const field = $("connect-channels");
  try {
    const response = await fetch("client.json", { cache: "no-cache" });
    const { channel, password } = response.ok ? await response.json() : {};
    if (suggest && typeof channel === "string" && channel && field.value === DEFAULT_CHANNEL) field.value = channel;
    if (password === true) $("connect-server-password-field").hidden = false;
  } catch {
    // an older server, or none: the guess stands
  }
}

/** The connect screen; `reason` says why it is shown instead of the session resuming. */
function showConnectScreen(reason = "") {
  const settings = loadRemembered();
  $("connect-nick").value = settings.nick || "";
  $("connect-account").value = accountShown(settings);
  $("connect-password").value = settings.remember ? settings.password || "" : "";
  $("connect-server-password").value = settings.remember ? settings.serverPassword || "" : "";
  if (settings.usesServerPassword) $("connect-server-password-field").hidden = false;
  $("connect-remember").checked = !!settings.remember;
  // An invite link's channels first (where the session lands), then those remembered.
  const remembered = settings.channels && settings.channels.length ? settings.channels : [];
  const invited = invitation();
  const channels = invited.length ? withInvited(invited, remembered) : remembered.length ? remembered : [DEFAULT_CHANNEL];
  $("connect-channels").value = channels.join(" ");
  askServer(!invited.length && !remembered.length);
  $("connect").hidden = false;
  $("app").hidden = true;
  const notice = settings.notice;
  // the field the notice is about: the nickname, or the server's password
  const noticed = settings.noticeField === "server-password" ? $("connect-server-password") : $("connect-nick");
  if (notice) {
    // why the last session ended (a refused nickname or server password): said once, and
    // the field it describes marked and given the focus, so that a screen reader says it
    $("connect-error").textContent = notice;
    noticed.setAttribute("aria-invalid", "true");
    if (noticed.id === "connect-server-password") $("connect-server-password-field").hidden = false;
    updateSettings({ notice: undefined, noticeField: undefined });
  }
  $("connect-reason").textContent = reason;
  $("connect-reason").hidden = !reason;
  // A field is marked invalid only while the error said is about it: the error is part
  // of every field's description, and a screen reader reads the mark of each it enters.
  const checked = ["connect-nick", "connect-account", "connect-server-password"].map($);
  const refuse = (field, text) => {
    for (const other of checked) if (other !== field) other.removeAttribute("aria-invalid");
    $("connect-error").textContent = text;
    field.setAttribute("aria-invalid", "true");
    field.focus();
  };
  for (const field of checked) field.addEventListener("input", () => field.removeAttribute("aria-invalid"));
  $("connect-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const nick = $("connect-nick").value.trim();
    if (!NICK_RE.test(nick)) {
      refuse($("connect-nick"), nickProblem(nick));
      return;
    }
    const account = $("connect-account").value.trim();
    if (/\s/.test(account)) {
      refuse($("connect-account"), "An account name cannot contain spaces.");
      return;
    }
    const password = $("connect-password").value;
    const serverPassword = $("connect-server-password-field").hidden ? "" : $("connect-server-password").value;
    const remember = $("connect-remember").checked;
    const channels = $("connect-channels").value.split(/[\s,]+/).filter(Boolean).map((c) => (/^[#&]/.test(c) ? c : `#${c}`));
    // The session the password was asked for (a reload) gets its conversations back,
    // and the one that was being looked at.
    const queries = queriesToRestore(loadRemembered(), nick);
    const active = activeToRestore(loadRemembered(), nick);
    // The account field empty: the account named like the nick (SASL logs in to it).
    updateSettings({ nick, channels, remember, usesPassword: !!password, password: remember ? password : undefined,
      usesServerPassword: !!serverPassword, serverPassword: remember ? serverPassword : undefined,
      account: account || undefined, autoconnect: true });
    startSession({ nick, password, serverPassword, account, channels, queries, active });
  });
  // Shown only now that Connect is handled here: without the scripts the form would be
  // sent to the server instead.
  $("connect-loading").hidden = true;
  $("connect-fields").hidden = false;
  // a session that did not resume for want of a password: at the field of the one missing
  const missing = settings.usesPassword || !settings.usesServerPassword ? $("connect-password") : $("connect-server-password");
  (notice ? noticed : reason ? missing : settings.nick ? $("connect-submit") : $("connect-nick")).focus();
}

// -- a session ---------------------------------------------------------------------------

function startSession({ nick, password, serverPassword = "", account = "", channels, queries = [], active = null }) {
  forgetInvite();
  // This tab's session from now on: what a reload of it (even before it is all back)
  // resumes, and no /quit of before it.
  const channelKeys = loadRemembered().channelKeys || {};
  saveTab(tabPart({ channels, channelKeys, queries, active: active === null ? undefined : active }));
  keepSessionShared();
  $("connect").hidden = true;
  $("app").hidden = false;
  const state = new ChatState();
  for (const [key, ms] of Object.entries(loadSeen())) if (Number(ms) > 0) state.seenBefore.set(key, Number(ms));
  const ignores = loadSettings().ignores;
  if (Array.isArray(ignores)) state.ignores = ignores.filter((m) => typeof m === "string" && m);
  // The account the password is for, when not named like the nick: the one last logged in
  // to (by SASL, /register or IDENTIFY), or named on the connect screen.
  const client = new IrcClient({ url: websocketUrl(), nick, password, serverPassword: serverPassword || undefined,
    realname: nick, account: account || undefined, heldNick: loadHeldNick() });
  // Where the session lands: the buffer looked at before a reload, or the first channel.
  const landing = new Landing({ wanted: active, channels, queries, fold: (name) => state.fold(name) });
  let pendingSwitch = null; // the channel a /join asked for: shown once joined
  let firstRegistration = true;
  let askedNick = null; // what /nick asked for: remembered once the server agrees
  let registeringWith = null; // the password a /register gave: the account's, once logged in
  let identifyingAs = null; // the account an IDENTIFY typed to NickServ named (null: the nick)
  // Channel keys given to /join (and those remembered from the last visit), by folded
  // name: a keyed channel is rejoined with its key after a reconnection or a reload.
  const givenKeys = new Map(Object.entries(channelKeys).map(([name, key]) => [state.fold(name), key]));
  const session = { state, client };
  // What each conversation missed, on a return: the one looked at fetches it at once,
  // the others a few at a time. One request per conversation at once would keep the
  // person's own lines waiting behind them at the server. Each one's unread count comes
  // in with its turn.
  const catchUps = new CatchUpQueue({ done: (buffer) => state.emit("prepend", buffer.key, { count: 0 }) });
  client.on("disconnected", () => {
    catchUps.clear();
    // a login asked on the connection gone was not answered: the 900 of the next one
    // (SASL, with the password it has) is not its answer
    registeringWith = identifyingAs = null;
  });

  // The person's own moves (a click, a key, a command) end the landing: where they go
  // is where they stay, whatever comes back after.
  const ui = {
    switchTo(key) {
      landing.moved();
      show(key);
    },
    expectJoin(name) {
      landing.moved();
      pendingSwitch = state.fold(name);
    },
    keysGiven(names, keys) {
      names.forEach((name, i) => {
        if (keys[i]) givenKeys.set(state.fold(name), keys[i]);
      });
    },
    closeBuffer(key) {
      const b = state.buffers.get(key);
      if (!b || b.kind === "server") return;
      if (b.kind === "channel" && b.joined) client.send({ command: "PART", params: [b.name] });
      state.closeBuffer(key, b.kind === "query" ? client.unanswered(b.name) : 0);
      rememberChannels();
    },
    openChannelList(filter) {
      requestList();
      view.openChannelList(filter);
    },
    openHelp,
    /** `/notify on|off`: on asks the browser's permission (this is a key press: browsers
     * ask only then), and says where things stand; alone, says it. */
    notify(choice) {
      const say = () => state.info(notifyStatus(!!loadSettings().notify, permission()));
      if (choice === "off") updateSettings({ notify: false });
      if (choice !== "on" || permission() === "unsupported") return say();
      updateSettings({ notify: true });
      if (permission() !== "default") return say();
      Notification.requestPermission().then(say, say);
    },
    clearBuffer() {
      const b = state.activeBuffer;
      b.base += b.messages.length;
      b.messages = [];
      b.historyDone = true; // cleared on purpose: scrolling up should not bring it back
      state.emit("reset", b.key);
    },
    search: runSearch,
    disconnect(reason) {
      // This tab's session ends, and the browser's with it unless another tab's goes on
      // (keepSessionShared): a new tab starts at the connect screen only after the last.
      updateTab({ quit: true });
      // Back to the connect screen once the QUIT is out (or after a moment, whatever happens).
      client.on("disconnected", () => location.reload());
      setTimeout(() => location.reload(), 1000);
      client.quit(reason || "Leaving");
    },
    registering(accountPassword) {
      registeringWith = accountPassword;
      identifyingAs = null;
    },
    identifying(account, accountPassword) {
      registeringWith = accountPassword;
      identifyingAs = account;
    },
    nickAsked(newNick) {
      askedNick = newNick;
      client.nickChosen(newNick); // a nick taken at connection is not taken back any more
    },
  };
  const ctx = { client, state, ui };

  const view = new View(state, {
    switchTo: ui.switchTo,
    closeBuffer: ui.closeBuffer,
    needHistory: (buffer) => fetchOlder(buffer),
    openQuery(nickname) {
      state.ensureBuffer(nickname);
      ui.switchTo(state.keyOf(nickname));
      focusInput();
    },
    insertNick,
    join(channel) {
      runInput(ctx, `/join ${channel}`);
    },
    requestList,
    search: runSearch,
    showFound,
    reconnectNow: () => client.reconnectNow(),
    focusInput,
    answerable,
    reply: startReply,
    react(rec, emoji, remove) {
      const b = state.activeBuffer;
      if (answerable(rec)) client.react(b.name, rec.msgid, emoji, { remove });
    },
  });
  session.view = view;

  function requestList() {
    if (client.registered) client.send({ command: "LIST" });
  }

  // -- connection events --------------------------------------------------------------

  client.on("status", (status) => state.setConnection(status));
  client.on("isupport", () => state.configure({ fold: client.fold, prefix: client.prefix, chantypes: client.chantypes, isupport: client.isupport }));
  client.on("caps", () => view.setSearchAvailable(client.has("soju.im/search")));
  client.on("sasl-failed", ({ text, account }) => alertUser(loginFailed(text, account, client.wantedNick, client.fold)));
  client.on("own-nick", ({ nick }) => {
    saveHeldNick(nick);
    if (askedNick !== null && client.fold(nick) === client.fold(askedNick)) {
      askedNick = null;
      updateSettings({ nick });
    }
  });
  // A nickname the server will not take at all: back to the connect screen, saying why.
  // In every tab (autoconnect is shared): the nickname and the server's password are
  // the browser's, and another tab's reload would only be refused again.
  client.on("nick-refused", ({ text }) => {
    updateSettings({ autoconnect: false, notice: text });
    location.reload();
  });
  // The server's password refused (or wanted): back to the connect screen, at its field.
  client.on("password-refused", ({ text }) => {
    updateSettings({ autoconnect: false, notice: text, noticeField: "server-password" });
    location.reload();
  });
  client.on("registered", () => {
    saveHeldNick(client.nick);
    state.configure({ nick: client.nick, fold: client.fold, prefix: client.prefix, chantypes: client.chantypes, isupport: client.isupport });
    view.setSearchAvailable(client.has("soju.im/search"));
    if (client.options.password && !client.has("sasl")) { // (none after a logout: see "logged-out")
      state.info("This server does not offer accounts (SASL): connected without logging in.", { buffer: state.server });
    }
    // Rejoin what we were in; on the first connection, what the connect screen asked for.
    const names = [...state.buffers.values()].filter((b) => b.kind === "channel" && b.rejoin).map((b) => b.name);
    if (firstRegistration) names.push(...channels);
    // The one looked at (or to land on) first: its history is the first fetched.
    const looked = firstRegistration ? active : state.activeBuffer.name;
    const isLooked = (name) => !!looked && state.fold(name) === state.fold(looked);
    const first = names.find(isLooked);
    if (first) joinAll([first]);
    joinAll(names.filter((name) => !isLooked(name)));
    if (firstRegistration) restoreQueries();
    else {
      // A new connection is not away: away before it, away again, with the same message
      // (the page said "(away)" all along, while others were told nothing).
      if (state.awayText !== null) client.send({ command: "AWAY", params: [state.awayText] });
      else if (state.away) {
        state.away = false; // a /back typed while disconnected: the new connection is not away
        state.emit("self");
      }
      catchUpQueries();
      // Cut off before the buffer wanted came back: it will not now (only the channels
      // joined by then are joined again).
      settle(landing.giveUp());
    }
    firstRegistration = false;
  });
  // The server's ignore list (SILENCE) is its connection's: each new one is given the
  // masks ignored here once the welcome is over (ISUPPORT, which says whether the server
  // keeps one and how long, is known then), as many as it takes.
  let silenced = false;
  client.on("registered", () => {
    silenced = false;
  });
  function silenceIgnored() {
    silenced = true;
    for (const mask of state.ignores.slice(0, state.silenceLimit)) silenceQuietly(ctx, "+", mask);
  }
  client.on("message", (msg) => {
    if (msg.command === "900" && registeringWith !== null) accountCreated();
    else if (msg.command === "900" && client.account && client.account === client.loginAccount) {
      // logged in by SASL: the account the next reload logs in to, whatever nick it has by then
      if (loadSettings().account !== client.account) updateSettings({ account: client.account });
    }
    if ((msg.command === "376" || msg.command === "422") && !silenced) silenceIgnored();
    replyToCtcp(msg);
    noteRefusal(msg);
    if (isNickServNotice(msg) && state.active === SERVER_KEY && leavingServer()) {
      // Its warning that the nick will be taken back comes before the first channel
      // opens: said there too, where the user will be.
      carried.push(`${msg.source.nick}: ${msg.params[msg.params.length - 1]}`);
    }
    state.handle(msg);
  });
  // Logged out on purpose (NickServ LOGOUT, the account dropped): the browser forgets the
  // login, so that no reload logs in again by itself, and one whose password was not kept
  // resumes as a guest rather than ask for it; the nick stays. An IDENTIFY or the connect
  // screen logs in again (accountCreated), remembering the password as before.
  // The other tabs of the browser hear of it (`loggedOut`) and log out of that account
  // too: on a shared computer, logging out is the browser's, not one tab's.
  client.on("logged-out", ({ account }) => updateSettings({
    usesPassword: false, password: undefined, account: undefined,
    loggedOut: account ? { account, at: Date.now() } : undefined,
  }));
  let logoutHeard = loadSettings().loggedOut?.at;
  window.addEventListener("storage", (event) => {
    if (event.key !== SETTINGS_KEY) return;
    const out = loadSettings().loggedOut;
    if (!out || typeof out.account !== "string" || out.at === logoutHeard) return;
    logoutHeard = out.at;
    if (client.logOutOf(out.account, (name) => state.fold(name))) {
      state.info(`Logged out of ${out.account} in another tab of this browser: logging out here too.`);
    }
  });
  client.on("batch", (batch) => state.handleBatch(batch));
  client.on("unsent", (groups) => groups.forEach((g) => reportUnsent(g, groups.length === 1)));
  client.on("refused", (refused) => reportRefused(refused));

  /** Logged in to the account a /register created (or an IDENTIFY named): it and its
   * password are the ones to log in with from now on (a reconnection, a reload, whatever
   * the nick then; the password remembered only if the person asked). */
  function accountCreated() {
    client.loggedInWith(registeringWith);
    const remember = !!loadSettings().remember;
    updateSettings({ usesPassword: true, password: remember ? registeringWith : undefined,
                     account: client.account || identifyingAs || undefined });
    registeringWith = identifyingAs = null;
  }

  /** The server refused a message the user wrote (FAIL: the network out of reach; 404:
   * a moderated channel...): one line saying so, quoting it, in its conversation (and
   * where the user is), and the text back in the message box when that is empty, as the
   * command that sends it again from the conversation shown. */
  function reportRefused(refused) {
    const { target, text, lines, reason } = refused;
    const buffer = state.buffer(target) || state.server;
    const first = (state.isNickServ(target) ? hidePasswords(text) : text).split("\n")[0];
    const quote = first.length > 120 ? `${first.slice(0, 120)}…` : first;
    const shown = state.activeBuffer.kind === "server" ? null : state.activeBuffer.name;
    const back = input.value.trim() ? null : resendable(refused, shown, state.fold);
    let why = reason.replace(/^not sent:\s*/i, "").replace(/[.!\s]+$/, "");
    why = why ? ` ${why[0].toUpperCase()}${why.slice(1)}.` : "";
    const what = lines === 1 ? `“${quote}”` : `${lines} lines, from “${quote}”`;
    const again = lines === 1 ? " It is back in the message box: press Enter to send it again." : " They are back in the message box: press Enter to send them again.";
    const said = `Not sent to ${target}: ${what}.${why}${back !== null ? again : ""}`;
    state.info(said, { buffer, kind: "error" });
    if (buffer.key !== state.active) state.info(said, { kind: "error" });
    if (back !== null) {
      input.value = back;
      autosize();
      if (back === text) giveReplyBack(buffer, refused.reply); // as typed, where it was said
    }
  }

  /** The connection dropped with part of what the user said not sent: say which part, in
   * its conversation and where the user is, and give plain text back to the message box. */
  function reportUnsent({ target, command, action, text, lines, reply }, alone) {
    const buffer = state.buffer(target) || state.server;
    const first = (state.isNickServ(target) ? hidePasswords(text) : text).split("\n")[0];
    const preview = first.length > 48 ? `${first.slice(0, 48)}…` : first;
    const giveBack = alone && command === "PRIVMSG" && !action && buffer.key === state.active && !input.value.trim();
    const one = lines === 1;
    const back = one ? " It is back in the message box: press Enter to send it." : " They are back in the message box: press Enter to send them.";
    const said = `Connection lost: ${one ? "1 line" : `${lines} lines`} of yours to ${target} ${one ? "was" : "were"} ` +
      `not sent, from “${preview}”.${giveBack ? back : ""}`;
    state.info(said, { buffer, kind: "error" });
    if (buffer.key !== state.active) state.info(said, { kind: "error" });
    if (giveBack) {
      input.value = text;
      autosize();
      giveReplyBack(buffer, reply);
    }
  }

  // -- desktop notifications (notify.js) -------------------------------------------------

  const notifications = new Map(); // shown, by conversation: the newest replaces, reading closes
  function permission() {
    return typeof Notification === "function" ? Notification.permission : "unsupported";
  }
  function notifyOf(key, record) {
    const buffer = state.buffers.get(key);
    if (!buffer) return;
    const due = notification(record, buffer, { enabled: !!loadSettings().notify, permission: permission(),
      focused: state.focused, name: state.displayName(buffer) });
    if (!due) return;
    try {
      const shown = new Notification(due.title, { body: due.body, tag: due.tag });
      shown.onclick = () => {
        window.focus();
        ui.switchTo(key);
        shown.close();
      };
      notifications.set(key, shown);
    } catch {
      /* a browser that shows them only from a service worker (Chrome on Android): the title's count says it */
    }
  }
  function closeNotification(key) {
    const shown = notifications.get(key);
    if (shown) shown.close();
    notifications.delete(key);
  }
  state.subscribe((change) => {
    if (change.type === "called") notifyOf(change.key, change.record);
    else if ((change.type === "active" || change.type === "buffers") && state.focused) closeNotification(state.active);
  });

  state.subscribe((change) => {
    if (change.type === "joined") onJoined(state.buffers.get(change.key));
    else if (change.type === "left" || change.type === "key") rememberChannels();
    else if (change.type === "buffers") rememberQueries();
    else if (change.type === "ignores") updateSettings({ ignores: state.ignores });
    else if (change.type === "active") rememberActive();
    else if (change.type === "append" && change.key === state.active) scheduleMarkRead();
    else if (change.type === "seen" && !seenTimer) seenTimer = setTimeout(storeSeen, SEEN_SAVE_MS);
  });

  let seenTimer = null;
  function storeSeen() {
    clearTimeout(seenTimer);
    seenTimer = null;
    saveSeen(state.seenBefore);
  }
  window.addEventListener("pagehide", storeSeen); // closed or reloaded before the timer

  function joinAll(names) {
    const unique = [...new Map(names.map((n) => [state.fold(n), n])).values()];
    const keyOf = (name) => {
      const buffer = state.buffer(name);
      return (buffer && buffer.joinKey) || givenKeys.get(state.fold(name)) || "";
    };
    // The keyed channels first, their keys in the same order; JOIN lines stay short.
    const ordered = [...unique.filter((n) => keyOf(n)), ...unique.filter((n) => !keyOf(n))];
    for (let i = 0; i < ordered.length; i += 10) {
      const some = ordered.slice(i, i + 10);
      const keys = some.map(keyOf).filter(Boolean);
      client.send({ command: "JOIN", params: keys.length ? [some.join(","), keys.join(",")] : [some.join(",")] });
    }
  }

  function replyToCtcp(msg) {
    if (msg.command !== "PRIVMSG" || !msg.source || msg.params[0] !== client.nick || state.isIgnored(msg.source)) return;
    const ctcp = parseCtcp(msg.params[1] || "");
    if (!ctcp) return;
    const reply = ctcp.command === "VERSION" ? "hubbub web client" : ctcp.command === "PING" ? ctcp.text : null;
    if (reply !== null) client.send({ command: "NOTICE", params: [msg.source.nick, `\x01${ctcp.command} ${reply}\x01`] });
  }

  // What the user must not miss (a failed login): said in the server buffer and where the
  // user is. While the page still shows the server buffer, about to open the first
  // channel, it is said again in that channel once there (after its join line).
  const carried = [];
  function alertUser(text) {
    state.info(text, { buffer: state.server, kind: "error" });
    if (state.active !== SERVER_KEY) state.info(text, { kind: "error" });
    else if (leavingServer()) carried.push(text);
  }

  /** Whether the page is about to leave the server buffer by itself (for a channel
   * being joined, a conversation coming back). */
  function leavingServer() {
    return pendingSwitch !== null || landing.pending;
  }

  function isNickServNotice(msg) {
    return msg.command === "NOTICE" && !!msg.source && /^nickserv$/i.test(msg.source.nick) && state.isSelf(msg.params[0]);
  }

  function onJoined(buffer) {
    if (!buffer) return;
    if (givenKeys.has(buffer.key)) buffer.joinKey = givenKeys.get(buffer.key);
    rememberChannels();
    if (pendingSwitch === buffer.key) {
      pendingSwitch = null;
      arrive(buffer.key);
    }
    settle(landing.arrived(buffer.name));
    catchUpLater(buffer);
  }

  function show(key) {
    state.setActive(key);
    catchUps.hurry(state.activeBuffer); // opened: what it missed is fetched now
    scheduleMarkRead();
  }

  /** Shown by the page itself (a landing, a /join answered), with what was carried for it. */
  function arrive(key) {
    show(key);
    const buffer = state.buffers.get(key);
    const alerts = carried.splice(0);
    // after its join line, which comes once the "joined" notice is handled
    if (alerts.length && buffer) queueMicrotask(() => alerts.forEach((text) => state.info(text, { buffer, kind: "error" })));
  }

  /** The landing's answer: shown if it names a buffer; the buffer shown is remembered
   * once the landing is over. */
  function settle(name) {
    if (name !== null) arrive(state.keyOf(name));
    else if (!leavingServer()) carried.length = 0; // no page to carry them to: said in the server buffer
    rememberActive();
  }

  // A join refused (+i, +b, a wrong key...) or the network refusing them all: the
  // buffer wanted may not come back, and the landing goes on without it; a channel a
  // /join asked for is not waited for any more. Run before the state files the error
  // where the person is: when the refusal lands the page, that is where they land.
  function noteRefusal(msg) {
    const target = refusedTarget(msg);
    if (target !== null && state.isChannel(target)) {
      if (pendingSwitch === state.fold(target)) pendingSwitch = null;
      settle(landing.missed(target));
      // Refused while the page waits on the server buffer: said again where it lands,
      // or the channel would be missing from the list with no word why.
      if (landing.pending) carried.push(`${msg.params.slice(1, -1).join(" ")}: ${msg.params[msg.params.length - 1]}`);
    } else if (msg.command === "FAIL" && msg.params[0] === "JOIN") settle(landing.giveUp());
  }

  // The buffer looked at is remembered, to be shown again after a reload. Until the
  // landing is over, the last session's stays remembered: the server buffer shown for a
  // moment meanwhile is nobody's choice, and a reload then still goes back to it.
  function rememberActive() {
    if (landing.pending) return;
    const active = activeSetting(state.activeBuffer);
    if (active !== loadRemembered().active) updateTab({ active });
  }

  function rememberChannels() {
    const kept = [...state.buffers.values()].filter((b) => b.kind === "channel" && b.rejoin);
    const keys = Object.fromEntries(kept.filter((b) => b.joinKey).map((b) => [b.name, b.joinKey]));
    updateTab({ channels: kept.map((b) => b.name), channelKeys: keys });
  }

  // Private conversations are remembered as channels are, to come back after a reload.
  // Those of the last session are opened again once registered (a nick's key is only
  // known under the server's CASEMAPPING), with their latest history as a channel's on
  // joining. Until then the list remembered stays as the last session left it.
  let queriesRestored = false;
  let queriesKept = null; // the list last written, as JSON: most changes are not to it

  function restoreQueries() {
    for (const name of queries) {
      if (state.isChannel(name)) {
        settle(landing.missed(name)); // not a conversation under this server's CHANTYPES
        continue;
      }
      const fresh = !state.buffer(name);
      const buffer = state.ensureBuffer(name);
      settle(landing.arrived(name)); // before its history: the one landed on goes first
      if (fresh) catchUpLater(buffer);
    }
    queriesRestored = true;
    rememberQueries();
  }

  function rememberQueries() {
    if (!queriesRestored) return;
    const names = state.queryNames();
    const kept = JSON.stringify(names);
    if (kept === queriesKept) return;
    queriesKept = kept;
    updateTab({ queries: names });
  }

  // -- private conversations held elsewhere (CHATHISTORY TARGETS) ----------------------

  // Logged in to an account, a connection learns which private conversations had messages
  // while this page was away (held on another device, or closed here) and opens them with
  // what they missed, as a return does for those it had open. A browser that remembers
  // nothing gets the last week's.
  const TARGETS_LOOKBACK_MS = 7 * 24 * 3600 * 1000;
  const TARGETS_MAX = 20;
  let targetsAsked = false; // by this connection
  let here = 0; // the newest message this page had seen anywhere when this connection began
  client.on("registered", () => {
    targetsAsked = false;
    here = 0; // what came after was missed (taken now: a login later has received lines since)
    for (const ms of state.seenBefore.values()) here = Math.max(here, ms);
    for (const b of state.buffers.values()) here = Math.max(here, b.lastServerTime());
    if (client.account) openConversationsHeldElsewhere();
  });
  client.on("message", (msg) => {
    if (msg.command === "900" && client.registered) openConversationsHeldElsewhere(); // a login once connected
  });

  async function openConversationsHeldElsewhere() {
    if (targetsAsked || !hasHistory()) return;
    targetsAsked = true;
    const since = here || Date.now() - TARGETS_LOOKBACK_MS;
    // up to a day ahead of this machine's clock: a server's clock ahead of it still counts
    const { targets } = await client.chathistoryTargets(since + 1, Date.now() + 86400000, TARGETS_MAX);
    for (const { name } of targets) {
      if (state.isChannel(name) || state.isSelf(name) || state.buffer(name)) continue;
      const buffer = state.ensureBuffer(name);
      // read up to where this page was (or where the account's read marker says, later);
      // in a browser that remembers nothing, from where it looked back: what the others
      // said since is new unless the account's marker says it was read (a message kept
      // for the account while it was offline, above all)
      if (!buffer.unreadAfter) buffer.unreadAfter = since;
      catchUpLater(buffer);
    }
    rememberQueries();
  }

  // -- history (draft/chathistory) ------------------------------------------------------

  const hasHistory = () => client.has("draft/chathistory") && client.has("batch");

  async function historyRequest(buffer, subcommand, ...args) {
    buffer.historyLoading = true;
    state.emit("prepend", buffer.key, { count: 0 });
    const limit = client.historyLimit(HISTORY_PAGE);
    const result = await client.chathistory(subcommand, buffer.name, ...args, limit);
    buffer.historyLoading = false;
    state.emit("prepend", buffer.key, { count: 0 });
    return { ...result, full: result.messages.length >= limit };
  }

  async function fetchLatest(buffer) {
    if (!hasHistory()) {
      buffer.historyDone = true;
      buffer.historyUnavailable = true;
      return;
    }
    const { full, error } = await historyRequest(buffer, "LATEST", "*");
    if (!full || error) buffer.historyDone = true;
  }

  async function fetchOlder(buffer) {
    // What it missed comes first, and is where scroll-back starts from.
    if (catchUps.has(buffer)) return catchUps.hurry(buffer);
    if (!hasHistory()) {
      buffer.historyDone = true;
      buffer.historyUnavailable = true;
      state.emit("prepend", buffer.key, { count: 0 });
      return;
    }
    const oldest = buffer.oldest();
    if (!oldest) return fetchLatest(buffer);
    const { full, error } = await historyRequest(buffer, "BEFORE", client.historyRef(oldest.msgid, oldest.time));
    if (!full || error) buffer.historyDone = true;
    state.emit("prepend", buffer.key, { count: 0 });
  }

  // -- what was missed, on a return (catchup.js) -------------------------------------------

  /** What `buffer` missed (since the connection dropped, or since it was last read, on a
   * reload), fetched now if it is looked at, else when its turn comes. */
  function catchUpLater(buffer) {
    if (!hasHistory()) {
      buffer.historyDone = true;
      buffer.historyUnavailable = true;
      state.caughtUpWith(buffer);
      return;
    }
    buffer.historyPending = true;
    catchUps.add(buffer, () => catchUpNow(buffer), { now: buffer === state.activeBuffer });
  }

  async function catchUpNow(buffer) {
    if (state.buffers.get(buffer.key) !== buffer) return; // closed meanwhile
    const since = buffer.resumeFrom;
    // A private conversation's read marker is not sent unasked (a channel's comes with its
    // JOIN): asked first, it is known by the time its history is.
    if (!since && buffer.kind === "query") client.askReadMarker(buffer.name);
    const result = await catchUp({
      ask: (subcommand, reference) => historyRequest(buffer, subcommand, reference),
      since,
      readTo: () => buffer.unreadAfter,
      forget: (ms) => state.dropBefore(buffer, ms + 1),
      time: messageTime,
      ref: (item) => client.historyRef(messageTags(item).msgid, messageTime(item)),
    });
    if (result.error === "disconnected" || result.error === "timeout") return; // due on the next return
    buffer.historyPending = false;
    buffer.resumeFrom = 0;
    if (result.end === "beginning" || (result.end === "error" && !since)) buffer.historyDone = true;
    if (result.end === "cap") state.missedMoreThanFetched(buffer, messageTime(result.oldest));
    state.emit("caughtUp", buffer.key); // what was missed is in: the view may open at its line
    state.caughtUpWith(buffer);
  }

  function messageTags(item) {
    return (item.command === "BATCH" ? item.batch.tags : item.tags) || {};
  }

  function messageTime(item) {
    return Date.parse(messageTags(item).time) || 0;
  }

  function catchUpQueries() {
    for (const b of state.buffers.values()) if (b.kind === "query" && (b.resumeFrom || b.historyPending)) catchUpLater(b);
  }

  // -- search (soju.im/search) ----------------------------------------------------------

  async function runSearch(text) {
    if (!client.has("soju.im/search")) {
      state.info("This server does not offer search.", { kind: "error" });
      return;
    }
    const b = state.activeBuffer;
    if (b.kind === "server") {
      view.showSearchResults(text, [], "Search looks through one conversation: open a channel or a private conversation, and search there.");
      return;
    }
    const { text: words, from } = parseSearch(text); // "from:nick seeds"
    const { messages, error } = await client.search({ text: words, from, limit: 100, in: b.name });
    view.showSearchResults(text, error ? [] : state.searchResults({ messages }), error && searchFailure(error, b));
  }

  /** Why a search found nothing to show, in words (the server's FAIL code, or the client's). */
  function searchFailure(error, buffer) {
    if (error === "INVALID_PARAMS" && buffer.kind === "query") {
      return "No history is kept of this conversation (the server keeps private messages between two " +
        "people logged in to accounts), so it cannot be searched.";
    }
    if (error === "INVALID_PARAMS") return `${buffer.name} cannot be searched from here.`;
    if (error === "timeout") return "The server did not answer the search in time.";
    if (error === "disconnected") return "The connection dropped before the search was answered.";
    if (error === "INTERNAL_ERROR") return "The server could not search its history just now.";
    return `Search failed (${error}).`;
  }

  /**
   * A search result picked: its conversation shown and the message gone to. One not
   * loaded is fetched by going back page by page from the oldest loaded (BEFORE), as
   * scrolling up would: the conversation stays whole. A window fetched around it
   * (AROUND) would leave a hole between it and the rest that scroll-back never fills.
   */
  async function showFound(found) {
    if (!found) return;
    const key = state.keyOf(found.target);
    const buffer = state.buffers.get(key) || state.ensureBuffer(found.target);
    ui.switchTo(key);
    let rec = foundRecord(buffer, found);
    let pages = 0;
    while (!rec && pages < FOUND_PAGES && reachable(buffer, found)) {
      pages++;
      await fetchOlder(buffer);
      if (state.buffers.get(key) !== buffer) return; // closed meanwhile
      rec = foundRecord(buffer, found);
    }
    if (state.active !== key) return; // the person went elsewhere meanwhile: left alone
    if (rec) view.revealMessage(key, rec);
    else {
      const far = pages >= FOUND_PAGES && reachable(buffer, found);
      state.info(far ? `That message from ${found.nick} is further back than ${FOUND_PAGES * HISTORY_PAGE} messages: scroll up to reach it.`
        : `That message from ${found.nick} is not in the history of ${found.target} any more.`, { buffer });
    }
  }

  const reachable = (buffer, found) => hasHistory() && mayReachBack(buffer, found);

  // -- read markers (draft/read-marker) -----------------------------------------------------

  // Each conversation read since the timer was set, with the newest time seen there: one
  // looked at and left before the timer fires is marked too (up to what was on screen).
  const toMark = new Map(); // buffer -> ms
  let markTimer = null;
  function scheduleMarkRead() {
    if (!client.has("draft/read-marker")) return;
    noteRead(state.activeBuffer);
    if (!markTimer) markTimer = setTimeout(markReadNow, MARKREAD_DELAY_MS);
  }

  function noteRead(b) {
    if (b.kind !== "server" && state.focused) toMark.set(b, Math.max(toMark.get(b) || 0, b.lastServerTime()));
  }

  function markReadNow() {
    markTimer = null;
    noteRead(state.activeBuffer); // what came into view meanwhile (history) is read too
    for (const [b, last] of toMark) {
      if (state.buffers.get(b.key) === b && last > b.readMarker) {
        b.readMarker = last;
        client.markRead(b.name, last);
      }
    }
    toMark.clear();
  }

  // -- the input box ------------------------------------------------------------------------

  const input = $("input");
  const sent = [];
  let sentIndex = -1; // -1: the line being written; 0..: going back through what was sent
  let draft = "";
  let completion = null; // {start, matches, index, end}
  let typingPause = null;

  function focusInput() {
    // On phones, do not pop the keyboard up after every tap.
    if (!window.matchMedia("(pointer: coarse)").matches) input.focus();
  }

  function insertNick(nickname) {
    const text = input.value;
    input.value = text ? `${text}${text.endsWith(" ") ? "" : " "}${nickname} ` : `${nickname}: `;
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
    autosize();
  }

  function autosize() {
    // The box growing shrinks the list above it: one that followed the newest lines goes
    // on following them (else its scroll position stays, the newest go behind the box,
    // and the next scroll event reads that as the reader having scrolled up).
    const following = view.messages.stuck;
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight + 2, 192)}px`;
    if (following) view.messages.scrollToBottom();
  }

  function typingTarget() {
    const b = state.activeBuffer;
    // not to a channel left or kicked from: the server would refuse each notification
    return b.kind === "server" || (b.kind === "channel" && !b.joined) ? null : b.name;
  }

  function onTyping() {
    const target = typingTarget();
    if (!target) return;
    clearTimeout(typingPause);
    const text = input.value;
    if (!text || text.startsWith("/")) {
      client.typing(target, "done");
      return;
    }
    client.typing(target, "active");
    typingPause = setTimeout(() => client.typing(target, "paused"), TYPING_PAUSE_MS);
  }

  // What the person was writing when "Join a channel…" put /join in the box, and where:
  // given back in that conversation (the /join switches to the new channel, and the box
  // is shared by every conversation: back here it would be sent to the wrong one).
  let parkedDraft = null;
  state.subscribe((change) => {
    if (change.type === "active" && parkedDraft && change.key === parkedDraft.key && !input.value) {
      input.value = parkedDraft.text;
      parkedDraft = null;
      autosize();
    }
  });

  // -- replies -------------------------------------------------------------------------

  /** Reply and React are offered on people's messages that have a msgid, where the server
   * relays client tags (message-tags), in a conversation one can speak in. */
  function answerable(rec) {
    const b = state.activeBuffer;
    if (!rec.msgid || !client.has("message-tags") || b.kind === "server") return false;
    return !(b.kind === "channel" && !b.joined) && !(rec.nick || "").includes(".");
  }

  let replying = null; // {key, rec}: the message Enter answers, in that conversation

  function startReply(rec) {
    showReply(state.active, rec);
    input.focus();
  }

  /** The reply `rec` is (null: to the message `msgid` no longer loaded), in `key`'s conversation. */
  function showReply(key, rec, msgid = rec && rec.msgid) {
    replying = { key, rec: rec || { msgid } };
    let said = rec ? stripFormatting(rec.text).replace(/\s+/g, " ").trim() : "";
    if ([...said].length > REPLY_QUOTE_CHARS) said = `${[...said].slice(0, REPLY_QUOTE_CHARS).join("")}…`;
    $("replying-text").textContent = rec ? `Replying to ${rec.nick}: ${said}` : "Replying to an earlier message";
    $("replying").hidden = false;
  }

  /** Text given back to the box after a refusal or a lost connection was a reply (`reply`,
   * its msgid) said in `buffer`: the reply comes back with it, so that Enter sends it as
   * one again. (Given back as a /msg from another conversation it cannot be one.) */
  function giveReplyBack(buffer, reply) {
    if (reply && buffer.key === state.active) showReply(buffer.key, buffer.msgids.get(reply) || null, reply);
  }

  function cancelReply() {
    if (!replying) return false;
    replying = null;
    $("replying").hidden = true;
    $("replying-text").textContent = "";
    return true;
  }

  $("replying-cancel").addEventListener("click", () => {
    cancelReply();
    input.focus();
  });
  // A reply belongs to its conversation: going elsewhere drops it.
  state.subscribe((change) => {
    if (change.type === "active" && replying && change.key !== replying.key) cancelReply();
  });

  function submit() {
    const text = input.value;
    if (!text.trim()) return;
    clearTimeout(typingPause);
    if (sent[0] !== text) sent.unshift(text);
    if (sent.length > INPUT_HISTORY) sent.pop();
    sentIndex = -1;
    input.value = "";
    autosize();
    if (!client.registered && !text.startsWith("/")) {
      state.info("Not connected: the message was not sent.", { kind: "error" });
      input.value = text;
      return;
    }
    if (parkedDraft !== null && !/^\/j(oin)?\s/i.test(text)) parkedDraft = null; // the person did something else
    // A reply goes with what is said next here; a command leaves it waiting.
    const reply = replying && replying.key === state.active && !text.startsWith("/") ? replying.rec.msgid : null;
    if (reply) cancelReply();
    runInput(ctx, text, { reply });
    view.messages.jumpToBottom();
  }

  function complete(backwards) {
    if (!completion) {
      const caret = input.selectionStart;
      const { start, word } = wordBefore(input.value, caret);
      const b = state.activeBuffer;
      // Who is here now, by folded nick: someone who left or changed nick since they
      // spoke is not offered under the old name.
      const present = new Map(state.members(b.name).map((m) => [state.fold(m.nick), m.nick]));
      if (b.kind === "query") present.set(b.key, b.name);
      // Recent speakers first, then everyone else in the channel.
      const recent = [];
      for (let i = b.messages.length - 1; i >= 0 && recent.length < 50 && i > b.messages.length - 500; i--) {
        const r = b.messages[i];
        const nick = r.nick && present.get(state.fold(r.nick));
        if (nick && !r.self && (r.kind === "message" || r.kind === "action")) recent.push(nick);
      }
      const nicks = [...recent, ...present.values()].filter((n) => !state.isSelf(n));
      const channels = state.orderedBuffers().filter((x) => x.kind === "channel").map((x) => x.name);
      const matches = completions(word, start === 0, { fold: state.fold, nicks, channels, chantypes: state.chantypes });
      if (!matches.length) return false;
      completion = { start, end: caret, matches, index: -1, original: word };
    }
    const c = completion;
    const count = c.matches.length; // Shift+Tab first: the last match, as Tab first gives the first
    c.index = c.index < 0 ? (backwards ? count - 1 : 0) : (c.index + (backwards ? -1 : 1) + count) % count;
    const replacement = c.matches[c.index];
    const text = input.value;
    input.value = text.slice(0, c.start) + replacement + text.slice(c.end);
    c.end = c.start + replacement.length;
    input.setSelectionRange(c.end, c.end);
    // a value set by script is not read out: what Tab put in the box, and how many more
    view.say(count > 1 ? `${replacement.trim()} (${c.index + 1} of ${count})` : replacement.trim());
    return true;
  }

  function caretOnFirstLine() {
    return !input.value.slice(0, input.selectionStart).includes("\n");
  }

  function caretOnLastLine() {
    return !input.value.slice(input.selectionEnd).includes("\n");
  }

  function recall(step) {
    if (!sent.length) return false;
    const next = Math.max(-1, Math.min(sent.length - 1, sentIndex + step));
    if (next === sentIndex) return false;
    if (sentIndex === -1) draft = input.value;
    sentIndex = next;
    input.value = sentIndex === -1 ? draft : sent[sentIndex];
    input.setSelectionRange(input.value.length, input.value.length);
    autosize();
    return true;
  }

  input.addEventListener("keydown", (event) => {
    // a modifier pressed alone (the Shift of Shift+Tab) is no edit: the completion goes on
    if (event.key !== "Tab" && !["Shift", "Control", "Alt", "Meta"].includes(event.key)) completion = null;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    } else if (event.key === "Escape" && !event.isComposing && cancelReply()) {
      event.preventDefault();
    } else if (event.key === "Tab" && !event.ctrlKey && !event.altKey) {
      // Tab completes when there is a word to complete; otherwise it moves focus as usual.
      if (complete(event.shiftKey)) event.preventDefault();
    } else if (event.key === "ArrowUp" && !event.altKey && caretOnFirstLine()) {
      if (recall(1)) event.preventDefault();
    } else if (event.key === "ArrowDown" && !event.altKey && caretOnLastLine()) {
      if (recall(-1)) event.preventDefault();
    } else if ((event.key === "PageUp" || event.key === "PageDown") && !event.shiftKey) {
      event.preventDefault();
      const m = $("messages");
      m.scrollBy({ top: (event.key === "PageUp" ? -0.85 : 0.85) * m.clientHeight });
    }
  });
  input.addEventListener("input", () => {
    completion = null; // an edit by other means than a key (a paste by mouse): completing starts again
    autosize();
    onTyping();
  });
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
    input.focus();
  });

  $("join-button").addEventListener("click", () => {
    if (input.value.trim() && !input.value.startsWith("/")) parkedDraft = { key: state.active, text: input.value };
    input.value = "/join #";
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
    view.closePanels();
  });
  $("browse-button").addEventListener("click", () => ui.openChannelList(""));
  $("help-button").addEventListener("click", openHelp);

  function openHelp() {
    const list = $("help-commands");
    const entry = (c) => [el("dt", {}, el("code", { text: c.usage })), el("dd", { text: c.help })];
    const all = Object.values(COMMANDS);
    list.replaceChildren(...all.filter((c) => !c.group).flatMap(entry));
    // The channel operator's commands under a heading of their own.
    $("help-moderation").replaceChildren(...all.filter((c) => c.group === "Moderation").flatMap(entry));
    $("help-dialog").showModal();
  }

  // -- the keyboard, page-wide ----------------------------------------------------------

  function moveBuffer(step) {
    const order = state.orderedBuffers();
    const i = order.findIndex((b) => b.key === state.active);
    const next = order[(i + step + order.length) % order.length];
    ui.switchTo(next.key);
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented) return;
    const dialogOpen = document.querySelector("dialog[open]");
    if (event.shiftKey && event.key === "PageUp" && !event.altKey && !event.ctrlKey && !event.metaKey && !dialogOpen) {
      event.preventDefault();
      view.jumpToNewLine();
    } else if (event.altKey && !event.ctrlKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
      event.preventDefault();
      moveBuffer(event.key === "ArrowUp" ? -1 : 1);
    } else if (event.altKey && !event.ctrlKey && /^Digit[1-9]$/.test(event.code)) {
      const b = state.orderedBuffers()[Number(event.code.slice(5)) - 1];
      if (b) {
        event.preventDefault();
        ui.switchTo(b.key);
      }
    } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k" && !dialogOpen) {
      event.preventDefault();
      view.openSwitcher();
    } else if (event.key === "Escape" && !dialogOpen) {
      view.closePanels();
      input.focus();
    } else if (!dialogOpen && event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) {
      // Typing anywhere (not in a field) goes to the message box.
      const t = event.target;
      if (t === document.body || $("messages").contains(t)) input.focus();
    }
  });

  // -- focus, visibility, network ------------------------------------------------------------

  const updateFocus = () => state.setFocused(document.visibilityState === "visible" && document.hasFocus());
  window.addEventListener("focus", updateFocus);
  window.addEventListener("blur", updateFocus);
  document.addEventListener("visibilitychange", () => {
    updateFocus();
    if (document.hidden) storeSeen();
    if (!document.hidden) view.schedule();
  });
  window.addEventListener("online", () => client.reconnectNow());
  // An invite link opened in this tab while the session runs: its channels joined now
  // (or once connected), the first shown.
  let invitedLater = [];
  window.addEventListener("hashchange", () => {
    const invited = invitation();
    if (!invited.length) return;
    forgetInvite();
    if (client.registered) runInput(ctx, `/join ${invited.join(",")}`);
    else invitedLater = invited;
  });
  client.on("registered", () => {
    if (invitedLater.length) runInput(ctx, `/join ${invitedLater.join(",")}`);
    invitedLater = [];
  });
  updateFocus();

  state.setActive(SERVER_KEY);
  client.connect();
  focusInput();
  // For the curious and for tests: the session from the console.
  window.hubbub = session;
}

/** The channels the page's address invites to; a fragment naming a part of the page
 * (the skip link's "#input") is no invitation. */
function invitation() {
  const anchor = location.hash.length > 1 && !new URLSearchParams(location.search).get("join");
  if (anchor && document.getElementById(location.hash.slice(1))) return [];
  return invitedChannels(location);
}

/** An invite link's channels are asked for once: a reload later does not join them again
 * (one left meanwhile stays left). */
function forgetInvite() {
  if (!invitation().length) return;
  const url = new URL(location.href);
  url.searchParams.delete("join");
  url.hash = "";
  history.replaceState(null, "", `${url.pathname}${url.search}`);
}

function main() {
  const settings = loadRemembered();
  const { resume, reason } = resumeOnLoad(settings);
  if (resume) {
    // A reload resumes the session (the password only if it was remembered); an invite
    // link adds its channels, and the session lands in the first.
    const password = settings.remember ? settings.password || "" : "";
    const serverPassword = settings.remember ? settings.serverPassword || "" : "";
    const queries = queriesToRestore(settings, settings.nick);
    const invited = invitation();
    const active = invited.length ? invited[0] : activeToRestore(settings, settings.nick);
    const channels = withInvited(invited, settings.channels || []);
    startSession({ nick: settings.nick, password, serverPassword, account: settings.account, channels, queries, active });
  } else {
    showConnectScreen(reason);
  }
}

main();
