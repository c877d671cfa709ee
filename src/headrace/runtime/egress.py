"""Outbound requests for functions: the egress policy, and the parent-side `fetch` with traces."""

from __future__ import annotations

import base64
import ipaddress
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

MAX_RESPONSE_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
_REDIRECT_STATUSES = (301, 302, 303, 307, 308)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class EgressRefused(Exception):
    """The egress policy does not let functions reach this address."""


def _refusal(address: IPAddress) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if address.is_private:
        return "a private address"
    if address.is_multicast or address.is_reserved or address.is_unspecified:
        return "a reserved address"
    return None


@dataclass(frozen=True)
class EgressPolicy:
    """Public addresses are reachable; private, loopback, link-local and metadata ones are
    refused unless a host name or network is allowed by the operator."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()
    refuse_url: Callable[[str], str | None] | None = field(default=None, compare=False)
    """An extra check of every URL (each redirect hop too): why it is refused, or None.
    The service refuses its own webhook URLs with it, so a function cannot feed itself."""

    @classmethod
    def allowing(cls, entries: Iterable[str]) -> EgressPolicy:
        """From host names and CIDRs, as in HEADRACE_EGRESS_ALLOW="hooks.local,10.0.0.0/8"."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def merged(self, entries: Iterable[str]) -> EgressPolicy:
        extra = EgressPolicy.allowing(entries)
        return EgressPolicy(
            self.hosts | extra.hosts, self.networks + extra.networks, self.refuse_url
        )

    def check_url(self, url: str) -> None:
        reason = self.refuse_url(url) if self.refuse_url is not None else None
        if reason is not None:
            raise EgressRefused(reason)

    def checked_address(self, host: str, port: int) -> IPAddress:
        """Resolve `host`, check every address it has, and return the one to connect to
        (connecting to exactly that address is what defeats DNS rebinding). Raises
        EgressRefused, or ConnectionError when the name does not resolve."""
        addresses = _resolve(host, port)
        for address in addresses:
            self.check(host, address)
        return addresses[0]

    def check(self, host: str, address: IPAddress) -> None:
        if host.lower().rstrip(".") in self.hosts:
            return
        if any(address in network for network in self.networks):
            return
        reason = _refusal(address)
        if reason is not None:
            raise EgressRefused(
                f"requests to {host} ({address}) are refused: it is {reason}; "
                "an operator can allow it with HEADRACE_EGRESS_ALLOW"
            )


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConnectionError(f"cannot resolve {host}: {exc.strerror}") from None
    return [ipaddress.ip_address(info[4][0]) for info in infos]


@dataclass
class FetchResult:
    reply: dict[str, Any]
    trace: dict[str, Any] = field(default_factory=dict)


class Fetcher:
    """Performs a function's `fetch` with httpx after checking every address it would reach.

    The connection goes to the address that was checked (with the original Host header and
    TLS server name), so a DNS answer that changes between check and connect cannot
    redirect it to a refused address.
    """

    def __init__(self, policy: EgressPolicy, client: httpx.Client | None = None) -> None:
        self.policy = policy
        self._client = client or httpx.Client(follow_redirects=False, trust_env=False)

    def close(self) -> None:
        self._client.close()

    def perform(self, request: dict[str, Any], time_left_s: float) -> FetchResult:
        method = str(request.get("method") or "GET").upper()
        url = str(request.get("url") or "")
        started = time.perf_counter()
        trace: dict[str, Any] = {"method": method, "url": display_url(url), "status": None}
        try:
            requested = request.get("timeout")
            timeout = min(float(requested), time_left_s) if requested else time_left_s
            body = base64.b64decode(request["body"]) if request.get("body") else None
            headers = request.get("headers") or {}
            if not isinstance(headers, dict):
                raise ValueError("fetch headers must be an object of strings")
            response, content = self.send(method, url, headers, body, timeout)
        # TypeError: a request written by hand rather than by the guest's fetch.
        except (EgressRefused, httpx.HTTPError, ValueError, TypeError, OSError) as exc:
            trace["durationMs"] = ms_since(started)
            trace["error"] = str(exc) or type(exc).__name__
            return FetchResult({"op": "fetched", "error": trace["error"]}, trace)
        trace["status"] = response.status_code
        trace["durationMs"] = ms_since(started)
        reply = {
            "op": "fetched",
            "status": response.status_code,
            "statusText": response.reason_phrase,
            "url": display_url(str(response.request.extensions.get("headrace_url", url))),
            "headers": dict(response.headers.items()),
            "body": base64.b64encode(content).decode(),
        }
        return FetchResult(reply, trace)

    def send(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float
    ) -> tuple[httpx.Response, bytes]:
        """One request under the egress policy, following redirects (each one checked).

        Raises EgressRefused, httpx.HTTPError, or ValueError (a bad URL, a body over the cap).
        """
        for _hop in range(MAX_REDIRECTS + 1):
            target = httpx.URL(url)
            if target.scheme not in ("http", "https"):
                raise ValueError(f"fetch supports http and https URLs, not {target.scheme!r}")
            self.policy.check_url(url)
            host = target.host
            port = target.port or (443 if target.scheme == "https" else 80)
            pinned = target.copy_with(host=str(self.policy.checked_address(host, port)))
            send_headers = {k: v for k, v in headers.items() if k.lower() != "host"}
            send_headers["Host"] = target.netloc.decode("ascii")
            extensions: dict[str, Any] = {"headrace_url": url}
            if target.scheme == "https":
                extensions["sni_hostname"] = host
            req = self._client.build_request(
                method, pinned, headers=send_headers, content=body, timeout=timeout
            )
            req.extensions.update(extensions)
            response = self._client.send(req, stream=True)
            try:
                content = _read_capped(response)
            finally:
                response.close()
            location = response.headers.get("location")
            if response.status_code not in _REDIRECT_STATUSES or not location:
                return response, content
            url = str(target.join(location))
            if response.status_code == 303 or (
                response.status_code in (301, 302) and method == "POST"
            ):
                method, body = "GET", None
        raise httpx.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")


def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ValueError(f"the response is over the {MAX_RESPONSE_BYTES}-byte cap")
        chunks.append(chunk)
    return b"".join(chunks)


def display_url(url: str) -> str:
    """The URL without credentials, for traces."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return url
    return str(parsed.copy_with(username=None, password=None)) if parsed.userinfo else url


def ms_since(started: float) -> float:
    """Milliseconds since a `time.perf_counter()` reading, for traces."""
    return round((time.perf_counter() - started) * 1000, 3)
