"""One assessment -> QuestionnaireResponse + Observations (FHIR R4 §12.3 QR, §8.24 Observation).

- QuestionnaireResponse: the LOINC questionnaire canonical, one item per question asked
  (linkId and code = the item's LOINC code, answer = its LOINC answer coding).
- Total-score Observation (category survey, LOINC total code, valueInteger), with the
  severity band as ``interpretation`` (a gateway-defined coding plus the band in words;
  v3-ObservationInterpretation has no severity-band codes), derived from the QR.
- One Observation per positively answered safety question (PHQ-9 item 9, C-SSRS): the
  question's LOINC code, the answer coding as value, interpretation ``POS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mappings.bundle_entries import reference, uuid_identifier
from mappings.codes import code_tables, coding, system
from mappings.ids import resource_uuid
from mappings.instruments import Instrument, SafetyItem
from mappings.scoring import ScoredAssessment


@dataclass(frozen=True)
class MappedAssessment:
    response: tuple[str, dict[str, Any]]
    observations: list[tuple[str, dict[str, Any]]]


def map_assessment(
    index: int,
    assessment: dict[str, Any],
    scored: ScoredAssessment,
    referral_id: str,
    patient_uuid: str,
    submitted_at: str,
) -> MappedAssessment:
    """``assessment`` as resources; ``scored`` is what scoring computed from its answers."""
    instrument, answers = scored.instrument, scored.answers
    when = assessment.get("completed_at") or submitted_at
    role = f"assessment/{index}"
    response_uuid = resource_uuid(referral_id, f"{role}/questionnaire-response")
    response = {
        "resourceType": "QuestionnaireResponse",
        "identifier": uuid_identifier(response_uuid),
        "questionnaire": instrument.questionnaire_url,
        "status": "completed",
        "subject": reference(patient_uuid),
        "authored": when,
        "item": _response_items(instrument, answers),
    }
    observations: list[tuple[str, dict[str, Any]]] = []
    if scored.total is not None:
        total_uuid = resource_uuid(referral_id, f"{role}/total")
        observations.append(
            (
                total_uuid,
                _total_observation(scored, total_uuid, response_uuid, patient_uuid, when),
            )
        )
    for safety_item, answer in scored.safety:
        safety_uuid = resource_uuid(referral_id, f"{role}/safety/{safety_item.item}")
        observations.append(
            (
                safety_uuid,
                _safety_observation(
                    instrument, safety_item, answer, safety_uuid, response_uuid, patient_uuid, when
                ),
            )
        )
    return MappedAssessment((response_uuid, response), observations)


def _answer_coding(instrument: Instrument, answer: object) -> dict[str, str] | None:
    option = instrument.answer_option(answer)
    if option is None:
        return None
    return {"system": system("loinc"), "code": option.code, "display": option.display}


def _response_items(instrument: Instrument, answers: list[object]) -> list[dict[str, Any]]:
    items = []
    for item, answer in zip(instrument.items, answers, strict=True):
        answer_coding = _answer_coding(instrument, answer)
        if answer_coding is None:
            continue  # a question not asked is left out of the response
        items.append(
            {
                "linkId": item.code,
                "text": item.text,
                "answer": [{"valueCoding": answer_coding}],
            }
        )
    return items


def _survey_observation(
    observation_uuid: str,
    code: dict[str, str],
    response_uuid: str,
    patient_uuid: str,
    when: str,
) -> dict[str, Any]:
    tables = code_tables()
    return {
        "resourceType": "Observation",
        "identifier": [uuid_identifier(observation_uuid)],
        "status": "final",
        "category": [{"coding": [coding("observation_category", tables["survey_category"])]}],
        "code": {"coding": [code], "text": code.get("display", "")},
        "subject": reference(patient_uuid),
        "effectiveDateTime": when,
        "derivedFrom": [reference(response_uuid)],
    }


def _total_observation(
    scored: ScoredAssessment,
    observation_uuid: str,
    response_uuid: str,
    patient_uuid: str,
    when: str,
) -> dict[str, Any]:
    instrument, total, band = scored.instrument, scored.total, scored.band
    assert instrument.total_loinc is not None and instrument.total_display is not None
    code = {
        "system": system("loinc"),
        "code": instrument.total_loinc,
        "display": instrument.total_display,
    }
    observation = _survey_observation(observation_uuid, code, response_uuid, patient_uuid, when)
    observation["valueInteger"] = total
    if band is not None:
        band_coding = {
            "system": system("severity_band"),
            "code": f"{instrument.code}-{band.code}",
            "display": band.display,
        }
        observation["interpretation"] = [{"coding": [band_coding], "text": band.display}]
    return observation


def _safety_observation(
    instrument: Instrument,
    safety_item: SafetyItem,
    answer: object,
    observation_uuid: str,
    response_uuid: str,
    patient_uuid: str,
    when: str,
) -> dict[str, Any]:
    item = instrument.items[safety_item.item - 1]
    code = {"system": system("loinc"), "code": item.code}
    observation = _survey_observation(observation_uuid, code, response_uuid, patient_uuid, when)
    observation["code"]["text"] = item.text
    answer_coding = _answer_coding(instrument, answer)
    assert answer_coding is not None
    observation["valueCodeableConcept"] = {
        "coding": [answer_coding],
        "text": answer_coding["display"],
    }
    positive = coding("observation_interpretation", code_tables()["positive_interpretation"])
    observation["interpretation"] = [
        {
            "coding": [positive],
            "text": f"Positive safety signal ({safety_item.kind}): {safety_item.meaning}",
        }
    ]
    return observation
