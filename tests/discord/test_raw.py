"""Raw gateway messages -> voice events and pass-through dispatches (sans-IO)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clanker.discord import raw
from clanker.discord.events import RawDispatch, VoiceServerChanged, VoiceStateChanged


def dispatch(event: str, data: Any, op: int = 0) -> str:
    return json.dumps({"op": op, "t": event, "s": 7, "d": data})


def test_voice_state_update() -> None:
    msg = dispatch(
        "VOICE_STATE_UPDATE",
        {
            "guild_id": "10",
            "channel_id": "20",
            "user_id": "30",
            "session_id": "abc",
            "self_mute": True,
            "self_deaf": False,
            "member": {"user": {"id": "30"}},
        },
    )
    assert raw.convert(msg, frozenset()) == VoiceStateChanged(
        guild_id=10, channel_id=20, user_id=30, session_id="abc", self_mute=True, self_deaf=False
    )


def test_leaving_voice_has_no_channel() -> None:
    msg = dispatch("VOICE_STATE_UPDATE", {"guild_id": "10", "channel_id": None, "user_id": "30"})
    event = raw.convert(msg, frozenset())
    assert isinstance(event, VoiceStateChanged)
    assert (event.channel_id, event.session_id) == (None, "")


def test_voice_server_update_for_a_guild_and_for_a_reallocation() -> None:
    msg = dispatch("VOICE_SERVER_UPDATE", {"guild_id": "10", "token": "t", "endpoint": "x:443"})
    assert raw.convert(msg, frozenset()) == VoiceServerChanged(
        guild_id=10, channel_id=None, token="t", endpoint="x:443"
    )
    moving = dispatch("VOICE_SERVER_UPDATE", {"channel_id": "5", "token": "t", "endpoint": None})
    assert raw.convert(moving, frozenset()) == VoiceServerChanged(
        guild_id=None, channel_id=5, token="t", endpoint=None
    )


def test_other_traffic_is_not_passed_on() -> None:
    assert raw.convert('{"op": 11, "d": null}', frozenset()) is None
    assert raw.convert(dispatch("MESSAGE_CREATE", {"id": "1"}), frozenset()) is None


def test_requested_raw_dispatches_pass_through() -> None:
    msg = dispatch("TYPING_START", {"guild_id": "10", "user_id": "3"}).encode()
    assert raw.convert(msg, frozenset({"TYPING_START"})) == RawDispatch(
        event="TYPING_START", guild_id=10, data={"guild_id": "10", "user_id": "3"}
    )


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ("not json", "not a gateway message"),
        ('{"t": "X"}', "not a gateway message"),  # no op
        (
            dispatch("VOICE_SERVER_UPDATE", [1, 2]),
            "VOICE_SERVER_UPDATE payload is not a JSON object",
        ),
        (
            dispatch("VOICE_SERVER_UPDATE", {"guild_id": "1"}),
            "VOICE_SERVER_UPDATE payload is malformed",
        ),
        (
            dispatch("VOICE_STATE_UPDATE", {"user_id": "x"}),
            "VOICE_STATE_UPDATE payload is malformed",
        ),
    ],
)
def test_malformed_messages_name_the_problem(message: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        raw.convert(message, frozenset())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
frames = st.binary(max_size=200) | st.builds(
    lambda event, data: dispatch(event, data),
    st.sampled_from(["VOICE_STATE_UPDATE", "VOICE_SERVER_UPDATE", "TYPING_START", "READY"]),
    json_values
    | st.fixed_dictionaries(
        {"user_id": json_values, "token": json_values, "guild_id": json_values}
    ),
)


@given(frames)
def test_arbitrary_input_gives_a_struct_none_or_a_value_error(data: str | bytes) -> None:
    try:
        event = raw.convert(data, frozenset({"TYPING_START"}))
    except ValueError as exc:
        assert str(exc)  # always says what was wrong
        return
    assert event is None or isinstance(event, (RawDispatch, VoiceServerChanged, VoiceStateChanged))
