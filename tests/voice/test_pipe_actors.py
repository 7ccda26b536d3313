"""The Clankvox and PipeReader actors against a fake clankvox process (the far end).

Real processes and pipes, so these run on the real clock with generous bounds: a loaded machine
makes them slower, not red.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import trio

from clanker.runtime import (
    Actor,
    ActorRef,
    ChildSpec,
    ChildStartFailed,
    Message,
    Restart,
    Strategy,
    SupervisionGaveUp,
    SupervisorRef,
    SupervisorSpec,
    events,
    handles,
    open_runtime,
)
from clanker.voice import (
    ClankvoxExited,
    ClankvoxStarted,
    ClankvoxStatus,
    GetClankvoxStatus,
    GetPipeStats,
    PipeClosed,
    PipeStats,
    voice_session_child,
    voice_session_spec,
)
from clanker.voice import commands as c
from clanker.voice import events as e

FAKE = str(Path(__file__).with_name("fake_clankvox.py"))
WAIT = 60.0  # generous: only a broken build or a hung process reaches it


class Collector(Actor):
    """The session's target: records everything the pipe actors tell it."""

    def __init__(self, log: list[Message], changed: Callable[[], None]) -> None:
        self.log = log
        self.changed = changed

    @handles(Message)
    async def record(self, msg: Message) -> None:
        self.log.append(msg)
        self.changed()


class Inbox:
    """What the Collector recorded, with a way to wait for it."""

    def __init__(self) -> None:
        self.log: list[Message] = []
        self._event = trio.Event()

    def changed(self) -> None:
        self._event.set()
        self._event = trio.Event()

    def of(self, kind: type) -> list:
        return [m for m in self.log if isinstance(m, kind)]

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        with trio.fail_after(WAIT):
            while not predicate():
                await self._event.wait()


def tree(inbox: Inbox, *fake_args: str, **options: object) -> SupervisorSpec:
    session = voice_session_spec(
        target="collector",
        command=[sys.executable, FAKE, *fake_args],
        backoff=None,
        **options,  # type: ignore[arg-type]
    )
    return SupervisorSpec(
        Strategy.ONE_FOR_ONE,
        [
            ChildSpec(
                "collector", lambda: Collector(inbox.log, inbox.changed), register="collector"
            ),
            voice_session_child("voice", session),
        ],
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); trio reaps its children, so this means alive.
    return True


async def test_join_sequence_round_trips_through_the_fake():
    inbox = Inbox()
    async with open_runtime(tree(inbox)) as rt:
        await inbox.wait_for(lambda: bool(inbox.of(ClankvoxStarted)))
        session = rt.snapshot().children[1]
        assert [n.name for n in session.children] == ["clankvox", "pipe_reader"]
        ref = _child_ref(rt, "clankvox")
        await ref.tell(c.Join(guild_id="10", channel_id="20", self_mute=True))
        await inbox.wait_for(lambda: bool(inbox.of(e.AdapterSend)))
        assert inbox.of(e.AdapterSend)[0].payload == e.GatewayVoiceStateUpdate(
            op=4, d=e.VoiceStateRequest(guild_id="10", channel_id="20", self_mute=True)
        )
        await ref.tell(c.VoiceState(data=c.VoiceStateData(session_id="s1", user_id="30")))
        await ref.tell(
            c.VoiceServer(data=c.VoiceServerData(endpoint="ws://127.0.0.1:9", token="t"))
        )
        await inbox.wait_for(lambda: bool(inbox.of(e.PlaybackArmed)))
        assert [type(m) for m in inbox.log if isinstance(m, e.ClankvoxEvent)][:5] == [
            e.AdapterSend,
            e.ConnectionState,
            e.TransportState,
            e.Ready,
            e.PlaybackArmed,
        ]
        await ref.tell(c.SubscribeUser(user_id="77", sample_rate=16000))
        await inbox.wait_for(lambda: bool(inbox.of(e.SpeakingEnd)))
        audio = inbox.of(e.UserAudio)
        assert [a.user_id for a in audio] == ["77"] * 3
        assert all(len(a.pcm) == 320 * 2 and a.signal_sample_count == 320 for a in audio)
        assert all(a.signal_peak_abs > 7000 for a in audio)
        status = await ref.ask(GetClankvoxStatus(), ClankvoxStatus)
        assert status.running and status.commands_written == 4 and status.incarnation == 1
        stats = await _child_ref(rt, "pipe_reader").ask(GetPipeStats(), PipeStats)
        assert stats.audio_events == 3 and stats.malformed == 0 and stats.delivered >= 10


async def test_malformed_frames_are_counted_and_the_reader_keeps_going():
    inbox = Inbox()
    async with open_runtime(tree(inbox, "--garbage")) as rt:
        await inbox.wait_for(lambda: bool(inbox.of(e.Log)))
        assert inbox.of(e.Log)[0].message == "after the garbage"
        stats = await _child_ref(rt, "pipe_reader").ask(GetPipeStats(), PipeStats)
        assert (stats.unknown_format, stats.malformed, stats.unknown_type) == (1, 3, 1)
        assert stats.frames == 6 and stats.json_events == 1
        assert len(stats.recent_problems) == 5
        # Still the first incarnation: nothing crashed.
        assert (
            await _child_ref(rt, "clankvox").ask(GetClankvoxStatus(), ClankvoxStatus)
        ).incarnation == 1


async def test_a_killed_clankvox_is_reported_and_the_session_restarts_with_a_new_process():
    inbox = Inbox()
    async with open_runtime(tree(inbox)) as rt:
        sub = rt.events.open()
        await inbox.wait_for(lambda: len(inbox.of(ClankvoxStarted)) == 1)
        first = inbox.of(ClankvoxStarted)[0]
        os.kill(first.pid, signal.SIGKILL)
        await inbox.wait_for(lambda: len(inbox.of(ClankvoxStarted)) == 2)
        exited = inbox.of(ClankvoxExited)[0]
        assert exited == ClankvoxExited(pid=first.pid, returncode=-signal.SIGKILL, expected=False)
        second = inbox.of(ClankvoxStarted)[1]
        assert second.incarnation == 2 and second.pid != first.pid
        assert not alive(first.pid)
        # The crash is visible to the supervisor (and the dashboard) with its cause.
        crashes = []
        with trio.move_on_after(1):
            async for event in sub:
                if isinstance(event, events.ActorCrashed):
                    crashes.append(event)
                    break
        assert crashes and crashes[0].path.endswith("voice/clankvox")
        assert f"pid {first.pid}) was killed by signal 9" in crashes[0].error
        # The new process and the new reader work: the session can join again.
        await _child_ref(rt, "clankvox").tell(c.Join(guild_id="1", channel_id="2"))
        await inbox.wait_for(lambda: bool(inbox.of(e.AdapterSend)))
        session = rt.snapshot().children[1]
        assert [(n.name, n.incarnation) for n in session.children] == [
            ("clankvox", 2),
            ("pipe_reader", 2),
        ]
    assert not alive(second.pid)


async def test_a_crashing_clankvox_restarts_until_the_intensity_gives_up():
    inbox = Inbox()
    with pytest.raises(SupervisionGaveUp):
        spec = voice_session_spec(
            target="collector",
            command=[sys.executable, FAKE, "--crash-after", "0"],
            backoff=None,
            intensity=2,
            period=3600,
        )
        root = SupervisorSpec(
            Strategy.ONE_FOR_ONE,
            [
                ChildSpec(
                    "collector", lambda: Collector(inbox.log, inbox.changed), register="collector"
                ),
                ChildSpec("voice", spec, restart=Restart.PERMANENT),
            ],
            intensity=0,
        )
        async with open_runtime(root) as rt:
            for n in (1, 2, 3):
                await inbox.wait_for(lambda n=n: len(inbox.of(ClankvoxStarted)) >= n)
                await _child_ref(rt, "clankvox").tell(c.MusicStop())  # the fake exits 3 on it
            await trio.sleep(WAIT)
    assert [x.returncode for x in inbox.of(ClankvoxExited)] == [3, 3, 3]
    assert [x.incarnation for x in inbox.of(ClankvoxStarted)] == [1, 2, 3]


async def test_destroy_ends_the_process_and_both_actors_without_a_restart():
    inbox = Inbox()
    async with open_runtime(tree(inbox)) as rt:
        removals = rt.events.open()
        await inbox.wait_for(lambda: bool(inbox.of(ClankvoxStarted)))
        pid = inbox.of(ClankvoxStarted)[0].pid
        await _child_ref(rt, "clankvox").tell(c.Destroy())
        await inbox.wait_for(lambda: bool(inbox.of(PipeClosed)) and bool(inbox.of(ClankvoxExited)))
        assert inbox.of(ClankvoxExited) == [ClankvoxExited(pid=pid, returncode=0, expected=True)]
        assert inbox.of(PipeClosed) == [PipeClosed(expected=True)]
        removed = set()
        with trio.fail_after(WAIT):
            async for event in removals:
                if isinstance(event, events.ActorRemoved):
                    removed.add(event.path.rsplit("/", 1)[1])
                if removed == {"clankvox", "pipe_reader"}:
                    break
        assert rt.snapshot().children[1].children == ()
        assert len(inbox.of(ClankvoxStarted)) == 1
        assert not alive(pid)


async def test_stopping_the_runtime_destroys_the_process_gracefully():
    inbox = Inbox()
    async with open_runtime(tree(inbox)) as rt:
        await inbox.wait_for(lambda: bool(inbox.of(ClankvoxStarted)))
        pid = inbox.of(ClankvoxStarted)[0].pid
        del rt
    # The reader stops first (reverse order); the process then gets `destroy` and exits 0.
    assert [(x.returncode, x.expected) for x in inbox.of(ClankvoxExited)] == [(0, True)]
    assert not alive(pid)


async def test_a_missing_binary_is_a_crash_that_names_the_fix():
    session = voice_session_spec(target=None, command=["/nonexistent/clankvox"], intensity=0)
    async with open_runtime(SupervisorSpec()) as rt:
        crashes = rt.events.open()
        # The session cannot start without clankvox: its start fails (OTP start semantics).
        with pytest.raises(ChildStartFailed, match="root/voice crashed while starting"):
            await rt.root.start_child(ChildSpec("voice", session, restart=Restart.TEMPORARY))
        first = None
        with trio.fail_after(WAIT):
            async for event in crashes:
                if isinstance(event, events.ActorCrashed):
                    first = event
                    break
    assert first is not None and first.path == "root/voice/clankvox"
    assert first.error_type == "ClankvoxCrashed"
    assert "cannot start clankvox with ['/nonexistent/clankvox']" in first.error
    assert "cargo build --release" in first.error


def _child_ref(rt, name: str) -> ActorRef:
    """The ref of a pipe actor inside the voice session."""
    voice = rt.root.child("voice")
    assert isinstance(voice, SupervisorRef)
    ref = voice.child(name)
    assert isinstance(ref, ActorRef)
    return ref


async def test_stdout_closing_while_the_process_lives_is_a_crash_after_the_grace():
    inbox = Inbox()
    async with open_runtime(tree(inbox, "--close-stdout", eof_grace=0.2, intensity=100)) as rt:
        crashes = rt.events.open()
        await inbox.wait_for(lambda: len(inbox.of(ClankvoxStarted)) >= 2)
        assert inbox.of(PipeClosed)[0] == PipeClosed(expected=False)
        first = None
        with trio.fail_after(WAIT):
            async for event in crashes:
                if isinstance(event, events.ActorCrashed):
                    first = event
                    break
        assert first is not None and first.path.endswith("voice/pipe_reader")
        assert first.error_type == "PipeBroken"
        # The live process of the first incarnation was killed with its actor, not leaked.
        assert not alive(inbox.of(ClankvoxStarted)[0].pid)
