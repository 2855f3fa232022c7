"""The FHIR surface speaks JSON only: anything else asked for is a 406 (R4 http.html#mime).

A pure ASGI middleware in front of ``/fhir``: an ``Accept`` header none of whose
media ranges admits JSON (``application/fhir+json``, ``application/json``,
``application/*``, ``*/*``), or a ``_format`` other than JSON (``_format=xml``,
``application/fhir+xml``, ``ttl``...), answers 406 with an OperationOutcome.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

JSON_TYPES = frozenset(
    {"application/fhir+json", "application/json", "application/json+fhir", "json"}
)
_RANGES = JSON_TYPES | {"*/*", "application/*"}


def _acceptable(accept: str) -> bool:
    for item in accept.split(","):
        media, *params = [part.strip().lower() for part in item.split(";")]
        quality = next((p.split("=", 1)[1] for p in params if p.startswith("q=")), "1")
        try:
            refused = float(quality) == 0
        except ValueError:
            refused = False
        if media in _RANGES and not refused:
            return True
    return False


def refusal(scope: Scope) -> str | None:
    """Why this request asks for a format other than JSON, or None."""
    for name, value in scope.get("headers", []):
        if name == b"accept":
            accept = value.decode("latin-1")
            if accept.strip() and not _acceptable(accept):
                return f"Accept: {accept[:100]} (only application/fhir+json is served)"
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    for name, value in query:
        media = value.split(";", 1)[0].strip().lower().replace(" ", "+")  # an unescaped '+'
        if name == "_format" and media not in JSON_TYPES:
            return f"_format={value[:100]} (only json is served)"
    return None


class JsonOnly:
    def __init__(self, app: ASGIApp, prefix: str = "/fhir") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        why = refusal(scope) if path == self.prefix or path.startswith(self.prefix + "/") else None
        if why is None:
            await self.app(scope, receive, send)
            return
        body = orjson.dumps(
            {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "not-supported", "diagnostics": why}],
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 406,
                "headers": [(b"content-type", b"application/fhir+json")],
            }
        )
        await send({"type": "http.response.body", "body": body})
