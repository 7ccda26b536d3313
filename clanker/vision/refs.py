"""Which images a message carries: its image attachments and image links (sans-IO)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal
from urllib.parse import urlsplit

import msgspec

from clanker.store.messages import MessageRow, StoredAttachment

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp")
_URL = re.compile(r"https?://[^\s<>()\"']+", re.IGNORECASE)


class ImageRef(msgspec.Struct, frozen=True, kw_only=True):
    """One image in the conversation, by reference: where it is and whose message holds it."""

    source: Literal["attachment", "link"]
    url: str
    message_id: int
    channel_id: int
    author_name: str
    attachment_id: int = 0
    filename: str = ""
    size: int = 0  # declared by Discord (attachments); 0 when unknown

    @property
    def key(self) -> str:
        """The image's source, as captions are cached: ``attachment:<id>`` or ``link:<url>``."""
        if self.source == "attachment" and self.attachment_id:
            return f"attachment:{self.attachment_id}"
        return f"link:{self.url}"

    @property
    def label(self) -> str:
        """How the prompt names it: the file name, else the link's last path segment."""
        if self.filename:
            return self.filename
        return urlsplit(self.url).path.rsplit("/", 1)[-1] or self.url


def is_image_attachment(a: StoredAttachment) -> bool:
    """Discord says it is an image (content type), or it has a picture's dimensions."""
    if a.content_type is not None:
        return a.content_type.lower().startswith("image/")
    return a.width is not None or a.filename.lower().endswith(IMAGE_EXTENSIONS)


def image_links(text: str, *, exclude: Iterable[str] = ()) -> list[str]:
    """http(s) links in ``text`` whose path ends in an image extension, in order, once each;
    ``exclude`` (the message's own attachment links, folded into stored text) left out."""
    skip = set(exclude)
    found: list[str] = []
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:!?")
        path = urlsplit(url).path.lower()
        if url not in skip and url not in found and path.endswith(IMAGE_EXTENSIONS):
            found.append(url)
    return found


def message_images(row: MessageRow) -> list[ImageRef]:
    """A stored message's images: attachments first, then links in its text."""
    refs = [
        ImageRef(
            source="attachment",
            url=a.url,
            message_id=row.message_id,
            channel_id=row.channel_id,
            author_name=row.author_name,
            attachment_id=a.id,
            filename=a.filename,
            size=a.size,
        )
        for a in row.attachments
        if is_image_attachment(a)
    ]
    own = [a.url for a in row.attachments]
    refs.extend(
        ImageRef(
            source="link",
            url=url,
            message_id=row.message_id,
            channel_id=row.channel_id,
            author_name=row.author_name,
        )
        for url in image_links(row.content, exclude=own)
    )
    return refs


def mark_attachments(row: MessageRow, numbers: Mapping[str, int]) -> MessageRow:
    """``row`` with each attachment link in its stored text replaced by a short mark: the
    signed links expire and mean nothing to a model. ``numbers`` maps an image's key to its
    ``IMG n`` in the prompt: ``[IMG 2: cat.png]``; other images ``[image: cat.png]``, other
    files ``[file: notes.txt]``."""
    if not row.attachments:
        return row
    content = row.content
    for a in row.attachments:
        if not a.url:
            continue
        if is_image_attachment(a):
            number = numbers.get(f"attachment:{a.id}")
            mark = f"[IMG {number}: {a.filename}]" if number else f"[image: {a.filename}]"
        else:
            mark = f"[file: {a.filename}]"
        content = content.replace(a.url, mark)
    return msgspec.structs.replace(row, content=content)


def history_images(
    rows: Sequence[MessageRow], exclude_ids: Iterable[int], *, limit: int
) -> list[ImageRef]:
    """The latest ``limit`` images of messages not in ``exclude_ids`` (the turn's own),
    oldest first, deleted messages left out."""
    skip = set(exclude_ids)
    refs = [
        ref
        for row in rows
        if row.message_id not in skip and not row.deleted
        for ref in message_images(row)
    ]
    return refs[-limit:] if limit > 0 else []


def turn_images(
    rows: Sequence[MessageRow], message_ids: Iterable[int], *, limit: int
) -> list[ImageRef]:
    """The images of this turn's messages (``message_ids``), oldest first, at most ``limit``."""
    wanted = set(message_ids)
    refs = [
        ref
        for row in rows
        if row.message_id in wanted and not row.deleted
        for ref in message_images(row)
    ]
    return refs[:limit]
