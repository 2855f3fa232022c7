"""No name, birth date, phone, free text or token ever reaches a log line.

A canary person is pushed through the happy path and the error paths with the
real logging configuration; every byte logged (structlog and the standard
library) is searched for the canaries.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from harness import running_gateway, triage

from gateway.logging import configure_logging, redact

CANARY_NAME = "Zebulon"
CANARY_FAMILY = "Quixotefield"
CANARY_BIRTH = "1977-07-07"
CANARY_PHONE = "+1-555-0177"
CANARY_RATIONALE = "canary-rationale-zq"
CANARIES = (CANARY_NAME, CANARY_FAMILY, CANARY_BIRTH, CANARY_PHONE, CANARY_RATIONALE)


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        structlog.reset_defaults()


def canary_triage() -> dict:  # type: ignore[type-arg]
    body = triage()
    body["triage_id"] = "canary-1"
    body["patient"]["name"] = {"given": [CANARY_NAME], "family": CANARY_FAMILY}
    body["patient"]["birth_date"] = CANARY_BIRTH
    body["patient"]["telecom"] = [{"system": "phone", "value": CANARY_PHONE}]
    body["risk"]["rationale"] = CANARY_RATIONALE
    body["request"]["note"] = CANARY_RATIONALE
    return body


async def test_canary_never_reaches_a_log_line(tmp_path: Path, log_stream: io.StringIO) -> None:
    async with running_gateway(tmp_path) as h:
        token = await h.token()
        # Happy path: accept, deliver, read back.
        accepted = await h.submit(canary_triage())
        assert accepted.status_code == 202
        referral_id = accepted.json()["referral_id"]
        await h.deliver_all()
        assert (await h.get(f"/referrals/{referral_id}")).status_code == 200
        assert (await h.get("/fhir/Patient", client_id="operator")).status_code == 200
        # Error paths: a bad field carrying the canary, a changed body, no consent left,
        # not JSON, and the token itself in a refused request.
        bad = canary_triage()
        bad["triage_id"] = "canary-2"
        bad["patient"]["gender"] = CANARY_NAME
        bad["risk"]["level"] = CANARY_RATIONALE
        assert (await h.submit(bad)).status_code == 422
        changed = canary_triage()
        changed["risk"]["rationale"] = CANARY_RATIONALE + " changed"
        assert (await h.submit(changed)).status_code == 409
        refused = canary_triage()
        refused["triage_id"] = "canary-3"
        refused["consent"]["share_with"] = ["community"]
        refused["assessments"][0]["answers"][8] = 0
        assert (await h.submit(refused)).status_code == 403
        assert (await h.submit(f'{{"x": "{CANARY_NAME}'.encode())).status_code == 400
        await h.client.get(
            f"/patients/urn:x|{CANARY_PHONE}/export", headers={"Authorization": f"Bearer {token}"}
        )
        await h.client.get("/fhir/Task", headers={"Authorization": f"Bearer {CANARY_NAME}"})
    logged = log_stream.getvalue()
    assert "referral.accepted" in logged  # the logging really was captured
    for canary in (*CANARIES, token):
        assert canary not in logged, f"{canary!r} leaked into the logs"


def test_redaction_keeps_allowlisted_fields_only() -> None:
    event = {"event": "x", "referral_id": "r1", "name": CANARY_NAME, "note": CANARY_RATIONALE}
    out = redact(None, "info", event)
    assert out["referral_id"] == "r1"
    assert out["name"] == "[redacted]" and out["note"] == "[redacted]"


def test_exceptions_are_reduced_to_their_type() -> None:
    try:
        raise ValueError(CANARY_NAME)
    except ValueError as exc:
        out = redact(None, "error", {"event": "boom", "exc_info": exc})
    assert out == {"event": "boom", "error_type": "ValueError"}


def test_patient_paths_lose_the_identifier() -> None:
    out = redact(None, "info", {"event": "req", "path": f"/patients/urn:x|{CANARY_PHONE}/export"})
    assert CANARY_PHONE not in out["path"]
