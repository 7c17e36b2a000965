"""The plain text mode: chat with nothing but netcat or telnet.

A person's lines are translated into the IRC commands they mean (a line of text is a
PRIVMSG to the current channel; `/join #x` is JOIN) and run through the same command
dispatcher as any IRC client's (translate.py), and what the chat sends back is shown
as human text (`alice: hello`, `* bob joined #lobby`) by an output form of its own
(render.py, sentences.py for numerics, text.py for what a terminal may be given).
Plain users and IRC users therefore share channels with no special case anywhere in
the chat core. The intake (intake.py) decides on a connection's first line which of
the two it speaks (detect.py), and answers telnet's commands meanwhile (telnet.py).
"""
