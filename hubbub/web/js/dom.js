// The only ways text from the network reaches the page: element creation and
// textContent. Nothing here (or anywhere in the client) parses a string as HTML, so a
// nick, topic or message that looks like markup stays text.

import { nickColour, richText } from "./format.js";

/** el("div", {class: "row", title: "..."}, child, "text", ...) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function styleClasses(style) {
  const classes = [];
  if (style.bold) classes.push("b");
  if (style.italic) classes.push("i");
  if (style.underline) classes.push("u");
  if (style.strike) classes.push("s");
  if (style.mono) classes.push("m");
  let { fg, bg } = style;
  if (style.reverse) {
    if (fg === null && bg === null) classes.push("rev");
    [fg, bg] = [bg, fg];
  }
  return { classes, fg, bg };
}

/**
 * Append IRC-formatted text to `parent`: styled spans, and links for http(s) URLs only
 * (format.safeUrl decided). Links open in a new tab without handing it our window.
 */
export function appendRich(parent, text) {
  for (const run of richText(text)) {
    const style = run.style || {};
    const { classes, fg, bg } = styleClasses(style);
    const styled = classes.length || fg !== null && fg !== undefined || bg !== null && bg !== undefined;
    if (!run.href && !styled) {
      parent.append(document.createTextNode(run.text));
      continue;
    }
    const node = document.createElement(run.href ? "a" : "span");
    if (run.href) {
      node.href = run.href;
      node.rel = "noopener noreferrer nofollow";
      node.target = "_blank";
    }
    node.textContent = run.text;
    // Palette colours are classes; hex colours (\x04) go through the CSSOM, which the
    // Content-Security-Policy allows (style attributes in markup it would not).
    if (typeof fg === "number") classes.push(`fg-${fg}`);
    else if (typeof fg === "string") node.style.color = fg;
    if (typeof bg === "number") classes.push(`bg-${bg}`);
    else if (typeof bg === "string") node.style.backgroundColor = bg;
    if (classes.length) node.className = classes.join(" ");
    parent.append(node);
  }
}

export function nickClass(fold, nick) {
  return `nc-${nickColour(fold(nick))}`;
}

const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fullDate = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", year: "numeric", month: "long", day: "numeric" });

export function timeElement(ms) {
  const date = new Date(ms);
  return el("time", { class: "ts", datetime: date.toISOString(), title: fullDate.format(date), text: clock.format(date) });
}

const shortDay = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const shortDayYear = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });

/** A time, with its date in front when it is not today ("3 Dec 14:02"; the year when
 * not this one): for lines shown out of their day's context (search results). */
export function whenElement(ms, now = Date.now()) {
  const node = timeElement(ms);
  if (dayOf(ms) === dayOf(now)) return node;
  const date = new Date(ms);
  const day = (date.getFullYear() === new Date(now).getFullYear() ? shortDay : shortDayYear).format(date);
  node.textContent = `${day} ${node.textContent}`;
  return node;
}

export function dayLabel(ms) {
  return dayFormat.format(new Date(ms));
}

/** A day number in local time: two messages on the same day share it. */
export function dayOf(ms) {
  const d = new Date(ms);
  return d.getFullYear() * 10000 + d.getMonth() * 100 + d.getDate();
}
