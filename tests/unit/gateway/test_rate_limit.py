"""Per-client token buckets (RFC 6585 §4 429 with Retry-After)."""

from __future__ import annotations

from pathlib import Path

from harness import base_config, running_gateway, triage

from gateway.api.rate_limit import RateLimiter
from gateway.config import RateLimitConfig


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_asks_to_wait_until_a_token_is_back() -> None:
    clock = Clock()
    limiter = RateLimiter({"noisy": RateLimitConfig(per_second=0.5, burst=3)}, clock)
    assert [limiter.retry_after("noisy") for _ in range(3)] == [None, None, None]
    assert limiter.retry_after("noisy") == 2  # one token takes 2 s at 0.5/s
    clock.now += 2
    assert limiter.retry_after("noisy") is None
    assert limiter.retry_after("noisy") == 2


def test_a_bucket_never_saves_more_than_its_burst() -> None:
    clock = Clock()
    limiter = RateLimiter({"app": RateLimitConfig(per_second=10, burst=2)}, clock)
    clock.now += 3600
    assert [limiter.retry_after("app") is None for _ in range(3)] == [True, True, False]


def test_clients_without_a_limit_and_others_are_unaffected() -> None:
    clock = Clock()
    limiter = RateLimiter({"noisy": RateLimitConfig(per_second=1)}, clock)
    assert limiter.retry_after("noisy") is None
    assert limiter.retry_after("noisy") == 1
    assert all(limiter.retry_after("quiet") is None for _ in range(100))


async def test_a_noisy_client_gets_429_with_retry_after_and_the_other_goes_on(
    tmp_path: Path,
) -> None:
    def config(keys):  # type: ignore[no-untyped-def]
        cfg = base_config(keys)
        cfg["clients"][0]["rate_limit"] = {"per_second": 0.01, "burst": 1}
        return cfg

    async with running_gateway(tmp_path, config=config) as h:
        assert (await h.submit(triage(triage_id="n-1"))).status_code == 202
        refused = await h.submit(triage(triage_id="n-2"))
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["issue"][0]["code"] == "throttled"
        assert (await h.submit(triage(triage_id="b-1"), client_id="app-b")).status_code == 202
        metrics = (await h.client.get("/metrics")).text
        assert 'gateway_intake_rate_limited_total{client_id="app-a"} 1.0' in metrics
