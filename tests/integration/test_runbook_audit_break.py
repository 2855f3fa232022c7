"""docs/runbooks/audit-verify-break.md, played: an entry is altered, `audit verify`
names it and exits non-zero, the evidence is kept, and the exported head still
proves everything up to it."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import running_gateway, triage
from runbook import Runbook, cli_env
from sqlalchemy import func, select, update

from gateway.app import create_app
from gateway.store.tables import audit_log

pytestmark = pytest.mark.integration


async def test_audit_verify_break_runbook(tmp_path: Path, database_url: str) -> None:
    page = Runbook("audit-verify-break.md")
    page.check_commands()
    page.says("preserve the evidence", "security officer", "45 CFR 164.404", "60 days")
    env = cli_env(database_url)
    async with running_gateway(tmp_path, database_url=database_url) as h:
        page.check_paths(create_app(h.gateway))
        for n in range(2):
            assert (await h.submit(triage(triage_id=f"before-{n}"))).status_code == 202
        exported = (await page.run("gateway audit head", env)).output
        (tmp_path / "audit-head.json").write_text(exported)
        assert (await h.submit(triage(triage_id="after"))).status_code == 202
        async with h.gateway.engine.begin() as conn:
            last = (await conn.execute(select(func.max(audit_log.c.seq)))).scalar_one()
            await conn.execute(
                update(audit_log)
                .where(audit_log.c.seq == last)
                .values(entry=b'{"resourceType": "AuditEvent", "edited": true}')
            )
        broken = await page.run("gateway audit verify", env, exit_code=1)
        assert f"entry {last}" in broken.output
        now_head = await page.run("gateway audit head", env)  # evidence: the head as found
        assert '"seq"' in now_head.output
        against = await page.run(
            f"gateway audit verify --head {tmp_path}/audit-head.json", env, exit_code=1
        )
        assert f"entry {last}" in against.output  # the break is after the exported head
