"""Reading request bodies and headers the same way on every route."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from gateway.errors import MalformedRequest, PayloadTooLarge


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refusing more than ``limit`` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body is larger than {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, limit: int) -> Any:
    """The body as JSON (413 when too large, 400 when not JSON)."""
    try:
        return orjson.loads(await read_limited(request, limit))
    except orjson.JSONDecodeError:
        raise MalformedRequest("The body is not valid JSON.") from None
