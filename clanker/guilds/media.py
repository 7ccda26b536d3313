"""Carrying out a reply's media directive: count, decide, search or generate, log.

The reply path calls `media_prompt` before the model call (the system prompt's MEDIA section,
only when something can be had) and `carry_out_media` after the text is decided and before it
is sent. The decision is `clanker.media.request.decide_media` (sans-IO); this module does the
I/O around it. Daily budgets are counted from the action log: ``gif_call`` and ``image_call``
rows of the last 24 hours, one per GIF posted or image made. A refusal (switched off, no key,
budget spent, a model not allowed) is a ``media_refused`` row, a provider failure a
``gif_error`` / ``image_error`` row; in every case the text goes out without the media.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import msgspec
import trio

from clanker.discord.events import BridgeFailure, FileUpload
from clanker.media.config import MediaConfig
from clanker.media.giphy import GifError, search_gif
from clanker.media.images import ImageError, generate_image
from clanker.media.request import (
    GifPlan,
    MediaRefusal,
    MediaRequest,
    attach_link,
    decide_media,
    media_available,
    media_guidance,
)
from clanker.runtime import ActorError
from clanker.settings.model import Media
from clanker.store import (
    LogAction,
    StoreClient,
    StoreRequestError,
    calendar_now,
    to_iso,
    to_json,
)
from clanker.text.delivery import DeliveryPlan
from clanker.text.jobs import ReplyJob
from clanker.tools.fetch import GuardedFetcher

log = logging.getLogger("clanker.media")

GIF_KIND = "gif_call"
IMAGE_KIND = "image_call"
REFUSED_KIND = "media_refused"
GIF_ERROR_KIND = "gif_error"
IMAGE_ERROR_KIND = "image_error"
UPLOAD_FAILED_KIND = "media_upload_failed"
SLACK_SECONDS = 5.0  # past the SDK's own timeouts (and its one retry): give up regardless


@dataclass(frozen=True)
class MediaDeps:
    """What the reply path needs for media: the keys and base URLs, and the guarded fetcher
    GIPHY is asked through (None: a strict one with ``config.fetch`` limits)."""

    config: MediaConfig = field(default_factory=MediaConfig)
    fetcher: GuardedFetcher | None = field(default=None, compare=False)

    def guarded(self) -> GuardedFetcher:
        return self.fetcher or GuardedFetcher(self.config.fetch)


@dataclass(frozen=True)
class MediaOrigin:
    """Who asks for media when it is not a reply job (an initiative post): what the media
    rows are logged under."""

    job_id: int
    guild_id: int | None
    channel_id: int
    message_id: int | None = None
    user_id: int | None = None


def _origin(job: ReplyJob | MediaOrigin) -> MediaOrigin:
    if isinstance(job, MediaOrigin):
        return job
    return MediaOrigin(
        job.job_id, job.guild_id, job.channel_id, job.trigger.message_id, job.trigger.author_id
    )


async def media_possible(
    store: StoreClient, deps: MediaDeps | None, settings: Media
) -> tuple[bool, bool]:
    """Whether a GIF, and whether an image, could be had now (budgets from the action log)."""
    if deps is None or not _anything_possible(deps, settings):
        return False, False
    return media_available(
        settings,
        gifs_used=await used_today(store, GIF_KIND, settings.max_gifs_per_day),
        images_used=await used_today(store, IMAGE_KIND, settings.max_images_per_day),
        gif_ready=deps.config.gif_ready,
        image_providers=deps.config.image_providers,
    )


@dataclass(frozen=True)
class MediaOutcome:
    """What the media adds to the reply: a link at the end of its text, files on its last
    message (both empty: nothing, the reply goes out as it was)."""

    link: str | None = None
    files: tuple[FileUpload, ...] = ()

    def apply(self, plan: DeliveryPlan) -> DeliveryPlan:
        """``plan`` with the link appended to its text."""
        if self.link is None:
            return plan
        return msgspec.structs.replace(plan, chunks=attach_link(plan.chunks, self.link))


def _day_ago() -> str:
    return to_iso(calendar_now() - timedelta(hours=24))


async def used_today(store: StoreClient, kind: str, limit: int) -> int:
    """``kind`` rows of the last 24 hours; a Store that cannot say counts as ``limit`` (spent:
    nothing is bought blind)."""
    try:
        return (await store.count_actions(kind, _day_ago())).count
    except (ActorError, StoreRequestError) as exc:
        log.warning("media budget %s unknown (%s): counted as spent", kind, exc)
        return limit


def _anything_possible(deps: MediaDeps | None, settings: Media) -> bool:
    if deps is None:
        return False
    gifs = settings.gifs_enabled and deps.config.gif_ready and settings.max_gifs_per_day > 0
    images = (
        settings.images_enabled
        and bool(deps.config.image_providers)
        and settings.max_images_per_day > 0
    )
    return gifs or images


async def media_prompt(store: StoreClient, deps: MediaDeps | None, settings: Media) -> str | None:
    """The MEDIA section of this reply's system prompt, or None (nothing can be had)."""
    if deps is None or not _anything_possible(deps, settings):
        return None
    gifs = await used_today(store, GIF_KIND, settings.max_gifs_per_day)
    images = await used_today(store, IMAGE_KIND, settings.max_images_per_day)
    return media_guidance(
        settings,
        gifs_used=gifs,
        images_used=images,
        gif_ready=deps.config.gif_ready,
        image_providers=deps.config.image_providers,
    )


async def carry_out_media(
    request: MediaRequest,
    deps: MediaDeps | None,
    settings: Media,
    *,
    store: StoreClient,
    job: ReplyJob | MediaOrigin,
) -> MediaOutcome:
    """Decide and carry out ``request``; never raises for a refusal or a provider failure
    (both are logged, and the outcome is empty)."""
    deps = deps or MediaDeps()
    config = deps.config
    kind = GIF_KIND if request.kind == "gif" else IMAGE_KIND
    limit = settings.max_gifs_per_day if request.kind == "gif" else settings.max_images_per_day
    decision = decide_media(
        request,
        settings,
        used_today=await used_today(store, kind, limit),
        gif_ready=config.gif_ready,
        image_providers=config.image_providers,
    )
    base: dict[str, Any] = {"job_id": job.job_id, "kind": request.kind, "prompt": request.prompt}
    if isinstance(decision, MediaRefusal):
        log.info("reply job %d: %s not posted: %s", job.job_id, request.kind, decision.detail)
        await _log(
            store,
            job,
            REFUSED_KIND,
            decision.detail,
            {**base, "reason": decision.reason},
        )
        return MediaOutcome()
    started = trio.current_time()
    if isinstance(decision, GifPlan):
        try:
            with trio.fail_after(config.gif_timeout + SLACK_SECONDS):
                gif = await search_gif(
                    decision.query,
                    rating=decision.rating,
                    fetcher=deps.guarded(),
                    config=config,
                )
        except (GifError, trio.TooSlowError) as exc:
            detail = str(exc) or f"giphy: no answer within {config.gif_timeout:g} s"
            await _log(store, job, GIF_ERROR_KIND, detail, {**base, "rating": decision.rating})
            return MediaOutcome()
        seconds = round(trio.current_time() - started, 3)
        if gif is None:
            detail = f"GIPHY found no GIF for {decision.query!r}"
            meta = {**base, "rating": decision.rating, "reason": "no_results", "seconds": seconds}
            await _log(store, job, GIF_ERROR_KIND, detail, meta)
            return MediaOutcome()
        await _log(
            store,
            job,
            GIF_KIND,
            gif.url,
            {
                **base,
                "rating": decision.rating,
                "gif_id": gif.id,
                "title": gif.title,
                "page_url": gif.page_url,
                "seconds": seconds,
            },
            usd_cost=config.gif_usd,
        )
        return MediaOutcome(link=gif.url)
    meta = {**base, "model": decision.model, "provider": decision.provider}
    meta["prompt"] = decision.prompt
    try:
        with trio.fail_after(2 * config.image_timeout + SLACK_SECONDS):
            image = await generate_image(decision, config=config)
    except (ImageError, trio.TooSlowError) as exc:
        detail = str(exc) or f"{decision.provider} {decision.model}: no answer in time"
        await _log(store, job, IMAGE_ERROR_KIND, detail, meta)
        return MediaOutcome()
    await _log(
        store,
        job,
        IMAGE_KIND,
        f"{image.filename} ({len(image.data)} bytes) from {image.provider} {image.model}",
        {
            **meta,
            "bytes": len(image.data),
            "content_type": image.content_type,
            "revised_prompt": image.revised_prompt,
            "seconds": round(trio.current_time() - started, 3),
        },
        usd_cost=image.usd_cost,
    )
    return MediaOutcome(files=(FileUpload(filename=image.filename, data=image.data),))


def upload_refused(result: object) -> bool:
    """Discord refused a message because of its files (too large, a bad file): 400 or 413.
    The caller sends the text again without them."""
    return isinstance(result, BridgeFailure) and not result.expired and result.status in (400, 413)


async def log_upload_refused(store: StoreClient, job: ReplyJob, result: object) -> None:
    """Log that the reply's files were refused (``media_upload_failed``)."""
    detail = result.detail if isinstance(result, BridgeFailure) else repr(result)
    status = result.status if isinstance(result, BridgeFailure) else None
    await _log(
        store,
        job,
        UPLOAD_FAILED_KIND,
        detail,
        {"job_id": job.job_id, "status": status},
    )


async def _log(
    store: StoreClient,
    job: ReplyJob | MediaOrigin,
    kind: str,
    content: str,
    metadata: dict[str, Any],
    *,
    usd_cost: float = 0.0,
) -> None:
    origin = _origin(job)
    try:
        await store.log_action(
            LogAction(
                kind=kind,
                guild_id=origin.guild_id,
                channel_id=origin.channel_id,
                message_id=origin.message_id,
                user_id=origin.user_id,
                content=content[:2000],
                metadata=to_json(metadata),
                usd_cost=usd_cost,
            )
        )
    except (ActorError, StoreRequestError) as exc:
        log.error("could not log %s: %s", kind, exc)
