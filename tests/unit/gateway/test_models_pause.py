"""`gateway models pause|resume`: a paused version's referrals are accepted, go only to
a person, are flagged, and the change is audited (CONTRACT.md v1.1, "Operations")."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
from harness import running_gateway, triage
from sqlalchemy import select
from typer.testing import CliRunner, Result

from connectors.mock import MockConnector
from gateway.cli import app
from gateway.store.tables import audit_log


def _mocks() -> dict[str, MockConnector]:
    return {name: MockConnector() for name in ("inbox", "community-inbox", "crisis-desk")}


async def _cli(url: str, *args: str) -> Result:
    return await asyncio.to_thread(
        CliRunner().invoke, app, list(args), env={"GATEWAY_DATABASE_URL": url}
    )


def _community(triage_id: str, **risk: Any) -> dict[str, Any]:
    body = triage(triage_id=triage_id)
    body["request"]["pathway"] = "community"
    body["risk"]["signals"] = []
    body["assessments"][0]["answers"][8] = 0
    body["risk"].update(risk)
    return body


async def test_a_paused_version_goes_to_a_person_flagged_and_nothing_is_dropped(
    tmp_path: Path, database_url: str
) -> None:
    mocks = _mocks()
    async with running_gateway(tmp_path, database_url=database_url, connectors=mocks) as h:
        paused = await _cli(
            database_url,
            "models",
            "pause",
            "example-triage",
            "2.3.1",
            "--reason",
            "drift alert",
            "--by",
            "ops:ana",
        )
        assert paused.exit_code == 0, paused.output
        routine = await h.submit(_community("routine"))
        assert routine.status_code == 202
        answer = routine.json()
        assert answer["model_paused"] is True and "paused" in answer["model_paused_reason"]
        assert [(r["destination"], r.get("model_paused")) for r in answer["routing"]] == [
            ("inbox", True)  # the rules would have sent it to community-inbox
        ]
        high = await h.submit(_community("high", level="high"))
        assert high.status_code == 202
        assert [r["destination"] for r in high.json()["routing"]] == ["crisis-desk"]
        signal = await h.submit(triage(triage_id="signal"))  # item 9 positive, clinical
        assert [r["destination"] for r in signal.json()["routing"]] == ["crisis-desk"]
        other = _community("other-model")
        other["model"] = {"name": "example-triage", "version": "2.4.0"}
        assert [r["destination"] for r in (await h.submit(other)).json()["routing"]] == [
            "community-inbox"
        ]
        view = (await h.get(f"/referrals/{answer['referral_id']}")).json()
        assert view["model_paused"] is True and view["routing"][0]["model_paused"] is True
        await h.deliver_all()
        assert len(mocks["inbox"].delivered) == 1 and len(mocks["crisis-desk"].delivered) == 2
        assert len(mocks["community-inbox"].delivered) == 1  # only the unpaused version's

        listing = await _cli(database_url, "models", "list")
        assert "example-triage\t2.3.1" in listing.output and "ops:ana" in listing.output
        resumed = await _cli(database_url, "models", "resume", "example-triage", "2.3.1")
        assert resumed.exit_code == 0, resumed.output
        after = await h.submit(_community("after-resume"))
        assert "model_paused" not in after.json()
        assert [r["destination"] for r in after.json()["routing"]] == ["community-inbox"]
        again = await _cli(database_url, "models", "resume", "example-triage", "2.3.1")
        assert again.exit_code == 1

        async with h.gateway.engine.connect() as conn:
            rows = list(
                await conn.execute(
                    select(audit_log.c.event_type, audit_log.c.entry)
                    .where(audit_log.c.event_type.in_(["model-paused", "model-resumed"]))
                    .order_by(audit_log.c.seq)
                )
            )
        assert [r.event_type for r in rows] == ["model-paused", "model-resumed"]
        first = orjson.loads(rows[0].entry)
        assert "ops:ana" in orjson.dumps(first["agent"]).decode()


async def test_a_pause_reaches_another_process_at_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/shared.db"
    async with running_gateway(tmp_path, database_url=url) as first:
        assert (await first.submit(_community("warm"))).status_code == 202
        assert (await _cli(url, "models", "pause", "example-triage", "2.3.1")).exit_code == 0
        answer = (await first.submit(_community("next"))).json()
        assert answer["model_paused"] is True
