"""The terminal chat of `clanker sandbox`, sans-IO: what a typed line means, how to show a message.

A line is either something to say (posted as the current member in the current channel) or a
command: ``/as NAME`` (speak as another member), ``/in CHANNEL`` (move to another text channel),
``/who`` (list members and channels), ``/say TEXT`` (say it aloud in the voice channel, as
the current member: Piper speech into the call), ``/image PATH [TEXT]`` (post a file from
disk as an attachment, with optional text), ``/help``, ``/quit``. ``@name`` in what you
say becomes a real mention, as Discord's own client does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HELP = (
    "type a message and press enter to post it; @clanker mentions the bot.\n"
    "  /as NAME      speak as another member (e.g. /as bob)\n"
    "  /in CHANNEL   move to another text channel (e.g. /in random)\n"
    "  /who          list members and channels\n"
    "  /say TEXT     say it aloud in the Lounge (voice); 'clanker, come to voice' brings the bot\n"
    "  /image PATH [TEXT]  post a file (e.g. a picture) as an attachment, with optional text\n"
    "  /quit         stop (so does end of input, Ctrl-D)"
)


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class SwitchUser:
    name: str


@dataclass(frozen=True)
class SwitchChannel:
    name: str


@dataclass(frozen=True)
class SayAloud:
    text: str


@dataclass(frozen=True)
class PostFile:
    path: str
    text: str = ""


@dataclass(frozen=True)
class Who:
    pass


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class Quit:
    pass


@dataclass(frozen=True)
class Invalid:
    problem: str


ChatInput = Say | SayAloud | PostFile | SwitchUser | SwitchChannel | Who | Help | Quit | Invalid


def parse_line(line: str) -> ChatInput | None:
    """What a typed line asks for; None for a blank line."""
    text = line.strip()
    if not text:
        return None
    if not text.startswith("/"):
        return Say(text)
    command, _, arg = text.partition(" ")
    arg = arg.strip()
    match command.lower():
        case "/as":
            return SwitchUser(arg.lstrip("@")) if arg else Invalid("/as needs a member's name")
        case "/in":
            return SwitchChannel(arg.lstrip("#")) if arg else Invalid("/in needs a channel's name")
        case "/who":
            return Who()
        case "/say":
            return SayAloud(arg) if arg else Invalid("/say needs something to say")
        case "/image" | "/file":
            path, _, text = arg.partition(" ")
            return PostFile(path, text.strip()) if path else Invalid("/image needs a file's path")
        case "/help" | "/?":
            return Help()
        case "/quit" | "/exit":
            return Quit()
    return Invalid(f"unknown command {command!r}; /help lists them")


def expand_mentions(text: str, users: dict[str, int]) -> str:
    """``@name`` → ``<@id>`` for known users (case-insensitive); other ``@words`` stay."""
    lowered = {name.lower(): uid for name, uid in users.items()}

    def replace(m: re.Match[str]) -> str:
        uid = lowered.get(m.group(1).lower())
        return m.group(0) if uid is None else f"<@{uid}>"

    return re.sub(r"(?<![\w<])@([\w.\-]+)", replace, text)


def show_mentions(text: str, names: dict[int, str]) -> str:
    """``<@id>`` → ``@name`` for display."""

    def replace(m: re.Match[str]) -> str:
        name = names.get(int(m.group(1)))
        return m.group(0) if name is None else f"@{name}"

    return re.sub(r"<@!?(\d+)>", replace, text)


def render(channel: str, author: str, text: str, *, reply_to: str | None = None) -> str:
    """One message as a terminal line (continuation lines indented)."""
    head = f"#{channel} {author}"
    if reply_to:
        head += f" (replying to {reply_to})"
    body = text.replace("\n", "\n" + " " * (len(head) + 2))
    return f"{head}: {body}"
