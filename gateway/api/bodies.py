"""Reading JSON request bodies the same way on every route.

CONTRACT.md v1.1, "Intake, made precise":

- ``Content-Type`` must be ``application/json`` or ``application/*+json`` (RFC 6839 §3.1
  structured syntax suffix), else 415.
- ``Content-Encoding: gzip`` (RFC 9110 §8.4.1.3) is decoded as it streams in, and the size
  limit applies to the decoded body, so a zip bomb is refused with 413 after at most
  ``limit`` decoded bytes, in bounded memory. Any other encoding: 415.
- A JSON object with a duplicate key anywhere is refused with 400 naming the key
  (RFC 8259 §4: names SHOULD be unique; parsers then disagree on which value wins).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import Request

from gateway.errors import Issue, MalformedRequest, PayloadTooLarge, UnsupportedMediaType

_IDENTITY = {"", "identity"}
_GZIP = {"gzip", "x-gzip"}
_CHUNK = 64 * 1024


def is_json_media_type(content_type: str | None) -> bool:
    """``application/json`` or ``application/<anything>+json``, parameters ignored."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def check_json_content_type(request: Request, *, required: bool = True) -> None:
    """415 unless the body is declared JSON; ``required=False`` lets a missing header pass."""
    content_type = request.headers.get("content-type")
    if content_type is None and not required:
        return
    if not is_json_media_type(content_type):
        raise UnsupportedMediaType(
            "The body must be application/json (or application/*+json).",
            issues=[Issue(f"Content-Type {content_type or '(none)'} is not JSON", "Content-Type")],
        )


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The body is larger than {limit} bytes.")


async def _gunzip(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """Decode a gzip stream, never holding more than ``limit`` decoded bytes."""
    decoder = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out, size = [], 0
    try:
        async for chunk in chunks:
            data = chunk
            while data:
                piece = decoder.decompress(data, _CHUNK)
                size += len(piece)
                if size > limit:
                    raise _too_large(limit)
                out.append(piece)
                data = decoder.unconsumed_tail
            if decoder.eof:
                break
        tail = decoder.flush()
    except zlib.error:
        raise MalformedRequest("The body is not valid gzip.") from None
    size += len(tail)
    if size > limit:
        raise _too_large(limit)
    if not decoder.eof:
        raise MalformedRequest("The gzip body is truncated.")
    return b"".join([*out, tail])


async def _raw(request: Request, limit: int) -> AsyncIterator[bytes]:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        yield chunk


async def read_limited(request: Request, limit: int) -> bytes:
    """The decoded body, refusing more than ``limit`` (decoded) bytes without reading it all."""
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding in _GZIP:
        return await _gunzip(_raw(request, limit), limit)
    if encoding not in _IDENTITY:
        raise UnsupportedMediaType(
            "The only content encoding accepted is gzip.",
            issues=[Issue(f"Content-Encoding {encoding} is not supported", "Content-Encoding")],
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    return b"".join([chunk async for chunk in _raw(request, limit)])


async def read_json_bytes(request: Request, limit: int, *, typed: bool = True) -> bytes:
    """A JSON body's bytes: 415 when not JSON or not identity/gzip, 413 when too large,
    400 when it has a duplicate key (its syntax is checked by whoever parses it).

    ``typed=False`` (the FHIR write routes) accepts a body sent with no ``Content-Type``.
    """
    check_json_content_type(request, required=typed)
    body = await read_limited(request, limit)
    refuse_duplicate_keys(body)
    return body


async def read_json(request: Request, limit: int) -> Any:
    """The body as JSON (415 declared not JSON, 413 too large, 400 not JSON or a duplicate key)."""
    body = await read_json_bytes(request, limit, typed=False)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedRequest("The body is not valid JSON.") from None


class _Object(dict[str, Any]):
    """A parsed JSON object that remembers where its first repeated key is."""

    duplicate: str | None = None


def _where(value: Any) -> str | None:
    if isinstance(value, _Object):
        return value.duplicate
    if isinstance(value, list):
        for index, item in enumerate(value):
            inner = _where(item)
            if inner is not None:
                return f"[{index}]" + ("" if inner.startswith("[") else ".") + inner
    return None


def _pairs(pairs: list[tuple[str, Any]]) -> _Object:
    """Called innermost first, so each object learns its children's repeated keys too."""
    out = _Object()
    for key, value in pairs:
        if out.duplicate is None:
            if key in out:
                out.duplicate = key
            else:
                inner = _where(value)
                if inner is not None:
                    out.duplicate = key + ("" if inner.startswith("[") else ".") + inner
        out[key] = value
    return out


def duplicate_key(body: bytes) -> str | None:
    """Where the first key repeated in one JSON object of ``body`` is (``risk.level``).

    A body that is not JSON has none here: the parser that reads it says what is wrong.
    """
    try:
        parsed = json.loads(body, object_pairs_hook=_pairs)
    except (ValueError, RecursionError):
        return None
    return _where(parsed)


def refuse_duplicate_keys(body: bytes) -> None:
    where = duplicate_key(body)
    if where is not None:
        key = where.rsplit(".", 1)[-1]
        raise MalformedRequest(
            f"The JSON key {key!r} appears twice in one object ({where}).",
            issues=[Issue(f"{where}: duplicate key {key!r}", expression=where, code="structure")],
        )
