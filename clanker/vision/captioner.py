"""`Captioner`: captions earlier images in the background, once each, cached in the Store.

The reply path tells it `CaptionImages` after a reply went out (the turn's own images with
their prepared bytes, which later turns will see as history, and earlier images not captioned
yet). For each one the `CaptionPlanner` lets through, a task downloads it if needed (the bridge,
or the SSRF-guarded fetcher), re-encodes it, and looks for a caption of the same content (sha256
of the re-encoded bytes) already stored under another source; failing that it asks the model
(`purpose="image_caption"`, restricted to the providers whose model sees images) or, with no
such provider, writes a local note (size and shape). Failures are logged and tried again after
the planner's `retry_after`; nothing is raised to the teller.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

import trio

from clanker.llm import CallContext, LlmClient, LlmError, LlmRequest, SystemPart, user
from clanker.llm.model import ImagePart
from clanker.runtime import (
    Actor,
    ActorContext,
    ActorError,
    ChildSpec,
    MailboxSpec,
    Overflow,
    handles,
)
from clanker.store import PutImageCaption, StoreClient, StoreRequestError
from clanker.tools.fetch import GuardedFetcher
from clanker.vision.captions import CAPTION_REQUEST, CAPTION_SYSTEM, CaptionPlanner, clean_caption
from clanker.vision.encode import (
    ImageLimits,
    ImageProblem,
    PreparedImage,
    local_caption,
    prepare_image,
)
from clanker.vision.load import data_url, download
from clanker.vision.refs import ImageRef
from clanker.wire import Message

log = logging.getLogger("clanker.vision")

CAPTIONER_NAME = "image_captions"
CAPTION_TIMEOUT = 60.0
CAPTION_TOKENS = 160


class CaptionItem(Message, frozen=True):
    """One image to caption; ``data``: its bytes when the teller has them already."""

    ref: ImageRef
    data: bytes | None = None
    guild_id: int | None = None


class CaptionImages(Message, frozen=True):
    """Caption these images unless cached or in flight (told, never answered)."""

    items: tuple[CaptionItem, ...]
    max_per_hour: int | None = None  # the live `vision.max_captions_per_hour`; None: the config's


@dataclass(frozen=True)
class CaptionerConfig:
    """Registered names, the hourly budget, and how images are fetched and bounded."""

    store: str = "store"
    llm: str = "llm"
    bridge: str = "discord"
    max_per_hour: int = 60  # the original system's maxCaptionsPerHour
    limits: ImageLimits = field(default_factory=ImageLimits)
    fetcher: GuardedFetcher | None = field(default=None, compare=False)


class Captioner(Actor):
    """See the module docstring."""

    # A told request is never waited for: when the captioner is behind, new ones are dropped
    # (they come again with the next turn that shows those images).
    mailbox = MailboxSpec(capacity=32, overflow=Overflow.DROP_NEWEST)

    def __init__(self, config: CaptionerConfig | None = None) -> None:
        self.config = config or CaptionerConfig()
        self.planner = CaptionPlanner(max_per_hour=self.config.max_per_hour)
        self.captioned = 0  # captions stored by this incarnation (for tests and logs)

    async def on_start(self, ctx: ActorContext) -> None:
        self.ctx = ctx
        self.store = StoreClient(ctx.lookup(self.config.store))
        self.fetcher = self.config.fetcher or GuardedFetcher()

    @handles(CaptionImages)
    async def caption(self, msg: CaptionImages) -> None:
        if msg.max_per_hour is not None:
            self.planner.max_per_hour = msg.max_per_hour
        by_key = {item.ref.key: item for item in msg.items}
        try:
            cached = await self.store.image_captions(tuple(by_key))
        except (ActorError, StoreRequestError) as exc:
            log.warning("image captions: the store failed: %s", exc)
            return
        missing = [key for key in by_key if key not in {row.source_key for row in cached}]
        for key in self.planner.take(missing, trio.current_time()):
            self.ctx.start_soon(self._run, by_key[key])

    async def _run(self, item: CaptionItem) -> None:
        key = item.ref.key
        ok = False
        try:
            ok = await self._caption_one(item)
        finally:
            self.planner.done(key, trio.current_time(), ok=ok)

    async def _caption_one(self, item: CaptionItem) -> bool:
        ref, limits = item.ref, self.config.limits
        try:
            data = item.data
            if data is None:
                bridge = self.ctx.lookup(self.config.bridge)
                data = await download(ref, bridge=bridge, fetcher=self.fetcher, limits=limits)
            image = await trio.to_thread.run_sync(prepare_image, data, limits)
        except (ImageProblem, ActorError) as exc:
            log.info("image %s not captioned: %s", ref.label, exc)
            return False
        digest = hashlib.sha256(image.data).hexdigest()
        try:
            same = await self.store.image_captions(content_hash=digest)
            if same:
                caption, model = same[0].caption, same[0].model
            else:
                caption, model = await self._describe(item, image)
            await self.store.put_image_caption(
                PutImageCaption(
                    source_key=ref.key, content_hash=digest, caption=caption, model=model
                )
            )
        except (ActorError, StoreRequestError, LlmError, NoCaption) as exc:
            log.warning("image %s not captioned: %s", ref.label, exc)
            return False
        self.captioned += 1
        log.info("image %s captioned (%s): %s", ref.label, model, caption)
        return True

    async def _describe(self, item: CaptionItem, image: PreparedImage) -> tuple[str, str]:
        llm = LlmClient(self.ctx.lookup(self.config.llm))
        seeing = tuple(p.name for p in await llm.describe() if p.available and p.vision)
        if not seeing:
            return local_caption(image), "local"
        response = await llm.complete(
            LlmRequest(
                system=(SystemPart(CAPTION_SYSTEM),),
                messages=(user(CAPTION_REQUEST, ImagePart(data_url(image))),),
                max_tokens=CAPTION_TOKENS,
                timeout=CAPTION_TIMEOUT,
                providers=seeing,
                context=CallContext(
                    purpose="image_caption",
                    guild_id=item.guild_id,
                    channel_id=item.ref.channel_id,
                    message_id=item.ref.message_id,
                ),
            )
        )
        caption = clean_caption(response.text)
        if not caption:
            raise NoCaption(f"the model gave no caption for {item.ref.label}")
        return caption, f"{response.provider}/{response.model}"


class NoCaption(Exception):
    """The model answered, but with nothing usable as a caption."""


def captioner_child(config: CaptionerConfig | None = None) -> ChildSpec:
    """The captioner, registered as `CAPTIONER_NAME`."""
    return ChildSpec(
        CAPTIONER_NAME,
        lambda: Captioner(config),
        register=CAPTIONER_NAME,
        mailbox=Captioner.mailbox,  # the lambda hides the class's own spec from the slot
    )
