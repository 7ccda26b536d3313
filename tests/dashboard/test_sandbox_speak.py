"""`POST /api/sandbox/speak`: push-to-talk from the dashboard's sandbox chat — what the browser
recorded (a WAV, or raw s16le with ?sample_rate=) said in the voice call as a member; every bad
recording refused naming the problem; the voice brain hears it and answers (the real product:
clankvox, a DAVE call, the local models, the scripted LLM). The browser side:
tests/dashboard/test_browser_ptt.py."""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

import httpx
import trio

from clanker.dashboard.sandbox_chat import WorldChat
from clanker.dashboard.speech_upload import MAX_BYTES
from clanker.voice.brain.config import local_voice_models
from clanker.voice.brain.prompt import JOIN_EVENT
from tests.dashboard.test_sandbox_say import brain, client
from tests.dashboard.wiring import VOICE_TIMEOUT, join_lounge_end_to_end, wired_sandbox


def wav(pcm: bytes, rate: int, *, channels: int = 1, width: int = 2) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


async def speak(http: httpx.AsyncClient, body: bytes, kind: str, **query: str) -> httpx.Response:
    return await http.post(
        "/api/sandbox/speak", content=body, headers={"Content-Type": kind}, params=query
    )


async def test_bad_recordings_are_refused_naming_the_problem(tmp_path: Path) -> None:
    second = b"\x10\x00" * 16_000  # 1 s at 16 kHz
    async with wired_sandbox(tmp_path / "r.db", brain=brain) as wired, client(wired) as http:
        bot = str(wired.sandbox.world.bot.id)
        cases: list[tuple[bytes, str, dict[str, str], int, str]] = [
            (second, "text/plain", {}, 415, "audio/wav"),
            (b"", "audio/wav", {}, 400, "empty"),
            (b"RIFFnot really", "audio/wav", {}, 400, "not a PCM WAV file"),
            (wav(second, 16_000, channels=2), "audio/wav", {}, 400, "mono"),
            (wav(second[:16_000], 16_000, width=1), "audio/wav", {}, 400, "16-bit"),
            (wav(second, 96_000), "audio/wav", {}, 400, "8000 to 48000 Hz"),
            (wav(second[:3200], 16_000), "audio/wav", {}, 400, "at least 0.2 s"),
            (wav(b"\x00\x00" * 8_000 * 31, 8_000), "audio/wav", {}, 413, "at most 30 s"),
            (second, "application/octet-stream", {}, 400, "?sample_rate="),
            (second, "application/octet-stream", {"sample_rate": "x"}, 400, "integer"),
            (second + b"\x00", "application/octet-stream", {"sample_rate": "16000"}, 400, "odd"),
            (b"\x00" * (MAX_BYTES + 2), "audio/wav", {}, 413, "over"),
            # a good recording, but nobody to hear it / not as the bot
            (wav(second, 16_000), "audio/wav", {}, 409, "come to voice"),
            (wav(second, 16_000), "audio/wav", {"author_id": bot}, 400, "not as the bot"),
            (wav(second, 16_000), "audio/wav", {"author_id": "123"}, 404, "no sandbox member"),
        ]
        got = []
        for body, kind, q, _, _ in cases:
            got.append(await speak(http, body, kind, **q))
    for (_, _, _, status, words), response in zip(cases, got, strict=True):
        assert response.status_code == status, (words, response.text)
        assert words in response.json()["error"], (words, response.text)


async def test_a_recording_is_said_in_the_call_and_the_brain_answers(tmp_path: Path) -> None:
    synth = (await trio.to_thread.run_sync(local_voice_models)).synth
    pcm = b"".join([c async for c in synth.synthesize("Can you hear me?")])
    async with wired_sandbox(tmp_path / "s.db", brain=brain) as wired:
        await join_lounge_end_to_end(wired, "alice")
        alice = str(wired.sandbox.world.user_named("alice").id)
        async with client(wired) as http:
            # raw s16le at Piper's own rate: resampled to the voice server's 48 kHz
            said = await speak(
                http,
                pcm,
                "application/octet-stream",
                author_id=alice,
                sample_rate=str(synth.sample_rate),
            )
            assert said.status_code == 200, said.text
            turn: Any = None
            with trio.fail_after(VOICE_TIMEOUT):
                while turn is None:
                    brain_view = (await http.get("/api/voice")).json()["connections"][0]["brain"]
                    turns = brain_view["turns"] if brain_view else []
                    turns = [t for t in turns if t["said"] != JOIN_EVENT]  # not the greeting
                    turn = turns[0] if turns else None
                    await trio.sleep(0.1)  # polling a condition, bounded by VOICE_TIMEOUT
        chat = wired.parts.setup.sandbox
    body = said.json()
    seconds = len(pcm) / 2 / synth.sample_rate
    assert body["author_id"] == alice and body["text"] == ""
    assert abs(body["seconds"] - seconds) < 0.01  # resampled, not cut or padded
    assert isinstance(chat, WorldChat)
    [(who, played)] = chat.heard
    assert (who, played.rate) == (int(alice), 48_000)
    assert "hear me" in turn["said"].lower()
    assert turn["reply"].strip() == "Yes, I can hear you."
