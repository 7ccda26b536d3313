"""A simulated member's speech as a schedule of Opus packets, without I/O.

`MemberStream` turns PCM into 20 ms Opus frames with continuing RTP sequence numbers and
timestamps (a member who speaks twice continues its stream, as a real client does), then
applies the requested network trouble: `loss` drops packets, `reorder` swaps a packet with the
next one. Both take a probability (drawn from the given seeded `random.Random`) or explicit
packet indices. The result says when each packet goes out, relative to the start.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass

from clanker.sandbox.voice.audio import Pcm
from clanker.sandbox.voice.opus import FRAME_SAMPLES, SILENCE_FRAME, OpusEncoder
from clanker.sandbox.voice.rtp import RtpHeader

FRAME_SECONDS = FRAME_SAMPLES / 48_000  # 0.02

Trouble = float | Collection[int]
"""A probability in [0, 1], or the indices of the packets it applies to."""


@dataclass(frozen=True)
class PlannedPacket:
    """One RTP packet of a playback and when to send it (seconds after the start)."""

    index: int  # position in the stream before loss and reordering
    at: float
    header: RtpHeader
    payload: bytes


@dataclass(frozen=True)
class PlaybackPlan:
    """What a playback will send, and what it dropped or reordered on purpose."""

    packets: list[PlannedPacket]
    frames: int  # audio frames encoded (silence frames excluded)
    dropped: list[int]
    reordered: list[int]  # indices sent after their successor


def _chosen(trouble: Trouble, count: int, rng: random.Random, what: str) -> set[int]:
    if isinstance(trouble, (int, float)):
        if isinstance(trouble, bool) or not 0 <= trouble <= 1:
            raise ValueError(f"{what} is a probability in [0, 1] or packet indices, got {trouble}")
        return {i for i in range(count) if rng.random() < trouble}
    picked = set(trouble)
    bad = [i for i in picked if not 0 <= i < count]
    if bad:
        raise ValueError(f"{what} indices {sorted(bad)} are outside the {count} packets")
    return picked


class MemberStream:
    """One simulated member's outgoing audio stream (its SSRC, encoder and RTP counters)."""

    def __init__(self, user_id: str, ssrc: int) -> None:
        self.user_id = user_id
        self.ssrc = ssrc
        self.sequence = 0
        self.timestamp = 0
        self._encoder = OpusEncoder(channels=2)

    def plan(
        self,
        pcm: Pcm,
        *,
        loss: Trouble = 0.0,
        reorder: Trouble = 0.0,
        rng: random.Random,
        silence_frames: int = 5,
    ) -> PlaybackPlan:
        """Encode `pcm` (any rate, mono or stereo; padded to whole frames) and schedule it."""
        stereo = pcm.for_discord().data
        frame_bytes = FRAME_SAMPLES * 4
        if len(stereo) % frame_bytes:
            stereo += bytes(frame_bytes - len(stereo) % frame_bytes)
        payloads = [
            self._encoder.encode(stereo[i : i + frame_bytes])
            for i in range(0, len(stereo), frame_bytes)
        ]
        frames = len(payloads)
        payloads += [SILENCE_FRAME] * silence_frames
        headers = []
        for n in range(len(payloads)):
            headers.append(
                RtpHeader(
                    sequence=self.sequence & 0xFFFF,
                    timestamp=self.timestamp & 0xFFFFFFFF,
                    ssrc=self.ssrc,
                    marker=n == 0,
                )
            )
            self.sequence += 1
            self.timestamp += FRAME_SAMPLES
        count = len(payloads)
        dropped = _chosen(loss, count, rng, "loss")
        swapped = _chosen(reorder, count, rng, "reorder")
        order = list(range(count))
        reordered: list[int] = []
        i = 0
        while i < count - 1:
            if i in swapped:
                order[i], order[i + 1] = order[i + 1], order[i]
                reordered.append(order[i + 1])
                i += 2
            else:
                i += 1
        packets = [
            PlannedPacket(index=k, at=slot * FRAME_SECONDS, header=headers[k], payload=payloads[k])
            for slot, k in enumerate(order)
            if k not in dropped
        ]
        return PlaybackPlan(packets, frames, sorted(dropped), reordered)
