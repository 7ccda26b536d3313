"""One spelling per link: tracking parameters, aliases and the dedupe key (no trio)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clanker.feeds.canonical import BadUrl, canonical_url, dedupe_key


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        (
            "https://example.com/post?utm_source=reddit&utm_medium=social&id=7",
            "https://example.com/post?id=7",
        ),
        (
            "https://example.com/a?fbclid=IwAR0&gclid=Cj0K&msclkid=1&ref=hn&ref_src=twsrc",
            "https://example.com/a",
        ),
        ("https://example.com/a?mc_cid=1&mc_eid=2&_hsenc=3&igshid=4", "https://example.com/a"),
        ("https://example.com/a?UTM_Campaign=x&page=2", "https://example.com/a?page=2"),
        ("HTTPS://Example.COM:443/A/../b/./c#section", "https://example.com/b/c"),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/x", "http://example.com:8080/x"),
        ("https://example.com/?b=2&a=1&a=0", "https://example.com/?a=0&a=1&b=2"),
        ("https://example.com/caf\u00e9 menu", "https://example.com/caf%C3%A9%20menu"),
        ("https://example.com/already%20escaped", "https://example.com/already%20escaped"),
        ("https://example.com/?q=", "https://example.com/?q="),
    ],
)
def test_canonical_urls(raw: str, canonical: str) -> None:
    assert canonical_url(raw) == canonical


@pytest.mark.parametrize(
    "raw",
    [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ&si=AbCdEf&feature=share",
        "https://youtu.be/dQw4w9WgXcQ?si=AbCdEf",
        "https://m.youtube.com/watch?v=dQw4w9WgXcQ&pp=ygU",
        "https://youtube.com/shorts/dQw4w9WgXcQ",
        "http://www.youtube.com/watch?feature=youtu.be&v=dQw4w9WgXcQ",
    ],
)
def test_youtube_spellings_meet(raw: str) -> None:
    assert dedupe_key(raw) == "youtube.com/watch?v=dQw4w9WgXcQ"


def test_youtube_keeps_what_matters() -> None:
    assert (
        canonical_url("https://youtu.be/dQw4w9WgXcQ?t=42&si=x")
        == "https://www.youtube.com/watch?t=42&v=dQw4w9WgXcQ"
    )
    # "si" is a share marker on YouTube and Spotify only; elsewhere it may mean something.
    assert canonical_url("https://example.com/?si=3") == "https://example.com/?si=3"
    assert canonical_url("https://open.spotify.com/track/1?si=abc") == (
        "https://open.spotify.com/track/1"
    )


def test_reddit_hosts_meet() -> None:
    keys = {
        dedupe_key(f"https://{host}/r/python/comments/abc/title/")
        for host in ("old.reddit.com", "www.reddit.com", "reddit.com", "np.reddit.com")
    }
    assert keys == {"reddit.com/r/python/comments/abc/title"}


def test_the_dedupe_key_ignores_scheme_www_and_trailing_slash() -> None:
    assert (
        dedupe_key("http://www.example.com/a/?utm_source=x")
        == dedupe_key("https://example.com/a")
        == "example.com/a"
    )
    assert dedupe_key("https://example.com/a?x=1") != dedupe_key("https://example.com/a?x=2")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", "empty"),
        ("mailto:someone@example.com", "not an http or https URL"),
        ("javascript:alert(1)", "not an http or https URL"),
        ("/relative/path", "not an http or https URL"),
        ("https://", "has no host"),
        ("https://a:b@example.com/", "user name or password"),
        ("https://example.com/\x00", "control characters"),
        ("http://[::1/", "not a valid URL"),
    ],
)
def test_links_that_are_no_web_urls_are_named(raw: str, problem: str) -> None:
    with pytest.raises(BadUrl, match=problem):
        canonical_url(raw)


_segment = st.text(alphabet="abcXYZ019-._~%20é", min_size=0, max_size=6)
_param = st.sampled_from(["utm_source", "id", "fbclid", "page", "ref", "q", "si", "v"])


@given(
    host=st.sampled_from(["example.com", "WWW.Example.org", "youtu.be", "old.reddit.com"]),
    path=st.lists(_segment, max_size=4),
    query=st.lists(st.tuples(_param, _segment), max_size=4),
    scheme=st.sampled_from(["http", "https", "HTTPS"]),
)
def test_canonicalising_is_idempotent_and_drops_every_tracker(
    host: str, path: list[str], query: list[tuple[str, str]], scheme: str
) -> None:
    url = f"{scheme}://{host}/{'/'.join(path)}"
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query)
    once = canonical_url(url)
    assert canonical_url(once) == once
    assert dedupe_key(once) == dedupe_key(url)
    kept = once.partition("?")[2]
    for tracker in ("utm_source=", "fbclid=", "ref="):
        assert not kept.startswith(tracker) and f"&{tracker}" not in kept
