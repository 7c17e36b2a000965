// What the input box understands: slash commands, and nick/channel/command completion
// for Tab. Each command is a small function over a context ({client, state, ui}), so
// the table is the documentation (/help prints it) and tests can run a command
// against a fake context.

export const COMMANDS = {
  join: {
    usage: "/join #channel[,#other] [key]",
    help: "Join channels (and switch to the first)",
    run(ctx, args) {
      const [names, key] = words(args);
      if (!names) return usage(ctx, "join");
      const channels = names.split(",").filter(Boolean).map((n) => (ctx.state.isChannel(n) ? n : `#${n}`));
      const existing = ctx.state.buffer(channels[0]);
      if (existing && existing.joined) {
        // no JOIN will come back for it: switch now, and expect none (a JOIN to it after a
        // reconnection must not switch there unasked)
        ctx.ui.switchTo(existing.key);
        if (channels.length === 1) return;
      } else {
        ctx.ui.expectJoin(channels[0]);
      }
      if (key) ctx.ui.keysGiven(channels, key.split(","));
      ctx.client.send({ command: "JOIN", params: key ? [channels.join(","), key] : [channels.join(",")] });
    },
  },
  part: {
    usage: "/part [#channel] [reason]",
    help: "Leave a channel (the current one by default)",
    run(ctx, args) {
      let [channel, reason] = splitFirst(args);
      if (!channel || !ctx.state.isChannel(channel)) {
        reason = args.trim();
        channel = currentChannel(ctx);
        if (!channel) return ctx.state.info("/part needs a channel here", { kind: "error" });
      }
      ctx.client.send({ command: "PART", params: reason ? [channel, reason] : [channel] });
    },
  },
  close: {
    usage: "/close",
    help: "Close this conversation (leaving the channel if you are in it)",
    run(ctx) {
      ctx.ui.closeBuffer(ctx.state.active);
    },
  },
  msg: {
    usage: "/msg nick|#channel message",
    help: "Send a message to someone (opens the conversation) or a channel",
    run(ctx, args) {
      const [target, text] = splitFirst(args);
      if (!target || !text) return usage(ctx, "msg");
      if (!ctx.state.isChannel(target)) {
        ctx.state.ensureBuffer(target);
        ctx.ui.switchTo(ctx.state.keyOf(target));
      }
      noteLogin(ctx, target, text);
      ctx.client.say(target, text);
    },
  },
  query: {
    usage: "/query nick [message]",
    help: "Open a private conversation",
    run(ctx, args) {
      const [target, text] = splitFirst(args);
      if (!target || ctx.state.isChannel(target)) return usage(ctx, "query");
      ctx.state.ensureBuffer(target);
      ctx.ui.switchTo(ctx.state.keyOf(target));
      if (text) {
        noteLogin(ctx, target, text);
        ctx.client.say(target, text);
      }
    },
  },
  me: {
    usage: "/me action",
    help: "Describe what you do (“* alice waves”)",
    run(ctx, args) {
      const target = currentTarget(ctx);
      if (!target) return ctx.state.info("/me works in a channel or conversation", { kind: "error" });
      if (!args.trim()) return usage(ctx, "me");
      if (inChannel(ctx, target)) ctx.client.say(target, args.trim(), { action: true });
    },
  },
  notice: {
    usage: "/notice target message",
    help: "Send a notice",
    run(ctx, args) {
      const [target, text] = splitFirst(args);
      if (!target || !text) return usage(ctx, "notice");
      ctx.client.say(target, text, { command: "NOTICE" });
    },
  },
  nick: {
    usage: "/nick newnick",
    help: "Change your nickname",
    run(ctx, args) {
      const [nick] = words(args);
      if (!nick) return usage(ctx, "nick");
      ctx.ui.nickAsked(nick); // remembered for the next visit once the server agrees
      ctx.client.send({ command: "NICK", params: [nick] });
    },
  },
  topic: {
    usage: "/topic [#channel] [new topic]",
    help: "Show or set the topic of this channel (or of the one named)",
    run(ctx, args) {
      // As in irssi, WeeChat, HexChat: a channel named first is the one meant.
      let [channel, text] = splitFirst(args);
      const named = !!channel && ctx.state.isChannel(channel);
      if (!named) {
        text = args;
        channel = currentChannel(ctx);
        if (!channel) return ctx.state.info("/topic works in a channel, or names one: /topic #channel", { kind: "error" });
      }
      text = text.trim();
      if (!text) {
        const b = ctx.state.buffer(channel);
        if (b && b.joined) {
          const of = named && b.key !== ctx.state.active ? ` of ${b.name}` : "";
          ctx.state.info(b.topic ? `Topic${of}: ${b.topic}` : `No topic is set${of ? ` on ${b.name}` : ""}`);
        } else ctx.client.send({ command: "TOPIC", params: [channel] }); // not in it: ask the server
        return;
      }
      ctx.client.send({ command: "TOPIC", params: [channel, text] });
    },
  },
  away: {
    usage: "/away [message]",
    help: "Mark yourself away (no message: back)",
    run(ctx, args) {
      // what the person wants, sent or not (disconnected): said again on a new connection, which is not away
      ctx.state.awayText = args.trim() || null;
      ctx.client.send({ command: "AWAY", params: args.trim() ? [args.trim()] : [] });
    },
  },
  back: {
    usage: "/back",
    help: "No longer away",
    run(ctx) {
      ctx.state.awayText = null;
      ctx.client.send({ command: "AWAY", params: [] });
    },
  },
  whois: {
    usage: "/whois nick",
    help: "Who is this?",
    run(ctx, args) {
      const [nick] = words(args);
      const target = nick || (ctx.state.activeBuffer.kind === "query" ? ctx.state.activeBuffer.name : "");
      if (!target) return usage(ctx, "whois");
      ctx.client.send({ command: "WHOIS", params: [target] });
    },
  },
  ignore: {
    usage: "/ignore [nick|mask]",
    help: "Hide someone's messages (a nick, wildcards * and ? allowed, or nick!user@host); where the server can, their private messages, notices and invites are stopped there too. /ignore alone lists who is ignored",
    run(ctx, args) {
      const [mask] = words(args);
      const { state } = ctx;
      if (!mask) return state.info(`Ignoring: ${state.ignores.join(", ") || "nobody"}. /unignore to stop.`);
      if (!state.ignore(mask)) return state.info(`${mask} is already ignored.`);
      const atServer = silenceQuietly(ctx, "+", mask) ? ", and their private messages, notices and invites are stopped at the server" : "";
      state.info(`Ignoring ${mask}: their messages are hidden${atServer}. /unignore ${mask} to see them again.`);
    },
  },
  unignore: {
    usage: "/unignore nick|mask",
    help: "See someone's messages again",
    run(ctx, args) {
      const [mask] = words(args);
      if (!mask) return usage(ctx, "unignore");
      if (!ctx.state.unignore(mask)) return ctx.state.info(`${mask} was not ignored.`, { kind: "error" });
      silenceQuietly(ctx, "-", mask);
      ctx.state.info(`No longer ignoring ${mask}.`);
    },
  },
  silence: {
    usage: "/silence [+mask|-mask]",
    help: "The server's own ignore list (SILENCE), which keeps private messages, notices and invites out: alone, show it; +mask adds, -mask takes off",
    run(ctx, args) {
      if (!ctx.state.silenceLimit) return ctx.state.info("This server keeps no ignore list of its own (SILENCE): /ignore hides people here.", { kind: "error" });
      const [mask] = words(args);
      ctx.client.send({ command: "SILENCE", params: mask ? [mask] : [] });
    },
  },
  list: {
    usage: "/list [filter]",
    help: "Browse the channels",
    run(ctx, args) {
      ctx.ui.openChannelList(args.trim());
    },
  },
  invite: {
    usage: "/invite nick [#channel]",
    help: "Invite someone to a channel",
    run(ctx, args) {
      const [nick, channel] = words(args);
      const target = channel || currentChannel(ctx);
      if (!nick || !target) return usage(ctx, "invite");
      ctx.client.send({ command: "INVITE", params: [nick, target] });
    },
  },
  knock: {
    usage: "/knock #channel [reason]",
    help: "Ask a closed channel's operators to invite you",
    run(ctx, args) {
      const [channel, reason] = splitFirst(args);
      if (!channel) return usage(ctx, "knock");
      ctx.client.send({ command: "KNOCK", params: reason ? [channel, reason] : [channel] });
    },
  },
  kick: {
    usage: "/kick nick [reason]",
    help: "Remove someone from this channel (they may come back: /kickban keeps them out)",
    group: "Moderation",
    run(ctx, args) {
      const [nick, given] = splitFirst(args);
      const reason = given.trim();
      const channel = currentChannel(ctx);
      if (!nick || !channel) return usage(ctx, "kick");
      ctx.client.send({ command: "KICK", params: reason ? [channel, nick, reason] : [channel, nick] });
    },
  },
  mode: {
    usage: "/mode [target] modes [args]",
    help: "Set modes (on this channel by default); /mode alone: this channel's modes; /mode b: its ban list",
    run(ctx, args) {
      const parts = words(args);
      const channel = currentChannel(ctx);
      if (!parts.length) {
        if (!channel) return usage(ctx, "mode");
        return ctx.client.send({ command: "MODE", params: [channel] }); // its modes (324), shown in it
      }
      // "+i", "-m": modes of this channel; "b" (or "e", "I") alone: its list
      const list = parts.length === 1 && parts[0].length === 1 && (ctx.state.chanmodes[0] || "b").includes(parts[0]);
      if (/^[+-]/.test(parts[0]) || list) {
        if (!channel) return usage(ctx, "mode");
        parts.unshift(channel);
      }
      ctx.client.send({ command: "MODE", params: parts });
    },
  },
  bans: {
    usage: "/bans [#channel]",
    help: "The ban list of this channel (or of the one named), mutes included",
    group: "Moderation",
    run(ctx, args) {
      const [named] = words(args);
      const channel = named && ctx.state.isChannel(named) ? named : currentChannel(ctx);
      if (!channel) return ctx.state.info("/bans works in a channel, or names one: /bans #channel", { kind: "error" });
      ctx.client.send({ command: "MODE", params: [channel, "b"] });
    },
  },
  op: prefixCommand("op", "+", "o", "Make people operators of this channel"),
  deop: prefixCommand("deop", "-", "o", "Take operator status away"),
  voice: prefixCommand("voice", "+", "v", "Let people speak in a moderated (+m) channel, or while muted"),
  devoice: prefixCommand("devoice", "-", "v", "Take voice away"),
  ban: listCommand("ban", "+", "", "Ban people from this channel (alone: the ban list); a nick bans nick!*@*, a mask (with ! or @) is used as given"),
  unban: listCommand("unban", "-", "", "Lift bans: a nick lifts nick!*@*, a mask the mask given"),
  mute: listCommand("mute", "+", "m:", "Mute people: they stay but cannot speak (a nick mutes nick!*@*: +b m:nick!*@*)"),
  unmute: listCommand("unmute", "-", "m:", "Lift mutes"),
  kickban: {
    usage: "/kickban nick [reason]",
    help: "Ban nick!*@* from this channel, then kick them (alias /kb)",
    group: "Moderation",
    run(ctx, args) {
      const [nick] = splitFirst(args);
      const channel = currentChannel(ctx);
      if (!nick || !channel) return usage(ctx, "kickban");
      ctx.client.send({ command: "MODE", params: [channel, "+b", banMask(nick)] });
      COMMANDS.kick.run(ctx, args); // then the kick, as /kick sends it
    },
  },
  search: {
    usage: "/search [from:nick] text",
    help: "Search this conversation's history (when the server offers search); from:nick: what they said",
    run(ctx, args) {
      if (!args.trim()) return usage(ctx, "search");
      ctx.ui.search(args.trim());
    },
  },
  register: {
    usage: "/register password [email]",
    help: "Create an account named after your current nick, with this password (logs you in)",
    run(ctx, args) {
      const [password, email, extra] = words(args);
      if (!password || extra) return usage(ctx, "register");
      const offer = ctx.client.accountRegistration ? ctx.client.accountRegistration() : null;
      if (offer && offer.emailRequired && !email) {
        return ctx.state.info("This server needs an e-mail address for an account: /register <password> <email>", { kind: "error" });
      }
      ctx.ui.registering(password);
      if (offer) ctx.client.send({ command: "REGISTER", params: ["*", email || "*", password] }); // draft/account-registration
      else ctx.client.send({ command: "PRIVMSG", params: ["NickServ", email ? `REGISTER ${password} ${email}` : `REGISTER ${password}`] });
    },
  },
  oper: {
    usage: "/oper name password",
    help: "Become an IRC operator (a block of the server's configuration)",
    run(ctx, args) {
      const [name, password] = splitFirst(args.trim());
      if (!name || !password.trim()) return usage(ctx, "oper");
      ctx.client.send({ command: "OPER", params: [name, password.trim()] });
    },
  },
  wallops: {
    usage: "/wallops text",
    help: "Send a message to everyone with user mode +w (operators)",
    run(ctx, args) {
      if (!args.trim()) return usage(ctx, "wallops");
      ctx.client.send({ command: "WALLOPS", params: [args.trim()] });
    },
  },
  quote: {
    usage: "/quote RAW LINE",
    help: "Send a raw IRC line",
    run(ctx, args) {
      if (!args.trim()) return usage(ctx, "quote");
      ctx.client.send(args.trim());
    },
  },
  clear: {
    usage: "/clear",
    help: "Clear this buffer's messages on screen",
    run(ctx) {
      ctx.ui.clearBuffer();
    },
  },
  quit: {
    usage: "/quit [reason]",
    help: "Disconnect and go back to the connect screen",
    run(ctx, args) {
      ctx.ui.disconnect(args.trim());
    },
  },
  notify: {
    usage: "/notify [on|off]",
    help: "Desktop notifications of mentions and private messages while the page is not in front",
    run(ctx, args) {
      const choice = args.trim().toLowerCase();
      if (choice && choice !== "on" && choice !== "off") return usage(ctx, "notify");
      ctx.ui.notify(choice);
    },
  },
  help: {
    usage: "/help",
    help: "Commands and keys",
    run(ctx) {
      ctx.ui.openHelp();
    },
  },
};

// Other names people type out of habit.
export const ALIASES = { j: "join", leave: "part", q: "query", m: "msg", raw: "quote", exit: "quit", w: "whois", wc: "close", kb: "kickban" };

/** The mask a ban names: a nick is everyone with that nick (nick!*@*); a mask (with ! or
 * @) or an extban (a:account) is used as given. */
export function banMask(word) {
  return /[!@:]/.test(word) ? word : `${word}!*@*`;
}

/**
 * SILENCE <sign><mask> for the ignore list (/ignore, /unignore, and each ignore again on
 * every connection: the server's list is its connection's), where the server keeps one
 * (ISUPPORT SILENCE). Its answer is not shown. False where the server keeps none.
 */
export function silenceQuietly(ctx, sign, mask) {
  if (!ctx.state.silenceLimit) return false;
  ctx.state.silenceQuietly(sign, mask);
  ctx.client.send({ command: "SILENCE", params: [sign + mask] });
  return true;
}

/** The server's MODES token (how many mode changes with an argument one MODE may carry). */
function modesPerLine(ctx) {
  return ctx.state.modesPerLine || 3;
}

/** MODE #channel +ooo a b c, as many lines as the server's MODES needs. */
function sendModes(ctx, channel, sign, letter, args) {
  const per = modesPerLine(ctx);
  for (let i = 0; i < args.length; i += per) {
    const some = args.slice(i, i + per);
    ctx.client.send({ command: "MODE", params: [channel, sign + letter.repeat(some.length), ...some] });
  }
}

/** An optional channel named first, then the words: [channel, words]. */
function channelAndWords(ctx, args) {
  const parts = words(args);
  if (parts.length && ctx.state.isChannel(parts[0])) return [parts[0], parts.slice(1)];
  return [currentChannel(ctx), parts];
}

/** /op, /deop, /voice, /devoice: a rank given or taken, to several nicks at once. */
function prefixCommand(name, sign, letter, help) {
  return {
    usage: `/${name} nick [nick...]`,
    help,
    group: "Moderation",
    run(ctx, args) {
      const [channel, nicks] = channelAndWords(ctx, args);
      if (!channel) return ctx.state.info(`/${name} works in a channel`, { kind: "error" });
      if (!nicks.length) return usage(ctx, name);
      sendModes(ctx, channel, sign, letter, nicks);
    },
  };
}

/** /ban, /unban, /mute, /unmute: entries of the ban list (+b), nicks made masks. */
function listCommand(name, sign, extban, help) {
  return {
    usage: `/${name} nick|mask [...]`,
    help,
    group: "Moderation",
    run(ctx, args) {
      const [channel, targets] = channelAndWords(ctx, args);
      if (!channel) return ctx.state.info(`/${name} works in a channel`, { kind: "error" });
      if (!targets.length) {
        if (name === "ban") return ctx.client.send({ command: "MODE", params: [channel, "b"] }); // the list
        return usage(ctx, name);
      }
      const masks = targets.map((t) => (extban && !t.startsWith(extban) ? extban + banMask(t) : banMask(t)));
      sendModes(ctx, channel, sign, "b", masks);
    },
  };
}

function words(text) {
  return text.trim().split(/\s+/).filter(Boolean);
}

/** "target rest of text" -> [target, "rest of text"] (the rest keeps its inner spaces). */
function splitFirst(text) {
  const trimmed = text.replace(/^\s+/, "");
  const sp = trimmed.search(/\s/);
  if (sp < 0) return [trimmed, ""];
  return [trimmed.slice(0, sp), trimmed.slice(sp + 1)];
}

function usage(ctx, name) {
  ctx.state.info(`Usage: ${COMMANDS[name].usage}`, { kind: "error" });
}

function currentChannel(ctx) {
  const b = ctx.state.activeBuffer;
  return b.kind === "channel" ? b.name : null;
}

function currentTarget(ctx) {
  const b = ctx.state.activeBuffer;
  return b.kind === "server" ? null : b.name;
}

/** Whether what is typed in the current buffer can be said there: not in a channel left
 * or kicked from, where the server's refusal would read as "no external messages". */
function inChannel(ctx, target) {
  const b = ctx.state.activeBuffer;
  if (b.kind !== "channel" || b.joined) return true;
  ctx.state.info(`You are not in ${target}: /join ${target} to come back.`, { kind: "error" });
  return false;
}

/**
 * A search as typed: "from:nick" words name the sender (the last one counts), the rest
 * is the text. {text, from}; either may be "".
 */
export function parseSearch(query) {
  let from = "";
  const rest = [];
  for (const word of words(query)) {
    const m = /^from:(\S+)$/i.exec(word);
    if (m) from = m[1].replace(/^@/, "");
    else rest.push(word);
  }
  return { text: rest.join(" "), from };
}

/**
 * What a line typed in the input means: {command, args} for "/name args", or
 * {text} for a message ("//text" sends "/text", for saying something that starts with /).
 */
export function parseInput(line) {
  if (!line.startsWith("/") || line.startsWith("//")) return { text: line.startsWith("//") ? line.slice(1) : line };
  const m = /^\/(\S+)\s?([\s\S]*)$/.exec(line);
  if (!m) return { text: line };
  return { command: m[1].toLowerCase(), args: m[2] };
}

/**
 * What to put in the input box to say again what the server refused (`command`
 * PRIVMSG or NOTICE to `target`, an `action` or not), typed where `active` is shown:
 * the text itself in its own conversation (a leading "/" doubled), otherwise the command
 * that says it there (/me, /msg, /notice).
 */
export function resendable({ target, command, action, text }, active, fold = (s) => s.toLowerCase()) {
  const here = active !== null && fold(target) === fold(active);
  if (command === "NOTICE") return `/notice ${target} ${text}`;
  if (action) return here ? `/me ${text}` : null; // /me says it only where it is typed
  if (!here) return `/msg ${target} ${text}`;
  return text.startsWith("/") ? `/${text}` : text;
}

/**
 * A login typed to NickServ (`IDENTIFY [account] password`, as NickServ itself tells
 * people to log in): told to the page, which logs in with it from then on (a reconnection
 * by SASL, a reload asking for it or using it when remembered) once the server says the
 * login worked, as it does for /register. Otherwise the nick became a guest's at the
 * next reconnection.
 */
function noteLogin(ctx, target, text) {
  if (!ctx.ui.identifying || ctx.state.fold(target) !== ctx.state.fold("NickServ")) return;
  const found = /^\s*(?:IDENTIFY|LOGIN)\s+(\S+)(?:\s+(\S+))?\s*$/i.exec(text);
  if (found) ctx.ui.identifying(found[2] === undefined ? null : found[1], found[2] === undefined ? found[1] : found[2]);
}

/** Run one line from the input box. Returns false if nothing could be done with it. */
export function runInput(ctx, line, { reply = null } = {}) {
  const parsed = parseInput(line);
  if (parsed.text !== undefined) {
    const target = currentTarget(ctx);
    if (!target) {
      ctx.state.info("This is the server buffer: join a channel with /join #channel, or type /help", { kind: "error" });
      return false;
    }
    if (!inChannel(ctx, target)) return false;
    noteLogin(ctx, target, parsed.text);
    return ctx.client.say(target, parsed.text, reply ? { reply } : {});
  }
  const name = ALIASES[parsed.command] || parsed.command;
  const command = COMMANDS[name];
  if (!command) {
    ctx.state.info(`Unknown command /${parsed.command}. Type /help for the list.`, { kind: "error" });
    return false;
  }
  command.run(ctx, parsed.args);
  return true;
}

/**
 * Completion candidates for the word before the caret: commands at the start of the
 * line, channels for "#...", otherwise nicks of the current buffer (the people who
 * spoke last first, since they are the likely addressees).
 */
export function completions(word, atLineStart, { fold, nicks, channels, chantypes = "#" }) {
  if (!word) return [];
  if (atLineStart && word.startsWith("/")) {
    const needle = word.slice(1).toLowerCase();
    return Object.keys(COMMANDS).filter((c) => c.startsWith(needle)).map((c) => `/${c} `);
  }
  // "@ca": how Slack and Discord name someone; the nick replaces the "@" too, as IRC
  // mentions are bare nicks
  if (word.length > 1 && word[0] === "@" && !chantypes.includes("@")) word = word.slice(1);
  const needle = fold(word);
  if (chantypes.includes(word[0])) return channels.filter((c) => fold(c).startsWith(needle));
  const seen = new Set();
  const out = [];
  for (const nick of nicks) {
    const key = fold(nick);
    if (seen.has(key) || !key.startsWith(needle)) continue;
    seen.add(key);
    out.push(atLineStart ? `${nick}: ` : nick);
  }
  return out;
}

/** The word ending at `caret` in `text`: {start, word}. */
export function wordBefore(text, caret) {
  let start = caret;
  while (start > 0 && !/\s/.test(text[start - 1])) start--;
  return { start, word: text.slice(start, caret) };
}
