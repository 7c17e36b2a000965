"""The text of HELP: one entry per command (its syntax, then what it does), and topics.

HELP only answers for commands the server really has (those in the command table),
so an entry written here ahead of its command stays hidden until the command exists.
A test checks that every command in the table has its entry.
"""

from __future__ import annotations

# subject -> (syntax, explanation lines)
HELP: dict[str, tuple[str, list[str]]] = {
    "ADMIN": ("ADMIN [<server>]", ["Who runs this server and how to reach them."]),
    "AUTHENTICATE": ("AUTHENTICATE <data>", ["SASL authentication, once the sasl capability is enabled."]),
    "AWAY": ("AWAY [:<message>]", [
        "Marks you away with a message; without one, marks you back.",
        "Those who message you or WHOIS you see the message.",
    ]),
    "BATCH": ("BATCH {+|-}<ref> [<type> ...]", ["Opens or closes a client batch (draft/multiline messages)."]),
    "CAP": ("CAP LS [302] | CAP REQ :<caps> | CAP LIST | CAP END", [
        "IRCv3 capability negotiation: see what the server offers, ask for some,",
        "list what you have, and end negotiation to finish registering.",
    ]),
    "SANICK": ("SANICK <nick> <new nick>", [
        "Operators only. Renames a user (a nick that offends), rather than disconnecting it;",
        "never onto a nick in use, a service's, or an account's the user is not logged in to.",
    ]),
    "CHGHOST": ("CHGHOST <nick> <host|*>", [
        "Operators only. Shows the user with <host> (staff.example.org) in place of the",
        "cloak or address others see, until it disconnects; * gives back its own.",
        "A host kept with an account, shown whenever its owner logs in: HOSTSERV SET.",
    ]),
    "CHATHISTORY": ("CHATHISTORY <subcommand> <target> ...", [
        "Fetches earlier messages of a channel or conversation.",
    ]),
    "DIE": ("DIE [<server>]", [
        "Operators only. Shuts the server down: every client is told why and disconnected.",
    ]),
    "DIGEST": ("DIGEST", [
        "Operators only. Every node of the network answers with a digest of its copy of the",
        "chat state (NOTICE: DIGEST <server> <digest>); equal digests, equal copies.",
    ]),
    "HELP": ("HELP [<command>]", ["Lists the commands, or explains one. HELPOP is the same."]),
    "NICKSERV": ("NICKSERV <command> [...]", [
        "Talks to NickServ: register your nick as an account, log in to it (IDENTIFY), and more.",
        "NICKSERV HELP lists its commands; /msg NickServ <command> is the same.",
    ]),
    "NS": ("NS <command> [...]", ["The same as NICKSERV."]),
    "MARKREAD": ("MARKREAD <target> [timestamp=<time>]", [
        "Reads or moves your account's read marker for a channel or conversation (draft/read-marker).",
    ]),
    "REDACT": ("REDACT <target> <msgid> [:<reason>]", [
        "Deletes a message from the history: your own, or any in a channel you operate (draft/message-redaction).",
    ]),
    "SEARCH": ("SEARCH in=<target>[;text=...][;from=<nick>][;after=<time>][;before=<time>][;limit=<n>]", [
        "Searches a channel's or a conversation's history (soju.im/search).",
    ]),
    "CHANSERV": ("CHANSERV <command> [...]", [
        "Talks to ChanServ: register a channel to your account, keep its settings, give operators.",
        "Giving a channel away (SET <#channel> FOUNDER <account>) and dropping it (DROP) each",
        "first tell you a code, and happen only when the command is sent again with it.",
        "CHANSERV HELP lists its commands; /msg ChanServ <command> is the same.",
    ]),
    "CS": ("CS <command> [...]", ["The same as CHANSERV."]),
    "HOSTSERV": ("HOSTSERV <command> [...]", [
        "Talks to HostServ: the virtual host kept with your account (INFO). Operators give",
        "one (SET <account> <vhost>), take it (DEL <account>) and list them (LIST).",
        "HOSTSERV HELP lists its commands; /msg HostServ <command> is the same.",
    ]),
    "HS": ("HS <command> [...]", ["The same as HOSTSERV."]),
    "REGISTER": ("REGISTER <account> {<email>|*} <password>", [
        "Registers your nick as an account (IRCv3 draft/account-registration); <account> is your nick, or *.",
    ]),
    "VERIFY": ("VERIFY <account> <code>", ["Completes a registration that waits for a code (none here do)."]),
    "HELPOP": ("HELPOP [<command>]", ["The same as HELP."]),
    "INFO": ("INFO [<server>]", ["What this server is: its software, version and uptime."]),
    "INVITE": ("INVITE <nick> <channel>", [
        "Invites someone to a channel you are in; needed to join an invite-only (+i) one.",
        "Someone with user mode +R takes invitations only from those logged in to an account (486).",
        "Without parameters, lists the channels you are invited to.",
    ]),
    "ISON": ("ISON <nick> [<nick> ...]", ["Which of these nicks are online."]),
    "KNOCK": ("KNOCK <channel> [:<reason>]", [
        "Asks the operators of a channel you cannot join (invite-only, keyed or full) to invite you.",
        "Once a minute at most, per person and per channel (limits.knock_delay); not if you are banned,",
        "nor on a channel that is +K (no knock).",
    ]),
    "JOIN": ("JOIN <channel>{,<channel>} [<key>{,<key>}] | JOIN 0", [
        "Joins channels, creating those that do not exist (you become their operator).",
        "JOIN 0 leaves every channel you are in.",
    ]),
    "KICK": ("KICK <channel> <nick>{,<nick>} [:<reason>]", ["Channel operators: removes someone from the channel."]),
    "KILL": ("KILL <nick> [:<reason>]", [
        "Operators only. Disconnects a user; they and everyone sharing a channel with them",
        "see 'Killed (<operator> (<reason>))'.",
    ]),
    "KLINE": ("KLINE [<duration>] <user@host|host|nick> [:<reason>]", [
        "Operators only. Bans matching users from the server and disconnects those connected.",
        "The host may be a wildcard pattern (*.example.org) or a CIDR block (10.0.0.0/8);",
        "usernames show with their ~ (~bob@*). A nick stands for *@<their host> (their",
        "address when others see a cloak); a nick not connected is 401 (write *@host for a",
        "host without a dot).",
        "Duration: minutes (30), or with units: 90s, 12h, 2d, 1w, 1d12h; none or 0: permanent.",
        "It may also follow the mask, as InspIRCd takes it: KLINE *@host 1h :reason.",
        "K-lines are kept by the store: they outlast a restart. STATS k lists them.",
    ]),
    "LINKS": ("LINKS [[<server>] <mask>]", ["The servers of the network: this one (a cluster's nodes are one)."]),
    "LIST": ("LIST [<channel>{,<channel>}] [<filters>]", ["Lists channels with their user counts and topics."]),
    "LUSERS": ("LUSERS", ["How many users, operators and channels the server has."]),
    "METADATA": ("METADATA <target> GET|LIST|SET|CLEAR|SUB|UNSUB|SUBS|SYNC [...]", [
        "Keys and values on users and channels (draft/metadata-2): METADATA * SET",
        "display-name :Alice; METADATA bob GET display-name; METADATA * SUB display-name",
        "to hear of changes. Channel halfops and ops set a channel's keys.",
    ]),
    "MODE": ("MODE <channel> [<modes> [<params>]] | MODE <nick> [<modes>]", [
        "Shows or changes channel modes, or your own user modes.",
        "User modes: +i invisible, +w receive WALLOPS, +B bot, +o operator (from OPER; -o",
        "drops it), +s server notices (operators only), +r logged in to an account (set by",
        "the server). See HELP USERMODES.",
    ]),
    "MONITOR": ("MONITOR {+|-} <nick>{,<nick>} | MONITOR C|L|S", ["Tells you when the nicks you watch come and go."]),
    "MOTD": ("MOTD [<server>]", ["Shows the message of the day."]),
    "NAMES": ("NAMES <channel>{,<channel>}", ["Lists who is in a channel."]),
    "NICK": ("NICK <nick>", ["Sets or changes your nickname."]),
    "NOTICE": ("NOTICE <target>{,<target>} :<text>", [
        "Like PRIVMSG, but never answered automatically (no errors, no away replies).",
    ]),
    "OPER": ("OPER <name> <password>", [
        "Becomes an IRC operator, with a name and password from the server's [[opers]].",
        "Operators get user mode +o and the commands KILL, WALLOPS, KLINE, UNKLINE,",
        "SANICK, CHGHOST, SAMODE, REHASH, DIE, DIGEST, STATS k and STATS o.",
    ]),
    "PART": ("PART <channel>{,<channel>} [:<reason>]", ["Leaves channels."]),
    "PASS": ("PASS <password>", ["The connection password, sent before NICK and USER when the server has one."]),
    "PING": ("PING <token>", ["The server answers PONG with the same token."]),
    "PONG": ("PONG <token>", ["The answer to the server's PING."]),
    "PRIVMSG": ("PRIVMSG <target>{,<target>} :<text>", ["Sends a message to channels or users."]),
    "QUIT": ("QUIT [:<reason>]", ["Leaves the server; others see 'Quit: <reason>'."]),
    "REHASH": ("REHASH", [
        "Operators only. Reloads the configuration file without disconnecting anyone:",
        "the MOTD, limits, operators and the connection password change at once;",
        "listeners, the server name and the store need a restart. SIGHUP does the same.",
        "Your next commands wait until the new configuration is in force (or refused).",
    ]),
    "RENAME": ("RENAME <channel> <new name> [:<reason>]", [
        "Channel operators: gives the channel a new name, keeping its members, modes,",
        "topic and lists. Clients without draft/channel-rename see a PART and a JOIN.",
    ]),
    "SAMODE": ("SAMODE <channel> <modes> [<params>]", [
        "Operators only. Changes a channel's modes as MODE does, without being one of its",
        "operators (a channel whose operators left or turned on its users). Logged, and",
        "told to the operators watching server notices.",
    ]),
    "SETNAME": ("SETNAME :<realname>", ["Changes your real name (the setname capability)."]),
    "SILENCE": ("SILENCE [+|-]<mask>", [
        "Your server-side ignore list: private messages, notices, typing notifications and",
        "INVITEs from those it matches never reach you, and they are not told. <mask> is",
        "nick!user@host with * and ? (a nick alone is nick!*@*), or a:<account>. Without a",
        "mask, lists it. Channel messages and operators are not affected; it lasts as long",
        "as your connection.",
    ]),
    "STATS": ("STATS <letter> [<server>]", [
        "Server statistics: STATS u, how long the server has been up.",
        "Operators only: STATS k, the K-lines in force; STATS o, the operator blocks.",
    ]),
    "TAGMSG": ("TAGMSG <target>", ["Sends only message tags (typing notifications, reactions)."]),
    "TIME": ("TIME [<server>]", ["The server's time."]),
    "TOPIC": ("TOPIC <channel> [:<topic>]", ["Shows a channel's topic, or sets it."]),
    "UNKLINE": ("UNKLINE <user@host>", ["Operators only. Lifts a K-line (as STATS k shows its mask)."]),
    "USER": ("USER <username> 0 * :<realname>", ["Registration: your username and real name."]),
    "USERHOST": ("USERHOST <nick> [<nick> ...]", ["user@host of up to five nicks (* marks operators, - away)."]),
    "VERSION": ("VERSION [<server>]", ["The server's software version and its ISUPPORT tokens."]),
    "WALLOPS": ("WALLOPS :<text>", ["Operators only. Sends a message to every user with mode +w."]),
    "WEBIRC": ("WEBIRC <password> <gateway> <hostname> <ip> [:<options>]", [
        "Web gateways only, as their first command: names the address of the user they connect.",
    ]),
    "WHO": ("WHO <channel|mask>", ["Lists users in a channel or matching a mask (H here, G away, * operator)."]),
    "WHOIS": ("WHOIS [<server>] <nick>", ["Who someone is: user@host, channels, server, idle time, and more."]),
    "WHOWAS": ("WHOWAS <nick> [<count>]", [
        "Who used a nickname that is gone, newest first; up to <count> entries.",
    ]),
    # topics that are not commands
    "USERMODES": ("User modes", [
        "+i  invisible: hidden from WHO, NAMES and WHOIS of users sharing no channel",
        "+w  wallops: receive WALLOPS",
        "+B  bot: marks you as a bot",
        "+o  operator: given by OPER, dropped with MODE <nick> -o",
        "+s  server notices (operators only): connects, exits, kills, K-lines, rehash",
        "+r  registered: logged in to an account (set by the server, never by hand)",
        "+R  registered only: private messages and invitations only from accounts and operators (486)",
    ]),
}

TOPICS = ("USERMODES",)
