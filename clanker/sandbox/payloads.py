"""Discord wire payloads (JSON-ready dicts) built from the sandbox world.

Field sets follow what discord.py-self 2.1.0 reads (see the python-stack notes, 3b): ids are
strings, timestamps ISO-8601 with a UTC offset. Builders are pure functions of the world; the
`viewer_id` argument is whose point of view per-user fields (a reaction's `me`) take.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from clanker.sandbox import cdn
from clanker.sandbox.world import (
    Attachment,
    Channel,
    ChannelKind,
    Emoji,
    Guild,
    Member,
    Message,
    User,
    VoiceState,
    World,
)

JsonObject = dict[str, Any]

# Permissions of @everyone: view, send, read history, add reactions, attach, embed, connect, speak,
# use voice activity, change nickname. Enough for everything the bot does in the sandbox.
EVERYONE_PERMISSIONS = str(
    (1 << 10) | (1 << 11) | (1 << 16) | (1 << 6) | (1 << 15) | (1 << 14) | (1 << 20) | (1 << 21)
    | (1 << 25) | (1 << 26)
)  # fmt: skip

MESSAGE_TYPE_DEFAULT = 0
MESSAGE_TYPE_REPLY = 19
MESSAGE_TYPE_USER_JOIN = 7


def iso_time(unix_ms: int) -> str:
    """Discord's timestamp format for a Unix time in milliseconds."""
    return datetime.fromtimestamp(unix_ms / 1000, tz=UTC).isoformat(timespec="microseconds")


def user(u: User) -> JsonObject:
    """A partial user object, as embedded in messages and members."""
    return {
        "id": str(u.id),
        "username": u.username,
        "discriminator": "0",
        "global_name": u.global_name,
        "avatar": None,
        "avatar_decoration_data": None,
        "public_flags": 0,
        "bot": False,
    }


def client_user(u: User) -> JsonObject:
    """The logged-in account's own user object (`GET /users/@me`, READY `user`)."""
    return {
        **user(u),
        "email": f"{u.username}@sandbox.invalid",
        "verified": True,
        "mfa_enabled": False,
        "flags": 0,
        "premium_type": 0,
        "phone": None,
        "locale": "en-US",
        "nsfw_allowed": True,
        "bio": "",
    }


def member(world: World, m: Member, *, with_user: bool = True) -> JsonObject:
    """A guild member object; READY's merged lists carry `user_id` instead of `user`."""
    data: JsonObject = {
        "roles": [],
        "nick": m.nick,
        "avatar": None,
        "joined_at": iso_time(m.joined_at_ms),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "communication_disabled_until": None,
    }
    if with_user:
        data["user"] = user(world.user(m.user_id))
    else:
        data["user_id"] = str(m.user_id)
    return data


def dm_channel(world: World, c: Channel, *, ready: bool = False) -> JsonObject:
    """A DM channel object: its recipient is the user at the other end (READY lists them as
    ``recipient_ids``, with the users in READY's ``users``)."""
    others = [uid for uid in c.recipient_ids if uid != world.bot.id]
    data: JsonObject = {
        "id": str(c.id),
        "type": int(ChannelKind.DM),
        "last_message_id": str(c.last_message_id) if c.last_message_id else None,
        "flags": 0,
        "is_spam": False,
    }
    if ready:
        data["recipient_ids"] = [str(uid) for uid in others]
    else:
        data["recipients"] = [user(world.user(uid)) for uid in others]
    return data


def channel(c: Channel, *, with_guild_id: bool = True) -> JsonObject:
    """A guild channel object (READY's guild channels omit `guild_id`)."""
    data: JsonObject = {
        "id": str(c.id),
        "type": int(c.kind),
        "name": c.name,
        "position": c.position,
        "permission_overwrites": [],
        "parent_id": None,
        "nsfw": False,
        "flags": 0,
        "last_message_id": str(c.last_message_id) if c.last_message_id else None,
    }
    if c.kind is ChannelKind.TEXT:
        data.update(topic=c.topic, rate_limit_per_user=0)
    else:
        data.update(bitrate=64000, user_limit=0, rtc_region=None, rate_limit_per_user=0)
    if with_guild_id:
        data["guild_id"] = str(c.guild_id)
    return data


def everyone_role(g: Guild) -> JsonObject:
    """The @everyone role, whose id is the guild's id."""
    return {
        "id": str(g.id),
        "name": "@everyone",
        "permissions": EVERYONE_PERMISSIONS,
        "position": 0,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


def voice_state(world: World, vs: VoiceState | None, *, guild_id: int, user_id: int) -> JsonObject:
    """A voice state; `vs is None` means the user left voice (`channel_id: null`)."""
    m = world.members.get((guild_id, user_id))
    return {
        "guild_id": str(guild_id),
        "channel_id": str(vs.channel_id) if vs else None,
        "user_id": str(user_id),
        "session_id": vs.session_id if vs else "",
        "deaf": False,
        "mute": False,
        "self_deaf": vs.self_deaf if vs else False,
        "self_mute": vs.self_mute if vs else False,
        "self_video": False,
        "suppress": False,
        "request_to_speak_timestamp": None,
        "member": member(world, m) if m else None,
    }


def ready_guild(world: World, g: Guild) -> JsonObject:
    """One entry of READY `guilds` (this API version nests the guild fields in `properties`)."""
    return {
        "id": str(g.id),
        "properties": {
            "id": str(g.id),
            "name": g.name,
            "owner_id": str(g.owner_id),
            "icon": None,
            "description": None,
            "features": [],
            "preferred_locale": "en-US",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "system_channel_id": None if g.system_channel_id is None else str(g.system_channel_id),
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
        },
        "member_count": len(g.member_ids),
        "large": False,
        "joined_at": iso_time(world.member(g.id, world.bot.id).joined_at_ms),
        "roles": [everyone_role(g)],
        "channels": [channel(world.channel(cid), with_guild_id=False) for cid in g.channel_ids],
        "threads": [],
        "emojis": [],
        "stickers": [],
        "guild_scheduled_events": [],
        "stage_instances": [],
        "data_mode": "full",
        "version": 0,
    }


def ready(world: World, *, session_id: str, resume_gateway_url: str) -> JsonObject:
    """The READY dispatch for the bot's user account."""
    guilds = list(world.guilds.values())
    others = [u for u in world.users.values() if u.id != world.bot.id]
    return {
        "v": 9,
        "user": client_user(world.bot),
        "session_id": session_id,
        "resume_gateway_url": resume_gateway_url,
        "session_type": "normal",
        "analytics_token": "sandbox",
        "auth_session_id_hash": "sandbox",
        "country_code": "US",
        "users": [user(u) for u in others],
        "relationships": [],
        "private_channels": [dm_channel(world, c, ready=True) for c in world.dm_channels()],
        "guilds": [ready_guild(world, g) for g in guilds],
        # One list per guild holding our own member object; everyone else is in READY_SUPPLEMENTAL.
        "merged_members": [
            [member(world, world.member(g.id, world.bot.id), with_user=False)] for g in guilds
        ],
        "read_state": {"entries": [], "version": 0, "partial": False},
        "user_guild_settings": {"entries": [], "version": 0, "partial": False},
        "user_settings_proto": "",
        "experiments": [],
        "guild_experiments": [],
        "connected_accounts": [],
        "consents": {},
        "sessions": [
            {
                "session_id": session_id,
                "status": "online",
                "active": True,
                "activities": [],
                "client_info": {"client": "web", "os": "windows", "version": 0},
            }
        ],
        "geo_ordered_rtc_regions": ["sandbox"],
    }


def ready_supplemental(world: World) -> JsonObject:
    """READY_SUPPLEMENTAL: the other members, presences (none) and voice states per guild."""
    guilds = list(world.guilds.values())
    return {
        # discord.py-self indexes merged_presences["guilds"] directly, so it must be present.
        "merged_presences": {"guilds": [[] for _ in guilds], "friends": []},
        "merged_members": [
            [
                member(world, m, with_user=False)
                for m in world.guild_members(g.id)
                if m.user_id != world.bot.id
            ]
            for g in guilds
        ],
        "guilds": [
            {
                "id": str(g.id),
                "voice_states": [
                    {
                        k: v
                        for k, v in voice_state(
                            world, vs, guild_id=g.id, user_id=vs.user_id
                        ).items()
                        if k != "member"
                    }
                    for vs in world.guild_voice_states(g.id)
                ],
                "embedded_activities": [],
            }
            for g in guilds
        ],
        "lazy_private_channels": [],
        "disclose": [],
    }


def emoji(e: Emoji) -> JsonObject:
    """A partial emoji object."""
    return {"id": str(e.id) if e.id else None, "name": e.name}


def message(world: World, m: Message, *, viewer_id: int, for_gateway: bool = False) -> JsonObject:
    """A message object. Gateway dispatches also carry `guild_id` and the author's `member`."""
    data: JsonObject = {
        "id": str(m.id),
        "channel_id": str(m.channel_id),
        "author": user(world.user(m.author_id)),
        "content": m.content,
        "timestamp": iso_time(m.created_ms),
        "edited_timestamp": iso_time(m.edited_ms) if m.edited_ms else None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [user(world.user(uid)) for uid in m.mention_ids],
        "mention_roles": [],
        "attachments": [attachment(world, m, a) for a in m.attachments],
        "embeds": [],
        "components": [],
        "reactions": [
            {
                "emoji": emoji(r.emoji),
                "count": len(r.user_ids),
                "count_details": {"burst": 0, "normal": len(r.user_ids)},
                "me": viewer_id in r.user_ids,
                "me_burst": False,
                "burst_colors": [],
            }
            for r in m.reactions
        ],
        "pinned": False,
        "type": m.kind or (MESSAGE_TYPE_REPLY if m.reference_id else MESSAGE_TYPE_DEFAULT),
        "flags": 0,
    }
    if m.nonce is not None:
        data["nonce"] = m.nonce
    if m.reference_id is not None:
        data["message_reference"] = {
            "type": 0,
            "message_id": str(m.reference_id),
            "channel_id": str(m.channel_id),
        }
        if m.guild_id is not None:
            data["message_reference"]["guild_id"] = str(m.guild_id)
        referenced = world.messages.get(m.reference_id)
        data["referenced_message"] = (
            message(world, referenced, viewer_id=viewer_id)
            if referenced is not None and not referenced.deleted
            else None
        )
    if for_gateway and m.guild_id is not None:  # a DM's dispatch has neither
        data["guild_id"] = str(m.guild_id)
        author_member = world.members.get((m.guild_id, m.author_id))
        if author_member is not None:
            data["member"] = {k: v for k, v in member(world, author_member).items() if k != "user"}
    return data


def attachment(world: World, m: Message, a: Attachment) -> JsonObject:
    """An attachment object with a freshly signed CDN link (served by the sandbox)."""
    issued = world.snowflakes.now_ms() // 1000
    url = cdn.signed_url(world.cdn_url, world.cdn_secret, m.channel_id, a, issued)
    data: JsonObject = {
        "id": str(a.id),
        "filename": a.filename,
        "size": len(a.data),
        "url": url,
        "proxy_url": url,
    }
    if a.content_type:
        data["content_type"] = a.content_type
    if a.width is not None and a.height is not None:
        data["width"], data["height"] = a.width, a.height
    return data


def reaction_event(world: World, m: Message, *, user_id: int, e: Emoji, added: bool) -> JsonObject:
    """MESSAGE_REACTION_ADD / MESSAGE_REACTION_REMOVE data."""
    data: JsonObject = {
        "user_id": str(user_id),
        "channel_id": str(m.channel_id),
        "message_id": str(m.id),
        "emoji": emoji(e),
        "burst": False,
        "type": 0,
    }
    if m.guild_id is not None:
        data["guild_id"] = str(m.guild_id)
    if added:
        data["message_author_id"] = str(m.author_id)
        reactor = world.members.get((m.guild_id, user_id)) if m.guild_id is not None else None
        if reactor is not None:
            data["member"] = member(world, reactor)
    return data


def member_add_event(world: World, m: Member) -> JsonObject:
    """GUILD_MEMBER_ADD data."""
    return {**member(world, m), "guild_id": str(m.guild_id)}


def typing_event(world: World, *, channel_id: int, user_id: int, now_ms: int) -> JsonObject:
    """TYPING_START data."""
    c = world.channel(channel_id)
    data: JsonObject = {
        "channel_id": str(c.id),
        "user_id": str(user_id),
        "timestamp": now_ms // 1000,
    }
    if c.guild_id is not None:
        data["guild_id"] = str(c.guild_id)
        data["member"] = member(world, world.member(c.guild_id, user_id))
    return data


def error(message_text: str, code: int, **extra: Any) -> JsonObject:
    """A Discord JSON error body."""
    return {"message": message_text, "code": code, **extra}
