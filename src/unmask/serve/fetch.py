"""Fetching an image by URL without letting clients reach the server's own network (SSRF).

Only http(s); every address the host name resolves to must be public (not private, loopback, link-local,
multicast, reserved, unspecified or shared); the connection goes to the address that was checked (so a
second DNS answer cannot swap it); each redirect is checked the same way; the body is capped.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 3
TIMEOUT_S = 10.0
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchRefused(Exception):
    """The URL is not allowed (scheme, address) or could not be fetched; the message says why."""


class FetchTooLarge(FetchRefused):
    """The response is larger than the upload limit."""


def public_address(ip: IPAddress) -> bool:
    """True for a globally routable unicast address; IPv4-mapped IPv6 is judged as the IPv4 it carries."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_private or ip.is_loopback or ip.is_link_local
                                 or ip.is_reserved or ip.is_unspecified)


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


@dataclass
class Target:
    scheme: str
    host: str
    port: int
    path: str
    ip: str


def check_url(url: str, resolve: Callable[[str, int], list[str]] = _resolve,
              allowed: Callable[[IPAddress], bool] = public_address) -> Target:
    """Parse and vet one URL; every resolved address must pass `allowed`. Raises FetchRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise FetchRefused(f"not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise FetchRefused("only http and https URLs can be fetched")
    if not parts.hostname:
        raise FetchRefused("the URL has no host")
    if parts.username or parts.password:
        raise FetchRefused("URLs with credentials are not fetched")
    try:
        addresses = resolve(parts.hostname, port)
    except (OSError, UnicodeError) as exc:
        raise FetchRefused(f"cannot resolve {parts.hostname}: {exc}") from exc
    if not addresses:
        raise FetchRefused(f"{parts.hostname} has no address")
    for text in addresses:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
        if not allowed(ip):
            raise FetchRefused(f"{parts.hostname} resolves to {ip}, which is not a public address")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to a checked address; the Host header keeps the name."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._ip = target.ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """An HTTPS connection to a checked address; SNI and certificate checks use the name."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._ip = target.ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _chunks(response: http.client.HTTPResponse, limit: int) -> Iterator[bytes]:
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise FetchTooLarge(f"the image is {int(declared):,} bytes, above the {limit:,}-byte limit")
    total = 0
    while chunk := response.read(1 << 16):
        total += len(chunk)
        if total > limit:
            raise FetchTooLarge(f"the image is larger than the {limit:,}-byte limit")
        yield chunk


def fetch(url: str, limit: int, sink: Callable[[bytes], None], *,
          resolve: Callable[[str, int], list[str]] = _resolve,
          allowed: Callable[[IPAddress], bool] = public_address, timeout: float = TIMEOUT_S) -> str:
    """Download `url` into `sink` (chunk by chunk) and return the final URL. Raises FetchRefused."""
    for _ in range(MAX_REDIRECTS + 1):
        target = check_url(url, resolve, allowed)
        conn = (_PinnedHTTPS if target.scheme == "https" else _PinnedHTTP)(target, timeout)
        try:
            conn.request("GET", target.path, headers={"User-Agent": "unmask-serve", "Accept": "image/*"})
            response = conn.getresponse()
            if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location", ""))
                continue
            if response.status != 200:
                raise FetchRefused(f"the server answered HTTP {response.status}")
            for chunk in _chunks(response, limit):
                sink(chunk)
            return url
        except (OSError, http.client.HTTPException) as exc:
            raise FetchRefused(f"fetching {target.host} failed: {exc}") from exc
        finally:
            conn.close()
    raise FetchRefused(f"more than {MAX_REDIRECTS} redirects")
