"""Image facts the sandbox reports about attachments (Pillow, no I/O)."""

from __future__ import annotations

import io


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of an image Pillow can read, else None (Discord sets them for images)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None
