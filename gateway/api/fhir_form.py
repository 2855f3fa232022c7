"""The body of ``POST /fhir/{type}/_search``: form-encoded parameters (R4 http.html#search)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from gateway.errors import GatewayError, MalformedRequest

FORM = "application/x-www-form-urlencoded"


class NotFormEncoded(GatewayError):
    status_code = 415
    issue_code = "not-supported"


def read_search_form(content_type: str | None, body: bytes) -> list[tuple[str, str]]:
    """The (name, value) pairs of the form; an empty body needs no Content-Type."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if not body and not media_type:
        return []
    if media_type != FORM:
        raise NotFormEncoded(f"a search by POST sends its parameters as {FORM}")
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        raise MalformedRequest("the search form is not valid UTF-8 form data") from None
