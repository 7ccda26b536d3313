"""Earlier images are captioned once, in the background, and later turns name them.

The sandbox, the real bridge, the whole tree (with its `Captioner`) and the anthropic SDK on
llmsim; the caption is the model's (a call of its own, `purpose=image_caption`), cached in the
Store by source and by content. Real clock.
"""

from __future__ import annotations

import json
from pathlib import Path

import trio

from clanker.cli.sandbox import open_sandbox_app
from clanker.llm import LlmConfig, ProviderConfig
from clanker.llmsim import JsonReply, RecordedRequest, Text, open_llmsim
from clanker.llmsim.script import Turn
from clanker.store import StoreClient
from clanker.vision.captions import CAPTION_REQUEST
from tests.guilds.test_conversation import FAST, TIMEOUT, actions, configure
from tests.vision.images import encoded, pattern
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
            # Captioned once: the second turn found it in the cache and asked for nothing.
            assert [r.user_text for r in sim.requests].count(CAPTION_REQUEST) == 1
            calls = await actions(rt, "llm_call")
            purposes = [json.loads(c.metadata)["purpose"] for c in calls]
            assert purposes.count("image_caption") == 1 and purposes.count("reply") == 2
