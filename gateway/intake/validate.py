"""Turn request bytes into a ``TriageSubmission`` or an error that names each bad field.

Structural checks come from the pydantic models in ``schema``; instrument checks
(answer count and range, a sent ``total`` that disagrees) come from the
instrument definitions in ``mappings/``. Errors carry FHIRPath-like expressions
such as ``assessments[0].answers[3]`` for ``OperationOutcome.issue.expression``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pydantic import ValidationError

from gateway.errors import InvalidInput, Issue, MalformedRequest
from gateway.intake.schema import InlineConsent, TriageSubmission
from mappings.instruments import get_instrument

_UNION_TAGS = {
    "int", "bool", "none", "str", "float", "InlineConsent", "ConsentReference", "inline",
    "reference",
}  # fmt: skip


def expression(loc: Sequence[int | str]) -> str:
    """``("assessments", 0, "answers", 3)`` -> ``assessments[0].answers[3]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _UNION_TAGS or "[" in part:
            continue
        else:
            out += f".{part}" if out else part
    return out or "$"


def _issues(error: ValidationError) -> list[Issue]:
    issues: list[Issue] = []
    seen: set[str] = set()
    for problem in error.errors(include_input=False, include_url=False):
        where = expression(problem["loc"])
        message = problem["msg"]
        if where in seen:
            continue  # a union reports each alternative; the first says enough
        seen.add(where)
        issues.append(Issue(diagnostics=f"{where}: {message}", expression=where))
    return issues


def parse_submission(body: bytes) -> TriageSubmission:
    """Parse and structurally validate; raise ``MalformedRequest`` or ``InvalidInput``."""
    try:
        return TriageSubmission.model_validate_json(body)
    except ValidationError as exc:
        if any(p["type"] == "json_invalid" for p in exc.errors()):
            raise MalformedRequest("The body is not valid JSON.") from None
        if any(p["type"] == "model_type" and not p["loc"] for p in exc.errors()):
            raise InvalidInput(
                "The body must be a JSON object.", issues=[Issue("must be an object", "$")]
            ) from None
        raise InvalidInput("The triage result is not valid.", issues=_issues(exc)) from None


def check_semantics(submission: TriageSubmission, *, today: date) -> dict[int, int | None]:
    """Instrument answers and totals, consent dates. Returns computed totals by assessment index."""
    issues: list[Issue] = []
    totals: dict[int, int | None] = {}
    for index, assessment in enumerate(submission.assessments):
        where = f"assessments[{index}]"
        try:
            instrument = get_instrument(assessment.instrument)
        except KeyError:
            issues.append(
                Issue(f"{where}.instrument: unknown instrument", expression=f"{where}.instrument")
            )
            continue
        problems = instrument.check_answers(list(assessment.answers))
        for item, message in problems:
            at = f"{where}.answers" + (f"[{item}]" if item is not None else "")
            issues.append(Issue(f"{at}: {message}", expression=at))
        if problems:
            continue
        total = instrument.total(list(assessment.answers))
        totals[index] = total
        if assessment.total is not None and total is None:
            issues.append(
                Issue(
                    f"{where}.total: the {instrument.title} has no total score",
                    expression=f"{where}.total",
                )
            )
        elif assessment.total is not None and assessment.total != total:
            issues.append(
                Issue(
                    f"{where}.total: {assessment.total} disagrees with the answers, "
                    f"which total {total}",
                    expression=f"{where}.total",
                )
            )
    consent = submission.consent
    if isinstance(consent, InlineConsent) and consent.expires and consent.expires < today:
        issues.append(Issue("consent.expires: is in the past", expression="consent.expires"))
    if (
        submission.patient.birth_date
        and submission.patient.birth_date > today.isoformat()[: len(submission.patient.birth_date)]
    ):
        issues.append(
            Issue("patient.birth_date: is in the future", expression="patient.birth_date")
        )
    if issues:
        raise InvalidInput("The triage result is not valid.", issues=issues)
    return totals
