"""`clanker sandbox`'s terminal chat posts a picture from disk: /image PATH [TEXT]."""

from __future__ import annotations

from pathlib import Path

from clanker.cli import chat
from clanker.cli.sandbox import TerminalChat
from clanker.sandbox import demo_world, open_sandbox
from tests.vision.images import png


def test_image_lines_parse() -> None:
    assert chat.parse_line("/image ~/cat.png what is this?") == chat.PostFile(
        "~/cat.png", "what is this?"
    )
    assert chat.parse_line("/image cat.png") == chat.PostFile("cat.png", "")
    assert chat.parse_line("/image") == chat.Invalid("/image needs a file's path")


async def test_the_terminal_chat_posts_a_picture_as_an_attachment(tmp_path: Path) -> None:
    picture = tmp_path / "cat.png"
    picture.write_bytes(png(32, 16))
    lines: list[str] = []
    async with open_sandbox(demo_world(), voice=False) as sb:
        term = TerminalChat(sb, lines.append, user="alice", channel="general")
        assert term.handle(f"/image {picture} @clanker look")
        [message] = [m for m in sb.world.messages.values() if m.attachments]
        [a] = message.attachments
        assert (a.filename, a.content_type, a.width, a.height) == ("cat.png", "image/png", 32, 16)
        assert message.content == f"<@{sb.world.bot.id}> look"
        assert lines[-1] == f"(posted cat.png, {picture.stat().st_size:,} bytes)"
        assert term.handle(f"/image {tmp_path / 'missing.png'}")
        assert lines[-1].startswith(f"! cannot read {tmp_path / 'missing.png'}: ")
