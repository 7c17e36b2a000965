// A channel's mode changes in words: "gave bob operator status and made #c invite-only"
// where IRC shows "+oi bob". A person who never learnt the letters reads what happened
// and to whom; the view puts the letters after it for those who know them. The same
// wording as the server's plain-text mode and the terminal client (hubbub/irc/modewords.py).

// Given to, or taken from, members: [given, taken], "{}" their nicks
const STATUS = {
  q: ["made {} founder", "took founder status from {}"],
  a: ["gave {} protected status", "took protected status from {}"],
  o: ["gave {} operator status", "took operator status from {}"],
  h: ["gave {} half-operator status", "took half-operator status from {}"],
  v: ["gave {} a voice", "took the voice from {}"],
};

// On a list of masks: [added, removed], "{}" the masks; bm, em: a mute (m:mask) on the
// ban list, and its exemption, said as such (the mask without its m:)
const LISTS = {
  b: ["banned {}", "lifted the ban on {}"],
  e: ["exempted {} from bans", "took back the ban exemption of {}"],
  I: ["let {} in without an invitation", "took back the invite exemption of {}"],
  bm: ["muted {}", "lifted the mute on {}"],
  em: ["exempted {} from mutes", "took back the mute exemption of {}"],
};

/** The phrase a list or status change is said with, and the name it says. */
function named(letter, param) {
  if (param.slice(0, 2).toLowerCase() === "m:" && LISTS[letter + "m"]) return [letter + "m", param.slice(2)];
  return [letter, param];
}

// About the channel itself: [set, unset], "{c}" the channel
const FLAGS = {
  i: ["made {c} invite-only", "let anyone join {c} without an invitation"],
  m: ["moderated {c}: only people with a voice talk", "let everyone in {c} talk again"],
  n: ["kept messages from outside out of {c}", "let people outside {c} send messages to it"],
  s: ["made {c} secret", "made {c} visible to everyone"],
  t: ["let only operators set the topic of {c}", "let anyone in {c} set its topic"],
  C: ["blocked CTCP in {c}", "allowed CTCP in {c}"],
  T: ["blocked notices to {c}", "allowed notices to {c}"],
  K: ["stopped people knocking on {c}", "allowed knocking on {c}"],
  R: ["let only people logged in to an account join {c}", "let people without an account join {c}"],
  M: ["let only people logged in to an account (or with a voice) talk in {c}", "let people without an account talk in {c}"],
};

/**
 * "+o-k bob key" as [{adding, letter, param}], by the server's CHANMODES (its four
 * groups: lists, always a parameter, a parameter when set, never) and PREFIX modes.
 */
export function parseModeChanges(modeString, args, chanmodes, prefixModes) {
  const [lists = "", always = "", whenSet = ""] = chanmodes;
  const changes = [];
  const queue = [...args];
  let adding = true;
  for (const letter of modeString) {
    if (letter === "+" || letter === "-") {
      adding = letter === "+";
      continue;
    }
    const takes = prefixModes.includes(letter) || lists.includes(letter) || always.includes(letter)
      || (adding && whenSet.includes(letter));
    changes.push({ adding, letter, param: takes && queue.length ? queue.shift() : null });
  }
  return changes;
}

/** "a", "a and b", "a, b and c". */
function listed(items) {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

function aboutChannel({ adding, letter, param }, channel) {
  if (FLAGS[letter]) return FLAGS[letter][adding ? 0 : 1].replaceAll("{c}", channel);
  if (letter === "k") return adding && param ? `set the key of ${channel} to ${param}` : `removed the key of ${channel}`;
  if (letter === "l") return adding && param ? `let at most ${param} people into ${channel}` : `lifted the limit on ${channel}`;
  if (letter === "f") {
    if (!adding || !param) return `lifted the flood rule of ${channel}`;
    const [lines, seconds = ""] = param.replace(/^\*/, "").split(":");
    const banned = param.startsWith("*") ? " and banned" : "";
    return `kicked${banned} whoever sends more than ${lines} lines in ${seconds} seconds to ${channel}`;
  }
  if (letter === "j") {
    if (!adding || !param) return `lifted the join rule of ${channel}`;
    const [joins, seconds = ""] = param.split(":");
    return `closed ${channel} for a while to newcomers after ${joins} joins in ${seconds} seconds`;
  }
  return `set ${adding ? "+" : "-"}${letter}${param !== null ? ` ${param}` : ""} on ${channel}`;
}

/**
 * The changes as one phrase, without who made them. Consecutive changes of one status
 * or list, with the same sign, are said once for all their nicks or masks.
 */
export function modesInWords(changes, channel) {
  const phrases = [];
  for (let i = 0; i < changes.length; i++) {
    const change = changes[i];
    if ((STATUS[change.letter] || LISTS[change.letter]) && change.param !== null) {
      const [key, name] = named(change.letter, change.param);
      const names = [name];
      while (i + 1 < changes.length && changes[i + 1].adding === change.adding
        && changes[i + 1].letter === change.letter && changes[i + 1].param !== null
        && named(change.letter, changes[i + 1].param)[0] === key) {
        names.push(named(change.letter, changes[++i].param)[1]);
      }
      const pair = STATUS[key] || LISTS[key];
      phrases.push(pair[change.adding ? 0 : 1].replace("{}", listed(names)));
    } else {
      phrases.push(aboutChannel(change, channel));
    }
  }
  return listed(phrases);
}
