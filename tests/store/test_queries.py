"""The SQL of each request, run directly on a connection (no actor)."""

from __future__ import annotations

import msgspec

from clanker.store import (
    ActionLogged,
    ActionsQuery,
    ClaimTrigger,
    CountActions,
    GetMessage,
    GetSetting,
    LinkTriggerAction,
    LogAction,
    MarkMessageDeleted,
    MarkMessageEdited,
    MessageIds,
    MessageRows,
    MidSend,
    PutSetting,
    RecentMessages,
    ResumeInterrupted,
    RowsChanged,
    SettingConflict,
    SettingStored,
    StoreRejected,
    to_json,
    utc_now_iso,
)
from clanker.store import queries as q
from clanker.store.content import MAX_AUTHOR_NAME_CHARS, MAX_CONTENT_CHARS
from clanker.store.sqlite import Connection

from .helpers import CHANNEL, GUILD, at, chat

OTHER_CHANNEL = CHANNEL + 1


def _history(conn: Connection, **kw: int | bool | None) -> list[int]:
    reply = q.recent_messages(conn, RecentMessages(channel_id=CHANNEL, **kw))  # type: ignore[arg-type]
    assert isinstance(reply, MessageRows)
    return [r.message_id for r in reply.rows]


# --- messages ---------------------------------------------------------------------------------


def test_history_is_the_latest_messages_oldest_first(conn: Connection) -> None:
    # Inserted out of order; one in another channel.
    for mid, t in [(103, 3), (101, 1), (105, 5), (102, 2), (104, 4)]:
        assert q.store_message(conn, chat(mid, t)).count == 1
    q.store_message(conn, chat(999, 2.5, channel_id=OTHER_CHANNEL))
    assert _history(conn) == [101, 102, 103, 104, 105]
    assert _history(conn, limit=3) == [103, 104, 105]


def test_before_id_pages_back_through_history(conn: Connection) -> None:
    for i in range(1, 8):
        q.store_message(conn, chat(100 + i, i))
    # Two messages with the same timestamp are ordered by id.
    q.store_message(conn, chat(200, 7))
    page1 = _history(conn, limit=3)
    assert page1 == [106, 107, 200]
    page2 = _history(conn, limit=3, before_id=page1[0])
    assert page2 == [103, 104, 105]
    page3 = _history(conn, limit=3, before_id=page2[0])
    assert page3 == [101, 102]
    assert _history(conn, limit=3, before_id=page3[0]) == []
    assert _history(conn, limit=3, before_id=200) == [105, 106, 107]


def test_unknown_before_id_is_rejected_with_the_reason(conn: Connection) -> None:
    q.store_message(conn, chat(1, 0))
    q.store_message(conn, chat(2, 1, channel_id=OTHER_CHANNEL))
    for bad in (77, 2):  # never stored; stored in another channel
        reply = q.recent_messages(conn, RecentMessages(channel_id=CHANNEL, before_id=bad))
        assert isinstance(reply, StoreRejected)
        assert f"before_id {bad}" in reply.problem


def test_edits_replace_content_and_stamp_edited_at(conn: Connection) -> None:
    q.store_message(conn, chat(1, 0, "teh typo"))
    assert (
        q.mark_edited(
            conn, MarkMessageEdited(message_id=1, content="the fix", edited_at=at(9))
        ).count
        == 1
    )
    (row,) = q.get_message(conn, GetMessage(message_id=1)).rows
    assert (row.content, row.edited_at) == ("the fix", at(9))
    # Editing a message we never saw changes nothing.
    assert (
        q.mark_edited(conn, MarkMessageEdited(message_id=2, content="x", edited_at=at(9))).count
        == 0
    )


def test_deleted_messages_leave_history_but_keep_their_row(conn: Connection) -> None:
    for i in (1, 2, 3):
        q.store_message(conn, chat(i, i))
    assert q.mark_deleted(conn, MarkMessageDeleted(message_id=2)).count == 1
    assert q.mark_deleted(conn, MarkMessageDeleted(message_id=2)).count == 0  # already
    assert _history(conn) == [1, 3]
    assert _history(conn, include_deleted=True) == [1, 2, 3]
    (row,) = q.get_message(conn, GetMessage(message_id=2)).rows
    assert row.deleted
    # A later snapshot refresh (e.g. catch-up) does not resurrect it.
    q.store_message(conn, chat(2, 2, "refreshed"))
    (row,) = q.get_message(conn, GetMessage(message_id=2)).rows
    assert row.deleted and row.content == "refreshed"


def test_dm_rows_have_no_guild_and_all_fields_round_trip(conn: Connection) -> None:
    dm = chat(5, 1, "hi in a DM", guild_id=None, author_id=7, is_bot=True, reply_to=4)
    q.store_message(conn, dm)
    (row,) = q.get_message(conn, GetMessage(message_id=5)).rows
    assert row.guild_id is None
    assert conn.execute("SELECT guild_id FROM messages WHERE message_id = 5").fetchone() == (None,)
    assert (row.channel_id, row.author_id, row.author_name) == (CHANNEL, 7, "user7")
    assert (row.is_bot, row.reply_to_message_id, row.created_at) == (True, 4, at(1))
    assert (row.edited_at, row.deleted) == (None, False)


def test_large_discord_ids_are_int64(conn: Connection) -> None:
    big = 2**63 - 1
    q.store_message(conn, chat(big, 0, guild_id=big))
    assert conn.execute("SELECT typeof(message_id), guild_id FROM messages").fetchone() == (
        "integer",
        big,
    )


def test_timestamps_are_normalised_to_utc_and_long_fields_capped(conn: Connection) -> None:
    msg = msgspec.structs.replace(
        chat(1, 0),
        created_at="2025-01-31T14:00:00+02:00",
        author_name="n" * 500,
        content="c" * 5000,
    )
    q.store_message(conn, msg)
    (row,) = q.get_message(conn, GetMessage(message_id=1)).rows
    assert row.created_at == "2025-01-31T12:00:00.000+00:00"
    assert len(row.author_name) == MAX_AUTHOR_NAME_CHARS
    assert len(row.content) == MAX_CONTENT_CHARS and row.content.endswith("…")


# --- actions ----------------------------------------------------------------------------------


def test_action_log_filters_pages_newest_first(conn: Connection) -> None:
    ids = []
    for i in range(6):
        kind = "sent_reply" if i % 2 == 0 else "llm_call"
        logged = q.log_action(
            conn,
            LogAction(
                kind=kind,
                guild_id=GUILD,
                channel_id=CHANNEL if i < 4 else OTHER_CHANNEL,
                content=f"a{i}",
                metadata=to_json({"i": i, "tags": ["x"]}),
                usd_cost=0.25 * i,
                created_at=at(i),
            ),
        )
        assert isinstance(logged, ActionLogged) and logged.created_at == at(i)
        ids.append(logged.id)
    every = q.query_actions(conn, ActionsQuery(limit=100)).rows
    assert [r.id for r in every] == ids[::-1]
    replies = q.query_actions(conn, ActionsQuery(kind="sent_reply")).rows
    assert [r.content for r in replies] == ["a4", "a2", "a0"]
    assert msgspec.json.decode(replies[0].metadata) == {"i": 4, "tags": ["x"]}
    assert replies[0].usd_cost == 1.0
    page = q.query_actions(conn, ActionsQuery(limit=2, offset=2)).rows
    assert [r.content for r in page] == ["a3", "a2"]
    chan = q.query_actions(conn, ActionsQuery(channel_id=OTHER_CHANNEL)).rows
    assert [r.content for r in chan] == ["a5", "a4"]
    since = q.query_actions(conn, ActionsQuery(kind="llm_call", since=at(3))).rows
    assert [r.content for r in since] == ["a5", "a3"]
    assert q.query_actions(conn, ActionsQuery(guild_id=GUILD + 9)).rows == ()


def test_count_actions_since_a_time_is_inclusive_and_sums_cost(conn: Connection) -> None:
    for i in range(5):
        q.log_action(conn, LogAction(kind="llm_call", usd_cost=0.5, created_at=at(60 * i)))
    q.log_action(conn, LogAction(kind="sent_reply", created_at=at(60)))
    count = q.count_actions(conn, CountActions(kind="llm_call", since=at(60)))
    assert (count.count, count.usd_cost) == (4, 2.0)
    # The same instant written in another timezone counts the same.
    other_tz = "2025-01-31T13:01:00+01:00"
    assert q.count_actions(conn, CountActions(kind="llm_call", since=other_tz)).count == 4
    assert q.count_actions(conn, CountActions(kind="llm_call", since=at(241))).count == 0
    assert q.count_actions(conn, CountActions(kind="nothing_yet", since=at(0))).count == 0


def test_actions_are_stamped_with_now_by_default(conn: Connection) -> None:
    before = utc_now_iso()
    logged = q.log_action(conn, LogAction(kind="bot_lifecycle"))
    after = utc_now_iso()
    assert before <= logged.created_at <= after


# --- settings ---------------------------------------------------------------------------------


def test_settings_compare_and_swap(conn: Connection) -> None:
    assert q.get_setting(conn, GetSetting(key="runtime")).version == 0
    first = q.put_setting(conn, PutSetting(key="runtime", value='{"a":1}', expected_version=0))
    assert isinstance(first, SettingStored) and first.version == 1
    second = q.put_setting(conn, PutSetting(key="runtime", value='{"a":2}', expected_version=1))
    assert isinstance(second, SettingStored) and second.version == 2
    # A writer still holding version 1 loses, and learns the current version and value.
    stale = q.put_setting(conn, PutSetting(key="runtime", value='{"a":3}', expected_version=1))
    assert stale == SettingConflict(
        key="runtime", expected_version=1, current_version=2, current_value='{"a":2}'
    )
    # Creating a setting that already exists is a conflict too.
    again = q.put_setting(conn, PutSetting(key="runtime", value="null", expected_version=0))
    assert isinstance(again, SettingConflict) and again.current_version == 2
    got = q.get_setting(conn, GetSetting(key="runtime"))
    assert (got.value, got.version, got.updated_at) == ('{"a":2}', 2, second.updated_at)


def test_setting_conflict_for_a_missing_key_reports_version_zero(conn: Connection) -> None:
    reply = q.put_setting(conn, PutSetting(key="new", value="1", expected_version=3))
    assert reply == SettingConflict(
        key="new", expected_version=3, current_version=0, current_value=None
    )
    assert q.get_setting(conn, GetSetting(key="new")).value is None


# --- triggers ---------------------------------------------------------------------------------


def test_a_trigger_can_be_claimed_once(conn: Connection) -> None:
    first = q.claim_trigger(conn, ClaimTrigger(message_id=10, claimed_by="text_reply"))
    assert not isinstance(first, StoreRejected)
    assert first.claimed and first.claimed_by == "text_reply"
    second = q.claim_trigger(conn, ClaimTrigger(message_id=10, claimed_by="startup_catchup"))
    assert not isinstance(second, StoreRejected)
    assert not second.claimed
    assert second.claimed_by == "text_reply"  # who holds it
    assert second.created_at == first.created_at
    other = q.claim_trigger(conn, ClaimTrigger(message_id=11, claimed_by="startup_catchup"))
    assert not isinstance(other, StoreRejected) and other.claimed


def test_a_claim_is_linked_to_the_action_that_answered(conn: Connection) -> None:
    q.claim_trigger(conn, ClaimTrigger(message_id=10, claimed_by="text_reply"))
    action = q.log_action(conn, LogAction(kind="sent_reply", message_id=10))
    assert q.link_trigger_action(conn, LinkTriggerAction(message_id=10, action_id=action.id)) == (
        RowsChanged(count=1)
    )
    again = q.claim_trigger(conn, ClaimTrigger(message_id=10, claimed_by="x"))
    assert not isinstance(again, StoreRejected) and again.action_id == action.id
    dangling = q.link_trigger_action(conn, LinkTriggerAction(message_id=10, action_id=9999))
    assert isinstance(dangling, StoreRejected) and "9999" in dangling.problem
    bad_claim = q.claim_trigger(conn, ClaimTrigger(message_id=12, claimed_by="x", action_id=9999))
    assert isinstance(bad_claim, StoreRejected)
    # The refused claim wrote nothing.
    assert conn.execute("SELECT COUNT(*) FROM response_triggers").fetchone() == (1,)


# --- resuming interrupted replies ---------------------------------------------------------------


def _decision(conn: Connection, message_id: int, decision: str, **extra: object) -> None:
    q.log_action(
        conn,
        LogAction(
            kind="reply_decision",
            guild_id=GUILD,
            channel_id=CHANNEL,
            message_id=message_id,
            metadata=to_json({"decision": decision, "reason": "test", **extra}),
        ),
    )


def test_resume_takes_up_the_unfinished_and_names_the_mid_send_ones(conn: Connection) -> None:
    for mid in (201, 202, 203):
        q.store_message(conn, chat(mid, mid - 200))
        _decision(conn, mid, "admitted")
        _decision(conn, mid, "started", job_id=1, message_ids=[str(mid)])
    # 202's send had started when its job died; 203 was sent (named in a batch decision).
    q.log_action(
        conn,
        LogAction(
            kind="send_started",
            channel_id=CHANNEL,
            message_id=202,
            metadata=to_json({"job_id": 1, "trigger_message_id": "202"}),
        ),
    )
    _decision(conn, 0, "sent", job_id=1, message_ids=["203"])
    req = ResumeInterrupted(
        channel_id=CHANNEL,
        claimer_prefix="text_reply root/c #",
        claimer="text_reply root/c #2",
        bot_user_id=9,
    )
    found = q.resume_interrupted(conn, req)
    # The send_started of an earlier version named no first chunk: nothing to recognise it by.
    assert found == MessageIds(
        message_ids=(201,), mid_send=(MidSend(message_id=202, message_ids=(202,)),)
    )
    # Once 202 has its terminal decision, it is owed nothing more.
    _decision(conn, 202, "failed")
    assert q.resume_interrupted(conn, req).mid_send == ()


def _started(conn: Connection, trigger: int, batch: list[int], first_chunk: str) -> None:
    for mid in batch:
        _decision(conn, mid, "admitted")
    _decision(conn, trigger, "started", job_id=1, message_ids=[str(i) for i in batch])
    q.log_action(
        conn,
        LogAction(
            kind="send_started",
            channel_id=CHANNEL,
            message_id=trigger,
            metadata=to_json(
                {
                    "job_id": 1,
                    "trigger_message_id": str(trigger),
                    "message_ids": [str(i) for i in batch],
                    "first_chunk": first_chunk,
                }
            ),
        ),
    )


RESUME = ResumeInterrupted(
    channel_id=CHANNEL,
    claimer_prefix="text_reply root/c #",
    claimer="text_reply root/c #2",
    bot_user_id=9,
)


def test_a_mid_send_reply_whose_message_is_stored_has_landed(conn: Connection) -> None:
    q.store_message(conn, chat(301, 1, "hi"))
    q.store_message(conn, chat(302, 2, "clanker, you there?"))
    # The bot said the same words earlier (claimed by a sent action): not this reply's echo.
    q.store_message(conn, chat(300, 0, "yes!", author_id=9))
    q.log_action(conn, LogAction(kind="sent_message", channel_id=CHANNEL, message_id=300))
    _started(conn, 302, [301, 302], "yes!")
    # Neither of the batch is taken up again; the batch is one mid-send reply, not landed yet.
    waiting = MidSend(message_id=302, message_ids=(301, 302), first_chunk="yes!")
    assert q.resume_interrupted(conn, RESUME) == MessageIds(message_ids=(), mid_send=(waiting,))
    q.store_message(conn, chat(303, 3, "yes!", author_id=9))  # its echo
    found = q.resume_interrupted(conn, RESUME)
    assert found.mid_send == (
        MidSend(message_id=302, message_ids=(301, 302), first_chunk="yes!", landed=303),
    )


def test_a_reply_cut_off_after_its_first_chunk_has_landed(conn: Connection) -> None:
    q.store_message(conn, chat(401, 1, "clanker, a long one please"))
    _started(conn, 401, [401], "part one")
    q.log_action(
        conn,
        LogAction(
            kind="sent_reply",
            channel_id=CHANNEL,
            message_id=402,
            metadata=to_json({"trigger_message_id": "401", "message_ids": ["401"]}),
        ),
    )
    found = q.resume_interrupted(conn, RESUME)
    assert found == MessageIds(
        message_ids=(),
        mid_send=(MidSend(message_id=401, message_ids=(401,), first_chunk="part one", landed=402),),
    )
