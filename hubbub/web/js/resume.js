// What a page load does with what the browser remembers of the last session (the
// settings main.js keeps in localStorage, and what each tab keeps of its own in
// sessionStorage): resume it at once, ask for what was not kept, or start afresh;
// which private conversations come back with it; which buffer is shown once they are
// back; and the account it logs in to. Plain rules over plain objects, so that node
// tests them without a browser.

/** Said on the connect screen when a reload cannot resume by itself for want of the password. */
export const PASSWORD_NOT_KEPT = "Your password is not remembered in this browser: enter it to reconnect.";

/**
 * Whether the last session was going on when the page went (a reload, the tab closed):
 * not ended by a /quit (`quit`: see tabView), nor by the server refusing the nickname
 * or its password (`autoconnect` false: every tab's, since another tab connecting with
 * them would be refused again).
 */
function goingOn(settings) {
  return !!settings.autoconnect && !settings.quit;
}

/**
 * On page load: `resume` when the last session was going on and everything it needs is
 * remembered; otherwise the connect screen, with the `reason` it is shown when that
 * session was going on (its password was not to be kept), and no reason for a first
 * visit or after a /quit.
 */
export function resumeOnLoad(settings) {
  if (!goingOn(settings) || !settings.nick) return { resume: false, reason: "" };
  if ((settings.usesPassword || settings.usesServerPassword) && !settings.remember) {
    return { resume: false, reason: PASSWORD_NOT_KEPT };
  }
  return { resume: true, reason: "" };
}

/**
 * What each tab keeps of its own session (sessionStorage), over what the browser shares
 * (localStorage): the channels it is in and their keys, its private conversations, the
 * buffer it shows. Two tabs of one browser are two sessions: one's /join must not be
 * what the other's reload rejoins. The rest (the nick chosen, the account and its
 * password, the ignore list...) is the person's, shared by every tab.
 */
export const TAB_KEYS = ["channels", "channelKeys", "queries", "active"];

/** The part of `settings` a tab keeps of its own (the keys it has of TAB_KEYS). */
export function tabPart(settings) {
  return Object.fromEntries(TAB_KEYS.filter((key) => settings[key] !== undefined).map((key) => [key, settings[key]]));
}

/**
 * The settings as a tab sees them: the shared ones, with the tab's own session (`tab`,
 * from its sessionStorage) in place of whatever tab wrote last, all of it (what the tab
 * has not got, it has not got). A tab that has none yet (a new tab, or one that never
 * started a session) sees the shared ones: it starts where the browser last was.
 *
 * `quit` too is the tab's own: a /quit ends the session of the tab it was typed in, and
 * another tab's reload resumes its own. The shared one says what a new tab starts from:
 * written by every /quit, and taken back by the tabs whose session goes on (main.js),
 * it stands once the last of them has quit.
 */
export function tabView(settings, tab) {
  if (!tab || typeof tab !== "object" || Array.isArray(tab)) return settings;
  const view = { ...settings };
  for (const key of TAB_KEYS) {
    if (tab[key] === undefined) delete view[key];
    else view[key] = tab[key];
  }
  if (tab.quit === true) view.quit = true;
  else delete view.quit;
  return view;
}

/**
 * What the connect screen's Account field shows: the account remembered (the one last
 * logged in to) when it is not the one named like the nick remembered; else nothing,
 * which means "the account named like the nickname".
 */
export function accountShown(settings) {
  const { account, nick } = settings;
  if (typeof account !== "string" || !account) return "";
  return typeof nick === "string" && nick.toLowerCase() === account.toLowerCase() ? "" : account;
}

/**
 * What is said when the login failed (SASL 904) to `account` while connecting as
 * `nick`. Named like the nick, the account may not exist yet: how to create it. An
 * account named otherwise (another device's nick, a /nick since) exists, or was
 * mistyped: creating one named like this nick would be a second account.
 */
export function loginFailed(text, account, nick, fold = (name) => name.toLowerCase()) {
  if (!account || fold(account) === fold(nick)) {
    return `Login failed: ${text}. You are connected without your account. ` +
      "No account by that name? Type /register <password> to create one with this nick.";
  }
  return `Login to the account ${account} failed: ${text}. You are connected without your account: check ` +
    `the account's name and its password (/msg NickServ IDENTIFY ${account} <password> logs in from here).`;
}

/**
 * The private conversations to open again for `nick`: those open when the last session
 * was cut short (a reload), by the same nickname. After a /quit the next session starts
 * without them, as channels left do; someone else's name does not get them either.
 */
export function queriesToRestore(settings, nick) {
  if (!goingOn(settings) || settings.nick !== nick || !Array.isArray(settings.queries)) return [];
  const names = settings.queries.filter((name) => typeof name === "string" && name !== "");
  return [...new Set(names)];
}

/**
 * What `active` holds for the server buffer. No nickname or channel can be named "*"
 * (it is IRC's own word for "nobody yet"), so it never stands for a conversation.
 */
export const SERVER_BUFFER = "*";

/** What is remembered of the buffer being looked at: its name, or SERVER_BUFFER. */
export function activeSetting(buffer) {
  return buffer.kind === "server" ? SERVER_BUFFER : buffer.name;
}

/**
 * The buffer to go back to for `nick`: the one looked at when the last session was cut
 * short (a reload), by the same nickname, as for its private conversations; else null.
 */
export function activeToRestore(settings, nick) {
  if (!goingOn(settings) || settings.nick !== nick) return null;
  return typeof settings.active === "string" && settings.active !== "" ? settings.active : null;
}

/**
 * The target an error numeric is about, or null: a JOIN refused names its channel first
 * after our nick (`474 alice #c :Cannot join channel (+b)`, and 403, 471, 473, 475...).
 */
export function refusedTarget(msg) {
  return /^[45]\d\d$/.test(msg.command) && msg.params.length >= 3 ? msg.params[1] : null;
}

/**
 * Where a new session lands. A reload goes back to the buffer the person was looking at
 * (`wanted`): the server buffer at once, a private conversation once reopened, a
 * channel once joined. Otherwise, or when it does not come back (its join refused), the
 * first of `channels` once joined, as a fresh connection does. Until the one wanted has
 * come or failed, the first channel is not shown on the way: the page stays on the
 * server buffer for that moment instead of flashing a conversation (and marking it
 * read) that the person did not ask for.
 *
 * Once the person goes somewhere themselves, the landing is over: nothing that comes
 * back later takes them away from where they chose to be.
 *
 * Each event returns the name of the buffer to show now, or null. `pending` says that
 * the landing is not over (a buffer may still be shown by it).
 */
export class Landing {
  constructor({ wanted = null, channels = [], queries = [], fold = (name) => name }) {
    this.fold = fold;
    const among = (names) => names.some((name) => fold(name) === fold(wanted));
    // A buffer that is neither joined again nor reopened cannot come back: not waited for.
    const back = wanted !== null && wanted !== SERVER_BUFFER && (among(channels) || among(queries));
    this.wanted = back ? wanted : null;
    this.first = channels.length ? channels[0] : null;
    this.firstHere = false;
    // The server buffer is where every session starts: nothing to wait for.
    this.pending = wanted !== SERVER_BUFFER && (this.wanted !== null || this.first !== null);
  }

  same(name, other) {
    return other !== null && this.fold(name) === this.fold(other);
  }

  /** A buffer exists now: a channel joined, a private conversation reopened. */
  arrived(name) {
    if (!this.pending) return null;
    if (this.same(name, this.wanted)) return this.land(name);
    if (this.same(name, this.first)) this.firstHere = true;
    return this.next();
  }

  /** `name` will not come back (the server refused to let us into that channel). */
  missed(name) {
    if (!this.pending) return null;
    if (this.same(name, this.wanted)) this.wanted = null;
    if (this.same(name, this.first)) this.first = null;
    return this.next();
  }

  /** Nothing more will come (the connection was lost on the way, the network refuses
   * every join): the first channel if it is there already, else stay. */
  giveUp() {
    if (!this.pending) return null;
    this.wanted = null;
    if (!this.firstHere) this.first = null;
    return this.next();
  }

  /** The person went somewhere themselves. */
  moved() {
    this.pending = false;
  }

  next() {
    if (this.wanted !== null) return null; // still to come: it goes first
    if (this.first === null) {
      this.pending = false; // nowhere to go: the server buffer it is
      return null;
    }
    return this.firstHere ? this.land(this.first) : null;
  }

  land(name) {
    this.pending = false;
    return name;
  }
}

/**
 * The channels an invite link names: `/#garden`, `/#a,#b` (the address's fragment is
 * the channel list) or `/?join=%23garden` (also `#a,#b`, and names without their `#`).
 * [] when it names none.
 */
export function invitedChannels({ hash = "", search = "" } = {}) {
  let list = "";
  try {
    const join = new URLSearchParams(search).get("join");
    if (join) list = join;
    else if (hash.length > 1) list = decodeURIComponent(hash); // "#garden": its own "#" starts the name
  } catch {
    return []; // a malformed %-escape: no invitation
  }
  const names = list.split(/[\s,]+/).filter(Boolean).map((c) => (/^[#&]/.test(c) ? c : `#${c}`));
  const seen = new Set();
  return names.filter((c) => /^[#&][^\x00-\x20,:]+$/.test(c) && !seen.has(c.toLowerCase()) && seen.add(c.toLowerCase()));
}

/** The channels to join: those invited to first (the first is where the session lands),
 * then the others, each once. */
export function withInvited(invited, channels) {
  const seen = new Set(invited.map((c) => c.toLowerCase()));
  return [...invited, ...channels.filter((c) => !seen.has(c.toLowerCase()))];
}
