"""``GET /api/voice``: every voice connection, whether its call is end-to-end encrypted and what
its voice brain is doing; ``POST /api/voice/join|leave|stop-speaking``: the operator's actions.

The product test runs the real thing: the whole tree in sandbox wiring, the guild session's
`JoinVoice` starting the real `VoiceLink` and clankvox binary against the sandbox's voice server
(DAVE on), alice joining as a libdave member; the privacy code the API shows is checked against
the one alice's own libdave computes. The SPA's grouping of that code runs in Node
(``dashboard/tests/privacy.test.mjs``)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import trio

from clanker.dashboard.routes_voice import brain_view, encryption
from clanker.guilds.messages import voice_link_name
from clanker.runtime import NotRegistered
from clanker.store import ActionRows, ActionsQuery
from clanker.voice import DEFAULT_BINARY
from clanker.voice.brain.actor import TurnRecord, VoiceBrainStatus
from clanker.voice.events import DaveState
from tests.dashboard.conftest import Dash
from tests.dashboard.wiring import Wired, join_lounge_end_to_end, wired_sandbox

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"


async def test_privacy_code_is_shown_in_groups_of_five() -> None:
    node = shutil.which("node")
    assert node is not None, "node is not installed (Node 20 is part of the machine image)"
    assert (DASHBOARD / "node_modules" / "typescript").is_dir(), (
        "typescript is not installed: run `cd dashboard && npm ci`"
    )
    result = await trio.run_process(
        [node, "tests/privacy.test.mjs"],
        cwd=DASHBOARD,
        capture_stdout=True,
        capture_stderr=True,
        check=False,
    )
    output = result.stdout.decode() + result.stderr.decode()
    assert result.returncode == 0, output
    assert "2 passed, 0 failed" in output, output


def test_only_a_ready_dave_call_counts_as_end_to_end_encrypted() -> None:
    transport_only = encryption(DaveState(protocol_version=0, status="inactive"))
    assert transport_only is not None and transport_only.end_to_end is False
    assert transport_only.privacy_code is None and transport_only.epoch is None
    pending = encryption(DaveState(protocol_version=1, status="pending", last_error="no welcome"))
    assert pending is not None and pending.end_to_end is False
    assert pending.last_error == "no welcome"
    ready = encryption(
        DaveState(
            protocol_version=1,
            status="ready",
            epoch=3,
            privacy_code="5" * 30,
            decrypt_failures=2,
            passthrough_frames=7,
        )
    )
    assert ready is not None and ready.end_to_end is True
    assert (ready.epoch, ready.decrypt_failures, ready.passthrough_frames) == (3, 2, 7)
    # Mid-downgrade the protocol is already 0: no longer end-to-end.
    downgrading = encryption(DaveState(protocol_version=0, status="downgrading", epoch=3))
    assert downgrading is not None and downgrading.end_to_end is False
    assert encryption(None) is None


def test_the_brain_view_names_members_and_shows_the_last_20_turns_newest_first() -> None:
    turns = [
        TurnRecord(reply_id=n, speakers=["Alice"], said=f"turn {n}", reply="ok", outcome="spoken")
        for n in range(1, 25)
    ]
    turns[-1] = TurnRecord(
        reply_id=24,
        speakers=["Alice", "Bob"],
        said="hi / hello",
        reply="Hello both.",
        outcome="spoken",
        speech_end_to_decided=0.3104,
        decided_to_transcript=0.2,
        transcript_to_first_token=0.45,
        first_token_to_first_audio=0.1206,
        speech_end_to_first_audio=1.081,
    )
    status = VoiceBrainStatus(
        phase="speaking_live",
        speaking=[7, 9],
        listening=[7, 9],
        deferred=1,
        turns=turns,
        barge_ins=2,
        dropped={"noise": 3},
        names={"7": "Alice"},
    )
    view = brain_view(status)
    assert view.phase == "speaking_live" and (view.deferred, view.barge_ins) == (1, 2)
    assert [(m.id, m.name) for m in view.speaking] == [("7", "Alice"), ("9", None)]
    assert [t.reply_id for t in view.turns] == list(range(24, 4, -1))
    newest = view.turns[0]
    assert (newest.speakers, newest.said, newest.reply) == (
        ["Alice", "Bob"],
        "hi / hello",
        "Hello both.",
    )
    assert newest.speech_end_to_first_audio_ms == 1081
    stages = newest.stages_ms
    assert (stages.speech_end_to_decided, stages.decided_to_transcript) == (310, 200)
    assert (stages.transcript_to_first_token, stages.first_token_to_first_audio) == (450, 121)
    assert view.turns[1].speech_end_to_first_audio_ms is None
    assert view.dropped == {"noise": 3}


async def test_voice_actions_refuse_bad_input_and_unknown_guilds(dash: Dash) -> None:
    async with dash.client() as c:
        r = await c.post("/api/voice/join", json={"channel_id": "5"})
        assert r.status_code == 400 and "guild_id" in r.json()["error"], r.text
        r = await c.post("/api/voice/join", json={"guild_id": "12x", "channel_id": "5"})
        assert r.status_code == 400, r.text
        assert r.json()["error"].startswith("guild_id must be a Discord id"), r.text
        r = await c.post("/api/voice/join", json={"guild_id": "1", "channel_id": 5})
        assert r.status_code == 400 and "channel_id" in r.json()["error"], r.text
        r = await c.post("/api/voice/join", json={"guild_id": "1", "channel_id": "-5"})
        assert r.status_code == 400 and r.json()["error"].startswith("channel_id must"), r.text
        r = await c.post("/api/voice/leave", content=b"guild_id=1")
        assert r.status_code == 415, r.text
        r = await c.post("/api/voice/mute", json={"guild_id": "1"})
        assert r.status_code == 400 and "muted" in r.json()["error"], r.text
        r = await c.post("/api/voice/mute", json={"guild_id": "1", "muted": "yes"})
        assert r.status_code == 400 and "muted" in r.json()["error"], r.text
        r = await c.post("/api/voice/mute", json={"guild_id": "123", "muted": True})
        assert r.status_code == 404, r.text
        for path in ("/api/voice/join", "/api/voice/leave", "/api/voice/stop-speaking"):
            r = await c.post(path, json={"guild_id": "123", "channel_id": "5"})
            assert r.status_code == 404, (path, r.text)
            assert r.json()["error"] == "guild_id: clanker is in no guild with id 123"
            r = await c.post(
                path,
                json={"guild_id": "123", "channel_id": "5"},
                headers={"Origin": "https://evil.example"},
            )
            assert r.status_code == 403, (path, r.text)
    async with dash.client(auth=False) as c:
        for path in (
            "/api/voice/join",
            "/api/voice/leave",
            "/api/voice/stop-speaking",
            "/api/voice/mute",
        ):
            r = await c.post(path, json={"guild_id": "123", "channel_id": "5"})
            assert r.status_code == 401, (path, r.text)


async def test_without_a_guild_router_there_are_no_voice_connections(dash: Dash) -> None:
    async with dash.client() as c:
        r = await c.get("/api/voice")
    assert r.status_code == 200
    assert r.json() == {"connections": []}


@pytest.fixture
async def wired(tmp_path: Path) -> AsyncIterator[Wired]:
    assert DEFAULT_BINARY.exists(), (
        f"clankvox is not built at {DEFAULT_BINARY}: run scripts/bootstrap"
    )  # a clear failure, never a skip
    async with wired_sandbox(tmp_path / "clanker.db") as w:
        yield w


async def test_voice_shows_the_dave_call_and_the_code_members_compare(wired: Wired) -> None:
    sb = wired.sandbox
    guild, lounge = sb.world.guild_named("Sandbox"), sb.world.channel_named("Lounge")
    alice = sb.world.user_named("alice")
    async with httpx.AsyncClient(
        base_url=wired.url, headers={"Authorization": f"Bearer {wired.token}"}, timeout=30.0
    ) as c:
        # Guild sessions run, but nobody asked for voice: no connection.
        assert (await c.get("/api/voice")).json() == {"connections": []}

    body, code = await join_lounge_end_to_end(wired, "alice")

    [conn] = body["connections"]
    e2ee = conn["encryption"]
    assert sb.voice is not None
    assert conn["guild_id"] == str(guild.id) and conn["channel_id"] == str(lounge.id)
    assert conn["phase"] == "ready" and conn["readies"] == 1 and conn["failures"] == 0
    assert conn["endpoint"] == sb.voice.endpoint and conn["last_error"] is None
    assert set(e2ee) == {
        "end_to_end",
        "protocol_version",
        "status",
        "privacy_code",
        "epoch",
        "encrypted_frames",
        "decrypted_frames",
        "decrypt_failures",
        "early_dropped",
        "passthrough_frames",
        "outbound_dropped",
        "last_error",
    }
    assert (e2ee["status"], e2ee["protocol_version"]) == ("ready", 1)
    assert e2ee["privacy_code"] == code and len(code) == 30 and code.isdigit()
    assert e2ee["epoch"] == sb.voice.dave_participant(alice).epoch
    assert (e2ee["decrypt_failures"], e2ee["passthrough_frames"]) == (0, 0)
    assert e2ee["last_error"] is None


async def test_the_operator_joins_stops_and_leaves_with_the_brain_shown(wired: Wired) -> None:
    """The real product: the operator's join starts the link, clankvox and the voice brain
    (local models); the brain's status shows in ``/api/voice``; stop-speaking reaches the link;
    leave ends it all. Each action is in the action log."""
    sb = wired.sandbox
    guild, lounge = sb.world.guild_named("Sandbox"), sb.world.channel_named("Lounge")
    general = sb.world.channel_named("general")
    g = str(guild.id)
    async with httpx.AsyncClient(
        base_url=wired.url, headers={"Authorization": f"Bearer {wired.token}"}, timeout=90.0
    ) as c:
        r = await c.post("/api/voice/stop-speaking", json={"guild_id": g})
        assert r.status_code == 409, r.text
        assert r.json()["error"] == f"guild_id: the bot is in no voice call in guild {g}"
        r = await c.post("/api/voice/join", json={"guild_id": g, "channel_id": str(general.id)})
        assert r.status_code == 400, r.text
        assert r.json()["error"] == (
            "channel_id: #general is a text channel; pick a voice channel (Lounge)"
        )
        r = await c.post("/api/voice/join", json={"guild_id": g, "channel_id": "42"})
        assert r.status_code == 404, r.text
        assert r.json()["error"] == "channel_id: guild Sandbox has no channel with id 42"

        r = await c.post("/api/voice/join", json={"guild_id": g, "channel_id": str(lounge.id)})
        assert r.status_code == 200, r.text
        assert r.json() == {"guild_id": g, "action": "join", "channel_id": str(lounge.id)}
        [conn] = (await c.get("/api/voice")).json()["connections"]
        assert conn["channel_id"] == str(lounge.id)
        brain = conn["brain"]
        assert brain is not None, conn
        assert set(brain) == {
            "phase",
            "speaking",
            "listening",
            "deferred",
            "turns",
            "barge_ins",
            "dropped",
        }
        assert (brain["phase"], brain["speaking"], brain["turns"]) == ("idle", [], [])
        assert (brain["deferred"], brain["barge_ins"]) == (0, 0)

        r = await c.post("/api/voice/stop-speaking", json={"guild_id": g})
        assert r.status_code == 200, r.text
        assert r.json() == {"guild_id": g, "action": "stop_speaking", "channel_id": None}
        r = await c.post("/api/voice/mute", json={"guild_id": g, "muted": True})
        assert r.json() == {"guild_id": g, "muted": True, "in_call": True}, r.text
        [conn] = (await c.get("/api/voice")).json()["connections"]
        assert conn["muted"] is True
        r = await c.post("/api/voice/mute", json={"guild_id": g, "muted": False})
        assert r.json() == {"guild_id": g, "muted": False, "in_call": True}, r.text

        r = await c.post("/api/voice/leave", json={"guild_id": g})
        assert r.status_code == 200, r.text
        assert r.json() == {"guild_id": g, "action": "leave", "channel_id": str(lounge.id)}
        assert (await c.get("/api/voice")).json() == {"connections": []}
        r = await c.post("/api/voice/leave", json={"guild_id": g})
        assert r.json() == {"guild_id": g, "action": "leave", "channel_id": None}
    with pytest.raises(NotRegistered):
        wired.rt.lookup(voice_link_name(g))
    rows = await wired.store().ref.ask(ActionsQuery(kind=None, limit=100), ActionRows)
    operator = [(r.kind, r.content) for r in reversed(rows.rows) if r.kind.startswith("operator_")]
    assert operator == [
        ("operator_voice_join", "joined"),
        ("operator_stop_speaking", "told"),
        ("operator_voice_mute", "muted"),
        ("operator_voice_mute", "unmuted"),
        ("operator_voice_leave", "left"),
        ("operator_voice_leave", "was in no voice channel"),
    ]


async def test_music_actions_refuse_bad_input_and_unknown_guilds(dash: Dash) -> None:
    async with dash.client() as c:
        r = await c.post("/api/voice/music", json={"guild_id": "123", "action": "dance"})
        assert r.status_code == 400 and "action" in r.json()["error"], r.text
        r = await c.post("/api/voice/music", json={"guild_id": "123"})
        assert r.status_code == 400 and "action" in r.json()["error"], r.text
        r = await c.post("/api/voice/music", json={"guild_id": "123", "action": "play"})
        assert r.status_code == 404, r.text
        assert r.json()["error"] == "guild_id: clanker is in no guild with id 123"
        r = await c.post(
            "/api/voice/music",
            json={"guild_id": "123", "action": "stop"},
            headers={"Origin": "https://evil.example"},
        )
        assert r.status_code == 403, r.text
    async with dash.client(auth=False) as c:
        r = await c.post("/api/voice/music", json={"guild_id": "123", "action": "stop"})
        assert r.status_code == 401, r.text


def test_the_music_view_is_what_the_brain_reports() -> None:
    from clanker.dashboard.routes_voice import music_view
    from clanker.voice.brain.music_actor import MusicStatus

    view = music_view(
        MusicStatus(
            phase="playing",
            now_playing="Test Tune",
            queue=["Second Song"],
            gain=0.15,
            last_error="",
            library_tracks=3,
        )
    )
    assert (view.phase, view.now_playing, view.queue, view.gain) == (
        "playing",
        "Test Tune",
        ["Second Song"],
        0.15,
    )
