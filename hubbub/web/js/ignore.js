// Whom the person ignores (/ignore): a nick (`bob`, `bo*`) or a mask (`*!*@host`), with
// the wildcards * and ?, as the terminal client takes them. A mask is completed as the
// server completes a SILENCE entry or a channel ban (`bob!u` is `bob!u@*`, `*@host` is
// `*!*@host`), so that what this browser hides and what the server keeps out agree, and
// the server's answer to a SILENCE can be told apart by its mask.

/**
 * Whether the wildcard `mask` (* any run of characters, ? one) matches the whole of
 * `text`, both folded already. A star stands for the shortest run that lets the rest
 * match, and only the last star is ever gone back to: at most |mask|·|text| steps, where
 * a naive regular expression of many stars could take minutes on a long name.
 */
export function wildcardMatch(mask, text) {
  let m = 0;
  let t = 0;
  let star = -1; // the mask index after the last star seen
  let from = 0; // where in the text the run under that star ends for now
  while (t < text.length) {
    if (m < mask.length && (mask[m] === "?" || (mask[m] !== "*" && mask[m] === text[t]))) {
      m++;
      t++;
    } else if (m < mask.length && mask[m] === "*") {
      star = ++m;
      from = t;
    } else if (star >= 0) {
      m = star;
      t = ++from;
    } else return false;
  }
  while (m < mask.length && mask[m] === "*") m++;
  return m === mask.length;
}

/** `mask` as the server keeps it in a SILENCE list: `nick!user@host` with each missing
 * part `*` (`bob` is `bob!*@*`); an extended mask (`a:account`) as it is. */
export function fullMask(mask) {
  if (/^[A-Za-z]:/.test(mask)) return mask;
  let nick = mask;
  let user = "";
  let host = "";
  const bang = mask.indexOf("!");
  const at = mask.indexOf("@", bang + 1);
  if (bang >= 0) {
    nick = mask.slice(0, bang);
    user = at >= 0 ? mask.slice(bang + 1, at) : mask.slice(bang + 1);
    host = at >= 0 ? mask.slice(at + 1) : "";
  } else if (at >= 0) {
    nick = "";
    user = mask.slice(0, at);
    host = mask.slice(at + 1);
  }
  return `${nick || "*"}!${user || "*"}@${host || "*"}`;
}

/**
 * Whether `mask` names the sender `source` ({nick, user, host}): a mask without ! or @
 * is a nick (wildcards allowed), matched against the nick alone; any other against
 * nick!user@host, which a sender without a known user and host never matches. Names
 * are compared as the server folds them (`fold`, from its CASEMAPPING).
 */
export function maskMatches(mask, source, fold) {
  if (!mask.includes("!") && !mask.includes("@")) return wildcardMatch(fold(mask), fold(source.nick));
  if (!source.user && !source.host) return false;
  return wildcardMatch(fold(fullMask(mask)), fold(`${source.nick}!${source.user}@${source.host}`));
}
