"""The searchset Bundle of a FHIR search, with its paging links (R4 http.html#paging).

Links repeat exactly the parameters applied (an ignored one is left out, so a caller
sees what its search meant) and page with ``_offset``; ``search.mode`` is ``match``
for what the search found and ``include`` for what ``_include`` added.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from gateway.context import fhir_instant
from gateway.fhir_search import Criteria
from gateway.store.fhir_store import StoredResource


def _entry(public_url: str, resource: StoredResource, mode: str) -> dict[str, Any]:
    return {
        "fullUrl": f"{public_url}/fhir/{resource.resource_type}/{resource.id}",
        "resource": resource.body,
        "search": {"mode": mode},
    }


def paging_links(
    base: str, criteria: Criteria, applied: list[tuple[str, str]], *, total: int, shown: int
) -> list[dict[str, str]]:
    """``self``, and ``first``/``previous``/``next``/``last`` when there are pages."""

    def url(pairs: list[tuple[str, str]]) -> str:
        return f"{base}?{urlencode(pairs)}" if pairs else base

    links = [{"relation": "self", "url": url(applied)}]
    size, offset = criteria.count, criteria.offset
    if criteria.summary_count or size == 0:
        return links
    rest = [(k, v) for k, v in applied if k not in ("_offset", "_count")] + [("_count", str(size))]

    def page(start: int) -> str:
        return url(rest + ([("_offset", str(start))] if start else []))

    links.append({"relation": "first", "url": page(0)})
    if offset > 0:
        links.append({"relation": "previous", "url": page(max(0, offset - size))})
    if offset + shown < total:
        links.append({"relation": "next", "url": page(offset + size)})
    if total > 0:
        links.append({"relation": "last", "url": page((total - 1) // size * size)})
    return links


def searchset(
    public_url: str,
    criteria: Criteria,
    applied: list[tuple[str, str]],
    *,
    total: int,
    found: list[StoredResource],
    included: list[StoredResource],
    timestamp: datetime,
) -> dict[str, Any]:
    base = f"{public_url}/fhir/{criteria.resource_type}"
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": fhir_instant(timestamp),
        "total": total,
        "link": paging_links(base, criteria, applied, total=total, shown=len(found)),
    }
    entries = [_entry(public_url, r, "match") for r in found]
    entries += [_entry(public_url, r, "include") for r in included]
    if entries:
        bundle["entry"] = entries
    return bundle
