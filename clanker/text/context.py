"""Context assembly: a job and the channel's recent messages → a neutral prompt.

The prompt is a system text plus role/text turns, independent of any LLM SDK (the llm layer
converts it). The system text holds who clanker is (persona, name), its limits and the output
contract; one user turn holds the conversation as a transcript — who said what, which messages
are new — and the instructions for this decision, banded by why the batch was admitted and how
eager clanker is set to be. The transcript is one turn on purpose: the model reads the room as
an observer and answers in JSON, rather than continuing a chat in which it may imitate the
``name: text`` lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import msgspec

from clanker.settings.model import Settings
from clanker.text.admission import AdmissionReason
from clanker.text.attention import Attention
from clanker.text.jobs import ReplyJob
from clanker.text.output import SKIP_TOKEN
from clanker.text.views import MessageView, Participant

PROMPT_REPLY_CHARS = 1800
"""The reply length the prompt asks for (the splitter cuts at 1,900)."""

MAX_PROMPT_MESSAGE_CHARS = 1500
"""A single message is shortened to this many characters in the transcript."""

_MENTION = re.compile(r"<@!?(\d+)>")


class Turn(msgspec.Struct, frozen=True, kw_only=True):
    """One turn of the conversation with the model."""

    role: Literal["user", "assistant"]
    text: str


class Prompt(msgspec.Struct, frozen=True, kw_only=True):
    """A provider-neutral prompt, with the participants (for ``@name`` resolution later)."""

    system: str
    turns: tuple[Turn, ...]
    participants: tuple[Participant, ...]
    # Who ``@name`` in the reply may resolve to: the participants first (they win a tie),
    # then the guild's other known members.
    mentionable: tuple[Participant, ...] = ()


def participants_of(
    messages: Sequence[MessageView], *, bot_user_id: int
) -> tuple[Participant, ...]:
    """Everyone but clanker who wrote in ``messages``, most recent speaker first."""
    seen: dict[int, Participant] = {}
    for msg in reversed(messages):
        if msg.author_id != bot_user_id and msg.author_id not in seen:
            seen[msg.author_id] = Participant(
                user_id=msg.author_id, name=msg.author_name, is_bot=msg.author_is_bot
            )
    return tuple(seen.values())


def _names(messages: Sequence[MessageView]) -> dict[int, str]:
    names: dict[int, str] = {}
    for msg in messages:
        names[msg.author_id] = msg.author_name
    return names


def _line(msg: MessageView, names: dict[int, str], bot_user_id: int) -> str:
    def show(found: re.Match[str]) -> str:
        uid = int(found.group(1))
        return "@" + names.get(uid, "someone") if uid != bot_user_id else "@you"

    content = _MENTION.sub(show, msg.content.strip())
    if len(content) > MAX_PROMPT_MESSAGE_CHARS:
        content = content[:MAX_PROMPT_MESSAGE_CHARS] + " […]"
    if msg.author_id == bot_user_id:
        who = "you"
    elif msg.author_is_bot:
        who = f"{msg.author_name} [bot]"
    else:
        who = msg.author_name
    if msg.reply_to_author_id is not None:
        target = "you" if msg.reply_to_author_id == bot_user_id else None
        target = target or names.get(msg.reply_to_author_id, "an earlier message")
        who += f" (replying to {target})"
    return f"{who}: {content or '(no text)'}"


def _system(settings: Settings, where: str, reactions_allowed: bool) -> str:
    identity = settings.identity
    aliases = ", ".join(a for a in identity.aliases if a.lower() != identity.bot_name.lower())
    limits = [f"- {rule}" for rule in settings.persona.hard_limits]
    limits += [
        f"- Keep a reply under about {PROMPT_REPLY_CHARS:,} characters; most replies are a "
        "line or two.",
        "- Never claim you did something you cannot do, or saw something you were not shown.",
        "- To mention someone, write @ and their name exactly as shown.",
    ]
    reaction_rule = (
        '- "reaction": one emoji to react to the latest message with, or null. You may react '
        "and stay silent."
        if reactions_allowed
        else '- "reaction": always null here (reactions are switched off).'
    )
    return "\n".join(
        [
            "PERSONA",
            settings.persona.flavor.strip(),
            "",
            "IDENTITY",
            f"Your name here is {identity.bot_name}."
            + (f" People also call you {aliases}." if aliases else "")
            + f" You are {where}.",
            "",
            "LIMITS",
            *limits,
            "",
            "OUTPUT",
            "Answer with exactly one JSON object and nothing else:",
            '{"text": "<your message>", "skip": false, "reaction": null}',
            '- To stay silent: {"text": "", "skip": true, "reaction": null}, or just '
            f"{SKIP_TOKEN}.",
            reaction_rule,
        ]
    )


def _decision_text(job: ReplyJob, settings: Settings, is_reply_channel: bool) -> str:
    activity = settings.activity
    if job.reason is AdmissionReason.FORCED:
        return "This needs a message from you. Write it in your own voice."
    if job.reason is AdmissionReason.ADDRESSED:
        return (
            "Someone is talking to you directly. Reply, unless there is truly nothing to say "
            "(then skip)."
        )
    if job.attention is Attention.ACTIVE:
        return (
            "You are part of this conversation. Reply if you have something to add; skip if it "
            "no longer needs you."
        )
    e = activity.ambient_reply_eagerness
    if e <= 0:
        text = "Nobody is talking to you. Stay silent unless you are plainly needed."
    elif e <= 25:
        text = (
            "Nobody is talking to you. Join in only with something clearly useful or genuinely "
            "funny; skipping is the normal choice."
        )
    elif e <= 50:
        text = (
            "Nobody is talking to you. Join in when you have something worthwhile; skip when "
            "you would only be filling space."
        )
    elif e <= 75:
        text = (
            "Nobody is talking to you, but you like joining in. Chime in when you have a take; "
            "skip small talk that does not need you."
        )
    else:
        text = (
            "Nobody is talking to you, but you are an eager participant. Join in freely unless "
            "it would be intrusive."
        )
    if is_reply_channel:
        text += " This channel is meant for talking with you, so lean towards joining in."
    return text


def _reaction_text(settings: Settings, reactions_allowed: bool) -> str:
    if not reactions_allowed:
        return "No reactions right now."
    r = settings.activity.reactivity
    if r <= 20:
        return "React with an emoji only rarely."
    if r <= 60:
        return "An emoji reaction is fine when it says enough on its own."
    return "You like reacting with emoji; do it whenever one fits."


def build_reply_prompt(
    job: ReplyJob,
    history: Sequence[MessageView],
    *,
    settings: Settings,
    bot_user_id: int,
    channel_name: str | None = None,
    reactions_allowed: bool = True,
    extra_sections: Sequence[tuple[str, str]] = (),
    members: Sequence[Participant] = (),
) -> Prompt:
    """The prompt for ``job``.

    ``history`` is the channel's recent messages, oldest first (e.g. from the Store); it may
    include the batch. Messages newer than the trigger are left out (they belong to the next
    batch); at most ``reply_generation.context_messages`` are shown in all. ``extra_sections``
    are (title, body) pairs added before the decision (memory, tool results …). ``members``
    are the guild's known members: a ``<@id>`` of one shows as ``@name``, and the reply's
    ``@name`` may resolve to any of them (`Prompt.mentionable`).
    """
    batch_ids = set(job.message_ids)
    limit = max(settings.reply_generation.context_messages - len(job.messages), 0)
    newest = job.trigger.message_id
    older = [m for m in history if m.message_id not in batch_ids and m.message_id < newest]
    older = older[-limit:] if limit else []
    everyone = [*older, *job.messages]
    names = {m.user_id: m.name for m in members} | _names(everyone)
    people = participants_of(everyone, bot_user_id=bot_user_id)
    in_people = {p.user_id for p in people}
    others = tuple(m for m in members if m.user_id not in in_people and m.user_id != bot_user_id)

    is_dm = job.trigger.is_dm
    permissions = settings.permissions
    is_reply_channel = not is_dm and (
        job.channel_id in permissions.reply_channel_ids
        or job.trigger.parent_channel_id in permissions.reply_channel_ids
    )
    if is_dm:
        where = f"in a private conversation (DM) with {job.trigger.author_name}"
    elif channel_name:
        where = f"in the Discord channel #{channel_name}"
    else:
        where = "in a Discord channel"

    lines: list[str] = []
    if is_reply_channel:
        lines.append("This channel is meant for chatting with you.")
    people_text = ", ".join(f"{p.name} [bot]" if p.is_bot else p.name for p in people)
    lines += ["PEOPLE HERE", people_text or "(nobody else)", ""]
    if older:
        lines += ["RECENT MESSAGES (oldest first)"]
        lines += [_line(m, names, bot_user_id) for m in older]
        lines.append("")
    lines += ["NEW MESSAGES (the latest is last)"]
    lines += [_line(m, names, bot_user_id) for m in job.messages]
    lines.append("")
    for title, body in extra_sections:
        lines += [title.upper(), body.strip(), ""]
    lines += [
        "YOUR DECISION",
        _decision_text(job, settings, is_reply_channel),
        _reaction_text(settings, reactions_allowed),
        "Answer with the JSON object only.",
    ]
    return Prompt(
        system=_system(settings, where, reactions_allowed),
        turns=(Turn(role="user", text="\n".join(lines)),),
        participants=people,
        mentionable=people + others,
    )
