"""Caption planning, the history section and the caption cache in SQLite (no model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clanker.store import GetImageCaptions, PutImageCaption
from clanker.store.migrations import migrate
from clanker.store.queries import get_image_captions, put_image_caption
from clanker.store.sqlite import close_connection, open_connection
from clanker.vision.captions import CaptionPlanner, clean_caption, history_section
from clanker.vision.encode import ImageLimits, local_caption, prepare_image
from clanker.vision.refs import ImageRef, history_images
from tests.vision.images import encoded, pattern
from tests.vision.test_vision_units import row


def ref(n: int) -> ImageRef:
    return ImageRef(
        source="attachment",
        url=f"https://cdn/{n}.png",
        message_id=n,
        channel_id=2,
        author_name="alice",
        attachment_id=100 + n,
        filename=f"{n}.png",
    )


def test_the_planner_keeps_the_hourly_budget_and_waits_after_a_failure() -> None:
    planner = CaptionPlanner(max_per_hour=3, retry_after=600.0, max_in_flight=2)
    assert planner.take(["a", "b", "c"], now=0.0) == ["a", "b"]  # two in flight at most
    assert planner.take(["a", "b", "c"], now=1.0) == []  # a and b still running
    planner.done("a", 2.0, ok=True)
    planner.done("b", 2.0, ok=False)
    assert planner.take(["b", "c", "d"], now=3.0) == ["c"]  # b failed: not before 602
    planner.done("c", 4.0, ok=True)
    assert planner.take(["d"], now=5.0) == []  # three started this hour: the budget
    # An hour after a and b started (t=0) two starts are free again: c (t=3) still counts.
    assert planner.take(["b", "d"], now=3600.0) == ["b", "d"]
    assert planner.started_last_hour(3600.0) == 3
    with pytest.raises(ValueError, match="max_in_flight"):
        CaptionPlanner(max_in_flight=0)


def test_history_lists_earlier_images_with_their_captions() -> None:
    rows = [row(1, "https://x.org/a.png"), row(2, "https://x.org/b.png"), row(3, "now")]
    earlier = history_images(rows, [3], limit=5)
    assert [r.url for r in earlier] == ["https://x.org/a.png", "https://x.org/b.png"]
    assert [r.url for r in history_images(rows, [3], limit=1)] == ["https://x.org/b.png"]
    assert history_images(rows, [], limit=0) == []
    body = history_section(earlier, {"link:https://x.org/a.png": "a cat"})
    assert body.splitlines() == [
        "IMG 1: a.png from alice: [image: a cat]",
        "IMG 2: b.png from alice: [image: not described yet]",
    ]
    assert ref(1).key == "attachment:101" and earlier[0].key == "link:https://x.org/a.png"


def test_attachment_links_in_the_transcript_become_marks() -> None:
    from clanker.store.messages import StoredAttachment
    from clanker.vision.refs import mark_attachments
    from tests.vision.test_vision_units import row

    pic = StoredAttachment(
        id=7, filename="cat.png", url="https://cdn/7?hm=1", size=1, content_type="image/png"
    )
    old = StoredAttachment(
        id=8, filename="dog.jpg", url="https://cdn/8?hm=1", size=1, content_type="image/jpeg"
    )
    doc = StoredAttachment(
        id=9, filename="notes.txt", url="https://cdn/9?hm=1", size=1, content_type="text/plain"
    )
    stored = row(
        1, "see\nhttps://cdn/7?hm=1\nhttps://cdn/8?hm=1\nhttps://cdn/9?hm=1", pic, old, doc
    )
    marked = mark_attachments(stored, {"attachment:7": 2})
    assert marked.content == "see\n[IMG 2: cat.png]\n[image: dog.jpg]\n[file: notes.txt]"
    plain = row(2, "no files")
    assert mark_attachments(plain, {}) is plain


def test_captions_are_one_line_and_bounded() -> None:
    assert clean_caption('  "A cat\n on a   mat."  ') == "A cat on a mat."
    long = clean_caption("word " * 100, limit=30)
    assert len(long) <= 30 and long.endswith("…") and "  " not in long
    image = prepare_image(encoded(pattern(300, 100)), ImageLimits())
    assert local_caption(image).startswith("a wide 300x100 picture")


def test_the_caption_cache_finds_by_source_and_by_content(tmp_path: Path) -> None:
    conn = open_connection(tmp_path / "c.db")
    try:
        migrate(conn, tmp_path / "c.db")
        put_image_caption(
            conn,
            PutImageCaption(
                source_key="attachment:1", content_hash="h1", caption="a cat", model="m"
            ),
        )
        put_image_caption(
            conn, PutImageCaption(source_key="link:u", content_hash="h2", caption="a dog")
        )
        put_image_caption(
            conn, PutImageCaption(source_key="link:u", content_hash="h2", caption="a big dog")
        )
        by_key = get_image_captions(
            conn, GetImageCaptions(source_keys=("attachment:1", "link:u", "nope"))
        ).rows
        assert sorted((r.source_key, r.caption, r.model) for r in by_key) == [
            ("attachment:1", "a cat", "m"),
            ("link:u", "a big dog", ""),
        ]
        [same] = get_image_captions(conn, GetImageCaptions(content_hash="h1")).rows
        assert same.source_key == "attachment:1"
        assert get_image_captions(conn, GetImageCaptions(content_hash="zz")).rows == ()
        with pytest.raises(ValueError, match="caption must not be empty"):
            PutImageCaption(source_key="k", content_hash="h", caption=" ")
    finally:
        close_connection(conn)
