"""One CDS Hooks card for one open referral (pure).

CDS Hooks 2.0 §"Card Attributes" (https://cds-hooks.hl7.org/2.0/#card-attributes):
``uuid`` (here stable per referral, so feedback names the referral), ``summary`` under
140 characters, ``indicator`` (``critical`` for high or imminent risk or any safety
signal, ``warning`` for moderate, else ``info``), ``source`` (the triage app and model,
linking the model card), markdown ``detail``, ``links`` (the referral in the console)
and ``overrideReasons``. What the card says comes from ``view``: the referral's Bundle
as minimised for the EHR's consent category; the instrument answers and what the AI
model produced are kept in separate, labelled sections (HTI-1 source attributes; HL7
AI Transparency on FHIR: ``AIAST``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

CARD_NAMESPACE = uuid.UUID("3f0c9f4e-6f1a-5c39-9d1e-8a3b7c2e4d10")
SUMMARY_LIMIT = 139
OVERRIDE_SYSTEM = "urn:referral-gateway:cds-override-reason"
OVERRIDE_REASONS = (
    ("already-aware", "Already aware of this referral"),
    ("risk-disagree", "I disagree with the AI model's risk level"),
    ("not-relevant", "Not relevant to this visit"),
)
SAFETY_SIGNALS = frozenset(
    {
        "phq9-item9-positive",
        "cssrs-ideation",
        "cssrs-behavior",
        "self-harm-language",
        "harm-to-others-language",
    }
)
"""Signals that add the crisis route (CONTRACT.md v1.1, "Intake, made precise")."""
_POSITIVE = "POS"
_LEVEL_WORDS = {
    "none": "no current",
    "low": "low",
    "moderate": "moderate",
    "high": "high",
    "imminent": "imminent",
}


@dataclass(frozen=True)
class OpenReferral:
    """What the gateway holds about one open referral, before consent shapes the card."""

    referral_id: str
    client_id: str
    """The triage app that submitted it."""
    risk_level: str
    status: str
    """The referral's open Task status (``requested``, ``accepted``, ``in-progress`` ...)."""
    received_at: datetime
    explanation: dict[str, Any]
    """The stored plain-language "why" (``mappings.explain``)."""

    @property
    def model_name(self) -> str:
        return str(self.explanation.get("model", {}).get("name", "unknown"))

    @property
    def model_version(self) -> str:
        return str(self.explanation.get("model", {}).get("version", "unknown"))


def card_uuid(referral_id: str) -> str:
    """The same for a referral on every call, so feedback can be traced to it."""
    return str(uuid.uuid5(CARD_NAMESPACE, referral_id))


def has_safety_signal(referral: OpenReferral) -> bool:
    reported = referral.explanation.get("risk", {}).get("reported_signals") or []
    answered = referral.explanation.get("safety_signals") or []
    return bool(answered) or any(signal in SAFETY_SIGNALS for signal in reported)


def indicator(referral: OpenReferral) -> str:
    if referral.risk_level in ("high", "imminent") or has_safety_signal(referral):
        return "critical"
    return "warning" if referral.risk_level == "moderate" else "info"


def build_card(referral: OpenReferral, view: dict[str, Any], *, public_url: str) -> dict[str, Any]:
    """The card for ``referral`` showing only what ``view`` (the minimised Bundle) holds."""
    resources = [e["resource"] for e in view.get("entry", []) if e.get("resource")]
    risk = _first(resources, "RiskAssessment")
    model = f"{referral.model_name} {referral.model_version}"
    return {
        "uuid": card_uuid(referral.referral_id),
        "summary": _summary(referral, risk, resources),
        "indicator": indicator(referral),
        "detail": _detail(referral, resources, risk),
        "source": {
            "label": f"{referral.client_id} (triage model {model}) via the referral gateway",
            "url": f"{public_url}/models/{referral.model_name}/{referral.model_version}",
            "topic": {
                "system": "urn:referral-gateway:cds-topic",
                "code": "mental-health-referral",
                "display": "Mental-health referral",
            },
        },
        "links": [
            {
                "label": "Open the referral in the gateway console",
                "url": f"{public_url}/console/referrals/{referral.referral_id}",
                "type": "absolute",
            }
        ],
        "overrideReasons": [
            {"system": OVERRIDE_SYSTEM, "code": code, "display": display}
            for code, display in OVERRIDE_REASONS
        ],
    }


def _summary(
    referral: OpenReferral, risk: dict[str, Any] | None, resources: list[dict[str, Any]]
) -> str:
    since = referral.received_at.date().isoformat()
    text = "Open mental-health referral"
    if risk is not None:
        level = _LEVEL_WORDS.get(referral.risk_level, referral.risk_level)
        text += f": AI triage rated {level} risk"
    if _positive_answers(resources):
        text += "; a safety question was answered positively"
    text += f" ({referral.status} since {since})"
    return text if len(text) <= SUMMARY_LIMIT else text[: SUMMARY_LIMIT - 1] + "…"


def _detail(
    referral: OpenReferral, resources: list[dict[str, Any]], risk: dict[str, Any] | None
) -> str:
    lines = [
        f"**Referral** {referral.referral_id}: {referral.status}, received "
        f"{referral.received_at.date().isoformat()} from {_md(referral.client_id)}.",
        "",
        "### What the person answered",
        "",
    ]
    answers = _answer_lines(resources)
    lines += answers or ["_No questionnaire answers are shared with this record._"]
    lines += ["", "### What the AI model produced", ""]
    if risk is None:
        lines.append("_The AI model's output is not shared with this record._")
    else:
        lines += _model_lines(referral, risk)
    return "\n".join(lines)


def _answer_lines(resources: list[dict[str, Any]]) -> list[str]:
    lines = []
    for observation in _all(resources, "Observation"):
        name = _md(observation.get("code", {}).get("text") or "Score")
        if "valueInteger" in observation:
            band = _interpretation(observation)
            suffix = f" ({_md(band)})" if band else ""
            lines.append(f"- {name}: **{observation['valueInteger']}**{suffix}")
    for observation in _positive_answers(resources):
        question = _md(observation.get("code", {}).get("text") or "Safety question")
        answer = _md(observation.get("valueCodeableConcept", {}).get("text") or "positive")
        lines.append(f"- Safety question positive: \u201c{question}\u201d: **{answer}**")
    return lines


def _model_lines(referral: OpenReferral, risk: dict[str, Any]) -> list[str]:
    prediction = (risk.get("prediction") or [{}])[0]
    level = prediction.get("qualitativeRisk", {}).get("text") or referral.risk_level
    lines = [
        "_Produced by an AI model, not by a clinician; see the model card._",
        "",
        f"- Model: {_md(referral.model_name)}, version {_md(referral.model_version)}",
        f"- Risk level (the model's): **{_md(level)}**",
    ]
    confidence = prediction.get("probabilityDecimal")
    if isinstance(confidence, int | float):
        lines.append(f"- Confidence (the model's): {round(confidence * 100)}%")
    reported = referral.explanation.get("risk", {}).get("reported_signals") or []
    if reported:
        lines.append(f"- Signals the app reported: {_md(', '.join(reported))}")
    rationale = prediction.get("rationale")
    if rationale:
        lines += ["", "The model's rationale, in its own words:", "", f"> {_md(rationale)}"]
    return lines


def _positive_answers(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        o
        for o in _all(resources, "Observation")
        if "valueInteger" not in o
        and any(
            c.get("code") == _POSITIVE
            for i in o.get("interpretation", [])
            for c in i.get("coding", [])
        )
    ]


def _interpretation(observation: dict[str, Any]) -> str | None:
    for item in observation.get("interpretation", []):
        if item.get("text"):
            return str(item["text"])
    return None


def _first(resources: list[dict[str, Any]], rtype: str) -> dict[str, Any] | None:
    return next(iter(_all(resources, rtype)), None)


def _all(resources: list[dict[str, Any]], rtype: str) -> list[dict[str, Any]]:
    return [r for r in resources if r.get("resourceType") == rtype]


def _md(text: str) -> str:
    """Plain text made inert in GitHub Flavored Markdown (no links, HTML or emphasis)."""
    cleaned = " ".join(str(text).split())
    for char in "\\`*_[]<>|~":
        cleaned = cleaned.replace(char, "\\" + char)
    return cleaned
