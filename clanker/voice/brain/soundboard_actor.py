"""The voice brain's soundboard: the thin IO around `soundboard.py`, mixed into `VoiceBrain`.

* On start it asks the bridge for the sounds it can play in the guild (the guild's own, then
  Discord's defaults); the system prompt lists their names (`sounds_prompt`).
* A `SoundCue` in the reply's speech queue is played strictly after the speech before it: the
  speaking task waits until `OutputState.drained` (clankvox's playback telemetry says all that
  was queued has played), then asks the bridge to play the sound in the voice channel.
* Every cue is logged as `voice_soundboard` with its result: `played`, `unknown_sound`,
  `no_soundboard` (the list could not be had) or `refused` (Discord's status and code, e.g.
  403/50013 Missing Permissions). Nothing here raises into the actor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import trio

from clanker.discord.events import BridgeFailure, Done
from clanker.discord.soundboard import (
    ListSoundboardSounds,
    PlaySoundboardSound,
    SoundboardSounds,
    SoundInfo,
)
from clanker.runtime import ActorContext, ActorError
from clanker.voice.brain.config import VoiceBrainConfig
from clanker.voice.brain.output import OutputState
from clanker.voice.brain.soundboard import SoundCue, find_sound, sounds_prompt

log = logging.getLogger("clanker.voice.soundboard")

LIST_TIMEOUT = 5.0
PLAY_TIMEOUT = 10.0


class VoiceSoundboard:
    """Mixed into `VoiceBrain` (which provides `ctx`, `config`, `output`, `_log`)."""

    ctx: ActorContext
    config: VoiceBrainConfig
    output: OutputState
    _sounds: tuple[SoundInfo, ...] | None
    _telemetry: trio.Event

    def _soundboard_init(self) -> None:
        self._sounds = None
        self._telemetry = trio.Event()

    def _soundboard_start(self) -> None:
        if self.config.bridge is not None:
            self.ctx.start_soon(self._load_sounds)

    async def _log(
        self, kind: str, uid: int | None, content: str, meta: Mapping[str, object] | None = None
    ) -> None:
        raise NotImplementedError

    async def _load_sounds(self) -> None:
        assert self.config.bridge is not None
        try:
            got = await self.ctx.lookup(self.config.bridge).ask(
                ListSoundboardSounds(guild_id=self.config.guild_id), timeout=LIST_TIMEOUT
            )
        except (ActorError, trio.TooSlowError) as exc:
            log.info("voice: no soundboard: %s", exc)
            return
        if isinstance(got, SoundboardSounds):
            self._sounds = tuple(s for s in got.sounds if s.available)
        else:
            log.info("voice: no soundboard: %s", got)

    def _soundboard_prompt(self) -> str:
        return sounds_prompt([s.name for s in self._sounds or ()])

    def _output_moved(self) -> None:
        """clankvox's telemetry (or the output) changed: wake a cue waiting for the drain."""
        self._telemetry.set()
        self._telemetry = trio.Event()

    async def _play_cue(
        self, reply_id: int, user_id: int | None, cue: SoundCue, *, told: Callable[[], bool]
    ) -> None:
        """Wait until the speech before the cue has played out (`told`: the output state knows
        of all the audio sent so far), then play the sound."""
        while not (told() and self.output.drained(trio.current_time())):
            moved = self._telemetry
            with trio.move_on_after(self.output.stale_after):
                await moved.wait()
        sounds = self._sounds
        meta: dict[str, object] = {"sound": cue.name, "reply_id": reply_id}
        if sounds is None:
            await self._log(
                "voice_soundboard", user_id, cue.name, {**meta, "result": "no_soundboard"}
            )
            return
        i = find_sound(cue.name, [s.name for s in sounds])
        if i is None:
            await self._log(
                "voice_soundboard", user_id, cue.name, {**meta, "result": "unknown_sound"}
            )
            return
        sound = sounds[i]
        meta["sound_id"] = sound.sound_id
        assert self.config.bridge is not None
        cmd = PlaySoundboardSound(
            channel_id=self.config.channel_id,
            sound_id=sound.sound_id,
            source_guild_id=sound.guild_id,
        )
        try:
            result = await self.ctx.lookup(self.config.bridge).ask(cmd, timeout=PLAY_TIMEOUT)
        except (ActorError, trio.TooSlowError) as exc:
            result = BridgeFailure(
                command="PlaySoundboardSound", status=None, code=None, detail=str(exc)
            )
        if isinstance(result, Done):
            await self._log("voice_soundboard", user_id, sound.name, {**meta, "result": "played"})
            return
        detail = result.detail if isinstance(result, BridgeFailure) else repr(result)
        log.info("voice: the sound %r was refused: %s", sound.name, detail)
        status = result.status if isinstance(result, BridgeFailure) else None
        code = result.code if isinstance(result, BridgeFailure) else None
        await self._log(
            "voice_soundboard",
            user_id,
            sound.name,
            {**meta, "result": "refused", "status": status, "code": code, "detail": detail[:300]},
        )
