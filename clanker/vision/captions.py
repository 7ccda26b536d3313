"""Captions of earlier images, without I/O: what to caption, the hourly budget, the prompt.

Images of earlier messages are not sent again as images; each is captioned once, in the
background, and the prompt names it with its caption (`history_section`). `CaptionPlanner`
decides which of the images a turn asks about start captioning now: not one already captioned
(the caller checks the cache first) or in flight, not one that failed in the last
`retry_after` seconds, and at most `max_per_hour` captions started in any hour (trio time).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence

from clanker.vision.refs import ImageRef

CAPTION_SYSTEM = (
    "You describe images for a chat assistant that cannot see them. In one or two plain "
    "sentences (at most 300 characters), say what the image shows, including any readable "
    "text. No preamble, no speculation about who posted it."
)
CAPTION_REQUEST = "Describe this image."
NOT_DESCRIBED = "not described yet"


class CaptionPlanner:
    """Which images to caption now (see the module docstring)."""

    def __init__(
        self, *, max_per_hour: int = 60, retry_after: float = 600.0, max_in_flight: int = 4
    ) -> None:
        if max_per_hour < 0 or max_in_flight < 1:
            raise ValueError("max_per_hour must be >= 0 and max_in_flight >= 1")
        self.max_per_hour = max_per_hour
        self.retry_after = retry_after
        self.max_in_flight = max_in_flight
        self.in_flight: set[str] = set()
        self._started: deque[float] = deque()
        self._failed: dict[str, float] = {}

    def started_last_hour(self, now: float) -> int:
        while self._started and self._started[0] <= now - 3600.0:
            self._started.popleft()
        return len(self._started)

    def take(self, keys: Iterable[str], now: float) -> list[str]:
        """The keys to start captioning now, in order; each is then in flight."""
        chosen: list[str] = []
        for key in dict.fromkeys(keys):
            if key in self.in_flight:
                continue
            failed_at = self._failed.get(key)
            if failed_at is not None and now < failed_at + self.retry_after:
                continue
            if len(self.in_flight) >= self.max_in_flight:
                break
            if self.started_last_hour(now) >= self.max_per_hour:
                break
            self._started.append(now)
            self.in_flight.add(key)
            self._failed.pop(key, None)
            chosen.append(key)
        return chosen

    def done(self, key: str, now: float, *, ok: bool) -> None:
        """Captioning ``key`` ended; a failure waits `retry_after` before it is tried again."""
        self.in_flight.discard(key)
        if not ok:
            self._failed[key] = now


HISTORY_TITLE = "Earlier images (oldest first)"


def history_section(refs: Sequence[ImageRef], captions: Mapping[str, str]) -> str:
    """The body of the prompt's section for earlier images (empty when there are none): one
    line per image, numbered ``IMG n`` (the numbers `image_lookup` takes), oldest first."""
    lines: list[str] = []
    for number, ref in enumerate(refs, start=1):
        caption = captions.get(ref.key, NOT_DESCRIBED)
        lines.append(f"IMG {number}: {ref.label} from {ref.author_name}: [image: {caption}]")
    return "\n".join(lines)


def clean_caption(text: str, *, limit: int = 300) -> str:
    """A model's caption as one line, cut at a word to ``limit`` characters."""
    line = " ".join(text.split()).strip().strip('"')
    if len(line) <= limit:
        return line
    cut = line[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"
