"""The local music library: finding a track by title, and the loopback server that hands its
files to clankvox and nothing else."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio

from clanker.voice.music_library import MusicLibrary, serve_library


def _library(tmp_path: Path) -> MusicLibrary:
    root = tmp_path / "music"
    (root / "sub").mkdir(parents=True)
    (root / "Test_Tune.wav").write_bytes(b"RIFF-test-tune")
    (root / "test-tune-extended-mix.ogg").write_bytes(b"OggS-long")
    (root / "sub" / "Second Song.mp3").write_bytes(b"ID3-second")
    (root / "notes.txt").write_text("not audio")
    (tmp_path / "secret.wav").write_bytes(b"outside the library")
    (root / "escape.wav").symlink_to(tmp_path / "secret.wav")
    return MusicLibrary(root)


def test_tracks_and_titles(tmp_path: Path) -> None:
    lib = _library(tmp_path)
    assert [t.title for t in lib.tracks()] == [
        "Second Song",
        "Test Tune",
        "test tune extended mix",
    ]  # no text file, no symlink out of the library


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("the test tune", "Test Tune"),
        ("TEST TUNE", "Test Tune"),
        ("test tune extended", "test tune extended mix"),
        ("second song", "Second Song"),
        ("second", "Second Song"),
        ("the song second", "Second Song"),
        ("thunder", None),
        ("", None),
        ("test thunder", None),
    ],
)
def test_find(tmp_path: Path, query: str, title: str | None) -> None:
    found = _library(tmp_path).find(query)
    assert (found.title if found else None) == title


def test_route_answers_only_token_and_key(tmp_path: Path) -> None:
    lib = _library(tmp_path)
    key = lib.find("test tune")
    assert key is not None
    token = "tok123"
    assert lib.route(token, f"/{token}/{key.key}") == key
    hostile = [
        f"/wrong/{key.key}",
        f"/{token}/",
        f"/{token}",
        f"/{token}/{key.key}/",
        f"/{token}/{key.key}?x=1",
        f"/{token}/../{key.key}",
        f"/{token}/..%2f..%2fsecret.wav",
        f"/{token}/%2e%2e",
        f"/{token}/Test_Tune.wav",
        f"/{token}/sub/Second Song.mp3",
        f"/{token}/..\\secret.wav",
        f"//{token}/{key.key}",
        f"http://127.0.0.1/{token}/{key.key}",
        "/etc/passwd",
        f"{token}/{key.key}",
    ]
    for target in hostile:
        assert lib.route(token, target) is None, target


async def test_the_server_serves_library_files_and_nothing_else(tmp_path: Path) -> None:
    lib = _library(tmp_path)
    tune = lib.find("test tune")
    assert tune is not None
    async with trio.open_nursery() as nursery:
        server = await nursery.start(serve_library, lib)
        url = server.url(tune)
        assert url.startswith("http://127.0.0.1:")
        assert len(server.token) >= 32
        base = f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient() as client:
            ok = await client.get(url)
            assert (ok.status_code, ok.content) == (200, b"RIFF-test-tune")
            assert ok.headers["content-type"] == "audio/wav"
            head = await client.head(url)
            assert (head.status_code, head.headers["content-length"]) == (200, "14")
            for path in (
                f"/{server.token}/..%2f..%2fsecret.wav",
                f"/{server.token}/escape.wav",
                f"/nope/{tune.key}",
                "/",
            ):
                r = await client.get(base + path)
                assert r.status_code == 404, path
            raw = await _raw(server.port, f"GET /{server.token}/../../secret.wav HTTP/1.1\r\n")
            assert raw.startswith(b"HTTP/1.1 404"), raw
            post = await client.post(url, content=b"x")
            assert post.status_code == 405
        nursery.cancel_scope.cancel()


async def _raw(port: int, request_line: str) -> bytes:
    """A request sent as typed (httpx would normalise the dots away)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(request_line.encode() + b"Host: x\r\n\r\n")
        data = b""
        while chunk := await stream.receive_some(4096):
            data += chunk
    return data
