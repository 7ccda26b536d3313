"""A member posts an image and asks about it: the model's request carries the image.

The sandbox Discord (its CDN serving the upload), the real bridge downloading it through
discord.py-self, the whole tree, and the real anthropic/openai SDKs against llmsim. The image
in the recorded request is decoded and compared with what was posted. Real clock.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
import trio
from PIL import Image

from clanker.cli.sandbox import open_sandbox_app
from clanker.llm import LlmConfig, ProviderConfig, RetryConfig
from clanker.llmsim import JsonReply, LlmSim, RecordedRequest, open_llmsim
from clanker.vision.captions import CAPTION_REQUEST
from tests.guilds.test_conversation import FAST, TIMEOUT, configure
from tests.vision.images import close, encoded, pattern, png, quadrant_colours

RGB = ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255))


def images_in(body: dict[str, Any]) -> list[tuple[str, bytes]]:
    """Every image of the request's last user message, as (media type, bytes), per API."""
    found: list[tuple[str, bytes]] = []
    messages = body.get("messages") or body.get("input") or []
    last = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"][-1]
    content = last["content"]
    for block in [] if isinstance(content, str) else content:  # Chat: text-only is a string
        kind = block.get("type")
        if kind == "image":  # Anthropic Messages: base64 source
            source = block["source"]
            assert source["type"] == "base64"
            found.append((source["media_type"], base64.b64decode(source["data"])))
        elif kind in ("input_image", "image_url"):  # OpenAI Responses / Chat: data URL
            url = block["image_url"] if kind == "input_image" else block["image_url"]["url"]
            header, _, data = url.partition(",")
            found.append((header.removeprefix("data:").split(";")[0], base64.b64decode(data)))
    return found


def replies(sim: LlmSim) -> list[RecordedRequest]:
    """The reply calls (the captioner's own calls, made in the background, left out)."""
    return [r for r in sim.requests if r.user_text != CAPTION_REQUEST]


def provider(sim: LlmSim, kind: str, **kw: Any) -> ProviderConfig:
    if kind == "anthropic":
        return ProviderConfig(
            name="claude",
            kind="anthropic",
            model="claude-sonnet-4-6",
            base_url=sim.anthropic_url,
            api_key="sk-test",
            **kw,
        )
    if kind == "chat":
        return ProviderConfig(
            name="local",
            kind="openai_compatible",
            model="llava",
            base_url=sim.openai_url,
            api_key="sk-test",
            **kw,
        )
    return ProviderConfig(
        name="openai",
        kind="openai",
        model="gpt-5.4-mini",
        base_url=sim.openai_url,
        api_key="sk-test",
        **kw,
    )


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
async def test_a_posted_image_reaches_the_model_as_an_image(tmp_path: Path, kind: str) -> None:
    async with open_llmsim() as sim:
        sim.script(JsonReply({"text": "a four-colour square", "skip": False, "reaction": None}))
        llm = LlmConfig(providers=(provider(sim, kind),), retry=RetryConfig(base_delay=0.05))
        async with open_sandbox_app(tmp_path / "c.db", llm=llm) as app:
            sb, rt = app.sandbox, app.runtime
            await configure(rt, FAST)
            alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
            source = pattern(640, 480)
            posted = sb.post_message(
                alice,
                general,
                f"<@{sb.world.bot.id}> what is in this picture?",
                attachments=[("colours.png", encoded(source))],
            )
            with trio.fail_after(TIMEOUT):
                reply = await sb.next_bot_message(general)
            assert reply.content == "a four-colour square"
            [request] = replies(sim)
            [(media_type, data)] = images_in(request.body)
            with Image.open(io.BytesIO(data)) as got:
                assert got.size == (640, 480)  # under the limits: not scaled
            assert media_type == "image/jpeg"  # opaque: re-encoded as JPEG
            assert all(close(a, b) for a, b in zip(quadrant_colours(data), RGB, strict=True))
            assert "Image 1: colours.png from Alice" in request.user_text
            # Downloaded once, from the sandbox's CDN, by the bridge.
            assert [r.path for r in sb.cdn_requests] == [
                f"/attachments/{general.id}/{posted.attachments[0].id}/colours.png"
            ]


async def test_big_images_are_scaled_and_bad_ones_become_notes(tmp_path: Path) -> None:
    async with open_llmsim() as sim:
        sim.script(JsonReply({"text": "ok", "skip": False, "reaction": None}))
        llm = LlmConfig(providers=(provider(sim, "anthropic"),))
        async with open_sandbox_app(tmp_path / "c.db", llm=llm) as app:
            sb, rt = app.sandbox, app.runtime
            await configure(rt, FAST)
            alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
            sb.post_message(
                alice,
                general,
                f"<@{sb.world.bot.id}> these two? and http://127.0.0.1:9/secret.png",
                attachments=[
                    ("wide.png", encoded(pattern(3200, 1600))),
                    ("fake.png", b"not a picture at all"),
                ],
            )
            with trio.fail_after(TIMEOUT):
                await sb.next_bot_message(general)
            [request] = replies(sim)
            [(_, data)] = images_in(request.body)
            with Image.open(io.BytesIO(data)) as got:
                assert got.size == (1568, 784)  # longest side to 1568, aspect kept
            assert all(close(a, b) for a, b in zip(quadrant_colours(data), RGB, strict=True))
            text = request.user_text
            assert "Image 1: wide.png from Alice" in text
            assert (
                "Image 2: fake.png from Alice could not be shown: not an image that can be read."
                in text
            )
            # A link to a loopback address is refused by the SSRF guard, before any connection.
            assert "Image 3: secret.png from Alice could not be shown: could not be fetched" in text
            assert "127.0.0.1" in text.split("Image 3:")[1]


async def test_a_model_that_cannot_see_gets_a_note_instead(tmp_path: Path) -> None:
    async with open_llmsim() as sim:
        sim.script(JsonReply({"text": "I can't see it", "skip": False, "reaction": None}))
        llm = LlmConfig(providers=(provider(sim, "chat"),))  # openai_compatible: no vision
        async with open_sandbox_app(tmp_path / "c.db", llm=llm) as app:
            sb, rt = app.sandbox, app.runtime
            await configure(rt, FAST)
            alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
            sb.post_message(
                alice, general, f"<@{sb.world.bot.id}> look", attachments=[("a.png", png())]
            )
            with trio.fail_after(TIMEOUT):
                await sb.next_bot_message(general)
            [request] = replies(sim)
            assert images_in(request.body) == []
            assert "[an image was here, but this model cannot see images]" in request.user_text


async def test_vision_off_in_the_settings_sends_no_images(tmp_path: Path) -> None:
    async with open_llmsim() as sim:
        sim.script(JsonReply({"text": "ok", "skip": False, "reaction": None}))
        llm = LlmConfig(providers=(provider(sim, "anthropic"),))
        async with open_sandbox_app(tmp_path / "c.db", llm=llm) as app:
            sb, rt = app.sandbox, app.runtime
            await configure(rt, {**FAST, "vision": {"enabled": False}})
            alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
            sb.post_message(
                alice, general, f"<@{sb.world.bot.id}> look", attachments=[("a.png", png())]
            )
            with trio.fail_after(TIMEOUT):
                await sb.next_bot_message(general)
            [request] = sim.requests  # the reply only: no caption call either
            assert images_in(request.body) == []
            assert "IMAGES IN THE NEW MESSAGES" not in request.user_text
            assert sb.cdn_requests == []  # nothing was downloaded
