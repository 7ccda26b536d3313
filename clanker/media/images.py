"""Image generation: one picture from OpenAI's or xAI's images API, through the openai SDK.

Both speak ``POST {base}/images/generations``; the SDK runs natively under trio.

* **OpenAI** (``gpt-image-1.5``, ``gpt-image-1``, ``gpt-image-1-mini``): clanker asks for one
  ``1024x1024`` image at quality ``medium`` as PNG (``output_format``); GPT image models always
  answer ``data[0].b64_json`` (they take no ``response_format``).
* **xAI** (``grok-imagine-image``, ``grok-2-image``) at ``https://api.x.ai/v1``: no ``size`` or
  ``quality`` (xAI refuses them), ``response_format="b64_json"``; the image comes back as
  ``data[0].b64_json`` (sometimes as a ``data:image/…;base64,`` URL), usually a JPEG, with
  ``revised_prompt``.

The bytes are checked to be a PNG, JPEG or WebP and named ``image.png`` / ``.jpg`` / ``.webp``.
A failure raises `ImageError` with a message naming the provider, the model and what happened
(HTTP status and the API's message, a timeout, no connection); keys never appear in it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clanker.media.config import MediaConfig
from clanker.media.request import ImagePlan

__all__ = ["GeneratedImage", "ImageError", "generate_image", "sniff_image"]

OPENAI_SIZE = "1024x1024"
OPENAI_QUALITY = "medium"
MAX_RETRIES = 1


@dataclass(frozen=True)
class GeneratedImage:
    """The picture: its bytes, type and file name, who made it, and what it cost."""

    data: bytes
    content_type: str
    filename: str
    model: str
    provider: str
    usd_cost: float
    revised_prompt: str | None = None


class ImageError(Exception):
    """The generation failed; the message says how."""


def sniff_image(data: bytes) -> tuple[str, str] | None:
    """(content type, file extension) of a PNG, JPEG or WebP, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def _decode(b64: str) -> bytes:
    if b64.startswith("data:"):
        b64 = b64.partition(",")[2]
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ImageError("the image is not valid base64") from None


def _error_message(body: object, fallback: str) -> str:
    """OpenAI's ``{"error": {"message"}}`` (the SDK may have unwrapped it already) or xAI's
    ``{"code", "error": "<message>"}`` (which the SDK unwraps to the string)."""
    if isinstance(body, str) and body:
        return body
    if isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, str) and inner:
            return inner
        found = (inner if isinstance(inner, Mapping) else body).get("message")
        if isinstance(found, str) and found:
            return found
    return fallback


async def generate_image(plan: ImagePlan, *, config: MediaConfig) -> GeneratedImage:
    """One image for ``plan`` (its provider, model and prompt). Raises `ImageError`."""
    import httpx2
    import openai

    if plan.provider == "openai":
        key, base_url = config.openai_api_key, config.openai_base_url
        extra: dict[str, Any] = {
            "size": OPENAI_SIZE,
            "quality": OPENAI_QUALITY,
            "output_format": "png",
        }
    else:
        key, base_url = config.xai_api_key, config.xai_base_url
        extra = {"response_format": "b64_json"}
    where = f"{plan.provider} {plan.model}"
    if not key:
        raise ImageError(f"{where}: no API key")
    client = openai.AsyncOpenAI(
        api_key=key, base_url=base_url, timeout=config.image_timeout, max_retries=MAX_RETRIES
    )
    try:
        response = await client.images.generate(model=plan.model, prompt=plan.prompt, n=1, **extra)
    except (openai.APITimeoutError, httpx2.TimeoutException):
        raise ImageError(f"{where}: no answer within {config.image_timeout:g} s") from None
    except openai.APIStatusError as exc:
        message = _error_message(exc.body, exc.message)
        raise ImageError(f"{where}: HTTP {exc.status_code} ({message})") from None
    except (openai.OpenAIError, httpx2.HTTPError) as exc:
        cause = exc.__cause__ or exc
        raise ImageError(f"{where}: could not reach {base_url} ({type(cause).__name__})") from None
    finally:
        await client.close()
    if not isinstance(response, openai.types.ImagesResponse) or not response.data:
        raise ImageError(f"{where}: the answer holds no image")
    first = response.data[0]
    if not first.b64_json:
        raise ImageError(f"{where}: the answer has no b64_json image")
    data = _decode(first.b64_json)
    kind = sniff_image(data)
    if kind is None:
        raise ImageError(f"{where}: the answer is not a PNG, JPEG or WebP image")
    content_type, extension = kind
    return GeneratedImage(
        data=data,
        content_type=content_type,
        filename=f"image.{extension}",
        model=plan.model,
        provider=plan.provider,
        usd_cost=config.image_cost(plan.model),
        revised_prompt=first.revised_prompt or None,
    )
