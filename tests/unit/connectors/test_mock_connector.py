"""The shipped MockConnector behaves as scripted."""

from __future__ import annotations

import pytest

from connectors.base import Connector, Delivery, PermanentDeliveryError, TransientDeliveryError
from connectors.mock import MockConnector


def delivery(delivery_id: str = "d1") -> Delivery:
    return Delivery(delivery_id, f"ref-{delivery_id}", "mock", {"resourceType": "Bundle"})


async def test_records_and_accepts_by_default() -> None:
    connector = MockConnector()
    assert isinstance(connector, Connector)
    receipt = await connector.deliver(delivery())
    assert receipt.remote_ids == {"Task": "task-ref-d1"}
    assert connector.delivered == connector.attempts == [delivery()]


async def test_fails_transiently_n_times_per_delivery_then_lands() -> None:
    connector = MockConnector(transient_failures=2, retry_after=3.0)
    for _ in range(2):
        with pytest.raises(TransientDeliveryError) as caught:
            await connector.deliver(delivery("a"))
        assert caught.value.retry_after == 3.0
    await connector.deliver(delivery("a"))
    with pytest.raises(TransientDeliveryError):
        await connector.deliver(delivery("b"))
    assert len(connector.attempts) == 4
    assert connector.delivered_ids() == {"a": 1}


async def test_fails_permanently_when_told() -> None:
    connector = MockConnector(permanent_reason="no such clinic")
    with pytest.raises(PermanentDeliveryError, match="no such clinic"):
        await connector.deliver(delivery())
    assert connector.delivered == []


async def test_counts_duplicates_and_closes() -> None:
    connector = MockConnector()
    await connector.deliver(delivery("a"))
    await connector.deliver(delivery("a"))
    assert connector.delivered_ids()["a"] == 2
    await connector.aclose()
    assert connector.closed
