"""``gateway demo``: act as the demo triage app against a running gateway.

It obtains a token the SMART Backend Services way (a signed assertion, via the
gateway's ``.well-known/smart-configuration``), submits every file in
``examples/triage/`` and prints where each referral went and why.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, TextIO

import httpx

from connectors.smart_backend import SmartBackendAuth, SmartBackendCredentials
from gateway.delivery.status import OPEN

DEMO_SCOPES = "system/ServiceRequest.c system/ServiceRequest.r"


SETTLE_SECONDS = 20.0
"""How long the demo waits for the worker to deliver before it shows the outcome."""


async def run_demo(
    url: str, examples: Path, client_id: str, key: Path, kid: str, *, out: TextIO
) -> int:
    files = sorted(examples.glob("*.json"))
    if not files:
        out.write(f"no triage results in {examples}\n")
        return 1
    async with httpx.AsyncClient(timeout=10) as plain:
        try:
            await plain.get(f"{url.rstrip('/')}/healthz")
        except httpx.HTTPError as error:
            out.write(f"gateway demo: cannot reach the gateway at {url} ({type(error).__name__})\n")
            return 1
        auth = SmartBackendAuth(
            SmartBackendCredentials(
                client_id=client_id,
                private_key_pem=key.read_bytes(),
                kid=kid,
                alg="ES384",
                scope=DEMO_SCOPES,
            ),
            base_url=url,
            http=plain,
        )
        async with httpx.AsyncClient(base_url=url, auth=auth, timeout=10) as client:
            failures = 0
            locations: dict[str, str] = {}
            for path in files:
                response = await client.post(
                    "/triage-results",
                    content=path.read_bytes(),
                    headers={"Content-Type": "application/json"},
                )
                if response.status_code != 202:
                    failures += 1
                    out.write(f"{path.name}: HTTP {response.status_code} {response.text}\n")
                    continue
                body = response.json()
                locations[path.name] = response.headers["location"]
                out.write(f"{path.name}: referral {body['referral_id']} ({body['status']})\n")
                for route in body["routing"]:
                    verdict = "sent" if route["decision"] == "permit" else "NOT sent"
                    out.write(f"  -> {route['destination']} [{verdict}]: {route['reason']}\n")
                    if route["decision"] != "permit":
                        out.write(f"     consent: {route['consent_reason']}\n")
            views = await _settled(client, locations)
            for path in files:
                triage_id = json.loads(path.read_text())["triage_id"]
                out.write(f"{path.name} ({triage_id}): ")
                view = views.get(path.name)
                if view is None:
                    out.write("not accepted\n")
                    continue
                deliveries = ", ".join(
                    f"{d['destination']}={d['status']}" for d in view.get("deliveries", [])
                )
                out.write(f"{view['status']}: {deliveries}\n")
    return 1 if failures else 0


async def _settled(
    client: httpx.AsyncClient, locations: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Each referral's view once no delivery of it is still open (the worker has had its
    go), or as it stands after ``SETTLE_SECONDS``."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        views = {name: (await client.get(where)).json() for name, where in locations.items()}
        open_ = [
            d for v in views.values() for d in v.get("deliveries", []) if d.get("status") in OPEN
        ]
        if not open_ or time.monotonic() > deadline:
            return views
        await asyncio.sleep(0.25)
