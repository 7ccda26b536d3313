"""The media directive and its decision, sans-IO: no trio, no server (`clanker.media.request`),
and the configuration from the environment."""

from __future__ import annotations

import pytest

from clanker.app import ConfigError, media_config_from_env
from clanker.media.config import IMAGE_USD, MediaConfig
from clanker.media.request import (
    GifPlan,
    ImagePlan,
    MediaRefusal,
    MediaRequest,
    attach_link,
    decide_media,
    image_provider,
    media_guidance,
    read_media,
)
from clanker.settings import Media, parse_settings
from clanker.text.output import ParseState, parse_reply_output

DEFAULTS = Media()
BOTH = frozenset({"openai", "xai"})


def gif(prompt: str = "otters") -> MediaRequest:
    return MediaRequest(kind="gif", prompt=prompt)


def image(prompt: str = "a cat", *, complex: bool = False) -> MediaRequest:
    return MediaRequest(kind="image", prompt=prompt, complex=complex)


def media(**fields: object) -> Media:
    return parse_settings({"media": fields}).media


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"type": "gif", "prompt": "  happy \n otters "}, gif("happy otters")),
        ({"type": "GIF", "query": "cats"}, gif("cats")),
        ({"type": "image", "prompt": "a red fox"}, image("a red fox")),
        ({"type": "image_simple", "prompt": "a red fox"}, image("a red fox")),
        ({"type": "image_complex", "prompt": "a city"}, image("a city", complex=True)),
        ({"type": "none", "prompt": "x"}, None),
        ({"type": "video", "prompt": "x"}, None),
        ({"type": "gif", "prompt": "   "}, None),
        ({"type": "gif"}, None),
        ({"type": 3, "prompt": "x"}, None),
        ("gif of otters", None),
        (None, None),
    ],
)
def test_read_media(value: object, expected: MediaRequest | None) -> None:
    assert read_media(value) == expected


def test_a_gif_query_is_cut_to_giphys_50_characters_at_a_word() -> None:
    request = read_media({"type": "gif", "prompt": "word " * 20})
    assert request is not None
    assert len(request.prompt) <= 50 and request.prompt == " ".join(["word"] * 10)


def test_the_reply_output_carries_media_only_with_text() -> None:
    out = parse_reply_output(
        '{"text": "look", "skip": false, "media": {"type": "gif", "prompt": "otters"}}'
    )
    assert (out.text, out.media, out.state) == ("look", gif(), ParseState.JSON)
    fenced = parse_reply_output(
        'sure\n```json\n{"text": "a cat", "media": {"type": "image", "prompt": "cat"}}\n```'
    )
    assert fenced.media == image("cat") and fenced.state is ParseState.RECOVERED_JSON
    skipped = parse_reply_output(
        '{"text": "", "skip": true, "media": {"type": "gif", "prompt": "x"}}'
    )
    assert skipped.skip and skipped.media is None
    assert parse_reply_output('{"text": "hi", "media": null}').media is None


def test_a_gif_plan_uses_the_rating_setting() -> None:
    decided = decide_media(
        gif(), media(gif_rating="g"), used_today=0, gif_ready=True, image_providers=()
    )
    assert decided == GifPlan(query="otters", rating="g")


@pytest.mark.parametrize(
    ("settings", "used", "ready", "reason", "detail"),
    [
        (media(gifs_enabled=False), 0, True, "gifs_off", "media.gifs_enabled is off"),
        (DEFAULTS, 0, False, "no_giphy_key", "no GIPHY key ($GIPHY_API_KEY)"),
        (DEFAULTS, 60, True, "daily_budget_spent", "60 of 60 gifs in the last 24 hours already"),
        (
            media(max_gifs_per_day=0),
            0,
            True,
            "daily_budget_spent",
            "0 of 0 gifs in the last 24 hours already",
        ),
    ],
)
def test_gif_refusals(settings: Media, used: int, ready: bool, reason: str, detail: str) -> None:
    decided = decide_media(gif(), settings, used_today=used, gif_ready=ready, image_providers=BOTH)
    assert decided == MediaRefusal(kind="gif", reason=reason, detail=detail)


def test_one_gif_under_the_budget_still_goes() -> None:
    decided = decide_media(gif(), DEFAULTS, used_today=59, gif_ready=True, image_providers=())
    assert isinstance(decided, GifPlan)


def test_image_models_simple_complex_and_fallback() -> None:
    simple = decide_media(image(), DEFAULTS, used_today=0, gif_ready=False, image_providers=BOTH)
    assert simple == ImagePlan(prompt="a cat", model="gpt-image-1.5", provider="openai")
    hard = decide_media(
        image(complex=True), DEFAULTS, used_today=0, gif_ready=False, image_providers=BOTH
    )
    assert hard == ImagePlan(prompt="a cat", model="grok-imagine-image", provider="xai")
    # Only an xAI key: the simple image falls back to the complex model's provider.
    xai_only = decide_media(
        image(), DEFAULTS, used_today=0, gif_ready=False, image_providers={"xai"}
    )
    assert xai_only == ImagePlan(prompt="a cat", model="grok-imagine-image", provider="xai")


def test_image_refusals() -> None:
    none = decide_media(image(), DEFAULTS, used_today=0, gif_ready=True, image_providers=())
    assert none == MediaRefusal(
        kind="image",
        reason="no_image_key",
        detail="gpt-image-1.5 needs an openai key ($OPENAI_API_KEY)",
    )
    spent = decide_media(image(), DEFAULTS, used_today=10, gif_ready=True, image_providers=BOTH)
    assert isinstance(spent, MediaRefusal) and spent.reason == "daily_budget_spent"
    off = decide_media(
        image(), media(images_enabled=False), used_today=0, gif_ready=True, image_providers=BOTH
    )
    assert isinstance(off, MediaRefusal) and off.reason == "images_off"


def test_the_allowlist_is_checked_for_every_model_tried() -> None:
    settings = media(
        simple_image_model="gpt-image-2", allowed_image_models=["grok-2-image", "gpt-image-1"]
    )
    refused = decide_media(image(), settings, used_today=0, gif_ready=False, image_providers=BOTH)
    assert refused == MediaRefusal(
        kind="image",
        reason="model_not_allowed",
        detail="gpt-image-2 is not in media.allowed_image_models",
    )
    allowed = media(
        simple_image_model="gpt-image-2",
        complex_image_model="grok-2-image",
        allowed_image_models=["grok-2-image"],
    )
    fallback = decide_media(image(), allowed, used_today=0, gif_ready=False, image_providers=BOTH)
    assert fallback == ImagePlan(prompt="a cat", model="grok-2-image", provider="xai")


def test_the_image_prompt_is_cut_to_the_setting() -> None:
    long = image("tiny " * 300)
    decided = decide_media(
        long, media(max_prompt_chars=40), used_today=0, gif_ready=False, image_providers=BOTH
    )
    assert isinstance(decided, ImagePlan)
    assert decided.prompt == " ".join(["tiny"] * 8)
    default = decide_media(long, DEFAULTS, used_today=0, gif_ready=False, image_providers=BOTH)
    assert isinstance(default, ImagePlan) and len(default.prompt) <= 900


def test_image_providers_by_model_name() -> None:
    assert [image_provider(m) for m in ("gpt-image-1", "grok-2-image", "Grok-imagine-image")] == [
        "openai",
        "xai",
        "xai",
    ]


def test_the_guidance_offers_only_what_can_be_had() -> None:
    both = media_guidance(
        DEFAULTS, gifs_used=10, images_used=3, gif_ready=True, image_providers={"openai"}
    )
    assert both is not None and both.startswith("MEDIA\n")
    assert '"<a few search words>"} posts a GIF found on GIPHY (50 left today).' in both
    assert "generates a picture and attaches it (7 left today)." in both
    gifs_only = media_guidance(
        DEFAULTS, gifs_used=0, images_used=10, gif_ready=True, image_providers={"openai"}
    )
    assert gifs_only is not None and "picture" not in gifs_only and "GIPHY" in gifs_only
    assert (
        media_guidance(DEFAULTS, gifs_used=60, images_used=0, gif_ready=True, image_providers=())
        is None
    )
    assert (
        media_guidance(DEFAULTS, gifs_used=0, images_used=0, gif_ready=False, image_providers=())
        is None
    )


def test_attach_link_keeps_every_message_under_discords_limit() -> None:
    link = "https://media.giphy.com/media/abc/giphy.gif"
    assert attach_link(("hi",), link) == (f"hi\n{link}",)
    assert attach_link(("a", "b"), link) == ("a", f"b\n{link}")
    full = "x" * (2000 - len(link))
    assert attach_link((full,), link) == (full, link)
    assert attach_link((), link) == (link,)


def test_media_config_from_the_environment() -> None:
    config = MediaConfig.from_env(
        {"GIPHY_API_KEY": "g-secret", "XAI_API_KEY": "x-secret", "CLANKER_IMAGE_TIMEOUT": "30"}
    )
    assert config.gif_ready and config.image_providers == {"xai"}
    assert config.image_timeout == 30.0
    assert config.giphy_base_url == "https://api.giphy.com"
    assert config.xai_base_url == "https://api.x.ai/v1"
    assert "g-secret" not in repr(config) and "x-secret" not in str(config)
    assert config.image_cost("gpt-image-1") == IMAGE_USD["gpt-image-1"] == 0.042
    assert config.image_cost("some-new-model") == 0.2
    empty = MediaConfig.from_env({})
    assert not empty.gif_ready and empty.image_providers == frozenset()


@pytest.mark.parametrize("raw", ["soon", "0", "-3"])
def test_a_bad_timeout_is_a_config_error_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"\$CLANKER_GIF_TIMEOUT must be"):
        media_config_from_env({"CLANKER_GIF_TIMEOUT": raw})


def test_settings_bounds_name_the_field() -> None:
    from clanker.settings import SettingsError

    with pytest.raises(SettingsError, match=r"media\.gif_rating"):
        parse_settings({"media": {"gif_rating": "nc-17"}})
    with pytest.raises(SettingsError, match=r"media\.max_prompt_chars"):
        parse_settings({"media": {"max_prompt_chars": 5}})
