"""The ceiling: a trivial FastAPI POST endpoint, served exactly like the gateway."""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

app = FastAPI()


@app.post("/triage-results")
async def accept(request: Request) -> Response:
    body = orjson.loads(await request.body())
    return Response(
        orjson.dumps({"ok": bool(body)}), status_code=202, media_type="application/json"
    )
