"""Webhooks, the pure part: which URLs and addresses a webhook may use, how a body is
signed, and what an HTTP answer means for the delivery (:class:`Outcome`).

- Only ``https``. Addresses that are not public (private, loopback, link-local, shared,
  reserved, multicast; IPv4 inside IPv6 too) are refused, checked on the address the
  request goes to, when it is sent; ``TGMON_WEBHOOK_PRIVATE=on`` allows them, and plain
  ``http`` to them (a desk's own network, tests).
- ``X-Tgmon-Signature: sha256=HEX``: HMAC-SHA256 of the body under the chat's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-Tgmon-Signature"
MAX_URL = 2000


def sign(secret: str, body: bytes) -> str:
    """The ``X-Tgmon-Signature`` value of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def address_allowed(address: str, allow_private: bool) -> bool:
    """May a webhook request go to this IP address?"""
    ip = _ip(address)
    if ip is None:
        return False
    if allow_private:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def url_problem(url: str, allow_private: bool) -> str | None:
    """What makes ``url`` unusable as a webhook (None: nothing, as far as can be told
    before DNS is asked at send time)."""
    if len(url) > MAX_URL:
        return f"the URL is over {MAX_URL} characters"
    try:
        parts = urlsplit(url)
        parts.port                                # noqa: B018 (raises on a bad port)
    except ValueError as e:
        return f"that is not a URL ({e})"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "give an https:// URL, such as https://hooks.example.org/tgmon"
    if parts.username or parts.password:
        return "a password in the URL would be shown in /alerts: put it in the path instead"
    literal = _ip(parts.hostname)
    if literal is not None and not address_allowed(str(literal), allow_private):
        return (f"{parts.hostname} is a private, loopback or link-local address "
                "(webhooks go to public addresses)")
    if parts.scheme == "http" and not allow_private:
        return "only https:// webhooks are allowed"
    return None


def host_of(url: str) -> str:
    """``https://hooks.example.org/…``: a URL shortened for people."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…" if parts.path.strip("/") else url


@dataclass(frozen=True)
class Outcome:
    """What became of one POST."""

    status: int | None = None       # the HTTP status, None if no answer came
    error: str | None = None        # no answer: timeout, connection, TLS, refused address
    refused: bool = False           # the address is not allowed: never retried

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """Worth another try later: the server's trouble or the network's."""
        if self.refused:
            return False
        if self.status is None:
            return True
        return self.status >= 500 or self.status in (408, 425, 429)

    def describe(self) -> str:
        if self.status is not None:
            return f"HTTP {self.status}"
        return self.error or "no answer"
