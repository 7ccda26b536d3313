"""Initiative posts, without I/O: the gates, the held thought, the prompt and the decision.

Every 10 minutes (a scheduler tick) the actor asks `plan_tick` for each server: `Skip` (which
gate held it back, and why) or `Think` (ask the model, with the held thought if there is one).
The model answers with `DECISION_SCHEMA`; `read_decision` checks it against the channels it was
offered. Nothing here reads a clock or a socket: ``now`` and the roll are handed in.

The gates, in order (docs/initiative.md):

1. ``disabled`` — ``initiative.posts_enabled`` is off;
2. ``no_channel`` — no channel of ``initiative.channel_ids`` is one clanker may post in now
   (known, a text channel, not blocked, and clanker did not write its last message);
3. ``daily_budget`` — ``max_posts_per_day`` initiative posts in the last 24 hours;
4. ``min_gap`` — less than ``min_minutes_between_posts`` since the last post or the last
   thought the model dropped;
5. ``eagerness`` — the roll (0 ≤ roll < 100) is not under ``eagerness``; a held thought is
   revisited instead when there is one (it is not rolled for).

A held thought expires ``PENDING_MAX_AGE`` after it was first held (``thought_expired``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from clanker.settings.model import Initiative

TICK_SECONDS = 600.0
"""How often the gates are checked (a scheduler job, ``initiative:tick``)."""
PENDING_MAX_AGE = timedelta(hours=2)
"""A held thought is dropped this long after it was first held."""
MAX_POST_CHARS = 1800
"""A post longer than this is cut at a word (Discord takes 2,000)."""
TYPING_DELAY = (0.35, 1.25)
"""Seconds of typing shown before a post, drawn from the actor's seeded random."""

Gate = Literal[
    "disabled",
    "no_channel",
    "daily_budget",
    "min_gap",
    "eagerness",
    "thought_expired",
    "pacing",
    "model_drop",
    "model_error",
    "bad_decision",
    "send_failed",
]


@dataclass(frozen=True)
class Pending:
    """A thought the model chose to hold: revisited at a later tick, at most until
    ``first_held_at + PENDING_MAX_AGE``."""

    guild_id: int
    channel_id: int
    text: str
    reason: str
    first_held_at: datetime
    revision: int = 1

    def expired(self, now: datetime) -> bool:
        return now - self.first_held_at >= PENDING_MAX_AGE


@dataclass(frozen=True)
class History:
    """What the action log says about a server's initiative: the times of its posts in the
    last day, and of the last post or dropped thought (the gap counts from that)."""

    posts: tuple[datetime, ...] = ()
    last_gap_mark: datetime | None = None

    def posts_since(self, since: datetime) -> int:
        return sum(1 for at in self.posts if at > since)


@dataclass(frozen=True)
class Skip:
    gate: Gate
    reason: str


@dataclass(frozen=True)
class Think:
    """Ask the model, offering ``channels``; ``pending`` is the held thought to revisit."""

    channels: tuple[int, ...]
    pending: Pending | None = None


@dataclass(frozen=True)
class ChannelState:
    """A channel as the gates see it."""

    channel_id: int
    known: bool = True  # the bridge knows it as a text channel of this server
    last_author_is_bot: bool = False


def eligible_channels(
    settings: Initiative,
    channels: Sequence[ChannelState],
    *,
    blocked: Sequence[int] = (),
) -> tuple[int, ...]:
    """The listed channels clanker may post in now, in the settings' order."""
    by_id = {c.channel_id: c for c in channels}
    out: list[int] = []
    for channel_id in settings.channel_ids:
        state = by_id.get(channel_id)
        if state is None or not state.known or channel_id in blocked:
            continue
        if state.last_author_is_bot:  # it would be talking to itself
            continue
        out.append(channel_id)
    return tuple(out)


def plan_tick(
    settings: Initiative,
    *,
    now: datetime,
    history: History,
    channels: Sequence[int],
    pending: Pending | None,
    roll: float,
) -> Skip | Think:
    """The gates, in the module docstring's order. ``channels``: `eligible_channels`."""
    if not 0.0 <= roll < 100.0:
        raise ValueError(f"roll must be in [0, 100), got {roll!r}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not settings.posts_enabled:
        return Skip("disabled", "initiative.posts_enabled is off")
    if not channels:
        listed = len(settings.channel_ids)
        why = (
            "initiative.channel_ids lists no channel"
            if not listed
            else f"none of the {listed} listed channel(s) can take a post now"
        )
        return Skip("no_channel", why)
    day = history.posts_since(now - timedelta(days=1))
    if day >= settings.max_posts_per_day:
        return Skip(
            "daily_budget",
            f"{day} post(s) in the last 24 h (initiative.max_posts_per_day "
            f"{settings.max_posts_per_day})",
        )
    gap = timedelta(minutes=settings.min_minutes_between_posts)
    mark = history.last_gap_mark
    if mark is not None and now - mark < gap:
        waited = int((now - mark).total_seconds() // 60)
        return Skip(
            "min_gap",
            f"{waited} min since the last post or dropped thought "
            f"(initiative.min_minutes_between_posts {settings.min_minutes_between_posts})",
        )
    if pending is not None and pending.expired(now):
        return Skip("thought_expired", f"the held thought is older than {PENDING_MAX_AGE}")
    if roll < settings.eagerness:
        return Think(tuple(channels), pending if _offered(pending, channels) else None)
    if pending is not None and _offered(pending, channels):
        return Think(tuple(channels), pending)
    return Skip(
        "eagerness", f"rolled {roll:.1f}, not under initiative.eagerness {settings.eagerness}"
    )


def _offered(pending: Pending | None, channels: Sequence[int]) -> bool:
    return pending is not None and pending.channel_id in channels


# -- the model's answer -------------------------------------------------------------------------

DECISION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "action",
        "channel_id",
        "reply_to_message_id",
        "text",
        "media",
        "media_prompt",
        "reason",
    ],
    "properties": {
        "action": {"type": "string", "enum": ["post_now", "hold", "drop"]},
        "channel_id": {"type": "string", "description": "one of the channels' ids, as written"},
        "reply_to_message_id": {
            "type": ["string", "null"],
            "description": "a message id from that channel to answer, or null",
        },
        "text": {"type": "string", "description": "the post (post_now) or the thought (hold)"},
        "media": {"type": "string", "enum": ["none", "image", "gif"]},
        "media_prompt": {
            "type": "string",
            "description": "GIF search words or what to draw; empty with media none",
        },
        "reason": {"type": "string", "description": "why, in one sentence (for the operator)"},
    },
}


@dataclass(frozen=True)
class Decision:
    action: Literal["post_now", "hold", "drop"]
    channel_id: int
    reply_to_message_id: int | None
    text: str
    media: Literal["none", "image", "gif"]
    reason: str
    source_url: str | None = None
    media_prompt: str = ""


_MEDIA: dict[str, Literal["none", "image", "gif"]] = {
    "none": "none",
    "image": "image",
    "gif": "gif",
}
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)
_URL = re.compile(r"https?://[^\s<>()\"']+")


def _as_id(value: object, what: str) -> int:
    text = str(value).strip()
    if not text.isdigit():
        raise ValueError(f"{what} must be a channel or message id (digits), got {value!r}")
    return int(text)


def read_decision(
    text: str,
    *,
    channels: Sequence[int],
    message_ids: Mapping[int, Sequence[int]] | None = None,
    feed_urls: Sequence[str] = (),
) -> Decision:
    """The model's answer as a `Decision`, or `ValueError` naming what is wrong with it.

    Lenient about wrapping (a JSON object inside prose or a code fence, as models write when
    they also had tools), strict about content: the action, a channel it was offered, a reply
    target among that channel's recent messages (else dropped, not refused), text for a post.
    ``source_url`` is the first feed link the post shares, if any."""
    match = _JSON_OBJECT.search(text)
    if match is None:
        raise ValueError("the answer holds no JSON object")
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError as exc:
        raise ValueError(f"the answer's JSON does not parse: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("the answer is not a JSON object")
    action = data.get("action")
    if action not in ("post_now", "hold", "drop"):
        raise ValueError(f"action must be post_now, hold or drop, got {action!r}")
    reason = str(data.get("reason") or "").strip()[:500]
    body = str(data.get("text") or "").strip()
    raw_media = data.get("media") or "none"
    media = _MEDIA.get(raw_media) if isinstance(raw_media, str) else None
    if media is None:
        raise ValueError(f"media must be none, image or gif, got {raw_media!r}")
    media_prompt = str(data.get("media_prompt") or "").strip()[:900]
    if media != "none" and not media_prompt:
        raise ValueError(f"media {media} needs a media_prompt (search words or what to draw)")
    if action == "drop":
        channel = channels[0] if channels else 0
        raw = data.get("channel_id")
        if raw is not None and str(raw).strip().isdigit() and int(str(raw)) in channels:
            channel = int(str(raw))
        return Decision("drop", channel, None, body, media, reason)
    channel = _as_id(data.get("channel_id"), "channel_id")
    if channel not in channels:
        offered = ", ".join(str(c) for c in channels)
        raise ValueError(f"channel_id {channel} is not one of the channels offered ({offered})")
    if not body:
        raise ValueError(f"{action} needs text")
    reply_to = None
    raw_reply = data.get("reply_to_message_id")
    if raw_reply not in (None, "", "null"):
        candidate = _as_id(raw_reply, "reply_to_message_id")
        known = (message_ids or {}).get(channel, ())
        reply_to = candidate if candidate in known else None
    body = clip(body)
    shared = None
    wanted = {u.rstrip("/") for u in feed_urls}
    for url in _URL.findall(body):
        if url.rstrip("/.,!?") in wanted or url.rstrip("/") in wanted:
            shared = url.rstrip(".,!?")
            break
    return Decision(action, channel, reply_to, body, media, reason, shared, media_prompt)


def clip(text: str, limit: int = MAX_POST_CHARS) -> str:
    """``text`` cut at a word to at most ``limit`` characters (an ellipsis marks the cut)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


# -- the prompt ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelContext:
    channel_id: int
    name: str
    lines: tuple[str, ...]  # "[id] author: text", oldest first


@dataclass(frozen=True)
class FeedLine:
    title: str
    url: str
    source: str
    age_hours: float
    points: int | None = None


@dataclass(frozen=True)
class PastPost:
    channel_name: str
    text: str
    replies: int
    source: str | None = None
    reactions: int | None = None  # None: not known (the Store keeps no reactions)


@dataclass(frozen=True)
class PromptParts:
    bot_name: str
    persona: str
    guild_name: str
    channels: tuple[ChannelContext, ...]
    feed: tuple[FeedLine, ...] = ()
    feed_sources: tuple[str, ...] = ()
    past_posts: tuple[PastPost, ...] = ()
    interests: tuple[str, ...] = ()
    pending: Pending | None = None
    now: str = ""
    tools: tuple[str, ...] = field(default=())
    voice: tuple[ChannelContext, ...] = ()  # recent transcripts of the server's voice channels
    media: tuple[str, ...] = ()  # what may go with a post now: "gif", "image"


def initiative_prompt(parts: PromptParts) -> tuple[str, str]:
    """The system and user text of a decision."""
    system = (
        f"You are {parts.bot_name}, a member of the Discord server {parts.guild_name!r}. "
        f"{parts.persona.strip()}\n\n"
        "AMBIENT TEXT MODE: nobody asked you anything. You may start a conversation on your "
        "own, the way a regular member does now and then: share something this community "
        "would care about, pick up a thread from earlier, or stay quiet. Quiet is often "
        "right; never post filler, never repeat a link already shared, never address people "
        "who are not in the conversation, no @mentions."
    )
    out: list[str] = []
    if parts.now:
        out.append(f"It is {parts.now}.")
    if parts.pending is not None:
        p = parts.pending
        out.append(
            "YOUR CURRENT THOUGHT (held earlier, revision "
            f"{p.revision}, for channel {p.channel_id}): {p.text}\n(why you held it: {p.reason})"
        )
    out.append("CHANNELS (you may post in these; message ids in brackets):")
    for channel in parts.channels:
        out.append(f"#{channel.name} (channel_id {channel.channel_id}):")
        out.extend(f"  {line}" for line in channel.lines or ("(no recent messages)",))
    if parts.voice:
        out.append("RECENT VOICE CHAT (transcribed; you cannot post in a voice channel):")
        for channel in parts.voice:
            out.append(f"[vc] #{channel.name}:")
            out.extend(f"  {line}" for line in channel.lines)
    if parts.feed:
        out.append("YOUR FEED (fresh links from your sources, best first):")
        for item in parts.feed:
            points = f", {item.points} points" if item.points is not None else ""
            out.append(
                f"- {item.title} — {item.url} ({item.source}, {item.age_hours:.0f} h old{points})"
            )
    if parts.feed_sources:
        out.append("FEED SOURCES: " + ", ".join(parts.feed_sources))
    if parts.past_posts:
        out.append("YOUR RECENT POSTS AND WHAT THEY GOT:")
        for post in parts.past_posts:
            src = f" [{post.source}]" if post.source else ""
            got = f"{post.replies} replies"
            if post.reactions is not None:
                got += f", {post.reactions} reactions"
            out.append(f"- #{post.channel_name}: {post.text[:160]!r}{src} → {got}")
    if parts.interests:
        out.append("WHAT THIS COMMUNITY IS INTO (from memory):")
        out.extend(f"- {fact}" for fact in parts.interests)
    media_choice = " | ".join(f'"{m}"' for m in ("none", *parts.media))
    prompt_choice = (
        '"<GIF search words, or what to draw, in detail>" or ""' if parts.media else '""'
    )
    if parts.media:
        what = {"gif": "a GIF found on GIPHY", "image": "a generated picture"}
        out.append(
            "MEDIA: you may post "
            + " or ".join(what[m] for m in parts.media)
            + " with the text, when it truly adds something."
        )
    if parts.tools:
        out.append("You may call these tools first: " + ", ".join(parts.tools) + ".")
    out.append(
        "TASK: answer with one JSON object only: "
        '{"action": "post_now" | "hold" | "drop", "channel_id": "<one of the ids above>", '
        '"reply_to_message_id": "<a message id from that channel>" or null, '
        '"text": "<the post, or the thought to hold>", '
        f'"media": {media_choice}, "media_prompt": {prompt_choice}, '
        '"reason": "<one sentence>"}. post_now posts the text now; hold keeps the thought to '
        "revisit later (say why); drop discards it."
    )
    return system, "\n".join(out)
