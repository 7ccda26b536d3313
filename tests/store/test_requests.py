"""Request messages: wire-safe, and bad input fails where the request is built."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest

from clanker.runtime import validate_message, wire_roundtrip
from clanker.store import (
    ActionCount,
    ActionLogged,
    ActionRow,
    ActionRows,
    ActionsQuery,
    Claimed,
    ClaimTrigger,
    CountActions,
    GetMessage,
    GetSetting,
    LinkTriggerAction,
    LogAction,
    MarkMessageDeleted,
    MarkMessageEdited,
    MessageRow,
    MessageRows,
    PutSetting,
    RecentMessages,
    RowsChanged,
    SettingConflict,
    SettingStored,
    SettingValue,
    StoreRejected,
    StoreRequest,
    fold_content,
    to_json,
)

from .helpers import at, chat

EXAMPLES: list[Any] = [
    chat(1, 0),
    chat(2, 0, guild_id=None, reply_to=1),
    MarkMessageEdited(message_id=1, content="x", edited_at=at(1)),
    MarkMessageDeleted(message_id=1),
    RecentMessages(channel_id=1, limit=10, before_id=5),
    GetMessage(message_id=1),
    LogAction(kind="llm_call", metadata=to_json({"model": "m", "tokens": [1, 2]}), usd_cost=0.1),
    ActionsQuery(kind="sent_reply", since=at(0), limit=5, offset=5),
    CountActions(kind="sent_reply", since=at(0)),
    GetSetting(key="runtime"),
    PutSetting(key="runtime", value='{"a": [1, 2.5, null]}', expected_version=0),
    ClaimTrigger(message_id=1, claimed_by="text_reply"),
    LinkTriggerAction(message_id=1, action_id=2),
    RowsChanged(count=1),
    MessageRows(
        rows=(
            MessageRow(
                message_id=1,
                guild_id=None,
                channel_id=2,
                author_id=3,
                author_name="a",
                is_bot=False,
                content="c",
                reply_to_message_id=None,
                created_at=at(0),
                edited_at=None,
                deleted=False,
            ),
        )
    ),
    ActionLogged(id=1, created_at=at(0)),
    ActionRows(
        rows=(
            ActionRow(
                id=1,
                kind="k",
                guild_id=None,
                channel_id=None,
                message_id=None,
                user_id=None,
                content="",
                metadata="{}",
                usd_cost=0.5,
                created_at=at(0),
            ),
        )
    ),
    ActionCount(count=2, usd_cost=1.5),
    SettingValue(key="k", value=None, version=0, updated_at=None),
    SettingStored(key="k", version=1, updated_at=at(0)),
    SettingConflict(key="k", expected_version=1, current_version=2, current_value="1"),
    Claimed(message_id=1, claimed=False, claimed_by="x", action_id=None, created_at=at(0)),
    StoreRejected(request="RecentMessages", problem="p"),
]


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_survives_the_wire(msg: Any) -> None:
    validate_message(msg)
    assert wire_roundtrip(msg) == msg
    assert msgspec.json.decode(msgspec.json.encode(msg), type=type(msg)) == msg


def test_requests_decode_as_a_tagged_union() -> None:
    requests = [m for m in EXAMPLES if isinstance(m, StoreRequest)]
    assert len(requests) == 13
    decoder = msgspec.msgpack.Decoder(StoreRequest)
    for req in requests:
        assert decoder.decode(msgspec.msgpack.encode(req)) == req


@pytest.mark.parametrize(
    ("build", "problem"),
    [
        (lambda: RecentMessages(channel_id=1, limit=-1), "RecentMessages.limit must be in 1..1000"),
        (lambda: RecentMessages(channel_id=1, limit=0), "limit must be in"),
        (lambda: RecentMessages(channel_id=1, limit=5000), "limit must be in"),
        (lambda: RecentMessages(channel_id=-3), "channel_id must be a non-negative int64"),
        (lambda: GetMessage(message_id=2**63), "message_id must be a non-negative int64"),
        (lambda: ActionsQuery(offset=-1), "offset must be >= 0"),
        (lambda: LogAction(kind="Sent Reply"), "kind 'Sent Reply' is not an action kind"),
        (lambda: LogAction(kind=""), "is not an action kind"),
        (lambda: LogAction(kind="a" * 65), "is not an action kind"),
        (lambda: LogAction(kind="x", metadata="{not json"), "metadata is not valid JSON"),
        (lambda: LogAction(kind="x", metadata="[1, 2]"), "metadata must be a JSON object"),
        (lambda: LogAction(kind="x", usd_cost=-0.01), "usd_cost must be a finite amount"),
        (lambda: LogAction(kind="x", usd_cost=math.nan), "usd_cost must be a finite amount"),
        (lambda: LogAction(kind="x", created_at="yesterday"), "created_at must be an ISO 8601"),
        (lambda: CountActions(kind="x", since="2025-01-01T00:00:00"), "has no timezone"),
        (lambda: PutSetting(key="k", value="nope", expected_version=0), "value is not valid JSON"),
        (lambda: PutSetting(key="k", value="1", expected_version=-1), "expected_version"),
        (lambda: PutSetting(key="", value="1", expected_version=0), "key must not be empty"),
        (lambda: ClaimTrigger(message_id=1, claimed_by=""), "claimed_by must say who"),
        (
            lambda: MarkMessageEdited(message_id=1, content="x", edited_at="2025-13-01"),
            "edited_at must be an ISO 8601",
        ),
    ],
)
def test_bad_requests_fail_when_built_naming_the_problem(build: Any, problem: str) -> None:
    with pytest.raises(ValueError) as info:
        build()
    assert problem in str(info.value)


def test_bad_requests_are_refused_when_decoded_from_the_wire() -> None:
    data = msgspec.msgpack.encode({"type": "RecentMessages", "channel_id": 1, "limit": -1})
    with pytest.raises(msgspec.ValidationError, match="limit must be in"):
        msgspec.msgpack.decode(data, type=StoreRequest)


def test_fold_content_appends_urls_and_reactions_and_caps_length() -> None:
    folded = fold_content(
        "look",
        attachment_urls=["https://cdn/a.png"],
        embed_urls=["https://example.com"],
        reactions=[("🔥", 3), ("👍", 0), ("😂", 1)],
    )
    assert folded == "look\nhttps://cdn/a.png\nhttps://example.com\n[reactions: 🔥 3, 😂 1]"
    assert fold_content("") == ""
    long = fold_content("x" * 3000)
    assert len(long) == 2000 and long.endswith("…")
