"""Download the images of a turn and make them model inputs (actor side: trio, the bridge).

Discord attachments are downloaded by the bridge (`FetchAttachment`: discord.py-self's CDN
client, a fresh link when the stored one expired); image links in message text go through the
SSRF-guarded fetcher, like every other outbound fetch. Each image is re-encoded
(`prepare_image`, on a worker thread) and sent as a base64 ``data:`` URL, because Discord's
links expire and a provider could not fetch a loopback or signed link anyway. A failure of any
kind becomes a short note for the prompt, never an exception.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import trio

from clanker.discord.events import AttachmentData, BridgeFailure, FetchAttachment
from clanker.llm.model import ImagePart, Part, TextPart
from clanker.runtime import ActorError, ActorRef
from clanker.tools.fetch import FetchError, GuardedFetcher
from clanker.vision.encode import ImageLimits, ImageProblem, PreparedImage, prepare_image
from clanker.vision.refs import ImageRef

log = logging.getLogger("clanker.vision")

DOWNLOAD_TIMEOUT = 20.0


@dataclass(frozen=True)
class LoadedImage:
    """One image of the turn: ``image`` when it can be shown, else ``problem`` says why."""

    ref: ImageRef
    image: PreparedImage | None = None
    problem: str | None = None


async def download(
    ref: ImageRef, *, bridge: ActorRef, fetcher: GuardedFetcher | None, limits: ImageLimits
) -> bytes:
    """The image's bytes; raises `ImageProblem`."""
    if ref.size > limits.max_download_bytes:
        raise ImageProblem(
            f"too large ({ref.size:,} bytes; the limit is {limits.max_download_bytes:,})"
        )
    if ref.source == "attachment":
        command = FetchAttachment(
            channel_id=ref.channel_id,
            message_id=ref.message_id,
            attachment_id=ref.attachment_id,
            url=ref.url,
            max_bytes=limits.max_download_bytes,
        )
        try:
            reply = await bridge.ask(command, timeout=DOWNLOAD_TIMEOUT)
        except ActorError as exc:
            raise ImageProblem(f"could not be downloaded ({exc})") from None
        if isinstance(reply, BridgeFailure):
            raise ImageProblem(f"could not be downloaded ({reply.detail})")
        assert isinstance(reply, AttachmentData)
        return reply.data
    if fetcher is None:
        raise ImageProblem("links are not fetched here")
    try:
        result = await fetcher.fetch(
            ref.url, accept=("image/",), max_bytes=limits.max_download_bytes
        )
    except FetchError as exc:
        raise ImageProblem(f"could not be fetched ({exc})") from None
    if not 200 <= result.status < 300:
        raise ImageProblem(f"could not be fetched (HTTP {result.status})")
    if result.truncated:
        raise ImageProblem(f"too large (over {limits.max_download_bytes:,} bytes)")
    return result.body


async def load_image(
    ref: ImageRef, *, bridge: ActorRef, fetcher: GuardedFetcher | None, limits: ImageLimits
) -> LoadedImage:
    """Download and re-encode one image; a problem becomes `LoadedImage.problem`."""
    try:
        data = await download(ref, bridge=bridge, fetcher=fetcher, limits=limits)
        image = await trio.to_thread.run_sync(prepare_image, data, limits)
    except ImageProblem as exc:
        log.info("image %s of message %d not shown: %s", ref.label, ref.message_id, exc)
        return LoadedImage(ref, problem=str(exc))
    return LoadedImage(ref, image=image)


async def load_images(
    refs: Sequence[ImageRef],
    *,
    bridge: ActorRef,
    fetcher: GuardedFetcher | None,
    limits: ImageLimits,
) -> list[LoadedImage]:
    """Every image of ``refs``, downloaded side by side, in ``refs``' order."""
    loaded: list[LoadedImage | None] = [None] * len(refs)

    async def one(index: int, ref: ImageRef) -> None:
        loaded[index] = await load_image(ref, bridge=bridge, fetcher=fetcher, limits=limits)

    async with trio.open_nursery() as nursery:
        for index, ref in enumerate(refs):
            nursery.start_soon(one, index, ref)
    return [item for item in loaded if item is not None]


def data_url(image: PreparedImage) -> str:
    """The image as a ``data:`` URL (providers get base64 image content from it)."""
    return f"data:{image.media_type};base64,{base64.b64encode(image.data).decode('ascii')}"


def image_parts(loaded: Sequence[LoadedImage]) -> list[Part]:
    """The prompt's parts for a turn's images: a heading, then per image a line naming it and
    the image itself, or a line saying why it cannot be shown."""
    if not loaded:
        return []
    parts: list[Part] = [TextPart("IMAGES IN THE NEW MESSAGES (in order):")]
    for number, item in enumerate(loaded, start=1):
        where = f"{item.ref.label} from {item.ref.author_name}"
        if item.image is not None:
            parts.append(TextPart(f"Image {number}: {where}"))
            parts.append(ImagePart(data_url(item.image)))
        else:
            parts.append(TextPart(f"Image {number}: {where} could not be shown: {item.problem}."))
    return parts
