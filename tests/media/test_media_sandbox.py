"""GIFs and generated images end to end: the sandbox Discord with the real discord.py-self
client, the whole tree, the model (the offline demo brain, or the OpenAI SDK on llmsim) asking
for media in its reply JSON, the GIPHY sim reached through the SSRF guard's fetcher, the image
sim through the openai SDK, and the picture uploaded as an attachment to the sandbox's CDN.

Real sockets, so the real clock: waits are on conditions, bounded by generous timeouts.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import trio

from clanker.cli.sandbox import SandboxOptions, open_sandbox_app, run_chat
from clanker.llm import LlmConfig, RetryConfig
from clanker.llmsim import JsonReply, open_llmsim
from clanker.sandbox import payloads
from clanker.toolsims.giphy import gif_bytes
from clanker.toolsims.images import sim_image
from tests.guilds.test_conversation import FAST, TIMEOUT, actions, configure, provider

KEYLESS: dict[str, str] = {}


async def test_ask_for_a_gif_in_the_sandbox_chat_with_no_keys(tmp_path: Path) -> None:
    printed: list[str] = []
    answered = trio.Event()

    def out(text: str) -> None:
        printed.append(text)
        if text.startswith("#general clanker:"):
            answered.set()

    send, receive = trio.open_memory_channel[str](16)
    options = SandboxOptions(db_path=tmp_path / "g.db", linger=0.0, env=KEYLESS, dashboard=False)
    with trio.fail_after(TIMEOUT * 2):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_chat, options, receive, out)
            await send.send("clanker, send a gif of otters\n")
            await answered.wait()
            await send.send("/quit\n")
    assert any("SANDBOX GIPHY SIM" in line and "SANDBOX IMAGE SIM" in line for line in printed)
    [answer] = [line for line in printed if line.startswith("#general clanker:")]
    assert "[offline demo brain] Here is a GIF of otters." in answer
    assert "http://media.giphy.sandbox.test:" in answer and answer.endswith("/giphy.gif")


async def test_a_gif_reply_carries_the_sims_gif_link(tmp_path: Path) -> None:
    async with open_sandbox_app(tmp_path / "a.db", env=KEYLESS) as app:
        assert app.media is not None and app.media.giphy is not None and app.offline_demo
        sb, rt, giphy = app.sandbox, app.runtime, app.media.giphy
        await configure(rt, FAST)
        alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
        sb.post_message(alice, general, "clanker, send a gif of dancing otters")
        with trio.fail_after(TIMEOUT):
            reply = await sb.next_bot_message(general)
        [search] = giphy.requests
        assert search.params["q"] == "dancing otters"
        assert search.params["rating"] == "pg-13"  # the media.gif_rating default
        first = giphy.gifs_for("dancing otters")[0]
        link = giphy.gif_url(first.id)
        assert reply.content == f"[offline demo brain] Here is a GIF of dancing otters.\n{link}"
        [row] = await actions(rt, "gif_call")
        meta = json.loads(row.metadata)
        assert (row.content, row.usd_cost, meta["gif_id"]) == (link, 0.0, first.id)
        # The link is a real GIF, served by the sim behind the guard's test-only host.
        fetched = await app.media.fetcher.fetch(link, accept=("image/",))
        assert fetched.body == gif_bytes(first.id)


async def test_an_image_reply_has_the_sims_png_on_the_sandbox_cdn(tmp_path: Path) -> None:
    async with open_sandbox_app(tmp_path / "i.db", env=KEYLESS) as app:
        assert app.media is not None and app.media.images is not None
        sb, rt, images = app.sandbox, app.runtime, app.media.images
        await configure(rt, FAST)
        alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
        sb.post_message(alice, general, "clanker, draw a lighthouse at night")
        with trio.fail_after(TIMEOUT):
            reply = await sb.next_bot_message(general)
        assert reply.content == "[offline demo brain] I drew a lighthouse at night for you."
        [request] = images.requests
        assert request.api == "openai"  # media.simple_image_model: gpt-image-1.5
        assert request.body["model"] == "gpt-image-1.5"
        assert request.body["prompt"] == "a lighthouse at night"
        [attachment] = reply.attachments
        assert (attachment.filename, attachment.content_type) == ("image.png", "image/png")
        # Downloaded from the CDN link Discord's message payload gives, as any member would.
        shown = payloads.message(sb.world, reply, viewer_id=alice.id)
        url = shown["attachments"][0]["url"]  # type: ignore[index]
        async with httpx.AsyncClient() as client:
            got = await client.get(url)
        assert got.status_code == 200
        assert got.content == sim_image("a lighthouse at night")
        [row] = await actions(rt, "image_call")
        meta = json.loads(row.metadata)
        assert (meta["model"], meta["provider"], meta["bytes"]) == (
            "gpt-image-1.5",
            "openai",
            len(got.content),
        )


async def test_a_spent_gif_budget_is_not_offered_and_the_text_goes_alone(tmp_path: Path) -> None:
    async with open_sandbox_app(tmp_path / "b.db", env=KEYLESS) as app:
        assert app.media is not None and app.media.giphy is not None
        sb, rt = app.sandbox, app.runtime
        await configure(rt, {**FAST, "media": {"max_gifs_per_day": 1, "images_enabled": False}})
        alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
        sb.post_message(alice, general, "clanker, send a gif of otters")
        with trio.fail_after(TIMEOUT):
            first = await sb.next_bot_message(general)
        assert "giphy.gif" in first.content
        sb.post_message(alice, general, "clanker, send a gif of herons")
        with trio.fail_after(TIMEOUT):
            second = await sb.next_bot_message(general)
        # The day's one GIF is spent: the prompt had no MEDIA section, so the demo brain
        # just answers, and nothing more was searched.
        assert "giphy.gif" not in second.content and "herons" in second.content
        assert len(app.media.giphy.requests) == 1
        assert len(await actions(rt, "gif_call")) == 1


async def test_a_giphy_failure_logs_gif_error_and_the_text_still_goes(tmp_path: Path) -> None:
    async with open_sandbox_app(tmp_path / "f.db", env=KEYLESS) as app:
        assert app.media is not None and app.media.giphy is not None
        sb, rt = app.sandbox, app.runtime
        await configure(rt, FAST)
        app.media.giphy.fail(503)
        alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
        sb.post_message(alice, general, "clanker, send a gif of otters")
        with trio.fail_after(TIMEOUT):
            reply = await sb.next_bot_message(general)
        assert reply.content == "[offline demo brain] Here is a GIF of otters."
        [row] = await actions(rt, "gif_error")
        assert row.content == "giphy: HTTP 503 (Server Error)"
        assert await actions(rt, "gif_call") == []


async def test_media_asked_for_past_the_budget_is_refused_and_logged(tmp_path: Path) -> None:
    # A model that asks for an image whatever the prompt says (no MEDIA section: the budget
    # is 0): the reply goes out as text, and the refusal is in the action log.
    async with open_llmsim() as sim:
        sim.script(
            JsonReply(
                {
                    "text": "here you go",
                    "skip": False,
                    "reaction": None,
                    "media": {"type": "image", "prompt": "a cat"},
                }
            )
        )
        llm = LlmConfig(providers=(provider(sim, "openai"),), retry=RetryConfig(base_delay=0.05))
        async with open_sandbox_app(tmp_path / "r.db", llm=llm, env=KEYLESS) as app:
            assert app.media is not None and app.media.images is not None
            sb, rt = app.sandbox, app.runtime
            await configure(rt, {**FAST, "media": {"max_images_per_day": 0}})
            alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
            sb.post_message(alice, general, "clanker, draw a cat")
            with trio.fail_after(TIMEOUT):
                reply = await sb.next_bot_message(general)
            assert (reply.content, reply.attachments) == ("here you go", [])
            assert app.media.images.requests == []
            [row] = await actions(rt, "media_refused")
            assert json.loads(row.metadata)["reason"] == "daily_budget_spent"
            assert row.content == "0 of 0 images in the last 24 hours already"
            [request] = sim.requests
            system = json.dumps(request.body)
            assert "generates a picture" not in system  # images were not offered
            assert "posts a GIF found on GIPHY" in system  # GIFs still were


async def test_an_upload_discord_refuses_is_sent_again_as_text(tmp_path: Path) -> None:
    async with open_sandbox_app(tmp_path / "u.db", env=KEYLESS) as app:
        sb, rt = app.sandbox, app.runtime
        await configure(rt, FAST)
        sb.fail_route("POST /channels/{channel_id}/messages", status=413, times=1)
        alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
        sb.post_message(alice, general, "clanker, draw a cat")
        with trio.fail_after(TIMEOUT):
            reply = await sb.next_bot_message(general)
        assert (reply.content, reply.attachments) == (
            "[offline demo brain] I drew a cat for you.",
            [],
        )
        [refused] = await actions(rt, "media_upload_failed")
        assert json.loads(refused.metadata)["status"] == 413
        assert len(await actions(rt, "image_call")) == 1  # it was made (and paid for)
        assert len(sb.bot_messages(general)) == 1


async def test_an_xai_model_draws_through_the_xai_wire_format(tmp_path: Path) -> None:
    async with open_sandbox_app(tmp_path / "x.db", env=KEYLESS) as app:
        assert app.media is not None and app.media.images is not None
        sb, rt, images = app.sandbox, app.runtime, app.media.images
        await configure(rt, {**FAST, "media": {"simple_image_model": "grok-2-image"}})
        alice, general = sb.world.user_named("alice"), sb.world.channel_named("general")
        sb.post_message(alice, general, "clanker, draw a heron")
        with trio.fail_after(TIMEOUT):
            reply = await sb.next_bot_message(general)
        [request] = images.requests
        assert request.api == "xai"
        assert request.body == {
            "model": "grok-2-image",
            "prompt": "a heron",
            "n": 1,
            "response_format": "b64_json",
        }
        [attachment] = reply.attachments
        assert attachment.data == sim_image("a heron")
        [row] = await actions(rt, "image_call")
        meta = json.loads(row.metadata)
        assert meta["revised_prompt"] == "A picture of a heron (revised by the image sim)"
