"""Minimisation rules one at a time, on small hand-made bundles and profiles: which entries
go, which elements stay, which references are cut, and which labels and notices are added."""

from __future__ import annotations

from typing import Any

import pytest

from consent.minimise import (
    REDISCLOSURE_NOTICE_EXTENSION,
    Profile,
    minimise,
    parse_profiles,
    profiles,
)
from consent.obligations import (
    AddLabels,
    AttachRedisclosureNotice,
    RedactLabelled,
    WithholdResources,
)
from consent.vocab import ACT_CODE, NO_REDISCLOSURE, REDISCLOSURE_NOTICE, Label


def entry(full_url: str | None, resource: dict[str, Any]) -> dict[str, Any]:
    made: dict[str, Any] = {"resource": resource, "request": {"method": "POST", "url": "x"}}
    if full_url is not None:
        made["fullUrl"] = full_url
    return made


def bundle(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "id": "b1", "entry": list(entries)}


def security(*codes: str) -> dict[str, Any]:
    return {"security": [{"system": ACT_CODE, "code": code} for code in codes]}


PATIENT = entry("urn:uuid:p", {"resourceType": "Patient", "id": "p", "gender": "female"})


def resources_of(out: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in out["entry"]]


# -- profiles as data ------------------------------------------------------------------------


def test_paths_become_a_selection_tree() -> None:
    parsed = parse_profiles(
        {
            "x": {
                "Patient": ["id", "address.postalCode", "address.state", "name.given"],
                "Task": "*",
            }
        }
    )
    assert parsed == {
        "x": {
            "Patient": {
                "id": True,
                "address": {"postalCode": True, "state": True},
                "name": {"given": True},
            },
            "Task": True,
        }
    }


def test_a_whole_element_is_not_narrowed_by_a_later_deeper_path() -> None:
    parsed = parse_profiles({"x": {"Patient": ["address", "address.postalCode", "a.b.c"]}})
    assert parsed["x"]["Patient"] == {"address": True, "a": {"b": {"c": True}}}


def test_a_single_path_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(ValueError, match="list"):
        parse_profiles({"x": {"Patient": "id"}})


def test_the_shipped_profiles_cover_the_three_categories() -> None:
    shipped = profiles()
    assert sorted(shipped) == ["community", "crisis", "ehr"]
    assert shipped["ehr"]["Patient"] is True
    crisis_patient = shipped["crisis"]["Patient"]
    assert isinstance(crisis_patient, dict)
    assert "address" not in crisis_patient and crisis_patient["name"] is True


# -- which entries go ------------------------------------------------------------------------


def test_only_profiled_types_are_sent_and_the_bundle_is_kept_around_them() -> None:
    task = entry("urn:uuid:t", {"resourceType": "Task", "status": "requested"})
    out = minimise(bundle(PATIENT, task), "any", [], profile={"Patient": True})
    assert [r["resourceType"] for r in resources_of(out)] == ["Patient"]
    assert {k: v for k, v in out.items() if k != "entry"} == {
        "resourceType": "Bundle", "type": "transaction", "id": "b1"
    }
    assert out["entry"][0]["request"] == {"method": "POST", "url": "x"}
    assert out["entry"][0]["fullUrl"] == "urn:uuid:p"


def test_an_empty_profile_sends_nothing() -> None:
    assert minimise(bundle(PATIENT), "ehr", [], profile={})["entry"] == []


def test_without_a_profile_the_categorys_shipped_one_is_used() -> None:
    observation = entry("urn:uuid:o", {"resourceType": "Observation", "status": "final"})
    assert len(minimise(bundle(PATIENT, observation), "ehr", [])["entry"]) == 2
    community = minimise(bundle(PATIENT, observation), "community", [])
    assert [r["resourceType"] for r in resources_of(community)] == ["Patient"]


def test_an_empty_bundle_stays_empty() -> None:
    out = minimise({"resourceType": "Bundle", "type": "transaction"}, "ehr", [])
    assert out == {"resourceType": "Bundle", "type": "transaction", "entry": []}


def test_withheld_types_and_redacted_labels_drop_entries() -> None:
    labelled = entry("urn:uuid:a", {"resourceType": "Observation", "meta": security("PSY", "ETH")})
    plain = entry("urn:uuid:b", {"resourceType": "Observation", "status": "final"})
    everything: Profile = {"Patient": True, "Observation": True}
    redacted = minimise(bundle(PATIENT, labelled, plain), "x", [RedactLabelled(("SUD", "ETH"))],
                        profile=everything)
    assert [e["fullUrl"] for e in redacted["entry"]] == ["urn:uuid:p", "urn:uuid:b"]
    withheld = minimise(bundle(PATIENT, labelled, plain), "x",
                        [WithholdResources(("Task", "Observation"))], profile=everything)
    assert [e["fullUrl"] for e in withheld["entry"]] == ["urn:uuid:p"]
    untouched = minimise(bundle(PATIENT, labelled, plain), "x", [RedactLabelled(("SUD",))],
                         profile=everything)
    assert len(untouched["entry"]) == 3


# -- which elements stay ---------------------------------------------------------------------


def test_only_selected_elements_and_their_selected_children_stay() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "p",
        "birthDate": "1990-04-02",
        "_birthDate": {"extension": [{"url": "u", "valueString": "v"}]},
        "gender": "female",
        "_gender": {"id": "g"},
        "address": [
            {"postalCode": "94110", "line": ["1 Mission St"]},
            {"line": ["only a line"]},
        ],
        "name": [{"family": "Ruiz", "given": ["Ana"]}],
    }
    profile: Profile = {
        "Patient": {"id": True, "birthDate": True, "address": {"postalCode": True},
                    "gender": {"text": True}, "name": {"given": True}}
    }
    [sent] = resources_of(minimise(bundle(entry("urn:uuid:p", patient)), "x", [], profile=profile))
    assert sent == {
        "resourceType": "Patient",
        "id": "p",
        "birthDate": "1990-04-02",
        "_birthDate": {"extension": [{"url": "u", "valueString": "v"}]},
        "address": [{"postalCode": "94110"}],
        "name": [{"given": ["Ana"]}],
    }
    assert next(iter(sent)) == "resourceType"


def test_a_primitives_extension_goes_only_with_the_whole_primitive() -> None:
    patient = {
        "resourceType": "Patient",
        "birthDate": "1990-04-02",
        "_birthDate": {"extension": [{"url": "u", "valueString": "v"}]},
    }
    profile: Profile = {"Patient": {"birthDate": {"extension": True}}}
    [sent] = resources_of(minimise(bundle(entry("urn:uuid:p", patient)), "x", [], profile=profile))
    assert sent == {"resourceType": "Patient"}


def test_a_resource_with_nothing_selected_still_goes_as_its_type() -> None:
    profile: Profile = {"Patient": {"telecom": True}}
    [sent] = resources_of(minimise(bundle(PATIENT), "x", [], profile=profile))
    assert sent == {"resourceType": "Patient"}


def test_a_whole_element_is_copied_not_shared() -> None:
    original = bundle(entry("urn:uuid:p", {"resourceType": "Patient", "name": [{"given": ["A"]}]}))
    original["meta"] = {"tag": [{"code": "t"}]}
    original["entry"][0]["request"] = {"method": "POST", "url": "x", "headers": ["h"]}
    out = minimise(original, "x", [], profile={"Patient": True})
    out["meta"]["tag"].append({"code": "u"})
    out["entry"][0]["request"]["headers"].append("i")
    assert original["meta"] == {"tag": [{"code": "t"}]}
    assert original["entry"][0]["request"]["headers"] == ["h"]
    out["entry"][0]["resource"]["name"][0]["given"].append("B")
    out["entry"][0]["request"]["url"] = "changed"
    assert original["entry"][0]["resource"]["name"] == [{"given": ["A"]}]
    assert original["entry"][0]["request"]["url"] == "x"


# -- which references are cut ------------------------------------------------------------------


def test_references_to_entries_not_sent_are_cut_by_full_url_or_type_and_id() -> None:
    risk = entry("urn:uuid:r", {"resourceType": "RiskAssessment", "id": "r1"})
    by_id = entry(None, {"resourceType": "Device", "id": "d1"})
    request = entry("urn:uuid:s", {
        "resourceType": "ServiceRequest",
        "subject": {"reference": "urn:uuid:p"},
        "reasonReference": [{"reference": "urn:uuid:r"}, {"reference": "RiskAssessment/r1"},
                            {"reference": "Device/d1"}, {"reference": "Condition/kept"}],
        "performer": [{"reference": "Device/d1", "display": "model"}],
        "note": [{"text": "n"}],
    })
    profile: Profile = {"Patient": True, "ServiceRequest": True}
    out = minimise(bundle(PATIENT, risk, by_id, request), "x", [], profile=profile)
    [_, sent] = resources_of(out)
    assert sent == {
        "resourceType": "ServiceRequest",
        "subject": {"reference": "urn:uuid:p"},
        "reasonReference": [{"reference": "Condition/kept"}],
        "note": [{"text": "n"}],
    }


def test_a_reference_to_a_sent_entry_by_type_and_id_is_kept() -> None:
    device = entry(None, {"resourceType": "Device", "id": "d1"})
    request = entry("urn:uuid:s", {"resourceType": "ServiceRequest",
                                   "performer": [{"reference": "Device/d1"}]})
    out = minimise(bundle(device, request), "x", [],
                   profile={"Device": True, "ServiceRequest": True})
    assert resources_of(out)[1]["performer"] == [{"reference": "Device/d1"}]


# -- labels and the redisclosure notice --------------------------------------------------------


PSY = Label(ACT_CODE, "PSY", "psychiatry")


def test_added_labels_go_on_every_resource_once() -> None:
    already = entry("urn:uuid:o", {"resourceType": "Observation", "meta": security("PSY")})
    out = minimise(bundle(PATIENT, already), "x", [AddLabels((PSY, PSY))],
                   profile={"Patient": True, "Observation": True})
    patient, observation = resources_of(out)
    assert patient["meta"]["security"] == [PSY.to_coding()]
    assert observation["meta"]["security"] == [{"system": ACT_CODE, "code": "PSY"}]


def test_the_notice_goes_only_on_resources_carrying_a_named_label() -> None:
    sud = entry("urn:uuid:o", {"resourceType": "Observation", "meta": security("ETH"),
                               "extension": [{"url": "other", "valueString": "kept"}]})
    out = minimise(bundle(PATIENT, sud), "x", [AttachRedisclosureNotice(("42CFRPart2", "ETH"))],
                   profile={"Patient": True, "Observation": True})
    patient, observation = resources_of(out)
    assert "meta" not in patient and "extension" not in patient
    assert NO_REDISCLOSURE.to_coding() in observation["meta"]["security"]
    assert observation["extension"] == [
        {"url": "other", "valueString": "kept"},
        {"url": REDISCLOSURE_NOTICE_EXTENSION, "valueString": REDISCLOSURE_NOTICE},
    ]


def test_the_notice_is_looked_for_on_the_original_labels() -> None:
    # the profile does not keep meta, yet the resource carried ETH before projection
    sud = entry("urn:uuid:o", {"resourceType": "Observation", "meta": security("ETH"),
                               "status": "final"})
    out = minimise(bundle(sud), "x", [AttachRedisclosureNotice(("ETH",))],
                   profile={"Observation": {"status": True}})
    [observation] = resources_of(out)
    assert observation["meta"]["security"] == [NO_REDISCLOSURE.to_coding()]
    assert observation["extension"][0]["url"] == REDISCLOSURE_NOTICE_EXTENSION
