"""Test images made with Pillow: a known pattern, so a re-encoded copy can be compared."""

from __future__ import annotations

import io

from PIL import Image


def pattern(width: int, height: int) -> Image.Image:
    """Four solid quadrants (red, green, blue, white): they survive scaling and JPEG."""
    image = Image.new("RGB", (width, height), (255, 255, 255))
    w, h = width // 2, height // 2
    image.paste((255, 0, 0), (0, 0, w, h))
    image.paste((0, 255, 0), (w, 0, width, h))
    image.paste((0, 0, 255), (0, h, w, height))
    return image


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def png(width: int = 64, height: int = 48) -> bytes:
    return encoded(pattern(width, height))


def quadrant_colours(data: bytes) -> tuple[tuple[int, int, int], ...]:
    """Colours at the centres of the quadrants: top left, top right, bottom left, bottom right."""
    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
        w, h = rgb.size
        points = (
            (w // 4, h // 4),
            (3 * w // 4, h // 4),
            (w // 4, 3 * h // 4),
            (3 * w // 4, 3 * h // 4),
        )
        return tuple(rgb.getpixel(p) for p in points)  # type: ignore[misc]


def close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 24) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))
