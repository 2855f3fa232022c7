"""DeliverySlots: a destination at its bound is left out of claims; one person's
deliveries to one destination run one at a time, first claimed first."""

from __future__ import annotations

import asyncio

from gateway.delivery.slots import DeliverySlots


def test_a_destination_is_full_at_its_own_bound_or_the_default() -> None:
    slots = DeliverySlots({"ehr": 2}, default=3)
    for _ in range(2):
        slots.taken("ehr")
        slots.taken("inbox")
    assert slots.full() == {"ehr"}
    slots.taken("inbox")
    assert slots.full() == {"ehr", "inbox"}
    slots.released("ehr")
    assert slots.full() == {"inbox"}
    assert slots.in_flight("ehr") == 1


async def test_one_persons_deliveries_to_one_destination_run_in_claim_order() -> None:
    slots = DeliverySlots({})
    order: list[str] = []
    inside = 0
    most = 0

    async def deliver(name: str, destination: str, person: str) -> None:
        nonlocal inside, most
        async with slots.in_order(destination, person):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            order.append(name)
            inside -= 1

    await asyncio.gather(
        deliver("a1", "ehr", "alex"),
        deliver("a2", "ehr", "alex"),
        deliver("a3", "ehr", "alex"),
        deliver("b1", "ehr", "blake"),
        deliver("a-crisis", "crisis", "alex"),
    )
    alex_at_ehr = [n for n in order if n.startswith("a") and n != "a-crisis"]
    assert alex_at_ehr == ["a1", "a2", "a3"]
    assert most == 3  # alex at the EHR, blake at the EHR, alex at the crisis line
    assert slots._order == {}  # nothing left behind once all are done
