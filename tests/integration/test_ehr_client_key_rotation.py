"""`gateway keys rotate --which ehr-client` against a real SMART-protected EHR that
registered `GET /auth/ehr-client-jwks` as the gateway's jwks_uri (sekmet-fhir with
`jwks_url`): the EHR follows the rotation, no one re-registers, nothing is refused."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from harness import running_gateway
from sekmet import (
    ehr_destination,
    free_port,
    routed_to_ehr,
    smart_registration,
    start_sekmet,
    unique_triage,
)
from typer.testing import CliRunner

from gateway.app import create_app
from gateway.bootstrap import Gateway
from gateway.cli import app as cli

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def listening(gateway: Gateway, port: int) -> AsyncIterator[None]:
    """The harness's gateway on a real loopback port, so the EHR can fetch its keys."""
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(gateway), host="127.0.0.1", port=port, lifespan="off", log_level="warning"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        await task


async def test_an_ehr_with_our_jwks_uri_follows_an_ehr_client_rotation(tmp_path: Path) -> None:
    port = free_port()
    jwks_url = f"http://127.0.0.1:{port}/auth/ehr-client-jwks"
    smart = smart_registration(tmp_path / "keys")
    database_url = f"sqlite+aiosqlite:///{tmp_path}/gateway.db"
    with start_sekmet(tmp_path / "ehr", smart=smart, registered_jwks_url=jwks_url) as ehr:
        config = routed_to_ehr(ehr_destination(ehr))
        async with (
            running_gateway(tmp_path, database_url=database_url, config=config) as h,
            listening(h.gateway, port),
        ):
            before = (await h.client.get("/auth/ehr-client-jwks")).json()["keys"]
            assert [k["kid"] for k in before] == [smart.kid]  # seeded from the key file
            rotated = await asyncio.to_thread(
                CliRunner().invoke,
                cli,
                ["keys", "rotate", "--which", "ehr-client"],
                env={"GATEWAY_DATABASE_URL": database_url},
            )
            assert rotated.exit_code == 0, rotated.output
            keyring = h.gateway.ehr_keyring
            assert keyring is not None
            await keyring.refresh()  # as every process does within its refresh interval
            new_kid = (await keyring.signer()).kid
            published = (await h.client.get("/auth/ehr-client-jwks")).json()["keys"]
            assert {k["kid"] for k in published} == {smart.kid, new_kid}
            assert all("d" not in k for k in published)  # public halves only
            response = await h.submit(unique_triage("minimal-patient"))
            assert response.status_code == 202
            assert await h.deliver_all() == 1
            view = (await h.get(response.headers["location"])).json()
            assert view["deliveries"][0]["status"] == "delivered", view["deliveries"]
