"""An HSDS 3.0 directory served from fixture files through httpx.MockTransport."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parent / "fixtures" / "hsds"
BASE_URL = "https://directory.example.org/hsds"
PEER_SERVICE = "5b8e6a0e-1c2d-4a3b-9f1e-000000000002"
WALK_IN_SERVICE = "5b8e6a0e-1c2d-4a3b-9f1e-000000000003"


class FixtureDirectory:
    """Answers ``/services?page=N`` from ``pages[N]`` and ``/services/{id}`` from files."""

    def __init__(self, *pages: str, status: int = 200) -> None:
        self.pages = pages
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.status != 200:
            return httpx.Response(self.status)
        path = request.url.path.removeprefix("/hsds")
        if path == "/services":
            page = int(request.url.params.get("page", "1"))
            return httpx.Response(200, json=load(self.pages[page - 1]))
        service_id = path.removeprefix("/services/")
        file = FIXTURES / f"service_{service_id}.json"
        if not file.exists():
            return httpx.Response(404)
        return httpx.Response(200, json=json.loads(file.read_text()))

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data
