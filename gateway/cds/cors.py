"""CORS for browser-based CDS Clients (CDS Hooks 2.0 §"Cross-Origin Resource Sharing").

Only the origins listed under ``cds_clients[].origins`` are answered with
``Access-Control-Allow-Origin``; the JWT is still what authenticates each call
(no cookies, so no ``Allow-Credentials``). Applies to the CDS Hooks routes only.
"""

from __future__ import annotations

from gateway.cds.config import CdsClientConfig

ALLOWED_HEADERS = "Authorization, Content-Type"
ALLOWED_METHODS = "GET, POST, OPTIONS"
MAX_AGE = "600"


class CorsPolicy:
    def __init__(self, clients: list[CdsClientConfig]) -> None:
        self._origins = frozenset(origin for client in clients for origin in client.origins)

    def headers(self, origin: str | None, *, preflight: bool = False) -> dict[str, str]:
        if origin is None or origin not in self._origins:
            return {}
        headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        if preflight:
            headers.update(
                {
                    "Access-Control-Allow-Methods": ALLOWED_METHODS,
                    "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                    "Access-Control-Max-Age": MAX_AGE,
                }
            )
        return headers
