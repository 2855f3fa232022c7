"""Every metric named in docs/ moves when its event happens (docs/metrics.md).

The names are parsed out of the docs, so a metric that is documented but never
recorded (as ``gateway_intake_seconds`` once was) fails here."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from harness import Harness, running_gateway, triage
from joserfc.jwk import ECKey
from loop_fixtures import Recorder, SettableClock, dispatcher_for, loop_config
from sqlalchemy import select, update

from gateway.api.admission import IntakeAdmission
from gateway.referral_loop.task_update import Caller, TaskUpdater
from gateway.store import fhir_store
from gateway.store.tables import referrals

DOCS = Path(__file__).resolve().parents[3] / "docs"
REVIEW_SCOPE = "system/RiskAssessment.c"
CARD = {
    "name": "example-triage",
    "versions": ["2.3.1"],
    **{
        attribute: f"The card's {attribute}."
        for attribute in (
            "developer",
            "intended_use",
            "intended_population",
            "out_of_scope",
            "limitations",
            "validation",
            "fairness",
            "maintenance",
        )
    },
    "expected_risk_levels": {
        "none": 0.25,
        "low": 0.5,
        "moderate": 0.2,
        "high": 0.04,
        "imminent": 0.01,
    },
}
NAME = re.compile(r"`(gateway_[a-z_]+)")


def documented_metrics() -> set[str]:
    return {name for page in DOCS.glob("*.md") for name in NAME.findall(page.read_text())}


def config(keys: dict[str, ECKey]) -> dict[str, Any]:
    built = loop_config(keys)
    for destination in built["destinations"]:
        if destination["name"] == "inbox":
            destination["stall_after_seconds"] = 600
    for client in built["clients"]:
        if client["client_id"] == "app-b":  # one submission, then its bucket is empty
            client["rate_limit"] = {"per_second": 0.001, "burst": 1}
            client["scopes"] = [*client["scopes"], REVIEW_SCOPE]
    # A declared card the very first referral drifts from, and verdicts from one review.
    built["models"] = [CARD]
    built["drift"] = {"min_referrals": 1, "psi_alert": 0.01, "min_reviews": 1, "check_seconds": 1}
    return built


def admission_of(h: Harness) -> IntakeAdmission:
    """The app's admission queue, found in its middleware stack."""
    layer: Any = h.client._transport.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(layer, IntakeAdmission):
        layer = layer.app
    return layer


def total(text: str, name: str) -> float:
    """The sum of a metric's samples (a histogram by its ``_count``)."""
    wanted = {name, f"{name}_count"}
    found = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        sample = line.split("{", 1)[0].split(" ", 1)[0]
        if sample in wanted:
            found += float(line.rsplit(" ", 1)[1])
    return found


async def scrape(h: Harness) -> str:
    response = await h.client.get("/metrics")
    assert response.status_code == 200
    return response.text


async def test_every_documented_metric_moves_when_its_event_happens(tmp_path: Path) -> None:
    clock = SettableClock()
    moved: dict[str, bool] = {}
    async with running_gateway(tmp_path, config=config, clock=clock) as h:
        state: dict[str, str] = {}

        async def submit_first() -> None:
            response = await h.submit(triage())  # item 9 positive: inbox and crisis-desk
            assert response.status_code == 202, response.text
            state["referral"] = response.json()["referral_id"]

        async def deliver_first() -> None:
            await h.deliver_all()
            view = (await h.get(f"/referrals/{state['referral']}")).json()
            inbox = next(d for d in view["deliveries"] if d["destination"] == "inbox")
            state["task"] = inbox["task"]["reference"].removeprefix("Task/")

        async def refused_payload() -> None:
            response = await h.submit(triage(triage_id="second"))
            referral_id = response.json()["referral_id"]
            async with h.gateway.engine.begin() as conn:
                raw = (
                    await conn.execute(
                        select(referrals.c.bundle).where(referrals.c.id == referral_id)
                    )
                ).scalar_one()
                bundle = orjson.loads(raw)
                for entry in bundle["entry"]:
                    if entry["resource"]["resourceType"] == "Patient":
                        entry["resource"]["birthDate"] = "1998-02-31"
                await conn.execute(
                    update(referrals)
                    .where(referrals.c.id == referral_id)
                    .values(bundle=orjson.dumps(bundle))
                )
            await h.deliver_all()

        async def crisis_unacknowledged() -> None:
            watcher = h.gateway.crisis_watcher
            assert watcher is not None
            assert await watcher.run_once(clock() + timedelta(seconds=3600)) >= 1

        async def crisis_acknowledged() -> None:
            headers = await h.auth("operator")
            response = await h.client.post(
                f"/referrals/{state['referral']}/acknowledge",
                json={"by": "Sam, crisis desk"},
                headers=headers,
            )
            assert response.status_code == 200, response.text

        async def stalled() -> None:
            runner = h.gateway.loop_runner
            assert runner is not None
            clock.advance(601)
            assert await runner.stalls.check() >= 1

        async def notified() -> None:
            assert await dispatcher_for(h, Recorder(), clock).drain() >= 1

        async def accepted_and_completed() -> None:
            updater = TaskUpdater(h.gateway.config, h.gateway.services.audit)
            for status in ("accepted", "completed"):
                clock.advance(60)
                async with h.gateway.engine.begin() as conn:
                    stored = await fhir_store.read(conn, "Task", state["task"])
                    assert stored is not None
                    await updater.put(
                        conn,
                        state["task"],
                        {**stored.body, "status": status},
                        if_match=f'W/"{stored.version_id}"',
                        caller=Caller("app-b", is_operator=False),
                        now=clock(),
                    )

        async def reviewed() -> None:
            response = await h.client.post(
                f"/referrals/{state['referral']}/review",
                json={"risk_level": "imminent"},  # higher than the model said: under-triage
                headers=await h.auth("app-b", REVIEW_SCOPE),
            )
            assert response.status_code == 201, response.text
            clock.advance(2)  # changed figures are written once per drift.check_seconds

        async def rate_limited() -> None:
            first = await h.submit(triage(triage_id="limited-1"), client_id="app-b")
            assert first.status_code == 202, first.text
            assert (
                await h.submit(triage(triage_id="limited-2"), client_id="app-b")
            ).status_code == 429

        async def shed() -> None:
            admission = admission_of(h)
            admission.in_flight = admission.routine_capacity  # every routine place taken
            try:
                routine = triage(triage_id="shed-1")
                routine["risk"]["signals"] = []
                routine["assessments"][0]["answers"][8] = 0
                assert (await h.submit(routine)).status_code == 503
            finally:
                admission.in_flight = 0

        events: list[tuple[Callable[[], Awaitable[None]], set[str]]] = [
            (
                submit_first,
                {
                    "gateway_intake_seconds",
                    "gateway_referrals_accepted_total",
                    "gateway_referrals",
                    "gateway_deliveries",
                    "gateway_model_window_referrals",
                    "gateway_model_risk_level_psi",
                    "gateway_model_drift_alert",
                },
            ),
            (deliver_first, {"gateway_delivery_attempts_total", "gateway_referral_tasks"}),
            (reviewed, {"gateway_model_reviews", "gateway_model_under_triage_rate"}),
            (refused_payload, {"gateway_payloads_refused_total", "gateway_dead_letters"}),
            # before the clock moves on: the tokens these take live 300 s of the gateway's time
            (rate_limited, {"gateway_intake_rate_limited_total"}),
            (shed, {"gateway_intake_shed_total"}),
            (
                crisis_unacknowledged,
                {"gateway_crisis_sla_breaches_total", "gateway_crisis_escalations_total"},
            ),
            (crisis_acknowledged, {"gateway_crisis_acknowledgement_seconds"}),
            (
                stalled,
                {
                    "gateway_referral_stall_alerts_total",
                    "gateway_referrals_stalled",
                    "gateway_referral_sla_breaches_total",
                },
            ),
            (notified, {"gateway_notification_attempts_total"}),
            (
                accepted_and_completed,
                {"gateway_time_to_acceptance_seconds", "gateway_time_to_completion_seconds"},
            ),
        ]
        covered = {name for _, names in events for name in names}
        documented = documented_metrics()
        assert documented - covered == set(), "documented metrics with no event driving them"
        for event, names in events:
            before = await scrape(h)
            await event()
            after = await scrape(h)
            for name in names:
                moved[name] = total(after, name) != total(before, name)
    assert {name for name, did in moved.items() if not did} == set()
    assert documented <= set(moved)
