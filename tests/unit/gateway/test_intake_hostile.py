"""Hostile text and bodies at POST /triage-results (CONTRACT.md v1.1, "Intake, made precise").

Each refusal names the field, and nothing is stored.
"""

from __future__ import annotations

import gzip
import json
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import Harness, running_gateway, triage
from sqlalchemy import func, select

from gateway.store.tables import referrals

Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Edit:
    def edit(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = body
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return edit


REFUSED: list[tuple[str, Edit, str]] = [
    ("not a calendar date", _set("patient.birth_date", "1998-02-31"), "patient.birth_date"),
    ("a leap day in a common year", _set("patient.birth_date", "2001-02-29"), "patient.birth_date"),
    ("a date-time without a zone", _set("submitted_at", "2026-11-27T10:04:00"), "submitted_at"),
    ("a date-time as a number", _set("submitted_at", 1764237840), "submitted_at"),
    (
        "completed_at without seconds",
        _set("assessments.0.completed_at", "2026-11-27T10:01Z"),
        "assessments[0].completed_at",
    ),
    ("expires not a real date", _set("consent.expires", "2027-02-30"), "consent.expires"),
    ("NUL in a name", _set("patient.name.family", "Ru\x00iz"), "patient.name.family"),
    ("ESC in a given name", _set("patient.name.given.0", "An\x1ba"), "patient.name.given[0]"),
    ("DEL in a name", _set("patient.name.family", "Ruiz\x7f"), "patient.name.family"),
    ("a control character in a phone", _set("patient.telecom.0.value", "+1\x0b555"),
     "patient.telecom[0].value"),
    ("a right-to-left override", _set("patient.name.family", "Ru\u202eziu"), "patient.name.family"),
    ("a left-to-right embedding", _set("patient.name.family", "\u202aRuiz"), "patient.name.family"),
    ("a first-strong isolate", _set("patient.name.given.0", "A\u2068na"), "patient.name.given[0]"),
    ("a pop directional isolate", _set("patient.name.given.0", "Ana\u2069"),
     "patient.name.given[0]"),
    ("a zero-width-only name", _set("patient.name.family", "\u200b\u200c\u200d"),
     "patient.name.family"),
    ("a BOM-only given name", _set("patient.name.given.0", "\ufeff"), "patient.name.given[0]"),
    ("a carriage return in a note", _set("request.note", "one\rtwo"), "request.note"),
    ("NUL in a note", _set("request.note", "one\x00two"), "request.note"),
    ("a control character in the rationale", _set("risk.rationale", "why\x07"), "risk.rationale"),
    ("a no-break space FHIR strings refuse", _set("patient.name.family", "Ruiz\u00a0Diaz"),
     "patient.name.family"),
    ("a line separator in a name", _set("patient.name.family", "Ru\u2028iz"),
     "patient.name.family"),
    ("whitespace in an identifier system (a FHIR uri)",
     _set("patient.identifiers.0.system", "https://app.example.org/my patients"),
     "patient.identifiers[0].system"),
    ("a control character in the triage id", _set("triage_id", "t\x01"), "triage_id"),
    ("whitespace in the consent text version (it becomes a FHIR url)",
     _set("consent.accepted_text_version", "consent text v3"), "consent.accepted_text_version"),
    ("an unknown signal", _set("risk.signals", ["phq9-item9-positive", "self-harm-languag"]),
     "risk.signals[1]"),
]  # fmt: skip


async def _stored(h: Harness) -> int:
    async with h.gateway.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(referrals))).scalar_one())


async def test_each_hostile_field_is_a_422_naming_it_and_nothing_is_stored(
    tmp_path: Path,
) -> None:
    async with running_gateway(tmp_path) as h:
        for index, (label, edit, field) in enumerate(REFUSED):
            body = triage(triage_id=f"hostile-{index}")
            edit(body)
            response = await h.submit(body)
            assert response.status_code == 422, (label, response.text)
            outcome = response.json()
            assert outcome["resourceType"] == "OperationOutcome"
            named = [e for issue in outcome["issue"] for e in issue.get("expression", [])]
            assert field in named, (label, named)
        assert await _stored(h) == 0


async def test_tab_and_newline_are_allowed_in_notes(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as h:
        body = triage()
        body["request"]["note"] = "line one\n\tline two"
        assert (await h.submit(body)).status_code == 202


async def test_text_is_stored_nfc_normalised(tmp_path: Path) -> None:
    decomposed = "Jose\u0301"  # e + combining acute: NFD
    async with running_gateway(tmp_path) as h:
        body = triage()
        body["patient"]["name"]["family"] = decomposed
        response = await h.submit(body)
        assert response.status_code == 202, response.text
        await h.deliver_all()
        async with h.gateway.engine.connect() as conn:
            bundle = json.loads((await conn.execute(select(referrals.c.bundle))).scalar_one())
        patient = next(
            e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
        )
        family = patient["name"][0]["family"]
        assert family == unicodedata.normalize("NFC", decomposed) and family != decomposed


async def test_a_duplicate_key_anywhere_is_a_400_naming_the_key(tmp_path: Path) -> None:
    text = json.dumps(triage())
    nested = text.replace('"level": "moderate"', '"level": "moderate", "level": "none"', 1)
    top = text[:-1] + ', "triage_id": "other"}'
    assert nested != text
    async with running_gateway(tmp_path) as h:
        for body, where in [(nested, "risk.level"), (top, "triage_id")]:
            response = await h.submit(body.encode())
            assert response.status_code == 400, response.text
            named = [e for issue in response.json()["issue"] for e in issue.get("expression", [])]
            assert named == [where]
        assert await _stored(h) == 0


async def _post(h: Harness, content: bytes, headers: dict[str, str]) -> Any:
    return await h.client.post(
        "/triage-results", content=content, headers={**await h.auth(), **headers}
    )


async def test_a_body_not_declared_json_is_415(tmp_path: Path) -> None:
    body = json.dumps(triage()).encode()
    async with running_gateway(tmp_path) as h:
        for content_type in ["text/plain", "application/x-www-form-urlencoded", "application/xml"]:
            response = await _post(h, body, {"Content-Type": content_type})
            assert response.status_code == 415, (content_type, response.text)
        for content_type in ["application/json; charset=utf-8", "application/fhir+json"]:
            body = json.dumps(triage(triage_id=content_type)).encode()
            response = await _post(h, body, {"Content-Type": content_type})
            assert response.status_code == 202, (content_type, response.text)


async def test_a_gzip_body_is_decoded(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as h:
        response = await _post(
            h,
            gzip.compress(json.dumps(triage()).encode()),
            {"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert response.status_code == 202, response.text


async def test_a_zip_bomb_is_413_on_the_decoded_size(tmp_path: Path) -> None:
    limit = 64 * 1024
    # 50 MB of one byte inside a JSON string compresses to about 50 kB: under the limit
    # on the wire, a thousand times over it decoded.
    bomb = gzip.compress(b'{"triage_id": "' + b"a" * 50_000_000 + b'"}', compresslevel=9)
    assert len(bomb) < limit
    async with running_gateway(tmp_path, settings={"max_body_bytes": limit}) as h:
        response = await _post(
            h, bomb, {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        )
        assert response.status_code == 413, response.text
        assert await _stored(h) == 0


async def test_other_content_encodings_are_415(tmp_path: Path) -> None:
    body = json.dumps(triage()).encode()
    async with running_gateway(tmp_path) as h:
        for encoding in ["br", "deflate", "compress", "zstd"]:
            response = await _post(
                h, body, {"Content-Type": "application/json", "Content-Encoding": encoding}
            )
            assert response.status_code == 415, (encoding, response.text)


async def test_a_broken_gzip_body_is_400(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as h:
        response = await _post(
            h,
            b"\x1f\x8b not gzip",
            {"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert response.status_code == 400, response.text
