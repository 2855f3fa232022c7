"""Outbound network safety: no call reaches an internal address unless allowed.

Server-side request forgery (SSRF) guard for every outbound HTTP call the gateway
makes (destinations, app webhooks, subscription endpoints, JWKS URLs), as
CONTRACT.md "Outbound" requires and the Standard Webhooks specification
("Server side request forgery") recommends.

``GuardedTransport`` wraps ``httpx.AsyncHTTPTransport``. For each request it
resolves the host (or takes the literal IP), refuses when ANY address is
loopback, link-local, private, unique-local, multicast, unspecified, reserved,
shared (CGNAT, 100.64.0.0/10) or otherwise not globally routable (an IPv6
address that embeds an IPv4 one, e.g. ``::ffff:127.0.0.1``, is judged by the
embedded address), unless ``OutboundPolicy`` allows it. Unspecified and
multicast addresses are never allowed: neither names an HTTP server, and
``0.0.0.0`` reaches the local host on Linux.

DNS rebinding: the checked address is the one connected to. The request URL is
rewritten to the IP, the ``Host`` header keeps the name, and TLS uses the name
for SNI and certificate checks (httpcore's ``sni_hostname`` extension). Each
host name gets its own connection pool, so a TLS connection verified for one
name is never reused for another name that happens to share the address.

Redirects are never followed (``make_client`` sets ``follow_redirects=False``):
a 3xx comes back to the caller as a response. Proxies from the environment are
ignored (``trust_env=False``) because a proxy would connect on our behalf,
past this check.

``BlockedAddress`` subclasses ``httpx.TransportError`` so code that handles
transport failures sees it, but connectors must catch it first and turn it into
a ``PermanentDeliveryError``: retrying cannot make a refused address allowed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``(host, port) -> addresses``; every address the name resolves to."""

_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")  # RFC 6598 (CGNAT)
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052
_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")  # RFC 4193
_NON_PUBLIC_IPADDRESS_MISSES: dict[IPNetwork, str] = {
    ipaddress.IPv4Network("192.0.0.0/24"): "reserved (IETF protocol assignments)",
    ipaddress.IPv6Network("fec0::/10"): "site-local (deprecated)",
}

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=10.0, write=10.0, pool=5.0)


class BlockedAddress(httpx.TransportError):
    """The destination resolves to an address the outbound policy does not allow."""

    def __init__(self, host: str, address: str, why: str, *, request: httpx.Request) -> None:
        super().__init__(f"refused outbound call to {host}: {address} is {why}", request=request)
        self.host = host
        self.address = address
        self.why = why


class TotalTimeout(httpx.TimeoutException):
    """The whole exchange (connect, send, receive the body) took longer than allowed."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def non_public_kind(address: IPAddress) -> str | None:
    """Name the kind of non-public address ``address`` is, or ``None`` when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            kind = non_public_kind(embedded)
            return None if kind is None else f"{kind} (embedded in {address})"
    checks: list[tuple[bool, str]] = [
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (isinstance(address, ipaddress.IPv4Address) and address in _SHARED_ADDRESS_SPACE,
         "shared address space (CGNAT)"),
        (isinstance(address, ipaddress.IPv6Address) and address in _UNIQUE_LOCAL,
         "unique-local"),
        *((address in network, kind) for network, kind in _NON_PUBLIC_IPADDRESS_MISSES.items()
          if network.version == address.version),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),
        (not address.is_global, "not globally routable"),
    ]
    return next((kind for matched, kind in checks if matched), None)


def _never_allowed(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return _never_allowed(embedded)
    return address.is_unspecified or address.is_multicast


class OutboundPolicy:
    """Which non-public addresses outbound calls may reach.

    ``allow_private_network`` is the destination's ``allow_private_network: true``;
    ``allow_private`` is ``outbound.allow_private`` (CIDRs, host bits ignored).
    """

    def __init__(
        self, allow_private_network: bool = False, allow_private: Iterable[str] = ()
    ) -> None:
        self.allow_private_network = allow_private_network
        self.allow_private: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(cidr, strict=False) for cidr in allow_private
        )

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` may not be reached, or ``None`` when it may."""
        kind = non_public_kind(address)
        if kind is None:
            return None
        if _never_allowed(address):
            return kind
        if self.allow_private_network or self._listed(address):
            return None
        return kind

    def _listed(self, address: IPAddress) -> bool:
        candidates: list[IPAddress] = [address]
        if isinstance(address, ipaddress.IPv6Address):
            embedded = _embedded_ipv4(address)
            if embedded is not None:
                candidates.append(embedded)
        return any(
            candidate.version == network.version and candidate in network
            for candidate in candidates
            for network in self.allow_private
        )


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the operating system's resolver (``getaddrinfo``)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


class _DeadlineStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, deadline: float, request: httpx.Request):
        self._inner = inner
        self._deadline = deadline
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._inner.__aiter__()
        while True:
            try:
                async with asyncio.timeout_at(self._deadline):
                    chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                message = "response body not received in time"
                raise TotalTimeout(message, request=self._request) from exc
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that checks, then pins, the address it connects to."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        total_timeout: float,
        resolver: Resolver = system_resolver,
        transport_factory: Callable[[], httpx.AsyncBaseTransport] = httpx.AsyncHTTPTransport,
    ) -> None:
        self._policy = policy
        self._total_timeout = total_timeout
        self._resolver = resolver
        self._transport_factory = transport_factory
        self._pools: dict[tuple[str, str, int], httpx.AsyncBaseTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        deadline = asyncio.get_running_loop().time() + self._total_timeout
        try:
            async with asyncio.timeout_at(deadline):
                response = await self._send_pinned(request)
        except TimeoutError as exc:
            raise TotalTimeout("no response in time", request=request) from exc
        stream = response.stream
        if isinstance(stream, httpx.AsyncByteStream):
            response = httpx.Response(
                response.status_code,
                headers=response.headers,
                stream=_DeadlineStream(stream, deadline, request),
                extensions=response.extensions,
            )
        return response

    async def _send_pinned(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        addresses = await self._checked_addresses(request, host, port)
        pool = self._pool_for(request.url.scheme, host, port)
        last_error: httpx.ConnectError | None = None
        for address in addresses:
            try:
                return await pool.handle_async_request(self._pinned(request, host, address))
            except httpx.ConnectError as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def _checked_addresses(self, request: httpx.Request, host: str, port: int) -> list[str]:
        literal = _literal_ip(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = await self._resolver(host, port)
            except OSError as exc:
                raise httpx.ConnectError(f"cannot resolve {host}: {exc}", request=request) from exc
            if not addresses:
                raise httpx.ConnectError(f"{host} resolves to no address", request=request)
        for address in addresses:
            why = self._policy.refusal(ipaddress.ip_address(address))
            if why is not None:
                raise BlockedAddress(host, address, why, request=request)
        return addresses

    def _pool_for(self, scheme: str, host: str, port: int) -> httpx.AsyncBaseTransport:
        key = (scheme, host, port)
        if key not in self._pools:
            self._pools[key] = self._transport_factory()
        return self._pools[key]

    @staticmethod
    def _pinned(request: httpx.Request, host: str, address: str) -> httpx.Request:
        extensions = dict(request.extensions)
        if request.url.scheme == "https" and _literal_ip(host) is None:
            extensions["sni_hostname"] = host
        return httpx.Request(
            request.method,
            request.url.copy_with(host=address),
            headers=request.headers,
            stream=request.stream,
            extensions=extensions,
        )

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


def make_client(
    policy: OutboundPolicy,
    *,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    total_timeout: float,
    resolver: Resolver = system_resolver,
    transport_factory: Callable[[], httpx.AsyncBaseTransport] = httpx.AsyncHTTPTransport,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` whose every call goes through ``GuardedTransport``.

    ``timeout`` bounds each phase (connect, read, write, pool); ``total_timeout``
    (seconds) bounds the whole exchange including the response body.
    """
    transport = GuardedTransport(
        policy,
        total_timeout=total_timeout,
        resolver=resolver,
        transport_factory=transport_factory,
    )
    return httpx.AsyncClient(
        transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
    )
