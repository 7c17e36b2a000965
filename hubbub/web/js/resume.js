// What a page load does with what the browser remembers of the last session (the
// settings main.js keeps in localStorage): resume it at once, ask for what was not
// kept, or start afresh; and which private conversations come back with it. Plain
// rules over a plain object, so that node tests them without a browser.

/** Said on the connect screen when a reload cannot resume by itself for want of the password. */
export const PASSWORD_NOT_KEPT = "Your password is not remembered in this browser: enter it to reconnect.";

/**
 * On page load: `resume` when the last session was going on (no /quit, no nickname
 * refused) and everything it needs is remembered; otherwise the connect screen, with
 * the `reason` it is shown when that session was going on (its password was not to be
 * kept), and no reason for a first visit or after a /quit.
 */
export function resumeOnLoad(settings) {
  if (!settings.autoconnect || !settings.nick) return { resume: false, reason: "" };
  if (settings.usesPassword && !settings.remember) return { resume: false, reason: PASSWORD_NOT_KEPT };
  return { resume: true, reason: "" };
}

/**
 * The private conversations to open again for `nick`: those open when the last session
 * was cut short (a reload), by the same nickname. After a /quit the next session starts
 * without them, as channels left do; someone else's name does not get them either.
 */
export function queriesToRestore(settings, nick) {
  if (!settings.autoconnect || settings.nick !== nick || !Array.isArray(settings.queries)) return [];
  const names = settings.queries.filter((name) => typeof name === "string" && name !== "");
  return [...new Set(names)];
}
