"""A community referral finds a service in a real HSDS 3.0 directory and is delivered.

The directory is a real HTTP server on loopback serving the HSDS fixture pages;
the gateway uses its real connectors (outbound guard included) to reach it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from harness import base_config, running_gateway, triage
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "connectors" / "fixtures" / "hsds"
PAGES = ["services_page_1.json", "services_page_2.json"]


def directory_app(requests: list[dict[str, str]]) -> Starlette:
    async def services(request: Request) -> Response:
        requests.append(dict(request.query_params))
        page = int(request.query_params.get("page", "1"))
        return JSONResponse(json.loads((FIXTURES / PAGES[page - 1]).read_text()))

    async def service(request: Request) -> Response:
        file = FIXTURES / f"service_{request.path_params['service_id']}.json"
        if not file.exists():
            return Response(status_code=404)
        return JSONResponse(json.loads(file.read_text()))

    async def root(_request: Request) -> Response:
        return JSONResponse({"version": "3.0", "profile": "https://openreferral.org"})

    return Starlette(routes=[
        Route("/", root), Route("/services", services),
        Route("/services/{service_id}", service),
    ])


@pytest.fixture
def hsds_directory() -> Iterator[tuple[str, list[dict[str, str]]]]:
    requests: list[dict[str, str]] = []
    server = uvicorn.Server(
        uvicorn.Config(directory_app(requests), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", requests
    finally:
        server.should_exit = True
        thread.join(5)


async def test_community_referral_goes_to_a_directory_service(
    tmp_path: Path, hsds_directory: tuple[str, list[dict[str, str]]]
) -> None:
    url, requests = hsds_directory

    def config(keys: Any) -> dict[str, Any]:
        cfg = base_config(keys)
        cfg["destinations"].append(
            {"name": "community-directory", "type": "community", "hsds_base_url": url,
             "taxonomy_term_id": "mental-health-peer-support", "proximity": 5000,
             "allow_private_network": True, "delivery": {"type": "inbox"}}
        )
        cfg["routing"][2] = {"name": "community", "when": {"pathway": ["community"]},
                             "send_to": ["community-directory"]}
        return cfg

    body = triage()
    body["request"]["pathway"] = "community"
    body["assessments"][0]["answers"][8] = 0
    body["risk"]["signals"] = []  # nor does the app report one (CONTRACT v1.1 safety signals)
    async with running_gateway(tmp_path, config=config) as h:
        accepted = await h.submit(body)
        assert accepted.status_code == 202, accepted.text
        assert [r["destination"] for r in accepted.json()["routing"]] == ["community-directory"]
        await h.deliver_all()
        view = (await h.get(f"/referrals/{accepted.json()['referral_id']}")).json()
        [delivery] = view["deliveries"]
        assert delivery["status"] == "delivered", delivery
        assert delivery["receipt"]["remote_ids"]["hsds:service"].endswith("000000000002")
        assert "Peer Support Line" in delivery["receipt"]["detail"]
    assert requests[0]["taxonomy_term_id"] == "mental-health-peer-support"
    assert requests[0]["postcode"] == "94110"
