"""The soundboard in the voice brain, on virtual time: a reply's [[SOUNDBOARD:…]] marker is not
spoken, and the sound plays exactly when clankvox has played out the speech before it (then the
rest is spoken); unknown sounds and Discord's refusals are logged, and the call goes on.

The room of room.py; the Discord bridge's place is taken by a stand-in for Discord that lists
sounds and answers plays (the real bridge against the sandbox: tests/discord/
test_bridge_soundboard.py), and a stand-in store keeps the action log."""

from __future__ import annotations

import json
from collections import deque

import pytest
import trio
import trio.testing

from clanker.discord.events import BridgeFailure, Done, SendGatewayOp
from clanker.discord.soundboard import (
    ListSoundboardSounds,
    PlaySoundboardSound,
    SoundboardSounds,
    SoundInfo,
)
from clanker.llm import LlmRequest
from clanker.llm.model import ProviderOutput
from clanker.llm.providers import Emit
from clanker.runtime import Actor, ChildSpec, handles, open_runtime
from clanker.store import LogAction, RecentMessages, StoreMessage
from clanker.store.messages import MessageRows
from clanker.voice.brain.actor import GetVoiceBrainStatus, VoiceBrain, VoiceBrainStatus
from clanker.voice.brain.config import VoiceBrainConfig

from .room import (
    ALICE,
    BOT,
    CHANNEL,
    GUILD,
    NAMES,
    Playout,
    RoomProvider,
    StubModels,
    connect,
    member_says,
    room_spec,
)

SOUNDS = (
    SoundInfo(sound_id=501, name="rimshot", guild_id=GUILD),
    SoundInfo(sound_id=502, name="tada", guild_id=GUILD),
    SoundInfo(sound_id=2, name="airhorn"),
)


def near(x: float) -> object:
    return pytest.approx(x, abs=1e-6)


class DiscordStandIn(Actor):
    def __init__(self, played: list[tuple[float, PlaySoundboardSound]], refuse: set[int]) -> None:
        self.played = played
        self.refuse = refuse

    @handles(SendGatewayOp)
    async def op(self, msg: SendGatewayOp) -> Done:
        return Done()

    @handles(ListSoundboardSounds)
    async def sounds(self, msg: ListSoundboardSounds) -> SoundboardSounds:
        assert msg.guild_id == GUILD
        return SoundboardSounds(sounds=SOUNDS)

    @handles(PlaySoundboardSound)
    async def play(self, msg: PlaySoundboardSound) -> Done | BridgeFailure:
        if msg.sound_id in self.refuse:
            return BridgeFailure(
                command="PlaySoundboardSound", status=403, code=50013, detail="Missing Permissions"
            )
        self.played.append((trio.current_time(), msg))
        return Done()


class SystemRecordingProvider(RoomProvider):
    """The room's provider, also keeping each request's system prompt."""

    systems: list[str]

    async def _play(self, request: LlmRequest, emit: Emit | None) -> ProviderOutput:
        self.systems = [*getattr(self, "systems", []), "\n".join(p.text for p in request.system)]
        return await super()._play(request, emit)


class StoreStandIn(Actor):
    def __init__(self, actions: list[LogAction]) -> None:
        self.actions = actions

    @handles(LogAction)
    async def log(self, msg: LogAction) -> None:
        self.actions.append(msg)

    @handles(StoreMessage)
    async def store(self, msg: StoreMessage) -> None:
        pass

    @handles(RecentMessages)
    async def recent(self, msg: RecentMessages) -> MessageRows:
        return MessageRows(rows=())


def spec(models, provider, playout, played, actions, refuse=frozenset()):  # type: ignore[no-untyped-def]
    s = room_spec(models, provider, playout)
    config = VoiceBrainConfig(
        guild_id=GUILD,
        channel_id=CHANNEL,
        bot_user_id=BOT,
        link="link",
        name="brain",
        models=models.bundle(),
        member_names=NAMES,
        store="store",
        bridge="discord",
    )
    assert s.children[0].name == "bridge" and s.children[-1].name == "brain"
    s.children[0] = ChildSpec(
        "bridge", lambda: DiscordStandIn(played, set(refuse)), register="discord"
    )
    s.children[-1] = ChildSpec(
        "brain", lambda: VoiceBrain(config), register="brain", mailbox=VoiceBrain.mailbox
    )
    s.children.insert(0, ChildSpec("store", lambda: StoreStandIn(actions), register="store"))
    return s


def soundboard_log(actions: list[LogAction]) -> list[dict[str, object]]:
    return [json.loads(a.metadata) for a in actions if a.kind == "voice_soundboard"]


async def test_the_sound_plays_when_the_speech_before_it_has_played_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models = StubModels(transcripts=deque(["make some noise"]))
    provider = SystemRecordingProvider(lambda p: "Here it comes. [[SOUNDBOARD:Rimshot]] Ta da!")
    playout = Playout()
    played: list[tuple[float, PlaySoundboardSound]] = []
    actions: list[LogAction] = []
    async with open_runtime(spec(models, provider, playout, played, actions)) as rt:
        await connect(rt)
        await trio.sleep(0.5)  # the brain has its sounds
        await member_says(rt, ALICE, 1.0)
        await trio.sleep(6.0)
        st = await rt.lookup("brain").ask(GetVoiceBrainStatus(), VoiceBrainStatus)
    assert "[[SOUNDBOARD:<name>]]" in provider.systems[0]
    assert "Sounds: rimshot, tada, airhorn." in provider.systems[0]
    # the speech before the marker: "Here it comes." (14 chars: 0.7 s of audio) played out
    # by the stand-in clankvox, which then reports idle: the sound is played at that moment
    assert [t for _, t in models.spoken] == ["Here it comes.", "Ta da!"]
    ((at, cmd),) = played
    first_audio = playout.audio[0][0]
    assert playout.idle_at[0] == near(first_audio + 0.7)
    assert at == near(playout.idle_at[0])
    assert (cmd.sound_id, cmd.source_guild_id, cmd.channel_id) == (501, GUILD, 20)
    # what follows the marker is synthesised only after the sound (0.05 s synthesis)
    assert models.spoken[1][0] == near(at + 0.05)
    assert st.turns[-1].reply == "Here it comes. Ta da!"  # the marker is not shown
    assert soundboard_log(actions) == [
        {"sound": "Rimshot", "reply_id": 1, "sound_id": 501, "result": "played"}
    ]


async def test_unknown_and_refused_sounds_are_logged_and_the_call_goes_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    models = StubModels(transcripts=deque(["surprise me", "and again"]))
    answers = deque(["[[SOUNDBOARD:kazoo]] Oops. [[SOUNDBOARD:tada]] Hm.", "Still here."])
    provider = RoomProvider(lambda p: answers.popleft())
    playout = Playout()
    played: list[tuple[float, PlaySoundboardSound]] = []
    actions: list[LogAction] = []
    async with open_runtime(spec(models, provider, playout, played, actions, {502})) as rt:
        await connect(rt)
        await trio.sleep(0.5)
        await member_says(rt, ALICE, 1.0)
        await trio.sleep(6.0)
        await member_says(rt, ALICE, 1.0)
        await trio.sleep(4.0)
        st = await rt.lookup("brain").ask(GetVoiceBrainStatus(), VoiceBrainStatus)
    assert played == []
    log = soundboard_log(actions)
    assert [e["result"] for e in log] == ["unknown_sound", "refused"]
    assert (log[1]["status"], log[1]["code"]) == (403, 50013)
    assert [t for _, t in models.spoken] == ["Oops.", "Hm.", "Still here."]
    assert [t.outcome for t in st.turns] == ["spoken", "spoken"]
