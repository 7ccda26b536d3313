"""The bridge reports attachments (id, type, dimensions) and downloads them through
discord.py-self's CDN client, refreshing an expired link by fetching the message again."""

from __future__ import annotations

from clanker.discord.events import AttachmentData, BridgeFailure, FetchAttachment, MessageCreated
from clanker.runtime import Runtime
from clanker.sandbox import Sandbox
from tests.discord.test_bridge import TIMEOUT, bridge_runtime, events_until, sandbox
from tests.vision.images import png

__all__ = ["bridge_runtime", "sandbox"]  # fixtures


async def test_attachments_arrive_by_reference_and_download(
    bridge_runtime: Runtime, sandbox: Sandbox
) -> None:
    rt = bridge_runtime
    alice, general = sandbox.world.user_named("alice"), sandbox.world.channel_named("general")
    data = png(40, 30)
    posted = sandbox.post_message(alice, general, "what is this?", attachments=[("pic.png", data)])
    got = await events_until(rt, lambda ev: any(isinstance(e, MessageCreated) for e in ev))
    [created] = [e for e in got if isinstance(e, MessageCreated)]
    [info] = created.message.attachments
    assert (info.attachment_id, info.filename, info.size, info.content_type) == (
        posted.attachments[0].id,
        "pic.png",
        len(data),
        "image/png",
    )
    assert (info.width, info.height, info.is_image) == (40, 30, True)
    bridge = rt.lookup("bridge")
    fetch = FetchAttachment(
        channel_id=general.id, message_id=posted.id, attachment_id=info.attachment_id, url=info.url
    )
    downloaded = await bridge.ask(fetch, AttachmentData, timeout=TIMEOUT)
    assert (downloaded.data, downloaded.url) == (data, info.url)
    cdn_before = len(sandbox.cdn_requests)
    # An expired link: the bridge fetches the message for a fresh one and downloads that.
    sandbox.expire_attachment_links()
    refreshed = await bridge.ask(fetch, AttachmentData, timeout=TIMEOUT)
    assert refreshed.data == data and refreshed.url != info.url
    assert len(sandbox.cdn_requests) == cdn_before + 2  # the expired try, then the fresh one
    # Over the caller's limit: refused, with the sizes in the reason.
    small = await bridge.ask(
        FetchAttachment(
            channel_id=general.id,
            message_id=posted.id,
            attachment_id=info.attachment_id,
            url=refreshed.url,
            max_bytes=10,
        ),
        BridgeFailure,
        timeout=TIMEOUT,
    )
    assert small.detail == f"attachment is {len(data)} bytes, over the limit of 10"
    # A deleted message's attachment is gone for good.
    sandbox.delete_message(posted)
    gone = await bridge.ask(fetch, BridgeFailure, timeout=TIMEOUT)
    assert (gone.command, gone.status) == ("FetchAttachment", 404)
