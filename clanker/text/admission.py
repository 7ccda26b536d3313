"""Reply admission: should this message reach the model at all?

The gates, in order, each with the reason it reports:

1. clanker's own message → ``own_message`` (recorded, never answered);
2. replies switched off → ``replies_disabled``;
3. (guild channels only; DMs skip the channel lists) a blocked channel →
   ``channel_blocked``; a non-empty allow list without this channel (or its thread parent)
   → ``channel_not_allowed``;
4. a blocked user → ``user_blocked``;
5. another bot not in ``permissions.allowed_bot_ids`` → ``other_bot`` (context only, so two
   bots never talk each other into a loop);
6. nothing to read → ``empty_message``.

What passes the gates is admitted when it is forced (``forced``), addresses clanker
(``addressed``) or belongs to a conversation clanker is in (``active_conversation``). The rest
is ambient: refused as ``unsolicited_disabled`` if unsolicited replies are off, else admitted
as ``ambient`` — and then **the model decides**, answering ``[SKIP]`` when it has nothing to
add. There is no dice roll anywhere: eagerness only shapes the model's instructions.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import msgspec

from clanker.settings.model import Permissions, Settings
from clanker.text.address import NOT_ADDRESSED, Address, address_signal
from clanker.text.attention import Attention, attention_state
from clanker.text.views import MessageView


class AdmissionReason(StrEnum):
    """Why a message was admitted or refused (also the action log's ``reason``)."""

    FORCED = "forced"
    ADDRESSED = "addressed"
    ACTIVE_CONVERSATION = "active_conversation"
    AMBIENT = "ambient"
    OWN_MESSAGE = "own_message"
    REPLIES_DISABLED = "replies_disabled"
    CHANNEL_BLOCKED = "channel_blocked"
    CHANNEL_NOT_ALLOWED = "channel_not_allowed"
    USER_BLOCKED = "user_blocked"
    OTHER_BOT = "other_bot"
    EMPTY_MESSAGE = "empty_message"
    UNSOLICITED_DISABLED = "unsolicited_disabled"


class Admission(msgspec.Struct, frozen=True, kw_only=True):
    """The admission decision for one message, with the signals it rests on."""

    admitted: bool
    reason: AdmissionReason
    address: Address = NOT_ADDRESSED
    attention: Attention = Attention.AMBIENT


def channel_refusal(
    permissions: Permissions,
    *,
    channel_id: int,
    parent_channel_id: int | None = None,
    is_dm: bool = False,
) -> AdmissionReason | None:
    """Why clanker may not reply in this channel, or None if it may (DMs always may).

    A thread is judged by its own id and its parent channel's: either being blocked blocks
    it, and either being allowed allows it.
    """
    if is_dm:
        return None
    channels = {channel_id} if parent_channel_id is None else {channel_id, parent_channel_id}
    if channels & set(permissions.blocked_channel_ids):
        return AdmissionReason.CHANNEL_BLOCKED
    allowed = permissions.allowed_channel_ids
    if allowed and not channels & set(allowed):
        return AdmissionReason.CHANNEL_NOT_ALLOWED
    return None


def sender_refusal(
    msg: MessageView, *, bot_user_id: int, settings: Settings
) -> AdmissionReason | None:
    """The gate (1-6 above) that refuses ``msg``, or None if it passes them all."""
    permissions = settings.permissions
    if msg.author_id == bot_user_id:
        return AdmissionReason.OWN_MESSAGE
    if not permissions.allow_replies:
        return AdmissionReason.REPLIES_DISABLED
    refused = channel_refusal(
        permissions,
        channel_id=msg.channel_id,
        parent_channel_id=msg.parent_channel_id,
        is_dm=msg.is_dm,
    )
    if refused is not None:
        return refused
    if msg.author_id in permissions.blocked_user_ids:
        return AdmissionReason.USER_BLOCKED
    if msg.author_is_bot and msg.author_id not in permissions.allowed_bot_ids:
        return AdmissionReason.OTHER_BOT
    if not msg.content.strip():
        return AdmissionReason.EMPTY_MESSAGE
    return None


def admit(
    msg: MessageView,
    *,
    bot_user_id: int,
    settings: Settings,
    recent: Sequence[MessageView] = (),
) -> Admission:
    """Decide whether ``msg`` reaches the model; ``recent`` is the channel before it."""
    refused = sender_refusal(msg, bot_user_id=bot_user_id, settings=settings)
    if refused is not None:
        return Admission(admitted=False, reason=refused)
    address = address_signal(msg, bot_user_id=bot_user_id, identity=settings.identity)
    attention = attention_state(
        msg,
        recent,
        bot_user_id=bot_user_id,
        address=address,
        window_eagerness=settings.activity.response_window_eagerness,
    )
    if msg.force_reply:
        reason = AdmissionReason.FORCED
    elif address.direct:
        reason = AdmissionReason.ADDRESSED
    elif attention is Attention.ACTIVE:
        reason = AdmissionReason.ACTIVE_CONVERSATION
    elif not settings.permissions.allow_unsolicited_replies:
        return Admission(
            admitted=False,
            reason=AdmissionReason.UNSOLICITED_DISABLED,
            address=address,
            attention=attention,
        )
    else:
        reason = AdmissionReason.AMBIENT
    return Admission(admitted=True, reason=reason, address=address, attention=attention)
