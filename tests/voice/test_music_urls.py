"""Music URLs are checked before anything reaches yt-dlp or ffmpeg: only http(s) URLs with a
host; no local paths, other schemes, option-like strings, whitespace or control characters."""

from __future__ import annotations

import msgspec
import pytest

from clanker.voice import commands as c
from clanker.voice.framing import decode_command

HOSTILE = {
    "-o/tmp/pwned": "looks like a command-line option",
    "--exec=touch /tmp/pwned": "looks like a command-line option",
    "/etc/passwd": "is not an http(s) URL",
    "file:///etc/passwd": "is not an http(s) URL",
    "concat:/etc/passwd|/etc/hosts": "is not an http(s) URL",
    "-": "looks like a command-line option",
    "ftp://example.com/a.mp3": "is not an http(s) URL",
    "http://": "has no host",
    "https://:443/a": "has no host",
    "https://example.com/a b": "contains whitespace or control characters",
    "https://example.com/a\n--exec=x": "contains whitespace or control characters",
    "": "is empty",
    "https://example.com/" + "a" * 3000: "characters long",
}


@pytest.mark.parametrize("url", sorted(HOSTILE))
def test_a_hostile_music_url_is_refused_with_the_reason(url: str) -> None:
    with pytest.raises(ValueError) as info:
        c.MusicPlay(url=url)
    assert HOSTILE[url] in str(info.value)
    # The same check applies to a command read off the wire.
    line = msgspec.json.encode({"type": "music_play", "url": url}) + b"\n"
    with pytest.raises(msgspec.ValidationError) as decoded:
        decode_command(line)
    assert HOSTILE[url] in str(decoded.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "http://127.0.0.1:8080/track.ogg",
        "HTTPS://media.example/a.mp3#t=10",
        "https://user@media.example/a.mp3",
    ],
)
def test_an_http_url_is_accepted(url: str) -> None:
    assert c.music_url_problem(url) is None
    assert c.MusicPlay(url=url).url == url
