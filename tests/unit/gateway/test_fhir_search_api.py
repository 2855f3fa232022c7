"""The FHIR search and read surface over HTTP: who sees what, POST search, paging,
_summary, _include, strict handling, conditional reads, JSON only, the CapabilityStatement."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from harness import APP_SCOPES, Harness, base_config, public_jwks, running_gateway, triage
from joserfc.jwk import ECKey

from gateway.fhir_search import INCLUDES, SEARCH_PARAMS

RECIPIENT_SCOPE = "system/Task.rs system/ServiceRequest.rs system/Patient.rs system/Observation.rs"


def recipient_config(keys: dict[str, ECKey]) -> dict[str, Any]:
    """app-a submits; app-b acts for the ``inbox`` destination (and submits nothing)."""
    config = base_config(keys)
    config["clients"][1] = {
        "client_id": "app-b",
        "jwks": public_jwks(keys["app-b"]),
        "scopes": [*APP_SCOPES, *RECIPIENT_SCOPE.split()],
    }
    for destination in config["destinations"]:
        if destination["name"] == "inbox":
            destination["clients"] = ["app-b"]
    return config


async def _two_inbox_referrals(h: Harness) -> list[str]:
    for n in range(2):
        assert (await h.submit(triage(triage_id=f"search-{n}"))).status_code == 202
    await h.deliver_all()
    tasks = (await h.get("/fhir/Task", client_id="operator", owner="Organization/inbox")).json()
    return sorted(e["resource"]["id"] for e in tasks["entry"])


async def _recipient(h: Harness) -> dict[str, str]:
    return {"Authorization": f"Bearer {await h.token('app-b', RECIPIENT_SCOPE)}"}


def _ids(bundle: dict[str, Any], mode: str = "match") -> set[str]:
    return {
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle.get("entry", [])
        if e["search"]["mode"] == mode
    }


def _link(bundle: dict[str, Any], relation: str) -> str | None:
    return next((ln["url"] for ln in bundle["link"] if ln["relation"] == relation), None)


async def test_a_recipients_plain_task_search_lists_every_task_addressed_to_it(
    tmp_path: Path,
) -> None:
    async with running_gateway(tmp_path, config=recipient_config) as h:
        inbox_tasks = await _two_inbox_referrals(h)
        found = await h.client.get("/fhir/Task", headers=await _recipient(h))
        assert found.status_code == 200
        assert _ids(found.json()) == {f"Task/{t}" for t in inbox_tasks}
        assert found.json()["total"] == 2
        patients = (await h.client.get("/fhir/Patient", headers=await _recipient(h))).json()
        assert patients["total"] == 1  # the same person twice
        observations = await h.client.get("/fhir/Observation", headers=await _recipient(h))
        assert observations.json()["total"] == 0  # not the recipient's to see


async def test_no_parameter_ever_widens_what_a_caller_sees(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=recipient_config) as h:
        await _two_inbox_referrals(h)
        everything = (await h.get("/fhir/Task", client_id="operator", _count="200")).json()
        some = everything["entry"][0]["resource"]
        patient = some["for"]["reference"]
        values: dict[str, list[str]] = {
            "_id": [some["id"], "nope"],
            "status": [some["status"], "completed"],
            "owner": ["Organization/inbox", "Organization/crisis-desk", "crisis-desk"],
            "patient": [patient, "Patient/nobody"],
            "_lastUpdated": ["ge2020-01-01", "lt2020-01-01", "ne2020"],
            "identifier": ["x|y"],
        }
        callers = {
            "app-a": await h.auth("app-a"),
            "app-b": await _recipient(h),
            "operator": await h.auth("operator"),
        }
        for caller, headers in callers.items():
            base = await h.client.get("/fhir/Task", params={"_count": "200"}, headers=headers)
            seen = _ids(base.json())
            for size in (1, 2):
                for names in itertools.combinations(values, size):
                    for chosen in itertools.product(*(values[n] for n in names)):
                        params = {"_count": "200", **dict(zip(names, chosen, strict=True))}
                        narrowed = await h.client.get("/fhir/Task", params=params, headers=headers)
                        assert narrowed.status_code == 200
                        assert _ids(narrowed.json()) <= seen, (caller, params)


async def test_post_search_takes_the_same_parameters_as_get(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=recipient_config) as h:
        tasks = await _two_inbox_referrals(h)
        headers = await _recipient(h)
        by_get = await h.client.get("/fhir/Task", params={"_id": tasks[0]}, headers=headers)
        by_post = await h.client.post("/fhir/Task/_search", data={"_id": tasks[0]}, headers=headers)
        assert by_post.status_code == 200
        assert by_post.headers["content-type"].startswith("application/fhir+json")
        assert _ids(by_post.json()) == _ids(by_get.json()) == {f"Task/{tasks[0]}"}
        as_json = await h.client.post("/fhir/Task/_search", json={"_id": tasks[0]}, headers=headers)
        assert as_json.status_code == 415
        assert as_json.json()["resourceType"] == "OperationOutcome"


async def test_summary_count_paging_and_strict_handling(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=recipient_config) as h:
        tasks = await _two_inbox_referrals(h)
        headers = await _recipient(h)
        count = (await h.client.get("/fhir/Task?_summary=count", headers=headers)).json()
        assert count["total"] == 2 and "entry" not in count
        first = (await h.client.get("/fhir/Task?_count=1&name=x", headers=headers)).json()
        self_params = dict(parse_qsl(urlsplit(_link(first, "self") or "").query))
        assert self_params == {"_count": "1"}  # the ignored parameter is left out
        following = _link(first, "next")
        assert following and _link(first, "previous") is None
        second = (await h.client.get(following, headers=headers)).json()
        assert _link(second, "next") is None and _link(second, "previous")
        assert _ids(first) | _ids(second) == {f"Task/{t}" for t in tasks}
        last = dict(parse_qsl(urlsplit(_link(first, "last") or "").query))
        assert last == {"_count": "1", "_offset": "1"}
        strict = {**headers, "Prefer": "handling=strict"}
        refused = await h.client.get("/fhir/Task?name=x", headers=strict)
        assert refused.status_code == 400
        assert refused.json()["issue"][0]["expression"] == ["name"]
        fine = await h.client.get("/fhir/Task?status=requested,received", headers=strict)
        assert fine.status_code == 200
        newest_first = (await h.client.get("/fhir/Task?_sort=-_lastUpdated", headers=headers))
        updated = [e["resource"]["meta"]["lastUpdated"] for e in newest_first.json()["entry"]]
        assert updated == sorted(updated, reverse=True)


async def test_include_adds_only_what_the_caller_may_see(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=recipient_config) as h:
        tasks = await _two_inbox_referrals(h)
        headers = await _recipient(h)
        params = [("_id", tasks[0]), ("_include", "Task:focus"), ("_include", "Task:patient")]
        bundle = (await h.client.get("/fhir/Task", params=params, headers=headers)).json()
        task = next(e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match")
        assert _ids(bundle, "include") == {task["focus"]["reference"], task["for"]["reference"]}
        assert bundle["total"] == 1
        # app-a submitted but owns no Task: its own published Tasks are its to see,
        # the crisis desk's are not app-b's.
        crisis = (await h.get("/fhir/Task", client_id="operator", owner="crisis-desk")).json()
        for entry in crisis.get("entry", []):
            found = await h.client.get(
                "/fhir/Task", params={"_id": entry["resource"]["id"], "_include": "Task:focus"},
                headers=headers,
            )
            assert "entry" not in found.json()


async def test_reads_carry_etag_and_last_modified_and_answer_304(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=recipient_config) as h:
        tasks = await _two_inbox_referrals(h)
        headers = await _recipient(h)
        read = await h.client.get(f"/fhir/Task/{tasks[0]}", headers=headers)
        etag = read.headers["etag"]
        assert etag == f'W/"{read.json()["meta"]["versionId"]}"'
        assert read.headers["last-modified"].endswith("GMT")
        again = await h.client.get(
            f"/fhir/Task/{tasks[0]}", headers={**headers, "If-None-Match": etag}
        )
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        stale = await h.client.get(
            f"/fhir/Task/{tasks[0]}", headers={**headers, "If-None-Match": 'W/"999"'}
        )
        assert stale.status_code == 200


async def test_the_surface_speaks_json_only(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=recipient_config) as h:
        headers = await _recipient(h)
        for extra, query in [
            ({"Accept": "application/fhir+xml"}, ""),
            ({"Accept": "application/xml, text/xml;q=0.9"}, ""),
            ({}, "?_format=xml"),
            ({}, "?_format=application/fhir+xml"),
        ]:
            refused = await h.client.get(f"/fhir/Task{query}", headers={**headers, **extra})
            assert refused.status_code == 406, (extra, query)
            assert refused.headers["content-type"].startswith("application/fhir+json")
            assert refused.json()["resourceType"] == "OperationOutcome"
        metadata = await h.client.get("/fhir/metadata", headers={"Accept": "application/fhir+xml"})
        assert metadata.status_code == 406
        for extra, query in [
            ({"Accept": "application/fhir+json"}, ""),
            ({"Accept": "application/json"}, ""),
            ({"Accept": "*/*"}, ""),
            ({"Accept": "application/fhir+json;fhirVersion=4.0"}, ""),
            ({}, "?_format=json"),
            ({}, "?_format=application/fhir+json"),
        ]:
            fine = await h.client.get(f"/fhir/Task{query}", headers={**headers, **extra})
            assert fine.status_code == 200, (extra, query)


async def test_capability_statement_lists_exactly_what_search_applies(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, config=recipient_config) as h:
        statement = (await h.client.get("/fhir/metadata")).json()
        assert statement["fhirVersion"] == "4.0.1"
        [rest] = statement["rest"]
        services = [c["code"] for s in rest["security"]["service"] for c in s["coding"]]
        assert services == ["SMART-on-FHIR"]
        by_type = {r["type"]: r for r in rest["resource"]}
        assert set(by_type) == {*SEARCH_PARAMS, "Subscription"}
        for rtype, names in SEARCH_PARAMS.items():
            listed = [p["name"] for p in by_type[rtype]["searchParam"]]
            assert listed == list(names), rtype
            assert by_type[rtype].get("searchInclude", []) == list(INCLUDES.get(rtype, {}))
        assert {p["name"] for p in by_type["Patient"]["searchParam"]} == {
            "_id", "_lastUpdated", "identifier"
        }

        def codes(rtype: str) -> set[str]:
            return {i["code"] for i in by_type[rtype]["interaction"]}

        assert codes("Task") == {"read", "search-type", "update", "patch"}
        assert codes("Consent") == {"read", "search-type", "create", "update"}
        assert codes("Patient") == {"read", "search-type"}
        assert codes("Subscription") == {"create", "read"}
        # each listed parameter is really served: strict handling accepts it
        operator = {**await h.auth("operator"), "Prefer": "handling=strict"}
        for rtype in SEARCH_PARAMS:
            for param in by_type[rtype]["searchParam"]:
                value = {"date": "ge2020-01-01", "reference": "x"}.get(param["type"], "x")
                answer = await h.client.get(
                    f"/fhir/{rtype}", params={param["name"]: value}, headers=operator
                )
                assert answer.status_code == 200, (rtype, param["name"], answer.text)


async def test_smart_discovery_at_the_fhir_base_needs_no_token(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as h:
        at_base = await h.client.get("/fhir/.well-known/smart-configuration")
        assert at_base.status_code == 200
        assert at_base.json() == (await h.client.get("/.well-known/smart-configuration")).json()
        assert at_base.json()["token_endpoint"].endswith("/auth/token")


async def test_a_type_not_served_is_a_404_operation_outcome(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as h:
        for path in ("/fhir/Medication", "/fhir/Medication/x", "/fhir/Subscription"):
            answer = await h.get(path, client_id="operator")
            assert answer.status_code in (404, 405), path
            assert answer.json()["resourceType"] == "OperationOutcome"
        unknown = await h.get("/fhir/Medication", client_id="operator")
        assert unknown.status_code == 404
        not_searchable = await h.get("/fhir/Subscription", client_id="operator")
        assert not_searchable.status_code == 405 and "POST" in not_searchable.headers["allow"]
