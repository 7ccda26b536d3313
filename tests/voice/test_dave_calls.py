"""DAVE calls end to end: the REAL clankvox binary (davey) in a sandbox call whose other members
are Discord's own libdave (the `dave.py` wheel), with the sandbox as delivery service and
external sender (openmls, through `dave-sim`). Nothing of ours sits on the far side of the
encryption: what clankvox encrypts must open in libdave, and what libdave encrypts must open in
clankvox.

Real sockets and a real child process, so the real clock: every wait is on a condition bounded
by a generous timeout. Audio is judged as in test_clankvox_integration.py: aligned by
cross-correlation, then correlation >= 0.9 and SNR >= 8 dB for clean speech. Across a re-key
(a member joins or leaves while someone speaks), the receiver keeps the previous epoch's keys
for 10 s (protocol.md), so nothing should be lost at all: measured here, 0 frames failed or
dropped in either direction; the tests allow none. Across a downgrade to protocol 0 and the
upgrade back, frames are passed through during the windows; measured: 0 lost.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import dave
import trio
import trio_asyncio

from clanker.sandbox.voice.audio import Pcm
from clanker.sandbox.voice.dave_member import DaveMember
from clanker.voice import GetHeard, Heard, ListenTo, SpeakPcm
from clanker.voice.link_messages import (
    GetVerificationCode,
    RequestVerificationCode,
    VerificationCode,
)
from tests.voice.voice_app import (
    TIMEOUT,
    VoiceApp,
    compare,
    longest_dropout_ms,
    open_voice_app,
    resample,
    samples,
    speechlike,
    to_pcm,
)

MIN_CORRELATION = 0.9
MIN_SNR_DB = 8.0
MAX_DROPOUT_MS = 40.0
GROUPED = 5  # the privacy code is shown in groups of five digits


def lounge(app: VoiceApp) -> int:
    return app.sandbox.world.channel_named("Lounge").id


async def start_call(app: VoiceApp, *members: str) -> None:
    """clanker joins the Lounge, then `members` (libdave members) do; back when all of them
    hold the group's keys."""
    await app.join()
    await app.wait_ready()
    for name in members:
        app.sandbox.join_voice(app.sandbox.world.user_named(name), lounge(app))
    await app.wait_e2ee(*members)


async def heard_frames(app: VoiceApp, user_id: int) -> int:
    return (await app.link().ask(GetHeard(user_id=user_id), Heard, timeout=TIMEOUT)).frames


async def wait_heard(app: VoiceApp, user_id: int, frames: int) -> None:
    with trio.fail_after(TIMEOUT):
        while True:
            if await heard_frames(app, user_id) >= frames:
                return
            await trio.sleep(0.02)


async def speak_as(app: VoiceApp, name: str, seconds: float, seed: int) -> Pcm:
    """`name` (in the Lounge) says a speechlike signal; returns what it played (48 kHz mono)."""
    assert app.sandbox.voice is not None
    source = Pcm(to_pcm(speechlike(seconds, 48_000, seed=seed)), 48_000, 1)
    report = await app.sandbox.voice.play(app.sandbox.world.user_named(name), source)
    assert report.frames == int(seconds * 50)
    return source


async def wait_audio_end(app: VoiceApp, user_id: int, count: int = 1) -> None:
    await app.wait_log(
        f"the end of {user_id}'s audio x{count}",
        lambda log: (
            sum(1 for e in log if e.kind == "user_audio_end" and e.user_id == str(user_id)) >= count
        ),
    )


async def clankvox_verification_code(app: VoiceApp, user_id: int) -> VerificationCode:
    """Ask clankvox for the pair's verification code and wait for its answer."""
    await app.link().ask(RequestVerificationCode(user_id=user_id))
    with trio.fail_after(TIMEOUT):
        while True:
            answer = await app.link().ask(GetVerificationCode(user_id=user_id), VerificationCode)
            if answer.code is not None or answer.error is not None:
                return answer
            await trio.sleep(0.02)


async def libdave_verification_code(member: DaveMember, other: int) -> str:
    """The same pair's code as Discord's libdave computes it (scrypt on its own thread,
    answered through an asyncio future)."""

    async def fingerprint() -> bytes | None:
        return await member.session.get_pairwise_fingerprint(0, str(other))

    found = await trio_asyncio.aio_as_trio(fingerprint)()
    assert found, f"libdave made no fingerprint for {other}"
    return str(dave.generate_displayable_code(found, 45, 5))


def match_heard(source: Pcm, heard: Heard) -> None:
    reference = resample(samples(source.data), 48_000, heard.sample_rate)
    received = samples(heard.pcm)
    match = compare(reference, received)
    assert match.correlation >= MIN_CORRELATION, match
    assert match.snr_db >= MIN_SNR_DB, match
    speech = received[match.offset : match.offset + len(reference)]
    edge = heard.sample_rate // 50
    assert longest_dropout_ms(speech[edge:-edge], heard.sample_rate) <= MAX_DROPOUT_MS


async def test_a_dave_call_with_two_libdave_members_carries_audio_both_ways(tmp_path: Path) -> None:
    async with open_voice_app(tmp_path) as app:
        sb, world = app.sandbox, app.sandbox.world
        assert sb.voice is not None
        alice, bob = world.user_named("alice"), world.user_named("bob")
        await start_call(app, "alice", "bob")
        # Everyone computes the same privacy code: clankvox's davey and both libdaves.
        status = await app.status()
        assert status.dave is not None and status.dave.protocol_version == 1
        code = status.dave.privacy_code
        assert code is not None and len(code) == 30 and code.isdigit()
        assert code == sb.voice.member(alice).privacy_code == sb.voice.member(bob).privacy_code
        assert len(sb.voice.dave.channel(lounge(app)).members()) == 3  # type: ignore[union-attr]
        # The verification code of the pair (clanker, alice) is the same on both sides.
        answer = await clankvox_verification_code(app, alice.id)
        assert answer.error is None and answer.code is not None and len(answer.code) == 45
        assert answer.code == await libdave_verification_code(sb.voice.member(alice), world.bot.id)
        assert answer.code != (await clankvox_verification_code(app, bob.id)).code
        stranger = await clankvox_verification_code(app, 4242)
        assert stranger.code is None and stranger.error is not None and "4242" in stranger.error

        for user in (alice, bob):
            await app.link().ask(ListenTo(user_id=user.id, sample_rate=48_000))
        said_alice = await speak_as(app, "alice", 2.0, seed=11)
        said_bob = await speak_as(app, "bob", 2.0, seed=12)
        await wait_audio_end(app, alice.id)
        await wait_audio_end(app, bob.id)
        for user, said in ((alice, said_alice), (bob, said_bob)):
            match_heard(said, await app.link().ask(GetHeard(user_id=user.id), Heard))

        # The bot's speech: encrypted by davey, opened by a libdave member in the sandbox.
        session = await sb.voice.wait_for_session(world.bot)
        source = speechlike(2.0, 24_000, seed=13)
        await app.link().ask(SpeakPcm(pcm=to_pcm(source), sample_rate=24_000))

        def all_of_it() -> bool:
            stream = sb.voice.recordings.get(session.ssrc) if sb.voice else None
            return stream is not None and stream.dave_decrypted >= 100

        with trio.fail_after(TIMEOUT):
            await sb.voice.wait_until(all_of_it)
        stream = sb.voice.recordings[session.ssrc]
        assert stream.dave_lost == 0 and stream.dave_passthrough == 0, vars(stream)
        heard = sb.voice.received_pcm(world.bot)
        match = compare(resample(source, 24_000, 48_000), samples(heard.data, 2))
        assert match.correlation >= MIN_CORRELATION and match.snr_db >= MIN_SNR_DB, match

        await app.wait_status(
            "counted both members' frames and its own",
            lambda s: (
                s.dave is not None
                and s.dave.decrypted_frames >= 200
                and s.dave.encrypted_frames >= 100
            ),
        )
        dave = (await app.status()).dave
        assert dave is not None
        assert (dave.decrypt_failures, dave.early_dropped, dave.passthrough_frames) == (0, 0, 0)
        assert dave.outbound_dropped == 0
        # Nothing made clankvox report a bad commit or welcome.
        assert sb.voice.dave_participant(world.bot).sent_ops(31) == 0


async def test_a_member_joining_and_one_leaving_mid_utterance_re_keys_without_loss(
    tmp_path: Path,
) -> None:
    async with open_voice_app(tmp_path, more_members=("carol",)) as app:
        sb, world = app.sandbox, app.sandbox.world
        assert sb.voice is not None
        alice, bob, carol = (world.user_named(n) for n in ("alice", "bob", "carol"))
        guild = world.guild_named("Sandbox")
        await start_call(app, "alice", "bob")
        first_code = (await app.status()).dave.privacy_code  # type: ignore[union-attr]
        await app.link().ask(ListenTo(user_id=alice.id, sample_rate=48_000))
        session = await sb.voice.wait_for_session(world.bot)
        executed_before = len(sb.voice.dave.transitions_executed)

        # alice speaks 6 s and the bot speaks 6 s at once; carol joins after 2 s of it, bob
        # leaves after 4 s: two re-keys while audio flows both ways.
        said = Pcm(to_pcm(speechlike(6.0, 48_000, seed=21)), 48_000, 1)
        bot_source = speechlike(6.0, 24_000, seed=22)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sb.voice.play, alice, said)
            await app.link().ask(SpeakPcm(pcm=to_pcm(bot_source), sample_rate=24_000))
            await wait_heard(app, alice.id, 100)
            sb.join_voice(carol, lounge(app))
            await wait_heard(app, alice.id, 200)
            sb.leave_voice(bob, guild)
        await wait_audio_end(app, alice.id)
        await app.wait_e2ee("alice", "carol")

        # Both re-keys happened while audio flowed, and clanker is in the newest epoch.
        records = sb.voice.dave_transitions(lounge(app))[executed_before:]
        assert len(records) >= 2, records
        status = await app.status()
        assert status.dave is not None and status.dave.privacy_code != first_code
        assert status.dave.privacy_code == sb.voice.member(carol).privacy_code
        assert sb.voice.member(alice).privacy_code == status.dave.privacy_code
        # alice -> clanker: every frame opened, none concealed beyond Opus's own.
        heard = await app.link().ask(GetHeard(user_id=alice.id), Heard)
        assert heard.frames >= 300, heard.frames
        match_heard(said, heard)
        # clanker -> the members: every frame the sandbox got opened in a libdave member.
        stream = sb.voice.recordings[session.ssrc]
        assert stream.dave_decrypted >= 295 and stream.dave_lost == 0, vars(stream)
        assert stream.dave_passthrough == 0
        await app.wait_status(
            "counted the re-keyed frames",
            lambda s: (
                s.dave is not None
                and s.dave.decrypted_frames >= 300
                and s.dave.encrypted_frames >= 295
            ),
        )
        dave = (await app.status()).dave
        assert dave is not None
        assert (dave.decrypt_failures, dave.early_dropped, dave.passthrough_frames) == (0, 0, 0)
        assert dave.outbound_dropped == 0
        assert sb.voice.dave_participant(world.bot).sent_ops(31) == 0


async def test_a_downgrade_to_protocol_0_and_the_upgrade_back_keep_the_audio(
    tmp_path: Path,
) -> None:
    async with open_voice_app(tmp_path) as app:
        sb, world = app.sandbox, app.sandbox.world
        assert sb.voice is not None
        alice = world.user_named("alice")
        await start_call(app, "alice")
        await app.link().ask(ListenTo(user_id=alice.id, sample_rate=48_000))

        # alice speaks 6 s: the channel goes down to protocol 0 after 1.5 s, back up after 3.5 s.
        said = Pcm(to_pcm(speechlike(6.0, 48_000, seed=31)), 48_000, 1)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sb.voice.play, alice, said)
            await wait_heard(app, alice.id, 75)
            sb.voice.downgrade(lounge(app))
            await app.wait_status(
                "at protocol 0",
                lambda s: s.dave is not None and s.dave.status == "inactive",
            )
            assert sb.voice.dave.version(lounge(app)) == 0
            await wait_heard(app, alice.id, 175)
            sb.voice.upgrade(lounge(app))
            await app.wait_e2ee("alice")
        await wait_audio_end(app, alice.id)
        heard = await app.link().ask(GetHeard(user_id=alice.id), Heard)
        assert heard.frames >= 300, heard.frames
        match_heard(said, heard)
        status = await app.status()
        assert status.dave is not None and status.dave.protocol_version == 1
        assert status.dave.privacy_code == sb.voice.member(alice).privacy_code
        assert status.dave.decrypt_failures == 0
        assert sb.voice.dave.stats.downgrades == 1 and sb.voice.dave.stats.upgrades == 1

        # After the upgrade it is end-to-end encrypted again, both ways.
        said = await speak_as(app, "alice", 1.0, seed=32)
        await wait_audio_end(app, alice.id, 2)
        heard = await app.link().ask(GetHeard(user_id=alice.id), Heard)
        tail = heard.pcm[-(len(said.data) + 10 * 1920) :]  # the last utterance and its silence
        match_heard(said, Heard(alice.id, heard.sample_rate, tail, 60))


async def test_a_member_on_a_wrong_key_costs_counted_failures_not_the_call(tmp_path: Path) -> None:
    async with open_voice_app(tmp_path) as app:
        sb, world = app.sandbox, app.sandbox.world
        assert sb.voice is not None
        alice = world.user_named("alice")
        await start_call(app, "alice", "bob")
        await app.link().ask(ListenTo(user_id=alice.id, sample_rate=48_000))
        sb.voice.member(alice).use_wrong_key()
        await speak_as(app, "alice", 2.0, seed=41)
        await app.wait_status(
            "counted alice's undecryptable frames",
            lambda s: s.dave is not None and s.dave.decrypt_failures >= 100,
        )
        status = await app.status()
        assert status.dave is not None and status.dave.status == "ready"
        assert status.dave.decrypted_frames == 0
        # No op 31 for media failures, no reconnect, no close from the server.
        assert sb.voice.dave_participant(world.bot).sent_ops(31) == 0
        assert (status.phase, status.connects, status.readies) == ("ready", 1, 1)
        assert [code for code, _ in sb.voice.stats.closes] == []
        # alice back on her own key: heard again.
        sb.voice.member(alice).use_wrong_key(False)
        said = await speak_as(app, "alice", 1.0, seed=42)
        await wait_audio_end(app, alice.id)
        heard = await app.link().ask(GetHeard(user_id=alice.id), Heard)
        match_heard(said, heard)


async def test_a_restarted_clankvox_rejoins_the_call_and_counts_frames_before_its_keys(
    tmp_path: Path,
) -> None:
    async with open_voice_app(tmp_path) as app:
        sb, world = app.sandbox, app.sandbox.world
        assert sb.voice is not None
        alice = world.user_named("alice")
        await start_call(app, "alice", "bob")
        await app.link().ask(ListenTo(user_id=alice.id, sample_rate=48_000))
        old = await app.clankvox_status()
        # The gateway may hold an add proposal back (protocol.md allows batching): half a
        # second here, so a newcomer surely hears frames it has no key for yet.
        sb.voice.dave.service.proposal_delay = 0.5

        # alice speaks 6 s; clankvox is killed after 1 s of it. The fresh process knows nothing
        # of the call: it rejoins, hears alice's frames before it has her keys, then gets them.
        said = Pcm(to_pcm(speechlike(6.0, 48_000, seed=51)), 48_000, 1)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sb.voice.play, alice, said)
            await wait_heard(app, alice.id, 50)
            os.kill(old.pid, signal.SIGKILL)
            await app.wait_status(
                "rejoined with a new clankvox",
                lambda s: s.clankvox_starts == 2 and s.readies >= 2 and s.phase == "ready",
            )
            await app.wait_e2ee("alice", "bob")
        await app.wait_status(
            "heard the rest of alice",
            lambda s: s.dave is not None and s.dave.decrypted_frames > 0,
        )
        await wait_audio_end(app, alice.id)
        status = await app.status()
        dave = status.dave
        assert dave is not None and dave.status == "ready"
        # Counters are the new process's: frames before its keys were dropped and counted.
        assert dave.early_dropped >= 10, dave
        assert dave.decrypted_frames >= 20, dave
        # Not a failure streak, no op 31, and the fresh process is in the group's latest epoch.
        assert dave.decrypt_failures <= 2, dave
        assert sb.voice.dave_participant(world.bot).sent_ops(31) == 0
        assert dave.privacy_code == sb.voice.member(alice).privacy_code
