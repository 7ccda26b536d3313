"""The media clients against their sims, through the real client code: GIPHY through the SSRF
guard's fetcher (httpx), OpenAI and xAI images through the official openai SDK. Real sockets on
127.0.0.1, so the real clock."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest

from clanker.media.config import MediaConfig
from clanker.media.giphy import GifError, search_gif
from clanker.media.images import ImageError, generate_image, sniff_image
from clanker.media.request import ImagePlan
from clanker.tools.fetch import GuardedFetcher
from clanker.toolsims.giphy import GiphySim, SimGif, gif_bytes, open_giphy_sim
from clanker.toolsims.images import ImageSim, open_image_sim, sim_image

GIPHY_KEY = "giphy-test-key-42"
OPENAI_KEY = "sk-openai-image-test"
XAI_KEY = "xai-image-test"
HOSTS = {"giphy.test": "127.0.0.1"}


@pytest.fixture
async def giphy() -> AsyncIterator[GiphySim]:
    async with open_giphy_sim(api_key=GIPHY_KEY) as sim:
        yield sim


@pytest.fixture
async def images() -> AsyncIterator[ImageSim]:
    async with open_image_sim(openai_key=OPENAI_KEY, xai_key=XAI_KEY) as sim:
        yield sim


def giphy_config(sim: GiphySim, key: str | None = GIPHY_KEY) -> MediaConfig:
    return MediaConfig(giphy_api_key=key, giphy_base_url=f"http://giphy.test:{sim.port}")


def image_config(sim: ImageSim, **keys: str | None) -> MediaConfig:
    return MediaConfig(
        openai_api_key=keys.get("openai", OPENAI_KEY),
        openai_base_url=sim.openai_url,
        xai_api_key=keys.get("xai", XAI_KEY),
        xai_base_url=sim.xai_url,
    )


FETCHER = GuardedFetcher(testing_only_hosts=HOSTS)


async def test_giphy_search_returns_the_first_gif_with_the_rating_sent(giphy: GiphySim) -> None:
    giphy.results["otters"] = [SimGif("abc123", "Otter Waving GIF"), SimGif("def", "Two")]
    gif = await search_gif("otters", rating="pg-13", fetcher=FETCHER, config=giphy_config(giphy))
    assert gif is not None
    assert (gif.id, gif.title) == ("abc123", "Otter Waving GIF")
    assert gif.url == giphy.gif_url("abc123")
    assert gif.page_url == "https://giphy.com/gifs/otter-waving-gif-abc123"
    [request] = giphy.requests
    assert request.params == {
        "api_key": GIPHY_KEY,
        "q": "otters",
        "limit": "10",
        "rating": "pg-13",
        "lang": "en",
    }


async def test_giphy_nothing_found_is_none_not_an_error(giphy: GiphySim) -> None:
    giphy.results["zzz"] = []
    assert await search_gif("zzz", rating="g", fetcher=FETCHER, config=giphy_config(giphy)) is None


async def test_giphy_wrong_key_is_a_403_error_without_the_key(giphy: GiphySim) -> None:
    config = giphy_config(giphy, key="wrong-key-777")
    with pytest.raises(GifError) as caught:
        await search_gif("cats", rating="g", fetcher=FETCHER, config=config)
    assert str(caught.value) == "giphy: HTTP 403 (Forbidden: invalid API key.)"
    assert giphy.requests[0].params["api_key"] == "wrong-key-777"


async def test_giphy_without_a_key_is_refused_before_any_request(giphy: GiphySim) -> None:
    with pytest.raises(GifError, match=r"no API key \(\$GIPHY_API_KEY\)"):
        await search_gif("cats", rating="g", fetcher=FETCHER, config=giphy_config(giphy, None))
    assert giphy.requests == []


async def test_giphy_missing_key_on_the_wire_is_401(giphy: GiphySim) -> None:
    import httpx

    async with httpx.AsyncClient() as client:
        answer = await client.get(f"{giphy.url}/v1/gifs/search?q=cats")
    assert answer.status_code == 401
    assert answer.json()["meta"] == {
        "status": 401,
        "msg": "No API key found in request.",
        "response_id": "",
    }


async def test_giphy_failures_synthetic_response_and_long_query(giphy: GiphySim) -> None:
    config = giphy_config(giphy)
    giphy.fail(429)
    with pytest.raises(GifError, match=r"HTTP 429 \(Too Many Requests\)"):
        await search_gif("cats", rating="g", fetcher=FETCHER, config=config)
    giphy.synthetic()
    with pytest.raises(GifError, match="synthetic"):
        await search_gif("cats", rating="g", fetcher=FETCHER, config=config)
    with pytest.raises(GifError, match="HTTP 414"):
        await search_gif("x" * 51, rating="g", fetcher=FETCHER, config=config)


async def test_giphy_is_behind_the_ssrf_guard(giphy: GiphySim) -> None:
    # The sim's real address is loopback: a strict fetcher refuses it before connecting.
    config = MediaConfig(giphy_api_key=GIPHY_KEY, giphy_base_url=giphy.url)
    with pytest.raises(GifError, match=r"giphy: .*127\.0\.0\.1"):
        await search_gif("cats", rating="g", fetcher=GuardedFetcher(), config=config)
    assert giphy.requests == []


async def test_the_sim_serves_the_gif_it_links(giphy: GiphySim) -> None:
    gif = await search_gif("dogs", rating="g", fetcher=FETCHER, config=giphy_config(giphy))
    assert gif is not None
    page = await FETCHER.fetch(gif.url.replace("127.0.0.1", "giphy.test"), accept=("image/",))
    assert page.content_type == "image/gif"
    assert page.body == gif_bytes(gif.id) and page.body.startswith(b"GIF89a")


async def test_openai_image_through_the_sdk(images: ImageSim) -> None:
    plan = ImagePlan(prompt="a cat in a hat", model="gpt-image-1", provider="openai")
    image = await generate_image(plan, config=image_config(images))
    assert image.data == sim_image("a cat in a hat")
    assert (image.content_type, image.filename) == ("image/png", "image.png")
    assert image.usd_cost == 0.042
    [request] = images.requests
    assert request.api == "openai"
    assert request.body == {
        "model": "gpt-image-1",
        "prompt": "a cat in a hat",
        "n": 1,
        "size": "1024x1024",
        "quality": "medium",
        "output_format": "png",
    }
    assert request.headers["authorization"] == "<redacted>"


async def test_xai_image_through_the_sdk(images: ImageSim) -> None:
    plan = ImagePlan(prompt="a robot", model="grok-imagine-image", provider="xai")
    image = await generate_image(plan, config=image_config(images))
    assert image.data == sim_image("a robot")
    assert image.revised_prompt == "A picture of a robot (revised by the image sim)"
    assert image.usd_cost == 0.02
    [request] = images.requests
    assert request.api == "xai"
    assert request.body == {
        "model": "grok-imagine-image",
        "prompt": "a robot",
        "n": 1,
        "response_format": "b64_json",
    }


async def test_image_errors_name_provider_model_and_status(images: ImageSim) -> None:
    config = image_config(images, openai="sk-wrong", xai="xai-wrong")
    with pytest.raises(ImageError, match=r"openai gpt-image-1: HTTP 401 \(Incorrect API key"):
        await generate_image(
            ImagePlan(prompt="p", model="gpt-image-1", provider="openai"), config=config
        )
    with pytest.raises(ImageError, match=r"xai grok-2-image: HTTP 400 \(Incorrect API key"):
        await generate_image(
            ImagePlan(prompt="p", model="grok-2-image", provider="xai"), config=config
        )
    good = image_config(images)
    with pytest.raises(ImageError, match=r"HTTP 404 \(The model `gpt-nope`"):
        await generate_image(
            ImagePlan(prompt="p", model="gpt-nope", provider="openai"), config=good
        )
    images.fail("openai", 500, times=2)  # the SDK retries once
    with pytest.raises(ImageError, match=r"HTTP 500"):
        await generate_image(
            ImagePlan(prompt="p", model="gpt-image-1", provider="openai"), config=good
        )
    with pytest.raises(ImageError, match="openai gpt-image-1: no API key"):
        await generate_image(
            ImagePlan(prompt="p", model="gpt-image-1", provider="openai"),
            config=image_config(images, openai=None),
        )


async def test_xai_refuses_openai_only_arguments_on_the_wire(images: ImageSim) -> None:
    import openai

    client = openai.AsyncOpenAI(base_url=images.xai_url, api_key=XAI_KEY, max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        await client.images.generate(model="grok-2-image", prompt="x", size="1024x1024")
    await client.close()
    assert caught.value.body == "Argument not supported: size"  # the SDK unwraps "error"


def test_sniffing_and_data_urls() -> None:
    png = sim_image("x")
    assert sniff_image(png) == ("image/png", "png")
    assert sniff_image(b"\xff\xd8\xff\xe0rest") == ("image/jpeg", "jpg")
    assert sniff_image(b"RIFF\0\0\0\0WEBPVP8 ") == ("image/webp", "webp")
    assert sniff_image(b"GIF89a") is None
    from clanker.media.images import _decode

    assert _decode("data:image/png;base64," + base64.b64encode(png).decode()) == png
    with pytest.raises(ImageError, match="not valid base64"):
        _decode("@@@")
