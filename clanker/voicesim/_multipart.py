"""multipart/form-data (RFC 7578) parsing, sans-IO: the body of an upload in, its parts out.

The transcription endpoint takes its audio and its options as form parts; the SDK sends a
list field with brackets (``include[]``). This parser is strict where a server must be (a
missing boundary, a part without a name, a body cut before its closing delimiter are errors
that name the problem) and takes parts in order, so a repeated field keeps every value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAM = re.compile(r';\s*([A-Za-z0-9_*.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)')


class MultipartError(ValueError):
    """The body is not well-formed multipart/form-data; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class FormPart:
    """One part of a form: its field ``name``, its bytes, and for a file its name and type."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None

    def text(self) -> str:
        """The part as UTF-8 text (form fields other than files)."""
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MultipartError(f"form field {self.name!r} is not UTF-8 text") from exc


def _params(header_value: str) -> tuple[str, dict[str, str]]:
    """``form-data; name="file"; filename="a.wav"`` → (``form-data``, {name, filename})."""
    head, _, _ = header_value.partition(";")
    params: dict[str, str] = {}
    for key, raw in _PARAM.findall(header_value[len(head) :]):
        value = raw
        if raw.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[key.lower()] = value
    return head.strip().lower(), params


def boundary_of(content_type: str | None) -> str:
    """The boundary of a ``multipart/form-data`` Content-Type; raises `MultipartError`."""
    if not content_type:
        raise MultipartError("the request has no Content-Type; send multipart/form-data")
    kind, params = _params(content_type)
    if kind != "multipart/form-data":
        raise MultipartError(f"Content-Type is {kind!r}; this endpoint takes multipart/form-data")
    boundary = params.get("boundary", "")
    if not boundary or len(boundary) > 70:
        raise MultipartError("the multipart/form-data Content-Type has no usable boundary")
    return boundary


def _part(raw: bytes, index: int) -> FormPart:
    head, sep, data = raw.partition(b"\r\n\r\n")
    if not sep:
        raise MultipartError(f"part {index} has no blank line between its headers and its body")
    headers: dict[str, str] = {}
    for line in head.split(b"\r\n"):
        if not line.strip():
            continue
        name, colon, value = line.decode("utf-8", "replace").partition(":")
        if not colon:
            raise MultipartError(f"part {index} has a malformed header line {line[:60]!r}")
        headers[name.strip().lower()] = value.strip()
    disposition = headers.get("content-disposition")
    if disposition is None:
        raise MultipartError(f"part {index} has no Content-Disposition header")
    kind, params = _params(disposition)
    if kind != "form-data" or not params.get("name"):
        raise MultipartError(f"part {index} is not a named form-data part ({disposition!r})")
    return FormPart(
        name=params["name"],
        data=data,
        filename=params.get("filename"),
        content_type=headers.get("content-type"),
    )


def parse_multipart(body: bytes, boundary: str) -> list[FormPart]:
    """Every part of ``body`` in order; raises `MultipartError` naming what is malformed."""
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    # A CRLF in front lets the first delimiter (which opens the body) match like the others.
    pieces = (b"\r\n" + body).split(delimiter)
    if len(pieces) < 2:
        raise MultipartError("the body does not contain the boundary of its Content-Type")
    parts: list[FormPart] = []
    for index, piece in enumerate(pieces[1:]):
        if piece.startswith(b"--"):
            return parts  # the closing delimiter; anything after it is an epilogue
        line_end = piece.find(b"\r\n")
        if line_end < 0 or piece[:line_end].strip(b" \t"):
            raise MultipartError(f"the delimiter before part {index} is not followed by CRLF")
        parts.append(_part(piece[line_end + 2 :], index))
    raise MultipartError("the body ends before the closing boundary (--boundary--)")
