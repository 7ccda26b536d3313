"""The SSRF guard's rules (sans-IO): addresses, URL shapes, redirects, credential headers."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clanker.tools.netguard import (
    UrlRefused,
    address_problem,
    is_public,
    parse_ipv4_number,
    parse_url,
    resolve_redirect,
    strip_credentials,
)

HOSTILE_URLS = [
    "http://127.0.0.1/",
    "http://127.8.9.10:8080/admin",
    "http://[::1]/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.1.1/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://0.1.2.3/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "http://192.0.2.10/",
    "http://198.51.100.1/",
    "http://203.0.113.5/",
    "http://198.18.0.1/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[::]/",
    "http://[ff02::1]/",
    "http://[2001:db8::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:8.8.8.8]/",  # mapped forms are refused even for public IPv4
    "http://[::127.0.0.1]/",  # IPv4-compatible
    "http://[64:ff9b::7f00:1]/",  # NAT64 of loopback
    "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "http://[2002:7f00:1::]/",  # 6to4 of loopback
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
    "http://[fe80::1%25eth0]/",
    "http://2130706433/",  # decimal 127.0.0.1
    "http://0x7f.1/",  # hex + shorthand
    "http://0x7f000001/",
    "http://017700000001/",  # octal
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://127.0.1/",
    "http://0/",
    "http://0xa9fea9fe/",  # 169.254.169.254
    "http://3232235777/",  # 192.168.1.1
    "http://127.0.0.1./",  # trailing dot
    "http://localhost/",
    "http://LOCALHOST:8080/",
    "http://db.localhost/",
    "http://printer.local/",
    "http://metadata.google.internal/",
    "http://router.home.arpa/",
    "http://user:pass@example.com/",
    "http://user@example.com/",
    "http://:pass@example.com/",
    "http://example.com\\@127.0.0.1/",
    "ftp://example.com/",
    "file:///etc/passwd",
    "gopher://example.com/",
    "javascript:alert(1)",
    "http:///path",
    "http://exa mple.com/",
    "http://example.com/\r\nHost: evil",
    "http://08.1/",  # ends in a number, not a valid address
    "http://1.2.3.4.5/",
    "http://a.b.256/",
    "http://256.1.1.1/",
    "http://example.com:0/",
    "http://-bad-.com/",
    "http://[1.2.3.4]/",
]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_a_hostile_url_is_refused(url: str) -> None:
    with pytest.raises(UrlRefused):
        parse_url(url)


@pytest.mark.parametrize(
    ("url", "normalised", "host"),
    [
        ("http://8.8.8.8/", "http://8.8.8.8/", "8.8.8.8"),
        ("https://Example.COM:443/a/b?q=1#frag", "https://example.com/a/b?q=1", "example.com"),
        ("http://example.com:8080", "http://example.com:8080/", "example.com"),
        (
            "https://[2606:4700:4700::1111]/",
            "https://[2606:4700:4700::1111]/",
            "2606:4700:4700::1111",
        ),
        ("http://[64:ff9b::808:808]/", "http://[64:ff9b::808:808]/", "64:ff9b::808:808"),
        ("https://bücher.de/", "https://xn--bcher-kva.de/", "xn--bcher-kva.de"),
        ("http://134744072/", "http://8.8.8.8/", "8.8.8.8"),  # decimal form of a public address
        ("https://www.example.co.uk./x", "https://www.example.co.uk/x", "www.example.co.uk"),
    ],
)
def test_a_public_url_is_taken_apart(url: str, normalised: str, host: str) -> None:
    target = parse_url(url)
    assert target.url == normalised
    assert target.host == host


def test_the_host_header_carries_a_non_default_port_and_brackets() -> None:
    assert parse_url("http://example.com/").host_header == "example.com"
    assert parse_url("https://example.com:8443/").host_header == "example.com:8443"
    assert parse_url("http://[2606:4700::1]:81/").host_header == "[2606:4700::1]:81"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.20.0.1",
        "192.168.0.1",
        "169.254.169.254",
        "100.127.255.255",
        "0.0.0.0",
        "224.0.0.251",
        "255.255.255.255",
        "192.0.0.8",
        "::1",
        "::",
        "fe80::abcd",
        "fc00::1",
        "fec0::1",
        "ff05::2",
        "::ffff:127.0.0.1",
        "::ffff:0:7f00:1",
        "64:ff9b::c0a8:1",
        "64:ff9b:1::1",
        "100::1",
        "2001:db8::5",
        "3fff::1",
        "2002:a00:1::1",
        "1000::1",
    ],
)
def test_a_special_address_is_not_public(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert not is_public(ip)
    assert address_problem(ip)


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.216.34",
        "2606:4700:4700::1111",
        "64:ff9b::101:101",
        "2002:808:808::1",
    ],
)
def test_a_public_address_is_public(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@given(st.integers(0, 2**32 - 1))
def test_nat64_and_6to4_are_judged_by_the_ipv4_address_they_carry(number: int) -> None:
    v4 = ipaddress.IPv4Address(number)
    nat64 = ipaddress.IPv6Address((0x64FF9B << 96) | number)
    six_to_four = ipaddress.IPv6Address((0x2002 << 112) | (number << 80))
    assert is_public(nat64) == is_public(v4)
    assert is_public(six_to_four) == is_public(v4)
    assert not is_public(ipaddress.IPv6Address((0xFFFF << 32) | number))  # mapped: never


@given(st.integers(0, 2**32 - 1))
def test_an_ipv4_address_in_a_private_block_is_never_public(number: int) -> None:
    ip = ipaddress.IPv4Address(number)
    private = any(
        ip in ipaddress.IPv4Network(n)
        for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16")
    )
    if private:
        assert not is_public(ip)
    if is_public(ip):
        assert ip.is_global  # never more lenient than the stdlib


def _spellings(number: int) -> st.SearchStrategy[str]:
    octets = list(number.to_bytes(4, "big"))

    def part(value: int, style: str) -> str:
        return {"dec": str(value), "hex": hex(value), "oct": "0" + oct(value)[2:]}[style]

    styles = st.sampled_from(["dec", "hex", "oct"])
    four = st.tuples(styles, styles, styles, styles).map(
        lambda s: ".".join(part(o, y) for o, y in zip(octets, s, strict=True))
    )
    two = styles.map(lambda y: f"{octets[0]}.{part(number & 0xFFFFFF, y)}")
    one = styles.map(lambda y: part(number, y))
    return st.one_of(four, two, one)


@given(st.integers(0, 2**32 - 1).flatmap(lambda n: st.tuples(st.just(n), _spellings(n))))
def test_numeric_hosts_read_as_inet_aton_reads_them(case: tuple[int, str]) -> None:
    number, spelling = case
    expected = ipaddress.IPv4Address(socket.inet_aton(spelling))  # the C library as the oracle
    assert expected == ipaddress.IPv4Address(number)
    assert parse_ipv4_number(spelling) == expected


def test_a_name_that_does_not_end_in_a_number_is_a_name() -> None:
    assert parse_ipv4_number("example.com") is None
    assert parse_ipv4_number("1.2.3.com") is None
    assert parse_ipv4_number("0x7f.com") is None


def test_redirects_are_vetted_like_any_url() -> None:
    here = parse_url("https://example.com/a/b")
    assert resolve_redirect(here, "../c?d=1").url == "https://example.com/c?d=1"
    assert resolve_redirect(here, "//other.example/x").url == "https://other.example/x"
    with pytest.raises(UrlRefused):
        resolve_redirect(here, "http://example.com/plain")  # https -> http
    with pytest.raises(UrlRefused):
        resolve_redirect(here, "https://127.0.0.1/")
    with pytest.raises(UrlRefused):
        resolve_redirect(parse_url("http://example.com/"), "http://[::ffff:169.254.169.254]/")


def test_credential_headers_are_stripped() -> None:
    headers = {
        "Authorization": "Bearer x",
        "cookie": "a=b",
        "Proxy-Authorization": "Basic y",
        "X-Subscription-Token": "kept",
        "Accept": "text/html",
    }
    assert strip_credentials(headers) == [("X-Subscription-Token", "kept"), ("Accept", "text/html")]
