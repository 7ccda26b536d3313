"""The SSRF guard's rules, without I/O: which addresses are public, which URLs may be fetched.

Every outbound fetch a tool makes (`clanker.tools.fetch.GuardedFetcher`) goes through these
rules; the fetcher only carries them out (resolve, connect to the vetted address, follow a
redirect only after vetting it again). See docs/tools.md, "The SSRF guard".

* `address_problem(ip)` says why an address must not be contacted (None: it is public).
  The rule is an allow-list in spirit: IPv4 outside every special-purpose block, IPv6 inside
  global unicast (2000::/3) and outside every special-purpose block. IPv6 forms that carry an
  IPv4 address (NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by the IPv4 address they carry;
  IPv4-mapped and IPv4-compatible IPv6 addresses are refused outright.
* `parse_url(url)` vets a URL's shape: http/https only, no user name or password, a host that
  is a valid DNS name or an IP literal. Hosts that end in a number are read as IPv4 the way
  browsers and ``inet_aton`` read them (``2130706433``, ``0x7f.1``, ``017700000001``,
  ``127.1`` are all 127.0.0.1), so no spelling of an address slips past as a "name".
* `strip_credentials(headers)` drops every credential-bearing header.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import idna

__all__ = [
    "CREDENTIAL_HEADERS",
    "IpAddress",
    "Target",
    "UrlRefused",
    "address_problem",
    "is_public",
    "parse_ipv4_number",
    "parse_url",
    "resolve_redirect",
    "strip_credentials",
]

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IANA IPv4 Special-Purpose Address Registry, plus multicast, reserved and broadcast.
_V4_BLOCKS: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), why)
    for net, why in (
        ("0.0.0.0/8", "'this network' (0.0.0.0/8)"),
        ("10.0.0.0/8", "private (10.0.0.0/8)"),
        ("100.64.0.0/10", "carrier-grade NAT (100.64.0.0/10)"),
        ("127.0.0.0/8", "loopback (127.0.0.0/8)"),
        ("169.254.0.0/16", "link-local (169.254.0.0/16, cloud metadata)"),
        ("172.16.0.0/12", "private (172.16.0.0/12)"),
        ("192.0.0.0/24", "IETF protocol assignments (192.0.0.0/24)"),
        ("192.0.2.0/24", "documentation (192.0.2.0/24)"),
        ("192.31.196.0/24", "AS112 (192.31.196.0/24)"),
        ("192.52.193.0/24", "AMT (192.52.193.0/24)"),
        ("192.88.99.0/24", "6to4 relay anycast (192.88.99.0/24)"),
        ("192.168.0.0/16", "private (192.168.0.0/16)"),
        ("192.175.48.0/24", "AS112 (192.175.48.0/24)"),
        ("198.18.0.0/15", "benchmarking (198.18.0.0/15)"),
        ("198.51.100.0/24", "documentation (198.51.100.0/24)"),
        ("203.0.113.0/24", "documentation (203.0.113.0/24)"),
        ("224.0.0.0/4", "multicast (224.0.0.0/4)"),
        ("240.0.0.0/4", "reserved (240.0.0.0/4)"),
        ("255.255.255.255/32", "broadcast"),
    )
)
_V6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_V6_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_V6_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_V6_COMPATIBLE = ipaddress.IPv6Network("::/96")
_V6_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_V6_6TO4 = ipaddress.IPv6Network("2002::/16")
_V6_BLOCKS: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(net), why)
    for net, why in (
        ("::/128", "unspecified (::)"),
        ("::1/128", "loopback (::1)"),
        ("64:ff9b:1::/48", "local-use NAT64 (64:ff9b:1::/48)"),
        ("100::/64", "discard-only (100::/64)"),
        ("2001::/23", "IETF protocol assignments incl. Teredo (2001::/23)"),
        ("2001:db8::/32", "documentation (2001:db8::/32)"),
        ("3fff::/20", "documentation (3fff::/20)"),
        ("5f00::/16", "SRv6 SIDs (5f00::/16)"),
        ("fc00::/7", "unique local (fc00::/7)"),
        ("fe80::/10", "link-local (fe80::/10)"),
        ("fec0::/10", "site-local (fec0::/10)"),
        ("ff00::/8", "multicast (ff00::/8)"),
    )
)


def address_problem(ip: IpAddress) -> str | None:
    """Why ``ip`` must not be contacted, or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv4Address):
        for net, why in _V4_BLOCKS:
            if ip in net:
                return f"{ip} is {why}"
        if not ip.is_global:  # the stdlib's own table, as a second opinion
            return f"{ip} is not a global address"
        return None
    if ip.scope_id:
        return f"{ip} carries a zone id"
    for net6, why6 in _V6_BLOCKS:  # ::, ::1 before the IPv4-carrying forms
        if ip in net6:
            return f"{ip} is {why6}"
    if ip in _V6_MAPPED or ip in _V6_TRANSLATED:
        return f"{ip} is an IPv4-mapped IPv6 address (use the IPv4 address itself)"
    if ip in _V6_COMPATIBLE:
        return f"{ip} is an IPv4-compatible IPv6 address (deprecated)"
    embedded: ipaddress.IPv4Address | None = None
    if ip in _V6_NAT64:
        embedded = ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    elif ip in _V6_6TO4:
        embedded = ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFF_FFFF)
    if embedded is not None:
        inner = address_problem(embedded)
        return None if inner is None else f"{ip} carries {inner}"
    if ip not in _V6_GLOBAL_UNICAST:
        return f"{ip} is outside IPv6 global unicast (2000::/3)"
    if not ip.is_global:
        return f"{ip} is not a global address"
    return None


def is_public(ip: IpAddress) -> bool:
    """True when ``ip`` is a public address a tool may connect to."""
    return address_problem(ip) is None


class UrlRefused(ValueError):
    """A URL (or a redirect to one) the guard will not fetch; the message says why."""


@dataclass(frozen=True)
class Target:
    """A vetted URL, taken apart. ``host`` is the ASCII host name (for Host and SNI) or the
    IP literal; ``ip`` is set when the URL names an address rather than a name."""

    url: str  # normalised: scheme://host[:port]/path?query (no fragment)
    scheme: Literal["http", "https"]
    host: str
    port: int
    path: str  # path and query, starting with "/"
    ip: IpAddress | None

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)

    @property
    def host_header(self) -> str:
        """The Host header: the host, with the port when it is not the scheme's default."""
        host = f"[{self.host}]" if isinstance(self.ip, ipaddress.IPv6Address) else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


_NUMBER_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_SPECIAL_NAMES = ("localhost", "localhost.localdomain")
_SPECIAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".localdomain")


def parse_ipv4_number(host: str) -> ipaddress.IPv4Address | None:
    """``host`` read as an IPv4 address the way browsers (WHATWG URL) and ``inet_aton`` read
    it, or None when its last label is not a number (then it is a name). A host whose last
    label is a number but which is no valid address raises `UrlRefused`."""
    parts = host.split(".")
    if parts and parts[-1] == "" and len(parts) > 1:
        parts.pop()  # one trailing dot is allowed
    last = parts[-1] if parts else ""
    if not last or (not _NUMBER_PART.fullmatch(last) and not last.isdigit()):
        return None
    values: list[int] = []
    for part in parts:
        if not _NUMBER_PART.fullmatch(part) and not part.isdigit():
            raise UrlRefused(f"host {host!r} ends in a number but is not an IPv4 address")
        if part[:2].lower() == "0x":
            value = int(part[2:] or "0", 16)
        elif len(part) > 1 and part.startswith("0"):
            if not all(c in "01234567" for c in part):
                raise UrlRefused(f"host {host!r}: {part!r} is not an octal number")
            value = int(part, 8)
        else:
            value = int(part)
        values.append(value)
    if len(values) > 4:
        raise UrlRefused(f"host {host!r} has more than four numeric parts")
    *head, tail = values
    if any(v > 255 for v in head) or tail >= 256 ** (5 - len(values)):
        raise UrlRefused(f"host {host!r} has a numeric part out of range")
    number = tail
    for index, value in enumerate(head):
        number += value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def _ascii_host(host: str) -> str:
    try:
        ascii_host = host.encode("ascii").decode().lower()
    except UnicodeEncodeError:
        try:
            ascii_host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise UrlRefused(f"host {host!r} is not a valid domain name: {exc}") from None
    return ascii_host.rstrip(".")


def parse_url(url: str) -> Target:
    """Vet ``url``'s shape and take it apart; `UrlRefused` says what is wrong. An IP literal is
    checked against the address rules here; a name is checked once it is resolved."""
    if any(ord(c) < 0x21 or c in "\\\x7f" for c in url):
        raise UrlRefused("the URL contains whitespace, a backslash or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UrlRefused(f"only http and https URLs can be fetched, not {scheme or 'none'!r}")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UrlRefused("URLs with a user name or password are refused")
    raw_host = parts.hostname
    if not raw_host:
        raise UrlRefused("the URL has no host")
    if port == 0:
        raise UrlRefused("port 0 is not a port")
    port = port or (443 if scheme == "https" else 80)
    ip: IpAddress | None
    if ":" in raw_host:
        if "%" in raw_host:
            raise UrlRefused("IPv6 zone ids are refused")
        try:
            ip = ipaddress.IPv6Address(raw_host)
        except ValueError:
            raise UrlRefused(f"{raw_host!r} is not an IPv6 address") from None
        host = ip.compressed
    else:
        host = _ascii_host(raw_host)
        if not host:
            raise UrlRefused("the URL has no host")
        ip = parse_ipv4_number(host)
        if ip is not None:
            host = str(ip)
        else:
            labels = host.split(".")
            if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
                raise UrlRefused(f"host {host!r} is not a valid domain name")
            if host in _SPECIAL_NAMES or host.endswith(_SPECIAL_SUFFIXES):
                raise UrlRefused(f"host {host!r} is a local name")
    if ip is not None:
        problem = address_problem(ip)
        if problem is not None:
            raise UrlRefused(f"refused: {problem}")
    path = parts.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    if parts.query:
        path = f"{path}?{parts.query}"
    shown = f"[{host}]" if isinstance(ip, ipaddress.IPv6Address) else host
    default = 443 if scheme == "https" else 80
    netloc = shown if port == default else f"{shown}:{port}"
    return Target(
        url=f"{scheme}://{netloc}{path}",
        scheme="https" if scheme == "https" else "http",
        host=host,
        port=port,
        path=path,
        ip=ip,
    )


def resolve_redirect(current: Target, location: str) -> Target:
    """The target a redirect's ``Location`` points at (relative to ``current``), vetted like
    any URL. Refuses an https → http downgrade."""
    from urllib.parse import urljoin

    target = parse_url(urljoin(current.url, location.strip()))
    if current.scheme == "https" and target.scheme == "http":
        raise UrlRefused(f"redirect from https to plain http refused ({target.url})")
    return target


CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "cookie2", "set-cookie"}
)


def strip_credentials(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
) -> list[tuple[str, str]]:
    """``headers`` without Authorization, Proxy-Authorization or cookies."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(k, v) for k, v in items if k.lower() not in CREDENTIAL_HEADERS]
