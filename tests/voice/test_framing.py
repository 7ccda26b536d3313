"""The clankvox pipe codec: byte layout, incremental decoding, skipping what is malformed."""

from __future__ import annotations

import json
import struct

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clanker.voice import commands as c
from clanker.voice import events as e
from clanker.voice.framing import (
    ClankvoxFrameDecoder,
    decode_command,
    encode_command,
    encode_event_frame,
    encode_frame,
)


def json_frame(obj: object) -> bytes:
    """A format 0 frame built by hand from the layout, not by the codec under test."""
    payload = json.dumps(obj).encode()
    return b"\x00" + struct.pack("<I", len(payload)) + payload


def audio_frame(user_id: int, pcm: bytes, peak: int = 7, active: int = 1, count: int = 2) -> bytes:
    payload = struct.pack("<QHII", user_id, peak, active, count) + pcm
    return b"\x01" + struct.pack("<I", len(payload)) + payload


# -- decoding -----------------------------------------------------------------------------------


def test_json_and_audio_frames_decode_to_typed_events():
    stream = (
        json_frame({"type": "ready"})
        + json_frame({"type": "speaking_start", "userId": "42"})
        + audio_frame(2**64 - 1, b"\x01\x00\xff\xff", peak=1, active=0, count=2)
        + json_frame({"type": "transport_state", "role": "voice", "status": "ready"})
        + json_frame({"type": "buffer_depth", "ttsSamples": 960, "musicSamples": 0})
    )
    decoder = ClankvoxFrameDecoder()
    assert decoder.feed(stream) == [
        e.Ready(),
        e.SpeakingStart(user_id="42"),
        e.UserAudio(
            user_id=str(2**64 - 1),
            signal_peak_abs=1,
            signal_active_sample_count=0,
            signal_sample_count=2,
            pcm=b"\x01\x00\xff\xff",
        ),
        e.TransportState(role="voice", status="ready", reason=None),
        e.BufferDepth(tts_samples=960, music_samples=0),
    ]
    assert decoder.stats.frames == 5
    assert (decoder.stats.json_events, decoder.stats.audio_events) == (4, 1)
    assert decoder.stats.skipped == 0
    assert decoder.buffered == 0


def test_every_json_event_type_decodes_from_its_wire_form():
    wire = [
        {
            "type": "adapter_send",
            "payload": {
                "op": 4,
                "d": {"guild_id": "1", "channel_id": "2", "self_mute": False, "self_deaf": False},
            },
        },
        {"type": "connection_state", "status": "reconnecting"},
        {"type": "player_state", "status": "idle"},
        {"type": "playback_armed", "reason": "music_stop"},
        {"type": "tts_playback_state", "status": "idle"},
        {"type": "speaking_end", "userId": "5"},
        {"type": "user_audio_end", "userId": "5"},
        {
            "type": "user_video_state",
            "userId": "5",
            "videoSsrc": 9,
            "codec": "H264",
            "streams": [
                {
                    "ssrc": 9,
                    "rtxSsrc": 10,
                    "streamType": "screen",
                    "active": True,
                    "maxResolution": {"width": 1280, "height": 720, "type": "fixed"},
                }
            ],
        },
        {
            "type": "user_video_frame",
            "userId": "5",
            "ssrc": 9,
            "codec": "VP8",
            "keyframe": True,
            "frameBase64": "AAEC",
            "rtpTimestamp": 3000,
            "daveDecrypted": False,
        },
        {
            "type": "decoded_video_frame",
            "userId": "5",
            "ssrc": 9,
            "width": 2,
            "height": 2,
            "jpegBase64": "/9j/",
            "rtpTimestamp": 1,
            "changeScore": 0.5,
            "emaChangeScore": 0.25,
            "isSceneCut": False,
        },
        {"type": "user_video_end", "userId": "5"},
        {"type": "client_disconnect", "userId": "5"},
        {"type": "music_idle"},
        {"type": "music_error", "message": "ffmpeg exited 1 || no such file"},
        {"type": "music_gain_reached", "gain": 0.15},
        {"type": "error", "code": "invalid_json", "message": "Invalid stdin JSON message: x"},
        {
            "type": "log",
            "level": "warn",
            "target": "clankvox::voice",
            "message": "m",
            "fields": {"ssrc": 1, "nested": {"a": [1, 2]}},
        },
    ]
    decoder = ClankvoxFrameDecoder()
    got = decoder.feed(b"".join(json_frame(w) for w in wire))
    assert decoder.stats.skipped == 0, list(decoder.stats.recent_problems)
    assert [type(x).__struct_config__.tag for x in got] == [w["type"] for w in wire]
    assert got[0] == e.AdapterSend(
        payload=e.GatewayVoiceStateUpdate(op=4, d=e.VoiceStateRequest(guild_id="1", channel_id="2"))
    )
    assert got[7].streams[0].max_resolution == e.MaxResolution(width=1280, height=720, type="fixed")
    assert got[8].frame_base64 == b"\x00\x01\x02"
    assert got[16].fields == {"ssrc": 1, "nested": {"a": [1, 2]}}
    # The codec's own encoder writes the same wire form back.
    for event, w in zip(got, wire, strict=True):
        assert json.loads(encode_event_frame(event)[5:]) == w


def test_frames_split_at_every_byte_boundary_decode_the_same():
    stream = (
        json_frame({"type": "ready"})
        + audio_frame(7, b"\x10\x00" * 3)
        + json_frame({"type": "music_idle"})
    )
    whole = ClankvoxFrameDecoder().feed(stream)
    for cut in range(len(stream) + 1):
        decoder = ClankvoxFrameDecoder()
        assert decoder.feed(stream[:cut]) + decoder.feed(stream[cut:]) == whole
    decoder = ClankvoxFrameDecoder()
    one_by_one = [ev for i in range(len(stream)) for ev in decoder.feed(stream[i : i + 1])]
    assert one_by_one == whole


def test_malformed_frames_are_counted_and_skipped_between_good_ones():
    good = json_frame({"type": "ready"})
    stream = (
        good
        + encode_frame(9, b"future format")
        + encode_frame(0, b"{nope")
        + json_frame([1, 2, 3])
        + json_frame({"type": "from_a_newer_clankvox"})
        + json_frame({"type": "speaking_start"})  # missing userId
        + json_frame({"type": "speaking_start", "userId": 5})  # wrong type
        + encode_frame(1, b"\x00" * 17)  # shorter than the 18-byte header
        + encode_frame(1, b"\x00" * 19)  # odd PCM byte count
        + good
    )
    decoder = ClankvoxFrameDecoder()
    assert decoder.feed(stream) == [e.Ready(), e.Ready()]
    s = decoder.stats
    assert (s.unknown_format, s.unknown_type, s.malformed) == (1, 1, 6)
    assert s.frames == 10 and s.skipped == 8
    assert "format byte 9" in s.recent_problems[0]
    assert "from_a_newer_clankvox" in s.recent_problems[3]


def test_an_oversized_frame_is_skipped_without_buffering_it():
    decoder = ClankvoxFrameDecoder(max_payload=100)
    big = encode_frame(0, b"x" * 1000)
    events = decoder.feed(big[:50])
    assert events == [] and decoder.buffered == 0
    events = decoder.feed(big[50:600]) + decoder.feed(big[600:] + json_frame({"type": "ready"}))
    assert events == [e.Ready()]
    assert decoder.stats.oversized == 1 and decoder.buffered == 0


def test_end_of_stream_inside_a_frame_is_counted_as_truncated():
    decoder = ClankvoxFrameDecoder()
    decoder.feed(json_frame({"type": "ready"})[:-1])
    decoder.eof()
    assert decoder.stats.truncated == 1 and decoder.buffered == 0
    clean = ClankvoxFrameDecoder()
    clean.feed(json_frame({"type": "ready"}))
    clean.eof()
    assert clean.stats.truncated == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20))
def test_random_bytes_never_raise_and_every_frame_is_accounted_for(chunks):
    decoder = ClankvoxFrameDecoder(max_payload=1 << 16)
    events = [ev for chunk in chunks for ev in decoder.feed(chunk)]
    decoder.eof()
    s = decoder.stats
    assert s.bytes_received == sum(map(len, chunks))
    assert len(events) == s.json_events + s.audio_events
    assert s.frames == s.json_events + s.audio_events + s.skipped - s.truncated
    assert decoder.buffered == 0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.builds(
                lambda u: json_frame({"type": "speaking_start", "userId": str(u)}),
                st.integers(0, 2**64 - 1),
            ),
            st.builds(
                lambda u, n: audio_frame(u, b"\x00\x01" * n),
                st.integers(0, 2**64 - 1),
                st.integers(0, 50),
            ),
            st.builds(lambda b: encode_frame(0, b), st.binary(max_size=40)),
            st.builds(lambda f, b: encode_frame(f, b), st.integers(2, 255), st.binary(max_size=40)),
        ),
        max_size=30,
    ),
    st.lists(st.integers(0, 4000), max_size=10),
)
def test_valid_frames_survive_garbage_frames_and_any_chunking(frames, cuts):
    stream = b"".join(frames)
    oracle = ClankvoxFrameDecoder().feed(stream)
    decoder = ClankvoxFrameDecoder()
    got: list[object] = []
    last = 0
    for cut in [*sorted(min(n, len(stream)) for n in cuts), len(stream)]:
        got += decoder.feed(stream[last:cut])
        last = cut
    assert got == oracle
    assert decoder.stats.frames == len(frames)
    expected_good = sum(1 for f in frames if f[0] == 1 or (f[0] == 0 and b"speaking" in f))
    assert len(got) <= expected_good
    assert decoder.stats.skipped == len(frames) - len(got)


# -- encoding -----------------------------------------------------------------------------------


def test_commands_encode_as_camel_case_json_lines():
    assert encode_command(c.Join(guild_id="1", channel_id="2", self_mute=True)) == (
        b'{"type":"join","guildId":"1","channelId":"2","selfDeaf":false,"selfMute":true}\n'
    )
    line = encode_command(c.VoiceState(data=c.VoiceStateData(session_id="s", user_id="9")))
    assert json.loads(line) == {
        "type": "voice_state",
        "data": {"session_id": "s", "user_id": "9", "channel_id": None},
    }
    audio = json.loads(encode_command(c.Audio(pcm_base64=b"\x01\x00\x02\x00", sample_rate=16000)))
    assert audio == {"type": "audio", "pcmBase64": "AQACAA==", "sampleRate": 16000}
    sub = json.loads(encode_command(c.SubscribeUser(user_id="5")))
    assert sub == {
        "type": "subscribe_user",
        "userId": "5",
        "silenceDurationMs": 700,
        "sampleRate": 24000,
        "jitterBufferMs": 60,
    }
    assert json.loads(encode_command(c.MusicSetGain(target=0.15, fade_ms=300))) == {
        "type": "music_set_gain",
        "target": 0.15,
        "fadeMs": 300,
    }
    assert encode_command(c.Destroy()) == b'{"type":"destroy"}\n'


def test_a_newline_inside_a_field_stays_inside_one_line():
    line = encode_command(c.StreamPublishDisconnect(reason="done\nnext"))
    assert line.count(b"\n") == 1 and line.endswith(b"\n")
    assert decode_command(line) == c.StreamPublishDisconnect(reason="done\nnext")


def test_every_command_round_trips_through_its_line():
    samples = [
        c.Join(guild_id="1", channel_id="2"),
        c.Connect(
            guild_id="1",
            channel_id="2",
            user_id="3",
            session_id="s",
            endpoint="ws://127.0.0.1:1",
            token="t",
            mode="aead_aes256_gcm_rtpsize",
        ),
        c.VoiceServer(data=c.VoiceServerData(endpoint="ws://127.0.0.1:1", token="t")),
        c.VoiceState(data=c.VoiceStateData(session_id="s", user_id="3", channel_id="2")),
        c.StreamWatchConnect(
            endpoint="e", token="t", server_id="s", session_id="x", user_id="3", dave_channel_id="4"
        ),
        c.StreamWatchDisconnect(reason=None),
        c.StreamPublishConnect(
            endpoint="e", token="t", server_id="s", session_id="x", user_id="3", dave_channel_id="4"
        ),
        c.StreamPublishDisconnect(reason="done"),
        c.Audio(pcm_base64=b"\x00\x00"),
        c.StopPlayback(),
        c.StopTtsPlayback(),
        c.SubscribeUser(user_id="3", silence_duration_ms=500, sample_rate=16000),
        c.UnsubscribeUser(user_id="3"),
        c.DaveVerificationCode(user_id="3"),
        c.SubscribeUserVideo(user_id="3", preferred_pixel_count=921600),
        c.UnsubscribeUserVideo(user_id="3"),
        c.MusicPlay(url="https://media.example/a.mp3", resolved_direct_url=True),
        c.MusicStop(),
        c.MusicPause(),
        c.MusicResume(),
        c.MusicSetGain(target=1.0),
        c.StreamPublishPlay(url="u"),
        c.StreamPublishPlayVisualizer(url="u", visualizer_mode="waves"),
        c.StreamPublishBrowserStart(),
        c.StreamPublishBrowserFrame(mime_type="image/png", frame_base64=b"\x89PNG"),
        c.StreamPublishStop(),
        c.StreamPublishPause(),
        c.StreamPublishResume(),
        c.Destroy(),
    ]
    assert {type(s) for s in samples} == set(c.AnyCommand.__args__)
    for command in samples:
        assert decode_command(encode_command(command)) == command


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: c.Join(guild_id="12a", channel_id="2"), "Join.guild_id"),
        (lambda: c.Join(guild_id="1", channel_id=""), "Join.channel_id"),
        (lambda: c.SubscribeUser(user_id=str(2**64)), "SubscribeUser.user_id"),
        (lambda: c.SubscribeUser(user_id="1", sample_rate=-1), "SubscribeUser.sample_rate"),
        (lambda: c.MusicSetGain(target=1, fade_ms=2**32), "MusicSetGain.fade_ms"),
        (lambda: c.Audio(pcm_base64=b"\x00"), "Audio.pcm_base64"),
        (
            lambda: c.SubscribeUser(user_id="1", jitter_buffer_ms=-5),
            "SubscribeUser.jitter_buffer_ms",
        ),
        (
            lambda: c.Connect(
                guild_id="1",
                channel_id="2",
                user_id="3",
                session_id="s",
                endpoint="e",
                token="t",
                mode="xsalsa20_poly1305",
            ),
            "Connect.mode",
        ),
    ],
)
def test_commands_clankvox_would_reject_fail_at_construction_naming_the_field(build, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        build()


def test_decoding_a_bad_command_line_raises_a_msgspec_error():
    with pytest.raises(msgspec.ValidationError, match="guildId"):
        decode_command(b'{"type":"join","channelId":"2"}')


def test_user_video_state_decodes_without_its_optional_fields() -> None:
    """The original's clankvox leaves out `audioSsrc`, `videoSsrc`, `codec` and per-stream
    fields when it has none (issue 12 item 5)."""
    decoder = ClankvoxFrameDecoder()
    got = decoder.feed(
        json_frame({"type": "user_video_state", "userId": "7"})
        + json_frame({"type": "user_video_state", "userId": "8", "streams": [{"ssrc": 9}]})
        + json_frame({"type": "user_video_state", "userId": "9", "videoSsrc": 4, "codec": "VP8"})
    )
    assert decoder.stats.skipped == 0, list(decoder.stats.recent_problems)
    assert got == [
        e.UserVideoState(user_id="7"),
        e.UserVideoState(user_id="8", streams=[e.VideoStreamDescriptor(ssrc=9)]),
        e.UserVideoState(user_id="9", video_ssrc=4, codec="VP8"),
    ]
