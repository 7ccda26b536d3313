"""``GET /api/voice``: every voice connection and whether its call is end-to-end encrypted.

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

from clanker.dashboard.routes_voice import encryption
from clanker.voice import DEFAULT_BINARY
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
