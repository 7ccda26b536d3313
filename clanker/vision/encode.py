"""Check image bytes and re-encode them under the limits (Pillow, no I/O).

Whatever arrives (PNG, JPEG, GIF, WebP, …) leaves as a fresh JPEG (opaque) or PNG (with
transparency), its first frame only, scaled so its longer side is at most ``max_side`` and its
bytes at most ``max_bytes`` (JPEG quality is lowered, then the image halved, until it fits).
Re-encoding also drops metadata (EXIF, GPS) and anything that is not pixels. A file that is
not an image, is too large to decode safely, or cannot be brought under the limits raises
`ImageProblem` with a sentence for the prompt.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError


@dataclass(frozen=True)
class ImageLimits:
    """``max_download_bytes``: refused before decoding; ``max_pixels``: width x height refused
    before decoding (a decompression bomb); ``max_side``, ``max_bytes``: what the model gets."""

    max_download_bytes: int = 10_000_000
    max_pixels: int = 40_000_000
    max_side: int = 1568  # Anthropic's recommended longest edge
    max_bytes: int = 1_500_000

    def __post_init__(self) -> None:
        for name in ("max_download_bytes", "max_pixels", "max_side", "max_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ImageLimits.{name} must be positive, got {getattr(self, name)}")


class ImageProblem(Exception):
    """Why an image cannot be shown to the model (the message is prompt-ready)."""


@dataclass(frozen=True)
class PreparedImage:
    """Re-encoded bytes ready for a model: ``media_type`` image/jpeg or image/png."""

    data: bytes
    media_type: str
    width: int
    height: int
    original_width: int
    original_height: int


def prepare_image(data: bytes, limits: ImageLimits) -> PreparedImage:
    """``data`` checked and re-encoded (see the module docstring); raises `ImageProblem`."""
    if len(data) > limits.max_download_bytes:
        raise ImageProblem(
            f"too large ({len(data):,} bytes; the limit is {limits.max_download_bytes:,})"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > limits.max_pixels:
                raise ImageProblem(
                    f"too many pixels ({width}x{height}; the limit is {limits.max_pixels:,})"
                )
            image.seek(0)
            if image.format == "JPEG" and max(width, height) > limits.max_side:
                # Decode at a reduced DCT scale still at least max_side: a 12 MP photo
                # decodes several times faster (then resized exactly below).
                scale = limits.max_side / max(width, height)
                image.draft("RGB", (max(1, round(width * scale)), max(1, round(height * scale))))
            image.load()
    except ImageProblem:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageProblem("not an image that can be read") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageProblem(f"a damaged image ({exc})") from None
    try:
        return _fit(image, width, height, limits)
    except ImageProblem:
        raise
    except (OSError, ValueError) as exc:  # a mode Pillow cannot convert, a broken frame
        raise ImageProblem(f"cannot be converted ({exc})") from None


def _fit(image: Image.Image, width: int, height: int, limits: ImageLimits) -> PreparedImage:
    transparent = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    picture = image.convert("RGBA" if transparent else "RGB")
    scale = min(1.0, limits.max_side / max(width, height))
    side = max(1, round(width * scale)), max(1, round(height * scale))
    while True:
        resized = (
            picture if side == picture.size else picture.resize(side, Image.Resampling.LANCZOS)
        )
        encoded = _encode(resized, transparent, limits.max_bytes)
        if encoded is not None:
            return PreparedImage(
                encoded[0], encoded[1], resized.width, resized.height, width, height
            )
        if max(side) <= 16:
            raise ImageProblem("cannot be made small enough for the model")
        side = max(1, side[0] // 2), max(1, side[1] // 2)


def _encode(image: Image.Image, transparent: bool, max_bytes: int) -> tuple[bytes, str] | None:
    if transparent:
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
        return (out.getvalue(), "image/png") if out.tell() <= max_bytes else None
    for quality in (85, 70, 50):
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=quality)
        if out.tell() <= max_bytes:
            return out.getvalue(), "image/jpeg"
    return None


def local_caption(image: PreparedImage) -> str:
    """What can be said without a model that sees: the picture's size and orientation."""
    w, h = image.original_width, image.original_height
    shape = "square" if abs(w - h) <= max(w, h) // 20 else ("wide" if w > h else "tall")
    return f"a {shape} {w}x{h} picture (no model that sees images is configured to describe it)"
