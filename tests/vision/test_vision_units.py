"""The sans-IO parts of vision: finding images, re-encoding them, which models see."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from clanker.llm import LlmRequest, ProviderConfig, user
from clanker.llm.model import ImagePart, TextPart
from clanker.llm.vision import IMAGE_NOT_SHOWN, for_provider, supports_vision
from clanker.store.messages import MessageRow, StoredAttachment
from clanker.vision.encode import ImageLimits, ImageProblem, prepare_image
from clanker.vision.refs import image_links, message_images, turn_images
from tests.vision.images import close, encoded, pattern, quadrant_colours


def row(mid: int, content: str, *attachments: StoredAttachment) -> MessageRow:
    return MessageRow(
        message_id=mid,
        guild_id=1,
        channel_id=2,
        author_id=3,
        author_name="alice",
        is_bot=False,
        content=content,
        reply_to_message_id=None,
        created_at="2025-01-31T12:00:00.000+00:00",
        edited_at=None,
        deleted=False,
        attachments=attachments,
    )


def test_images_are_attachments_then_links_once_each() -> None:
    pic = StoredAttachment(
        id=9, filename="a.png", url="https://cdn/a.png?ex=1", size=5, content_type="image/png"
    )
    doc = StoredAttachment(
        id=8, filename="n.txt", url="https://cdn/n.txt", size=5, content_type="text/plain"
    )
    text = "see https://x.org/b.JPG, https://x.org/b.JPG and https://x.org/page\nhttps://cdn/a.png?ex=1"
    refs = message_images(row(1, text, pic, doc))
    assert [(r.source, r.url, r.label) for r in refs] == [
        ("attachment", "https://cdn/a.png?ex=1", "a.png"),
        ("link", "https://x.org/b.JPG", "b.JPG"),
    ]
    assert image_links("(https://x.org/c.webp) ok") == ["https://x.org/c.webp"]
    rows = [row(1, "https://x.org/1.png"), row(2, "https://x.org/2.png https://x.org/3.gif")]
    assert [r.url for r in turn_images(rows, [2], limit=1)] == ["https://x.org/2.png"]


def test_prepare_image_keeps_small_ones_and_scales_big_ones() -> None:
    small = prepare_image(encoded(pattern(300, 200)), ImageLimits())
    assert (small.media_type, small.width, small.height) == ("image/jpeg", 300, 200)
    big = prepare_image(encoded(pattern(4000, 1000)), ImageLimits(max_side=1000))
    assert (big.width, big.height, big.original_width) == (1000, 250, 4000)
    assert all(
        close(a, b)
        for a, b in zip(
            quadrant_colours(big.data),
            ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)),
            strict=True,
        )
    )
    photo = prepare_image(encoded(pattern(4000, 3000), "JPEG"), ImageLimits())
    assert (photo.width, photo.height, photo.original_width) == (1568, 1176, 4000)  # drafted
    assert all(
        close(a, b)
        for a, b in zip(
            quadrant_colours(photo.data),
            ((255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)),
            strict=True,
        )
    )
    clear = Image.new("RGBA", (20, 10), (0, 0, 0, 0))
    kept = prepare_image(encoded(clear), ImageLimits())
    assert kept.media_type == "image/png"  # transparency kept
    with Image.open(io.BytesIO(kept.data)) as image:
        assert image.mode == "RGBA"
    tight = prepare_image(encoded(pattern(2000, 2000)), ImageLimits(max_bytes=20_000))
    assert len(tight.data) <= 20_000 and tight.width < 2000  # halved until it fits


@pytest.mark.parametrize(
    ("data", "limits", "problem"),
    [
        (b"hello", ImageLimits(), "not an image that can be read"),
        (
            b"x" * 101,
            ImageLimits(max_download_bytes=100),
            "too large (101 bytes; the limit is 100)",
        ),
        (encoded(pattern(100, 100)), ImageLimits(max_pixels=9_999), "too many pixels (100x100"),
        (encoded(pattern(100, 100))[:200], ImageLimits(), "a damaged image"),
    ],
)
def test_prepare_image_refuses_with_a_reason(
    data: bytes, limits: ImageLimits, problem: str
) -> None:
    with pytest.raises(ImageProblem) as caught:
        prepare_image(data, limits)
    assert str(caught.value).startswith(problem)


def test_which_models_see_and_what_the_others_get() -> None:
    def config(kind: str, model: str, **kw: object) -> ProviderConfig:
        base = "http://127.0.0.1:1/v1" if kind == "openai_compatible" else None
        return ProviderConfig(name="p", kind=kind, model=model, base_url=base, **kw)  # type: ignore[arg-type]

    seeing = [
        ("anthropic", "claude-sonnet-4-6"),
        ("anthropic", "claude-3-5-haiku-latest"),
        ("openai", "gpt-5.4-mini"),
        ("openai", "gpt-4o"),
        ("openai", "o3"),
        ("xai", "grok-4-1-fast-non-reasoning"),
        ("xai", "grok-2-vision-latest"),
    ]
    blind = [
        ("openai", "o3-mini"),
        ("openai", "gpt-3.5-turbo"),
        ("xai", "grok-3"),
        ("openai_compatible", "llava"),
    ]
    assert all(supports_vision(config(k, m)) for k, m in seeing)
    assert not any(supports_vision(config(k, m)) for k, m in blind)
    assert supports_vision(config("openai_compatible", "llava", vision=True))
    assert not supports_vision(config("anthropic", "claude-sonnet-4-6", vision=False))
    request = LlmRequest(messages=(user("look", ImagePart("data:image/png;base64,AA==")),))
    assert for_provider(request, config("anthropic", "claude-sonnet-4-6")) is request
    blinded = for_provider(request, config("xai", "grok-3"))
    assert blinded.messages[0].parts == (TextPart("look"), TextPart(IMAGE_NOT_SHOWN))


def test_odd_modes_and_animations_are_re_encoded() -> None:
    from PIL import Image as PILImage

    gif = io.BytesIO()
    frames = [PILImage.new("P", (30, 20), i) for i in (0, 2)]  # frame 1: all transparent
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], transparency=0)
    animated = prepare_image(gif.getvalue(), ImageLimits())
    assert (animated.media_type, animated.width, animated.height) == ("image/png", 30, 20)
    deep = io.BytesIO()
    PILImage.new("I;16", (8, 8), 1000).save(deep, format="PNG")
    assert prepare_image(deep.getvalue(), ImageLimits()).media_type == "image/jpeg"
    cmyk = io.BytesIO()
    PILImage.new("CMYK", (8, 8), (0, 255, 0, 0)).save(cmyk, format="JPEG")
    assert prepare_image(cmyk.getvalue(), ImageLimits()).media_type == "image/jpeg"


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400), st.integers(min_value=0, max_value=10_000), st.binary(max_size=8))
def test_any_bytes_give_an_image_or_a_reason(noise: bytes, at: int, patch: bytes) -> None:
    source = encoded(pattern(40, 30))
    spliced = source[: at % len(source)] + patch + source[at % len(source) + len(patch) :]
    for data in (noise, spliced, source[: at % len(source)]):
        try:
            prepared = prepare_image(data, ImageLimits())
        except ImageProblem as exc:
            assert str(exc)
        else:
            assert prepared.media_type in ("image/jpeg", "image/png") and prepared.data
