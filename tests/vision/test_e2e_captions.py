"""Earlier images are captioned once, in the background, and later turns name them.

The sandbox, the real bridge, the whole tree (with its `Captioner`) and the anthropic SDK on
llmsim; the caption is the model's (a call of its own, `purpose=image_caption`), cached in the
Store by source and by content. Real clock.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import trio
from PIL import Image

from clanker.cli.sandbox import open_sandbox_app
from clanker.llm import LlmConfig, ProviderConfig
from clanker.llmsim import JsonReply, RecordedRequest, SimToolCall, Text, ToolUse, open_llmsim
from clanker.llmsim.script import Turn
from clanker.store import StoreClient
from clanker.vision.captions import CAPTION_REQUEST
from tests.guilds.test_conversation import FAST, TIMEOUT, actions, configure
from tests.vision.images import close, encoded, pattern, quadrant_colours
from tests.vision.test_e2e_images import images_in

CAPTION = "A square split into red, green, blue and white quarters."


def respond(request: RecordedRequest) -> Turn:
    if request.user_text == CAPTION_REQUEST:
        return Text(CAPTION)
    return JsonReply({"text": "noted", "skip": False, "reaction": None})


async def test_an_earlier_image_is_named_by_its_caption(tmp_path: Path) -> None:
    async with open_llmsim(default=respond) as sim:
        llm = LlmConfig(
            providers=(
                ProviderConfig(
                    name="claude",
                    kind="anthropic",
                    model="claude-sonnet-4-6",
                    base_url=sim.anthropic_url,
                    api_key="sk-test",
                ),
            )
        )
        async with open_sandbox_app(tmp_path / "c.db", llm=llm) as app:
            sb, rt = app.sandbox, app.runtime
            await configure(rt, FAST)
            alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
            bot = sb.world.bot.id
            posted = sb.post_message(
                alice,
                general,
                f"<@{bot}> look",
                attachments=[("colours.png", encoded(pattern(64, 64)))],
            )
            with trio.fail_after(TIMEOUT):
                await sb.next_bot_message(general)
            store = StoreClient(rt.lookup("store"))
            key = f"attachment:{posted.attachments[0].id}"
            with trio.fail_after(TIMEOUT):
                while True:  # the caption is written in the background, after the reply
                    found = await store.image_captions([key])
                    if found:
                        break
                    await trio.sleep(0.02)
            [row] = found
            assert (row.caption, row.model) == (CAPTION, "claude/claude-sonnet-4-6")
            caption_calls = [r for r in sim.requests if r.user_text == CAPTION_REQUEST]
            [caption_call] = caption_calls
            assert len(images_in(caption_call.body)) == 1  # the model was shown the image

            sb.post_message(alice, general, f"<@{bot}> what was in my picture?")
            with trio.fail_after(TIMEOUT):
                await sb.next_bot_message(general)
            later = [r for r in sim.requests if r.user_text != CAPTION_REQUEST][-1]
            assert "EARLIER IMAGES (OLDEST FIRST)" in later.user_text
            assert f"IMG 1: colours.png from Alice: [image: {CAPTION}]" in later.user_text
            assert images_in(later.body) == []  # an earlier image is not sent again
            # In the transcript the expiring link became a mark naming the image.
            assert "Alice: @you look\n[IMG 1: colours.png]" in later.user_text
            assert "/attachments/" not in later.user_text
            # Captioned once: the second turn found it in the cache and asked for nothing.
            assert [r.user_text for r in sim.requests].count(CAPTION_REQUEST) == 1
            calls = await actions(rt, "llm_call")
            purposes = [json.loads(c.metadata)["purpose"] for c in calls]
            assert purposes.count("image_caption") == 1 and purposes.count("reply") == 2


def lookup_flow(request: RecordedRequest) -> Turn:
    if request.user_text == CAPTION_REQUEST:
        return Text(CAPTION)
    if "image_lookup" in request.tool_names and not request.tool_results:
        return ToolUse((SimToolCall("image_lookup", {"query": "the green quarters"}),))
    return JsonReply({"text": "the top right was green", "skip": False, "reaction": None})


async def test_image_lookup_shows_an_earlier_image_again(tmp_path: Path) -> None:
    async with open_llmsim(default=lookup_flow) as sim:
        llm = LlmConfig(
            providers=(
                ProviderConfig(
                    name="claude",
                    kind="anthropic",
                    model="claude-sonnet-4-6",
                    base_url=sim.anthropic_url,
                    api_key="sk-test",
                ),
            )
        )
        async with open_sandbox_app(tmp_path / "c.db", llm=llm) as app:
            sb, rt = app.sandbox, app.runtime
            await configure(rt, FAST)
            alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
            bot = sb.world.bot.id
            source = pattern(200, 100)
            posted = sb.post_message(
                alice, general, f"<@{bot}> look", attachments=[("colours.png", encoded(source))]
            )
            with trio.fail_after(TIMEOUT):
                await sb.next_bot_message(general)
            first = [r for r in sim.requests if r.user_text != CAPTION_REQUEST]
            assert "image_lookup" not in first[0].tool_names  # no earlier image yet
            store = StoreClient(rt.lookup("store"))
            key = f"attachment:{posted.attachments[0].id}"
            with trio.fail_after(TIMEOUT):
                while True:
                    if await store.image_captions([key]):
                        break
                    await trio.sleep(0.02)
            sb.expire_attachment_links()  # the stored link no longer works: the bridge refreshes
            sb.post_message(alice, general, f"<@{bot}> which colour was top right in my picture?")
            with trio.fail_after(TIMEOUT):
                reply = await sb.next_bot_message(general)
            assert reply.content == "the top right was green"
            asked, answered = [r for r in sim.requests if r.user_text != CAPTION_REQUEST][-2:]
            assert "image_lookup" in asked.tool_names and images_in(asked.body) == []
            assert answered.tool_results == ["IMG 1: colours.png from Alice follows."]
            [(_, data)] = images_in(answered.body)  # the image came back with the result
            with Image.open(io.BytesIO(data)) as got:
                assert got.size == (200, 100)
            assert close(quadrant_colours(data)[1], (0, 255, 0))
            [lookup] = await actions(rt, "tool_image_lookup")
            meta = json.loads(lookup.metadata)
            assert (meta["arguments"], meta["images"], meta["is_error"]) == (
                {"query": "the green quarters"},
                1,
                False,
            )
