"""`GuardedFetcher`: the one way tools fetch anything from the network (httpx under trio).

Every hop of a fetch goes through the rules in `clanker.tools.netguard`:

1. the URL's shape is vetted (http/https, no credentials, a valid host; IP literals in every
   spelling are checked as addresses);
2. a host name is resolved **once**, here, and refused if **any** address it resolves to is not
   public;
3. the connection goes to the vetted address itself (the request URL names the IP, the Host
   header and TLS SNI / certificate check name the host), so the name cannot be re-resolved to
   something else between the check and the connect (DNS rebinding);
4. redirects are not followed by httpx: each ``Location`` is vetted and resolved like a new URL
   (at most ``max_redirects`` hops; https → http refused), and the caller's extra headers are
   dropped when a redirect leaves the first origin;
5. Authorization, Proxy-Authorization and Cookie headers are never sent, no cookie jar is kept,
   and proxies from the environment are ignored (a proxy would do its own resolving);
6. the body is streamed and cut at ``max_bytes`` (after decompression, which is bounded too),
   and the whole fetch, every hop included, is bounded by ``timeout`` seconds of trio time;
7. an ``accept`` list restricts the response's content type.

Tests reach their local servers through an explicit escape hatch, ``testing_only_hosts``
(a host name → the address to use, served without the address check); production never sets it.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
import zlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Literal, cast

import httpx
import trio

from clanker.tools.netguard import (
    IpAddress,
    Target,
    UrlRefused,
    address_problem,
    parse_url,
    resolve_redirect,
    strip_credentials,
)

__all__ = [
    "FetchError",
    "FetchLimits",
    "FetchResult",
    "GuardedFetcher",
    "Resolver",
    "system_resolver",
]

log = logging.getLogger("clanker.tools.fetch")

Resolver = Callable[[str, int], Awaitable[Sequence[IpAddress]]]
"""``(host, port) -> addresses``; the default asks the system (`system_resolver`)."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024


async def system_resolver(host: str, port: int) -> list[IpAddress]:
    """Every address the system resolver gives for ``host`` (TCP), in its order."""
    infos = await trio.socket.getaddrinfo(host, port, type=trio.socket.SOCK_STREAM)
    addresses: list[IpAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        text = str(sockaddr[0])
        ip = ipaddress.ip_address(text.split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    return addresses


@dataclass(frozen=True)
class FetchLimits:
    """Bounds of one fetch. ``timeout``: seconds for the whole fetch, every hop and the body
    included; ``connect_timeout``: one connection attempt; ``max_bytes``: body bytes kept
    (after decompression; the rest is cut and ``truncated`` set); ``max_redirects``: hops."""

    timeout: float = 10.0
    connect_timeout: float = 5.0
    max_bytes: int = 2_000_000
    max_redirects: int = 5
    user_agent: str = "clanker/0.1 (+tools)"

    def __post_init__(self) -> None:
        if not self.timeout > 0 or not self.connect_timeout > 0:
            raise ValueError(f"FetchLimits: timeouts must be > 0: {self}")
        if self.max_bytes < 1 or self.max_redirects < 0:
            raise ValueError(f"FetchLimits: max_bytes >= 1, max_redirects >= 0: {self}")


FetchErrorKind = Literal[
    "refused", "timeout", "network", "redirects", "content_type", "encoding", "http"
]


class FetchError(Exception):
    """A fetch that did not produce a body; ``kind`` says which rule or failure, the message
    is written for the model (and the log)."""

    def __init__(self, kind: FetchErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: FetchErrorKind = kind


@dataclass(frozen=True)
class FetchResult:
    """A fetched response. ``final_url`` is the URL after redirects; ``address`` the IP the
    last hop connected to; ``truncated`` whether the body was cut at ``max_bytes``."""

    url: str
    final_url: str
    status: int
    content_type: str  # the media type, lower-cased, without parameters ("" if none)
    charset: str | None
    headers: tuple[tuple[str, str], ...]
    body: bytes
    truncated: bool
    address: str
    redirects: tuple[str, ...] = field(default=())


class _Decoder:
    """Content-Encoding decoding with a bound on the output (a small gzip cannot expand past
    ``limit`` bytes in memory)."""

    def __init__(self, encoding: str) -> None:
        self._zlib: zlib._Decompress | None = None
        self._deflate_raw_retry = False
        names = [e.strip() for e in encoding.lower().split(",") if e.strip()]
        names = [n for n in names if n != "identity"]
        if not names:
            return
        if len(names) > 1 or names[0] not in ("gzip", "x-gzip", "deflate"):
            raise FetchError("encoding", f"unsupported content-encoding {encoding!r}")
        if names[0] == "deflate":
            self._zlib = zlib.decompressobj()
            self._deflate_raw_retry = True
        else:
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def decode(self, data: bytes, limit: int) -> bytes:
        if self._zlib is None:
            return data[:limit]
        try:
            out = self._zlib.decompress(data, limit)
        except zlib.error:
            if not self._deflate_raw_retry:
                raise FetchError("encoding", "the compressed body is corrupt") from None
            # "deflate" is sometimes sent without the zlib header.
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            self._deflate_raw_retry = False
            return self.decode(data, limit)
        self._deflate_raw_retry = False
        return out


def _media_type(value: str) -> tuple[str, str | None]:
    media, *params = value.split(";")
    charset = None
    for param in params:
        name, _, val = param.partition("=")
        if name.strip().lower() == "charset" and val.strip():
            charset = val.strip().strip('"').lower()
    return media.strip().lower(), charset


class GuardedFetcher:
    """Fetches URLs under the SSRF guard (module docstring). One fetcher can serve any number of
    concurrent fetches; each fetch uses its own connections.

    * ``resolver``: ``(host, port) -> addresses``; default the system's (`system_resolver`).
    * ``transport``: the httpx transport (default: a fresh `httpx.AsyncHTTPTransport` per
      fetch, no environment proxies); tests may pass `httpx.MockTransport`.
    * ``verify``: TLS verification for the default transport (True: the system's trust store
      via certifi; an `ssl.SSLContext` for a test CA).
    * ``testing_only_hosts``: **TEST ONLY** — host name → address for local test servers,
      connected to without the public-address check. Production never sets it.
    """

    def __init__(
        self,
        limits: FetchLimits | None = None,
        *,
        resolver: Resolver | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
        testing_only_hosts: Mapping[str, str] | None = None,
    ) -> None:
        self.limits = limits or FetchLimits()
        self._resolver = resolver or system_resolver
        self._transport = transport
        self._verify = verify
        hosts = testing_only_hosts or {}
        self._testing_only_hosts = {h.lower(): ipaddress.ip_address(ip) for h, ip in hosts.items()}

    async def fetch(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        accept: Sequence[str] | None = None,
        max_bytes: int | None = None,
        timeout: float | None = None,
    ) -> FetchResult:
        """GET ``url`` under the guard. ``headers`` are extra request headers for the first
        origin (credentials stripped); ``accept`` lists allowed media types (``text/html``, or a
        prefix such as ``text/``). Raises `FetchError`."""
        limit = self.limits.max_bytes if max_bytes is None else max_bytes
        seconds = self.limits.timeout if timeout is None else timeout
        with trio.move_on_after(seconds) as scope:
            return await self._fetch(url, strip_credentials(headers), accept, limit)
        assert scope.cancelled_caught
        raise FetchError("timeout", f"fetching {url} took longer than {seconds:g} s")

    async def _fetch(
        self,
        url: str,
        extra: list[tuple[str, str]],
        accept: Sequence[str] | None,
        limit: int,
    ) -> FetchResult:
        try:
            target = parse_url(url)
        except UrlRefused as exc:
            raise FetchError("refused", str(exc)) from None
        first_origin = target.origin
        redirects: list[str] = []
        transport = self._transport or httpx.AsyncHTTPTransport(
            verify=self._verify, trust_env=False, retries=0
        )
        async with httpx.AsyncClient(
            transport=transport, trust_env=False, follow_redirects=False
        ) as client:
            while True:
                addresses = await self._vetted_addresses(target)
                send_extra = extra if target.origin == first_origin else []
                response, address = await self._connect(client, target, addresses, send_extra)
                try:
                    location = response.headers.get("location")
                    if response.status_code in _REDIRECTS and location:
                        if len(redirects) >= self.limits.max_redirects:
                            raise FetchError(
                                "redirects",
                                f"more than {self.limits.max_redirects} redirects from {url}",
                            )
                        try:
                            target = resolve_redirect(target, location)
                        except UrlRefused as exc:
                            raise FetchError("refused", f"redirect refused: {exc}") from None
                        redirects.append(target.url)
                        continue
                    return await self._read(
                        url, target, response, address, accept, limit, redirects
                    )
                finally:
                    await response.aclose()

    async def _vetted_addresses(self, target: Target) -> list[IpAddress]:
        if target.ip is not None:
            return [target.ip]  # parse_url checked it
        pinned = self._testing_only_hosts.get(target.host)
        if pinned is not None:
            return [pinned]
        try:
            addresses = list(await self._resolver(target.host, target.port))
        except OSError as exc:
            raise FetchError("network", f"cannot resolve {target.host}: {exc}") from None
        if not addresses:
            raise FetchError("network", f"{target.host} resolves to no address")
        for address in addresses:
            problem = address_problem(address)
            if problem is not None:
                raise FetchError("refused", f"refused: {target.host} resolves to {problem}")
        return addresses

    async def _connect(
        self,
        client: httpx.AsyncClient,
        target: Target,
        addresses: list[IpAddress],
        extra: list[tuple[str, str]],
    ) -> tuple[httpx.Response, IpAddress]:
        headers = [
            ("Host", target.host_header),
            ("User-Agent", self.limits.user_agent),
            ("Accept", "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.5"),
            ("Accept-Encoding", "gzip, deflate"),
            *extra,
        ]
        timeout = httpx.Timeout(self.limits.timeout, connect=self.limits.connect_timeout)
        extensions: dict[str, object] = {"timeout": timeout.as_dict()}
        if target.scheme == "https" and target.ip is None:
            extensions["sni_hostname"] = target.host
        last_error: Exception | None = None
        for address in addresses:
            literal = f"[{address}]" if address.version == 6 else str(address)
            request = httpx.Request(
                "GET",
                f"{target.scheme}://{literal}:{target.port}{target.path}",
                headers=headers,
                extensions=extensions,
            )
            try:
                response = await client.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                last_error = exc
                log.info("fetch: %s at %s failed to connect: %s", target.host, address, exc)
                continue
            except httpx.HTTPError as exc:
                raise FetchError("network", f"fetching {target.url} failed: {exc}") from None
            client.cookies.clear()  # nothing a server sets is ever sent back
            return response, address
        raise FetchError("network", f"cannot connect to {target.url}: {last_error}")

    async def _read(
        self,
        url: str,
        target: Target,
        response: httpx.Response,
        address: IpAddress,
        accept: Sequence[str] | None,
        limit: int,
        redirects: list[str],
    ) -> FetchResult:
        media, charset = _media_type(response.headers.get("content-type", ""))
        if accept is not None and not any(
            media == a or (a.endswith("/") and media.startswith(a)) for a in accept
        ):
            raise FetchError(
                "content_type",
                f"{target.url} is {media or 'of no stated type'}, not one of {', '.join(accept)}",
            )
        decoder = _Decoder(response.headers.get("content-encoding", ""))
        body = bytearray()
        truncated = False
        try:
            raw = cast(AsyncGenerator[bytes, None], response.aiter_raw(_CHUNK))
            async with aclosing(raw) as chunks:
                async for chunk in chunks:
                    body += decoder.decode(chunk, limit - len(body) + 1)
                    if len(body) > limit:
                        del body[limit:]
                        truncated = True
                        break
        except httpx.HTTPError as exc:
            raise FetchError("network", f"reading {target.url} failed: {exc}") from None
        return FetchResult(
            url=url,
            final_url=target.url,
            status=response.status_code,
            content_type=media,
            charset=charset,
            headers=tuple((k, v) for k, v in response.headers.items()),
            body=bytes(body),
            truncated=truncated,
            address=str(address),
            redirects=tuple(redirects),
        )
