"""multipart/form-data parsing (discord.py's file uploads) with the standard library."""

from __future__ import annotations

import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser


class FormDecodeError(ValueError):
    """The body is not multipart/form-data the sandbox can read."""


@dataclass(frozen=True)
class FormPart:
    """One form field; `filename` is set for file parts."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def parse_multipart(content_type: str, body: bytes) -> list[FormPart]:
    """Split a multipart/form-data body (given its full Content-Type header) into parts."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise FormDecodeError(
            f"expected a multipart/form-data body, got Content-Type {content_type!r}"
        )
    parts = []
    for part in message.iter_parts():
        assert isinstance(part, EmailMessage)  # the HTTP policy builds EmailMessage parts
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise FormDecodeError("a multipart part has no content-disposition name")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        declared = part.get_content_type() if "content-type" in part else None
        parts.append(FormPart(name, part.get_filename(), declared, data))
    return parts
