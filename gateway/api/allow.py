"""The ``Allow`` header of a 405: every method some route serves at that path (RFC 9110 §15.5.6).

Starlette names only the methods of the first route whose path matched; a path
served by several routes (``PUT`` and ``PATCH /fhir/Task/{id}``) needs them all.
Of the path templates matching, the most specific (fewest parameters) own the
path: ``/fhir/Task/_search`` is the search, not a Task whose id is ``_search``.
"""

from __future__ import annotations

import re
from functools import cache

from fastapi import FastAPI

from gateway.openapi_truth import api_routes

_PARAMETER = re.compile(r"\{[^}:]+(:path)?\}")


def _pattern(path_format: str) -> re.Pattern[str]:
    parts, last = [], 0
    for found in _PARAMETER.finditer(path_format):
        parts.append(re.escape(path_format[last : found.start()]))
        parts.append(".+" if found.group(1) else "[^/]+")
        last = found.end()
    parts.append(re.escape(path_format[last:]))
    return re.compile("^" + "".join(parts) + "$")


@cache
def _table(app: FastAPI) -> tuple[tuple[re.Pattern[str], int, frozenset[str]], ...]:
    return tuple(
        (
            _pattern(route.path_format),
            len(_PARAMETER.findall(route.path_format)),
            frozenset(route.methods or ()),
        )
        for route in api_routes(app)
    )


def allowed_methods(app: FastAPI, path: str) -> str:
    matching = [(params, served) for pattern, params, served in _table(app) if pattern.match(path)]
    fewest = min((params for params, _ in matching), default=0)
    methods = set().union(*(served for params, served in matching if params == fewest))
    return ", ".join(sorted(methods))
