// Desktop notifications: someone names you, or writes to you privately, while the page
// is not in front (another tab, another window, the screen locked). What is shown and
// when is plain logic, tested by node; main.js wires it to the browser's Notification
// and to the `/notify` command, and the person turns it on (browsers ask their
// permission only after a click or a key: never by themselves at load).

import { stripFormatting } from "./format.js";

/** Of a long line, what a notification shows: the desktop cuts it anyway, unevenly. */
export const BODY_CHARS = 200;

/**
 * What a notification of `record`, a line just appended live to `buffer`, says; null
 * when none is due. Due: turned on (`enabled`) and allowed by the browser
 * (`permission`), the page not in front (`focused`), a line said by someone else
 * (message or action: a notice is a service's or a bot's), naming you (`record.mention`)
 * or in a private conversation. One per conversation (`tag`): the newest replaces the
 * one before, so a burst is one notification, not a stack of them.
 */
export function notification(record, buffer, { enabled, permission, focused, name }) {
  if (!enabled || permission !== "granted" || focused || record.self) return null;
  if (record.kind !== "message" && record.kind !== "action") return null;
  const personal = buffer.kind === "query";
  if (!personal && !record.mention) return null;
  const text = stripFormatting(record.text);
  const said = record.kind === "action" ? `* ${record.nick} ${text}` : text;
  const body = said.length > BODY_CHARS ? `${said.slice(0, BODY_CHARS - 1)}…` : said;
  return { title: personal ? record.nick : `${record.nick} in ${name}`, body, tag: buffer.key };
}

/**
 * What `/notify` says of where things stand: `setting` (the person's choice, true or
 * false) and `permission` (the browser's: "granted", "denied", "default", or
 * "unsupported" where there is no Notification at all).
 */
export function notifyStatus(setting, permission) {
  if (permission === "unsupported") return "This browser cannot show desktop notifications.";
  if (permission === "denied") {
    return "Desktop notifications are blocked for this site: allow them in the browser's site settings (the icon left of the address), then type /notify on.";
  }
  if (setting && permission === "granted") {
    return "Desktop notifications are on: a mention of you or a private message shows on the desktop while this page is not in front. /notify off turns them off.";
  }
  return "Desktop notifications are off. /notify on shows one when someone mentions you or writes to you privately while this page is not in front.";
}
