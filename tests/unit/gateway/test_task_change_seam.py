"""gateway.notify knows no listener: the closed loop listens, wired by bootstrap."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from harness import running_gateway
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway import notify
from gateway.referral_loop.outbox import on_task_changed

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def test_every_listener_hears_a_change_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify, "_listeners", [])
    heard: list[tuple[str, str | None]] = []

    async def listener(
        conn: AsyncConnection,
        *,
        referral_id: str,
        task: dict[str, Any],
        previous_status: str | None,
        now: datetime,
    ) -> None:
        heard.append((referral_id, previous_status))

    notify.listen(listener)
    notify.listen(listener)
    await notify.task_changed(
        None,  # type: ignore[arg-type]
        referral_id="r1",
        task={"id": "t1"},
        previous_status="requested",
        now=NOW,
    )
    assert heard == [("r1", "requested")]


async def test_the_gateway_wires_the_closed_loop_in(tmp_path: Path) -> None:
    async with running_gateway(tmp_path):
        assert on_task_changed in notify._listeners
