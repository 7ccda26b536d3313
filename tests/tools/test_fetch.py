"""`GuardedFetcher` end to end: resolution, pinning, redirects, limits, credentials, TLS.

Hostile cases run against httpx's own `MockTransport` (no socket at all) or the local
`clanker.toolsims.Site` reached through the explicit test-only host map; nothing leaves
127.0.0.1. The slow-body case runs on virtual time.
"""

from __future__ import annotations

import gzip
import ipaddress
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest
import trio

from clanker.sandbox.voice.tls import LocalCa
from clanker.tools.fetch import FetchError, FetchLimits, GuardedFetcher, system_resolver
from clanker.tools.netguard import IpAddress
from clanker.toolsims import Page, open_site

PUBLIC = ipaddress.ip_address("93.184.216.34")


class ScriptedResolver:
    """Answers each lookup of a host with the next scripted answer; counts lookups."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = [[ipaddress.ip_address(a) for a in answer] for answer in answers]
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[IpAddress]:
        self.calls.append((host, port))
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


class Recorder:
    """A `MockTransport` handler that records requests and answers from a script."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses.pop(0)


def streamed(body: bytes, **headers: str) -> httpx.Response:
    """A 200 whose body streams, as a real transport's does (``content=`` would be pre-read)."""
    headers.setdefault("content_type", "text/html")
    named = {k.replace("_", "-"): v for k, v in headers.items()}
    return httpx.Response(200, headers=named, stream=httpx.ByteStream(body))


def html(body: bytes = b"<p>hi</p>") -> httpx.Response:
    return streamed(body)


async def test_a_name_resolving_to_a_private_address_is_refused_before_any_connection() -> None:
    resolver = ScriptedResolver(["10.0.0.7"])
    recorder = Recorder()
    fetcher = GuardedFetcher(resolver=resolver, transport=httpx.MockTransport(recorder))
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch("http://intranet.example.com/")
    assert caught.value.kind == "refused"
    assert "10.0.0.7" in str(caught.value)
    assert recorder.requests == []


async def test_a_name_with_any_private_address_among_public_ones_is_refused() -> None:
    resolver = ScriptedResolver(["93.184.216.34", "127.0.0.1"])
    recorder = Recorder(html())
    fetcher = GuardedFetcher(resolver=resolver, transport=httpx.MockTransport(recorder))
    with pytest.raises(FetchError, match=r"127.0.0.1"):
        await fetcher.fetch("http://mixed.example.com/")
    assert recorder.requests == []


async def test_dns_rebinding_cannot_move_the_connection_off_the_vetted_address() -> None:
    # The name answers public first and loopback afterwards: the fetch resolves once and
    # connects to the vetted address itself, with the name only in the Host header.
    resolver = ScriptedResolver(["93.184.216.34"], ["127.0.0.1"])
    recorder = Recorder(html())
    fetcher = GuardedFetcher(resolver=resolver, transport=httpx.MockTransport(recorder))
    result = await fetcher.fetch("http://rebind.example.com:8080/page?x=1")
    assert resolver.calls == [("rebind.example.com", 8080)]
    (sent,) = recorder.requests
    assert sent.url.host == "93.184.216.34"
    assert sent.url.port == 8080
    assert sent.url.raw_path == b"/page?x=1"
    assert sent.headers["host"] == "rebind.example.com:8080"
    assert result.address == "93.184.216.34"
    assert result.final_url == "http://rebind.example.com:8080/page?x=1"
    # The next fetch resolves again, gets the rebound answer, and is refused.
    with pytest.raises(FetchError, match=r"127.0.0.1"):
        await fetcher.fetch("http://rebind.example.com:8080/page?x=1")
    assert len(recorder.requests) == 1


async def test_https_sends_the_host_name_as_sni_while_connecting_to_the_ip() -> None:
    recorder = Recorder(html())
    fetcher = GuardedFetcher(
        resolver=ScriptedResolver(["93.184.216.34"]), transport=httpx.MockTransport(recorder)
    )
    await fetcher.fetch("https://secure.example.com/")
    (sent,) = recorder.requests
    assert sent.url.host == "93.184.216.34"
    assert sent.extensions["sni_hostname"] == "secure.example.com"
    assert sent.headers["host"] == "secure.example.com"


async def test_a_redirect_to_a_private_address_is_refused_without_following_it() -> None:
    recorder = Recorder(httpx.Response(302, headers={"location": "http://10.0.0.1/admin"}))
    fetcher = GuardedFetcher(
        resolver=ScriptedResolver(["93.184.216.34"]), transport=httpx.MockTransport(recorder)
    )
    with pytest.raises(FetchError, match=r"redirect refused.*10.0.0.1"):
        await fetcher.fetch("http://example.com/")
    assert len(recorder.requests) == 1


async def test_a_redirect_to_a_name_resolving_privately_is_refused() -> None:
    resolver = ScriptedResolver(["93.184.216.34"], ["192.168.1.20"])
    recorder = Recorder(httpx.Response(301, headers={"location": "http://nas.example.net/"}))
    fetcher = GuardedFetcher(resolver=resolver, transport=httpx.MockTransport(recorder))
    with pytest.raises(FetchError, match=r"192.168.1.20"):
        await fetcher.fetch("http://example.com/")
    assert [host for host, _ in resolver.calls] == ["example.com", "nas.example.net"]
    assert len(recorder.requests) == 1


async def test_too_many_redirects_end_the_fetch() -> None:
    hops = [httpx.Response(302, headers={"location": f"/hop{n}"}) for n in range(4)]
    fetcher = GuardedFetcher(
        FetchLimits(max_redirects=3),
        resolver=ScriptedResolver(["93.184.216.34"]),
        transport=httpx.MockTransport(Recorder(*hops)),
    )
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch("http://example.com/")
    assert caught.value.kind == "redirects"


async def test_extra_headers_stay_with_the_first_origin_and_credentials_never_go() -> None:
    recorder = Recorder(
        httpx.Response(
            302, headers={"location": "https://other.example.org/x", "set-cookie": "s=1"}
        ),
        html(),
    )
    fetcher = GuardedFetcher(
        resolver=ScriptedResolver(["93.184.216.34"]), transport=httpx.MockTransport(recorder)
    )
    result = await fetcher.fetch(
        "https://example.com/",
        headers={"Authorization": "Bearer secret", "Cookie": "a=b", "X-Api-Token": "t"},
    )
    first, second = recorder.requests
    assert "authorization" not in first.headers and "cookie" not in first.headers
    assert first.headers["x-api-token"] == "t"
    assert "x-api-token" not in second.headers
    assert "cookie" not in second.headers and "authorization" not in second.headers
    assert result.final_url == "https://other.example.org/x"
    assert result.redirects == ("https://other.example.org/x",)


async def test_an_oversized_body_is_cut_while_streaming() -> None:
    async with open_site() as site:
        site.pages["/big"] = Page(b"<html>", endless=True)  # never ends
        fetcher = GuardedFetcher(
            FetchLimits(max_bytes=100_000), testing_only_hosts={"site.test": "127.0.0.1"}
        )
        result = await fetcher.fetch(f"http://site.test:{site.port}/big")
    assert result.truncated
    assert len(result.body) == 100_000
    assert result.body.startswith(b"<html><p>xxx")


async def test_a_compressed_body_cannot_expand_past_the_limit() -> None:
    bomb = gzip.compress(b"\0" * 20_000_000)  # 20 MB of zeros in ~20 kB
    recorder = Recorder(streamed(bomb, content_encoding="gzip"))
    fetcher = GuardedFetcher(
        FetchLimits(max_bytes=50_000),
        resolver=ScriptedResolver(["93.184.216.34"]),
        transport=httpx.MockTransport(recorder),
    )
    result = await fetcher.fetch("http://example.com/")
    assert result.truncated and len(result.body) == 50_000


async def test_a_gzip_body_is_decoded() -> None:
    recorder = Recorder(streamed(gzip.compress(b"<p>hello</p>"), content_encoding="gzip"))
    fetcher = GuardedFetcher(
        resolver=ScriptedResolver(["93.184.216.34"]), transport=httpx.MockTransport(recorder)
    )
    result = await fetcher.fetch("http://example.com/")
    assert result.body == b"<p>hello</p>" and not result.truncated


class Stalling(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"<p>begin"
        await trio.sleep_forever()


async def test_a_slow_body_ends_at_the_guards_time_limit(autojump_clock: trio.abc.Clock) -> None:
    recorder = Recorder(
        httpx.Response(200, headers={"content-type": "text/html"}, stream=Stalling())
    )
    fetcher = GuardedFetcher(
        FetchLimits(timeout=7.5),
        resolver=ScriptedResolver(["93.184.216.34"]),
        transport=httpx.MockTransport(recorder),
    )
    start = trio.current_time()
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch("http://slow.example.com/")
    assert caught.value.kind == "timeout"
    assert trio.current_time() - start == pytest.approx(7.5)


async def test_a_stalling_local_server_is_bounded_by_the_guard() -> None:
    async with open_site() as site:
        site.pages["/slow"] = Page(b"<p>begin", stall=True)
        fetcher = GuardedFetcher(
            FetchLimits(timeout=0.3), testing_only_hosts={"site.test": "127.0.0.1"}
        )
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(f"http://site.test:{site.port}/slow")
    assert caught.value.kind == "timeout"


async def test_a_local_redirect_to_loopback_is_refused_and_not_followed() -> None:
    async with open_site() as site:
        site.pages["/go"] = Page(
            status=302, headers=(("location", f"http://127.0.0.1:{site.port}/secret"),)
        )
        site.pages["/secret"] = Page(b"internal")
        fetcher = GuardedFetcher(testing_only_hosts={"site.test": "127.0.0.1"})
        with pytest.raises(FetchError, match=r"redirect refused.*loopback"):
            await fetcher.fetch(f"http://site.test:{site.port}/go")
    assert [r.target for r in site.requests] == ["/go"]


async def test_cookies_a_site_sets_are_never_sent_back() -> None:
    async with open_site() as site:
        site.pages["/login"] = Page(
            status=302, headers=(("set-cookie", "session=abc; Path=/"), ("location", "/home"))
        )
        site.pages["/home"] = Page(b"<p>home</p>")
        fetcher = GuardedFetcher(testing_only_hosts={"site.test": "127.0.0.1"})
        result = await fetcher.fetch(
            f"http://site.test:{site.port}/login", headers={"Cookie": "mine=1"}
        )
    assert result.body == b"<p>home</p>"
    assert [r.target for r in site.requests] == ["/login", "/home"]
    for request in site.requests:
        assert "cookie" not in request.headers and "authorization" not in request.headers
        assert request.headers["host"] == f"site.test:{site.port}"


async def test_a_content_type_outside_the_accept_list_is_refused() -> None:
    async with open_site() as site:
        site.pages["/img"] = Page(b"\x89PNG", content_type="image/png")
        fetcher = GuardedFetcher(testing_only_hosts={"site.test": "127.0.0.1"})
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(f"http://site.test:{site.port}/img", accept=("text/html",))
    assert caught.value.kind == "content_type"


async def test_credentials_in_the_url_are_refused() -> None:
    recorder = Recorder()
    fetcher = GuardedFetcher(
        resolver=ScriptedResolver(["93.184.216.34"]), transport=httpx.MockTransport(recorder)
    )
    with pytest.raises(FetchError, match="user name or password"):
        await fetcher.fetch("https://admin:hunter2@example.com/")
    assert recorder.requests == []


async def test_the_test_host_map_does_not_open_the_address_itself() -> None:
    fetcher = GuardedFetcher(testing_only_hosts={"site.test": "127.0.0.1"})
    with pytest.raises(FetchError, match="loopback"):
        await fetcher.fetch("http://127.0.0.1/")


async def test_tls_checks_the_certificate_against_the_host_name_not_the_ip() -> None:
    good = LocalCa.generate(hosts=("secure.test",))
    wrong = LocalCa.generate(hosts=("other.test",))
    try:
        async with open_site(ssl_context=good.server_context()) as site:
            site.pages["/"] = Page(b"<p>over tls</p>")
            fetcher = GuardedFetcher(
                verify=good.client_context(), testing_only_hosts={"secure.test": "127.0.0.1"}
            )
            result = await fetcher.fetch(f"https://secure.test:{site.port}/")
            assert result.body == b"<p>over tls</p>"
        async with open_site(ssl_context=wrong.server_context()) as site:
            site.pages["/"] = Page(b"<p>over tls</p>")
            fetcher = GuardedFetcher(
                verify=wrong.client_context(), testing_only_hosts={"secure.test": "127.0.0.1"}
            )
            with pytest.raises(FetchError) as caught:
                await fetcher.fetch(f"https://secure.test:{site.port}/")
            assert caught.value.kind == "network"
    finally:
        good.close()
        wrong.close()


async def test_the_system_resolver_reads_an_address_without_dns() -> None:
    assert await system_resolver("127.0.0.1", 80) == [ipaddress.ip_address("127.0.0.1")]
