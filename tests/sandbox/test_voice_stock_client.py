"""A stock voice client against the sandbox: discord.py-self's own `VoiceClient` (its `voice`
extra), unmodified, joins a sandbox voice channel over TLS, sends Opus that the sandbox decodes
and matches to the source, and resumes after the sandbox drops its socket with 4015.

The only configuration is what a user of that library would set against a private CA: the
standard `REQUESTS_CA_BUNDLE` / `CURL_CA_BUNDLE` variables its HTTP client (curl_cffi) reads.
"""

from __future__ import annotations

import ctypes.util
import io

import discord
import numpy as np
import pytest
import trio

from clanker.sandbox.voice.ops import VoiceCloseCode
from tests.voice.voice_app import compare, speechlike, to_pcm

RATE = 48_000
# Seeds of the test signal whose encoding by the library's Opus settings is clean: with some
# (12 and 13, say) its encoder itself clips a few frames, which no voice server can undo.


def _trust(monkeypatch: pytest.MonkeyPatch, ca_file: str | None) -> None:
    assert ca_file is not None, "the sandbox voice server serves TLS"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)
    monkeypatch.setenv("CURL_CA_BUNDLE", ca_file)
    if not discord.opus.is_loaded():
        discord.opus.load_opus(ctypes.util.find_library("opus") or "libopus.so.0")


def _stereo(mono: np.ndarray) -> bytes:
    return to_pcm(np.repeat(mono, 2))


async def _speak(vc: discord.VoiceClient, mono: np.ndarray) -> None:
    """Play through the library's own AudioPlayer thread (it encodes, encrypts and sends)."""
    token, done = trio.lowlevel.current_trio_token(), trio.Event()
    source = discord.PCMAudio(io.BytesIO(_stereo(mono)))
    vc.play(source, after=lambda _error: token.run_sync_soon(done.set))
    with trio.fail_after(30):
        await done.wait()


async def test_discord_py_self_voice_client_joins_talks_and_resumes(
    connect, sandbox, call_aio, monkeypatch
):
    world, voice = sandbox.world, sandbox.voice
    _trust(monkeypatch, voice.ca_file)
    lounge = world.channel_named("Lounge")
    async with connect() as client:
        channel = client.get_channel(lounge.id)
        vc = await call_aio(channel.connect, timeout=30)
        assert isinstance(vc, discord.VoiceClient)
        with trio.fail_after(30):
            session = await voice.wait_for_session(world.bot)
        assert voice.stats.versions == [8]

        first = speechlike(1.0, RATE, seed=11)
        await _speak(vc, first)
        packets = voice.recording(world.bot).packets
        await voice.wait_until(lambda: len(packets) >= 50)
        heard = np.frombuffer(voice.received_pcm(world.bot).data, "<i2")[::2].astype(float)
        match = compare(first, heard)
        assert match.correlation > 0.9, match

        voice.drop_socket(VoiceCloseCode.SERVER_CRASHED)
        with trio.fail_after(30):
            await voice.wait_until(lambda: voice.stats.resumes == 1)
            # The library's own state: connected again once the session description came.
            await call_aio(vc._connection.wait_async, 30)
        assert voice.stats.identifies == 1 and voice.stats.failed_resumes == 0
        second = speechlike(1.0, RATE, seed=14)
        before, sent_before = len(heard), len(packets)
        await _speak(vc, second)
        await voice.wait_until(lambda: len(packets) >= sent_before + 50)
        heard = np.frombuffer(voice.received_pcm(world.bot).data, "<i2")[::2].astype(float)
        match = compare(second, heard[before:])
        assert match.correlation > 0.9, match
        assert voice.sessions(world.bot)[0] is session
        await call_aio(vc.disconnect)
        assert not vc.is_connected()


async def test_discord_py_self_voice_client_holds_a_dave_call_with_a_libdave_member(
    connect, sandbox, call_aio, monkeypatch
):
    """The library's own DAVE (the `davey` 0.1 wheel) with a member on Discord's libdave, the
    sandbox in between as delivery service: neither side is ours, so this checks the stand-in."""
    world, voice = sandbox.world, sandbox.voice
    _trust(monkeypatch, voice.ca_file)
    lounge = world.channel_named("Lounge")
    alice = world.user_named("alice")
    async with connect() as client:
        channel = client.get_channel(lounge.id)
        vc = await call_aio(channel.connect, timeout=30)
        with trio.fail_after(30):
            session = await voice.wait_for_session(world.bot)
        sandbox.join_voice(alice, lounge)
        state = vc._connection

        def in_one_group() -> bool:
            group = voice.dave.channel(lounge.id)
            return (
                state.can_encrypt
                and voice.member(alice).ready
                and group is not None
                and sorted(group.members()) == sorted([str(world.bot.id), str(alice.id)])
                and voice.dave.pending(lounge.id) is None
            )

        with trio.fail_after(30):
            await voice.wait_until(in_one_group)
        # Both sides hold the same group: the library's davey and alice's libdave agree.
        assert state.dave_session.epoch == voice.dave.epoch(lounge.id)
        first = speechlike(1.0, RATE, seed=11)
        await _speak(vc, first)
        stream = voice.recording(world.bot)
        await voice.wait_until(lambda: stream.dave_decrypted >= 45)
        assert stream.dave_lost == 0 and stream.dave_passthrough == 0, vars(stream)
        heard = np.frombuffer(voice.received_pcm(world.bot).data, "<i2")[::2].astype(float)
        match = compare(first, heard)
        assert match.correlation > 0.9, match
        assert voice.sessions(world.bot)[0] is session
        await call_aio(vc.disconnect)
