"""The reply's media directive and the decision to carry it out (sans-IO: no trio, no I/O).

The model may add ``"media": {"type": "gif", "prompt": "otters"}`` (or ``"image"``, and the
original system's ``"image_simple"`` / ``"image_complex"``) to its reply object. `read_media`
turns that value into a `MediaRequest` (or None: absent, null, ``"none"``, an unknown type, an
empty prompt). `decide_media` then says what to do with it given the live ``media`` settings,
what was used in the last 24 hours and which providers have keys: a `GifPlan`, an `ImagePlan`,
or a `MediaRefusal` with a reason code (the reply goes out without the media, and the refusal
is logged). `media_guidance` is the system prompt's MEDIA section: what the model may ask for
right now, or None when it may ask for nothing.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Any, Literal

import msgspec

from clanker.settings.model import Media

__all__ = [
    "DISCORD_MESSAGE_LIMIT",
    "GIF_QUERY_CHARS",
    "GifPlan",
    "ImagePlan",
    "MediaRefusal",
    "MediaRequest",
    "attach_link",
    "decide_media",
    "image_provider",
    "media_guidance",
    "read_media",
]

GIF_QUERY_CHARS = 50  # GIPHY answers 414 to a longer search query
MAX_READ_PROMPT_CHARS = 4000  # what is kept of any prompt before the settings' own cap
DISCORD_MESSAGE_LIMIT = 2000

ImageProvider = Literal["openai", "xai"]

_IMAGE_TYPES = {"image": "simple", "image_simple": "simple", "image_complex": "complex"}
_SPACE = re.compile(r"\s+")


class MediaRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What the model asked for: a ``gif`` (``prompt``: search words) or an ``image``
    (``prompt``: what to draw; ``complex`` picks the complex image model)."""

    kind: Literal["gif", "image"]
    prompt: str
    complex: bool = False


class GifPlan(msgspec.Struct, frozen=True, kw_only=True):
    """Search GIPHY for ``query`` at most ``rating``."""

    query: str
    rating: str


class ImagePlan(msgspec.Struct, frozen=True, kw_only=True):
    """Generate one image of ``prompt`` with ``model`` at ``provider``."""

    prompt: str
    model: str
    provider: ImageProvider


class MediaRefusal(msgspec.Struct, frozen=True, kw_only=True):
    """Not carried out: ``reason`` is a code (``gifs_off``, ``no_giphy_key``,
    ``daily_budget_spent``, ``model_not_allowed`` …), ``detail`` says it in words."""

    kind: Literal["gif", "image"]
    reason: str
    detail: str


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip()


def read_media(value: Any) -> MediaRequest | None:
    """The model's ``media`` value as a request, or None when it asks for nothing usable.
    Accepts an object with ``type`` and ``prompt`` (also ``query``); never raises."""
    if not isinstance(value, dict):
        return None
    kind = value.get("type")
    prompt = value.get("prompt")
    if prompt is None:
        prompt = value.get("query")
    if not isinstance(kind, str) or not isinstance(prompt, str):
        return None
    kind = kind.strip().lower()
    text = _SPACE.sub(" ", prompt).strip()
    if not text:
        return None
    if kind == "gif":
        return MediaRequest(kind="gif", prompt=_cut(text, GIF_QUERY_CHARS))
    if kind in _IMAGE_TYPES:
        return MediaRequest(
            kind="image",
            prompt=_cut(text, MAX_READ_PROMPT_CHARS),
            complex=_IMAGE_TYPES[kind] == "complex",
        )
    return None


def image_provider(model: str) -> ImageProvider:
    """Who serves an image model: xAI for ``grok-*``, OpenAI otherwise (``gpt-image-*``)."""
    return "xai" if model.lower().startswith("grok") else "openai"


def decide_media(
    request: MediaRequest,
    settings: Media,
    *,
    used_today: int,
    gif_ready: bool,
    image_providers: Collection[str],
) -> GifPlan | ImagePlan | MediaRefusal:
    """What to do with ``request``. ``used_today``: calls of its kind (``gif_call`` or
    ``image_call`` actions) in the last 24 hours; ``gif_ready``: a GIPHY key is set;
    ``image_providers``: the image providers with a key (``openai``, ``xai``)."""
    if request.kind == "gif":
        if not settings.gifs_enabled:
            return MediaRefusal(kind="gif", reason="gifs_off", detail="media.gifs_enabled is off")
        if not gif_ready:
            return MediaRefusal(
                kind="gif", reason="no_giphy_key", detail="no GIPHY key ($GIPHY_API_KEY)"
            )
        if used_today >= settings.max_gifs_per_day:
            return _spent("gif", used_today, settings.max_gifs_per_day)
        return GifPlan(query=request.prompt, rating=settings.gif_rating)
    if not settings.images_enabled:
        return MediaRefusal(kind="image", reason="images_off", detail="media.images_enabled is off")
    if used_today >= settings.max_images_per_day:
        return _spent("image", used_today, settings.max_images_per_day)
    first, second = settings.simple_image_model, settings.complex_image_model
    if request.complex:
        first, second = second, first
    refusals: list[MediaRefusal] = []
    for model in dict.fromkeys((first, second)):
        if model not in settings.allowed_image_models:
            refusals.append(
                MediaRefusal(
                    kind="image",
                    reason="model_not_allowed",
                    detail=f"{model} is not in media.allowed_image_models",
                )
            )
            continue
        provider = image_provider(model)
        if provider not in image_providers:
            key = "OPENAI_API_KEY" if provider == "openai" else "XAI_API_KEY"
            refusals.append(
                MediaRefusal(
                    kind="image",
                    reason="no_image_key",
                    detail=f"{model} needs an {provider} key (${key})",
                )
            )
            continue
        return ImagePlan(
            prompt=_cut(request.prompt, settings.max_prompt_chars), model=model, provider=provider
        )
    return refusals[0]


def _spent(kind: Literal["gif", "image"], used: int, limit: int) -> MediaRefusal:
    return MediaRefusal(
        kind=kind,
        reason="daily_budget_spent",
        detail=f"{used} of {limit} {kind}s in the last 24 hours already",
    )


def media_available(
    settings: Media,
    *,
    gifs_used: int,
    images_used: int,
    gif_ready: bool,
    image_providers: Collection[str],
) -> tuple[bool, bool]:
    """Whether a GIF, and whether an image, could be had now (on, a key, budget left)."""
    gif = MediaRequest(kind="gif", prompt="x")
    image = MediaRequest(kind="image", prompt="x")
    gif_ok = isinstance(
        decide_media(
            gif,
            settings,
            used_today=gifs_used,
            gif_ready=gif_ready,
            image_providers=image_providers,
        ),
        GifPlan,
    )
    image_ok = isinstance(
        decide_media(
            image,
            settings,
            used_today=images_used,
            gif_ready=gif_ready,
            image_providers=image_providers,
        ),
        ImagePlan,
    )
    return gif_ok, image_ok


def media_guidance(
    settings: Media,
    *,
    gifs_used: int,
    images_used: int,
    gif_ready: bool,
    image_providers: Collection[str],
) -> str | None:
    """The system prompt's MEDIA section for this reply, or None when no media can be had
    (switched off, no key, budget spent), so the model is never offered what cannot run."""
    gif_ok, image_ok = media_available(
        settings,
        gifs_used=gifs_used,
        images_used=images_used,
        gif_ready=gif_ready,
        image_providers=image_providers,
    )
    lines: list[str] = []
    if gif_ok:
        left = settings.max_gifs_per_day - gifs_used
        lines.append(
            '- {"type": "gif", "prompt": "<a few search words>"} posts a GIF found on GIPHY '
            f"({left} left today)."
        )
    if image_ok:
        left = settings.max_images_per_day - images_used
        lines.append(
            '- {"type": "image", "prompt": "<what to draw, in detail>"} generates a picture and '
            f"attaches it ({left} left today)."
        )
    if not lines:
        return None
    return "\n".join(
        [
            "MEDIA",
            'You may add "media" to your JSON object to post one of these with your message:',
            *lines,
            "Use it when someone asks for one or when it truly adds something; otherwise leave "
            '"media" out. Still write the text of your message.',
        ]
    )


def attach_link(chunks: Sequence[str], link: str) -> tuple[str, ...]:
    """The reply's chunks with ``link`` on its own line at the end (Discord embeds a GIF
    link); a chunk that would pass Discord's 2,000 characters gets the link as its own."""
    if not chunks:
        return (link,)
    last = chunks[-1]
    if len(last) + 1 + len(link) <= DISCORD_MESSAGE_LIMIT:
        return (*chunks[:-1], f"{last}\n{link}")
    return (*chunks, link)
