"""POST /referrals/{id}/acknowledge: who may, what is kept, what the referral shows."""

from __future__ import annotations

from pathlib import Path

from crisis_rig import (
    OPERATOR,
    FakeClock,
    acknowledge,
    auth_at,
    crisis_config,
    imminent,
    mock_connectors,
    no_crisis,
    submit_delivered,
)
from harness import running_gateway
from sqlalchemy import select

from gateway.store.tables import audit_log


async def _audit_types(h) -> list[str]:  # type: ignore[no-untyped-def]
    async with h.gateway.engine.connect() as conn:
        return [row[0] for row in await conn.execute(select(audit_log.c.event_type))]


async def test_operator_acknowledges_and_the_referral_shows_who_and_when(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running_gateway(
        tmp_path, config=crisis_config(), connectors=mock_connectors(), clock=clock
    ) as h:
        referral_id = await submit_delivered(h, clock, imminent())
        clock.at(95)
        response = await acknowledge(
            h, referral_id, clock, body={"by": "Sam Duty", "note": "Called back, safe plan made."}
        )
        assert response.status_code == 200, response.text
        [ack] = response.json()["acknowledgements"]
        assert ack["by"] == "Sam Duty"
        assert ack["at"] == "2026-11-27T12:01:35Z"
        assert ack["destination"] == "crisis-line"
        assert ack["client_id"] == "operator"

        view = await h.client.get(
            f"/referrals/{referral_id}", headers=await auth_at(h, *OPERATOR, clock)
        )
        crisis = next(d for d in view.json()["deliveries"] if d["destination"] == "crisis-line")
        assert crisis["acknowledgement"]["by"] == "Sam Duty"
        assert crisis["acknowledgement"]["at"] == "2026-11-27T12:01:35Z"
        assert crisis["acknowledgement"]["note"] == "Called back, safe plan made."
        # The submitting app sees who and when, not the responder's free-text note.
        own = await h.client.get(
            f"/referrals/{referral_id}",
            headers=await auth_at(h, "app-a", "system/ServiceRequest.r", clock),
        )
        seen = next(d for d in own.json()["deliveries"] if d["destination"] == "crisis-line")
        assert seen["acknowledgement"]["by"] == "Sam Duty"
        assert "note" not in seen["acknowledgement"]

        assert (await _audit_types(h)).count("crisis-acknowledged") == 1
        metrics = h.gateway.services.metrics.render().decode()
        assert 'gateway_crisis_acknowledgement_seconds_count{destination="crisis-line"} 1.0' in (
            metrics
        )
        assert 'gateway_crisis_acknowledgement_seconds_sum{destination="crisis-line"} 95.0' in (
            metrics
        )


async def test_the_crisis_services_own_client_acknowledges(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running_gateway(
        tmp_path, config=crisis_config(), connectors=mock_connectors(), clock=clock
    ) as h:
        referral_id = await submit_delivered(h, clock, imminent())
        response = await acknowledge(
            h,
            referral_id,
            clock,
            who=("crisis-service", "system/Task.u"),
            body={"by": "Responder 12"},
        )
        assert response.status_code == 200, response.text
        [ack] = response.json()["acknowledgements"]
        assert (ack["by"], ack["client_id"]) == ("Responder 12", "crisis-service")


async def test_other_clients_are_refused(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running_gateway(
        tmp_path, config=crisis_config(), connectors=mock_connectors(), clock=clock
    ) as h:
        referral_id = await submit_delivered(h, clock, imminent())
        stranger = await acknowledge(h, referral_id, clock, who=("other-app", "system/Task.u"))
        assert stranger.status_code == 404
        assert stranger.json()["resourceType"] == "OperationOutcome"
        submitter = await acknowledge(h, referral_id, clock, who=("app-a", "system/Task.u"))
        assert submitter.status_code == 403
        assert submitter.json()["issue"][0]["code"] == "forbidden"
        no_scope = await acknowledge(h, referral_id, clock, who=("operator", "system/*.rs"))
        assert no_scope.status_code == 403
        assert "crisis-acknowledged" not in await _audit_types(h)


async def test_a_second_acknowledgement_keeps_the_first(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running_gateway(
        tmp_path, config=crisis_config(), connectors=mock_connectors(), clock=clock
    ) as h:
        referral_id = await submit_delivered(h, clock, imminent())
        clock.at(30)
        first = await acknowledge(h, referral_id, clock, body={"by": "First Person"})
        clock.at(40)
        again = await acknowledge(
            h,
            referral_id,
            clock,
            who=("crisis-service", "system/Task.u"),
            body={"by": "Second Person"},
        )
        assert again.status_code == 200
        assert again.json() == first.json()
        assert again.json()["acknowledgements"][0]["at"] == "2026-11-27T12:00:30Z"
        assert (await _audit_types(h)).count("crisis-acknowledged") == 1


async def test_a_referral_without_a_crisis_delivery_is_422(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running_gateway(
        tmp_path, config=crisis_config(), connectors=mock_connectors(), clock=clock
    ) as h:
        referral_id = await submit_delivered(h, clock, no_crisis())
        response = await acknowledge(h, referral_id, clock)
        assert response.status_code == 422
        issue = response.json()["issue"][0]
        assert issue["code"] == "business-rule"
        assert "no crisis delivery" in issue["diagnostics"]
        missing = await acknowledge(h, "no-such-referral", clock)
        assert missing.status_code == 404


async def test_the_body_is_validated(tmp_path: Path) -> None:
    clock = FakeClock()
    async with running_gateway(
        tmp_path, config=crisis_config(), connectors=mock_connectors(), clock=clock
    ) as h:
        referral_id = await submit_delivered(h, clock, imminent())
        for body, expression in (
            ({}, "by"),
            ({"by": "   "}, "by"),
            ({"by": "x" * 201}, "by"),
            ({"by": "Sam", "note": "n" * 2001}, "note"),
            ({"by": "Sam", "extra": 1}, "extra"),
        ):
            response = await acknowledge(h, referral_id, clock, body=body)
            assert response.status_code == 422, body
            assert response.json()["issue"][0]["expression"] == [expression]
        assert "crisis-acknowledged" not in await _audit_types(h)
