"""The SSRF guard: every resolved address checked, pinned, redirects returned as-is."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator

import httpx
import pytest

from connectors.outbound import (
    BlockedAddress,
    GuardedTransport,
    OutboundPolicy,
    TotalTimeout,
    make_client,
    system_resolver,
)


class FakeResolver:
    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host not in self.table:
            raise OSError("name not known")
        return self.table[host]


class Recorder:
    """Stands in for the real HTTP transport; records what would have been sent."""

    def __init__(self, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.transports = 0
        self.status = status
        self.headers = headers or {}

    def factory(self) -> httpx.AsyncBaseTransport:
        self.transports += 1
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, headers=self.headers, text="ok")


def client_for(
    recorder: Recorder, addresses: list[str], policy: OutboundPolicy | None = None
) -> httpx.AsyncClient:
    return make_client(
        policy or OutboundPolicy(),
        total_timeout=5,
        resolver=FakeResolver({"dest.example.org": addresses, "other.example.org": addresses}),
        transport_factory=recorder.factory,
    )


BLOCKED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("fc00::1", "unique-local"),
    ("fd12:3456::1", "unique-local"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("100.64.0.1", "CGNAT"),
    ("100.127.255.254", "CGNAT"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("64:ff9b::a00:1", "private"),
    ("2002:7f00:1::", "loopback"),
    ("192.0.2.1", "private"),
    ("192.0.0.8", "reserved"),
    ("fec0::1", "site-local"),
    ("255.255.255.255", "reserved"),
]


@pytest.mark.parametrize(("address", "kind"), BLOCKED)
async def test_each_non_public_range_is_refused(address: str, kind: str) -> None:
    recorder = Recorder()
    async with client_for(recorder, [address]) as client:
        with pytest.raises(BlockedAddress) as caught:
            await client.get("https://dest.example.org/hook")
    assert kind in caught.value.why
    assert caught.value.address == address
    assert recorder.requests == []


async def test_one_bad_address_among_good_ones_is_enough_to_refuse() -> None:
    recorder = Recorder()
    async with client_for(recorder, ["93.184.215.14", "10.0.0.1"]) as client:
        with pytest.raises(BlockedAddress):
            await client.get("https://dest.example.org/")
    assert recorder.requests == []


async def test_literal_ip_is_checked_without_resolving() -> None:
    recorder = Recorder()
    resolver = FakeResolver({})
    client = make_client(
        OutboundPolicy(), total_timeout=5, resolver=resolver, transport_factory=recorder.factory
    )
    async with client:
        with pytest.raises(BlockedAddress):
            await client.get("http://[::ffff:169.254.169.254]/latest/meta-data")
        with pytest.raises(BlockedAddress):
            await client.get("http://127.0.0.1:8080/")
    assert resolver.calls == []
    assert recorder.requests == []


async def test_public_address_is_pinned_with_host_and_sni_kept() -> None:
    recorder = Recorder()
    async with client_for(recorder, ["93.184.215.14"]) as client:
        response = await client.get("https://dest.example.org:8443/hook?x=1")
    assert response.status_code == 200
    (sent,) = recorder.requests
    assert sent.url.host == "93.184.215.14"
    assert sent.url.port == 8443
    assert sent.url.raw_path == b"/hook?x=1"
    assert sent.headers["host"] == "dest.example.org:8443"
    assert sent.extensions["sni_hostname"] == "dest.example.org"
    assert response.request.url.host == "dest.example.org"


async def test_plain_http_gets_no_sni_and_ipv6_is_bracketed() -> None:
    recorder = Recorder()
    async with client_for(recorder, ["2606:2800:220:1:248:1893:25c8:1946"]) as client:
        await client.get("http://dest.example.org/")
    (sent,) = recorder.requests
    assert "sni_hostname" not in sent.extensions
    assert str(sent.url).startswith("http://[2606:2800:220:1:248:1893:25c8:1946]/")


async def test_cidr_allows_only_what_it_covers() -> None:
    policy = OutboundPolicy(allow_private=["127.0.0.0/8"])
    recorder = Recorder()
    async with client_for(recorder, ["127.0.0.1"], policy) as client:
        assert (await client.get("http://dest.example.org/")).status_code == 200
    async with client_for(recorder, ["::ffff:127.0.0.1"], policy) as client:
        assert (await client.get("http://dest.example.org/")).status_code == 200
    async with client_for(recorder, ["10.0.0.1"], policy) as client:
        with pytest.raises(BlockedAddress):
            await client.get("http://dest.example.org/")


def test_cidr_host_bits_are_ignored() -> None:
    policy = OutboundPolicy(allow_private=["10.1.2.3/8"])
    assert policy.refusal(ipaddress.ip_address("10.200.0.1")) is None


@pytest.mark.parametrize("address", ["10.0.0.1", "::1", "169.254.1.1", "100.64.0.1", "fd00::1"])
async def test_allow_private_network_flag_allows_internal_addresses(address: str) -> None:
    recorder = Recorder()
    async with client_for(recorder, [address], OutboundPolicy(allow_private_network=True)) as c:
        assert (await c.get("http://dest.example.org/")).status_code == 200


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "224.0.0.1", "::ffff:0.0.0.0"])
async def test_unspecified_and_multicast_are_never_allowed(address: str) -> None:
    policy = OutboundPolicy(allow_private_network=True, allow_private=["0.0.0.0/0", "::/0"])
    async with client_for(Recorder(), [address], policy) as client:
        with pytest.raises(BlockedAddress):
            await client.get("http://dest.example.org/")


async def test_redirect_is_returned_not_followed() -> None:
    recorder = Recorder(302, {"location": "http://127.0.0.1/admin"})
    async with client_for(recorder, ["93.184.215.14"]) as client:
        response = await client.get("https://dest.example.org/hook")
    assert response.status_code == 302
    assert response.headers["location"] == "http://127.0.0.1/admin"
    assert len(recorder.requests) == 1


async def test_unresolvable_name_is_a_connect_error() -> None:
    async with client_for(Recorder(), []) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("http://unknown.example.org/")
        with pytest.raises(httpx.ConnectError):
            await client.get("http://dest.example.org/")


async def test_next_address_is_tried_when_one_refuses_connections() -> None:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        if request.url.host == "93.184.215.14":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(204)

    client = make_client(
        OutboundPolicy(),
        total_timeout=5,
        resolver=FakeResolver({"dest.example.org": ["93.184.215.14", "93.184.215.15"]}),
        transport_factory=lambda: httpx.MockTransport(handle),
    )
    async with client:
        assert (await client.get("http://dest.example.org/")).status_code == 204
    assert seen == ["93.184.215.14", "93.184.215.15"]


async def test_each_host_name_gets_its_own_connection_pool() -> None:
    recorder = Recorder()
    async with client_for(recorder, ["93.184.215.14"]) as client:
        await client.get("https://dest.example.org/")
        await client.get("https://dest.example.org/again")
        await client.get("https://other.example.org/")
    assert recorder.transports == 2


async def test_total_timeout_bounds_waiting_for_the_answer() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    client = make_client(
        OutboundPolicy(),
        total_timeout=0.05,
        resolver=FakeResolver({"dest.example.org": ["93.184.215.14"]}),
        transport_factory=lambda: httpx.MockTransport(slow),
    )
    async with client:
        with pytest.raises(TotalTimeout):
            await client.get("http://dest.example.org/")


async def test_total_timeout_bounds_the_response_body() -> None:
    async def trickle() -> AsyncIterator[bytes]:
        yield b"first"
        await asyncio.sleep(5)
        yield b"never"

    client = make_client(
        OutboundPolicy(),
        total_timeout=0.1,
        resolver=FakeResolver({"dest.example.org": ["93.184.215.14"]}),
        transport_factory=lambda: httpx.MockTransport(
            lambda request: httpx.Response(200, content=trickle())
        ),
    )
    async with client:
        with pytest.raises(TotalTimeout):
            await client.get("http://dest.example.org/")


def test_make_client_does_not_follow_redirects_or_trust_proxy_env() -> None:
    client = make_client(OutboundPolicy(), total_timeout=1)
    assert client.follow_redirects is False
    assert client.trust_env is False
    assert isinstance(client._transport, GuardedTransport)
    assert client.timeout.connect == 5 and client.timeout.read == 10


async def test_system_resolver_returns_numeric_hosts_unchanged() -> None:
    assert await system_resolver("127.0.0.1", 80) == ["127.0.0.1"]
