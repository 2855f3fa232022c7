"""One CapabilityStatement reader: what delivery and status sync may assume of an EHR."""

from __future__ import annotations

from typing import Any

from connectors.capability import read_capability


def statement(*resources: dict[str, Any], common: list[str] | None = None) -> dict[str, Any]:
    rest: dict[str, Any] = {"mode": "server", "resource": list(resources)}
    if common is not None:
        rest["searchParam"] = [{"name": n} for n in common]
    return {"resourceType": "CapabilityStatement", "rest": [rest]}


def test_conditional_create_needs_an_identifier_search() -> None:
    caps = read_capability(
        statement(
            {"type": "Patient", "conditionalCreate": True, "searchParam": [{"name": "identifier"}]},
            {"type": "Consent", "conditionalCreate": True, "searchParam": [{"name": "status"}]},
        )
    )
    assert caps.conditional_create == frozenset({"Patient"})


def test_update_create_needs_the_update_interaction() -> None:
    caps = read_capability(
        statement(
            {"type": "Task", "updateCreate": True, "interaction": [{"code": "update"}]},
            {"type": "Patient", "updateCreate": True, "interaction": [{"code": "read"}]},
        )
    )
    assert caps.update_create == frozenset({"Task"})


def test_task_last_updated_search_from_the_type_or_the_common_parameters() -> None:
    search = [{"code": "search-type"}]
    listed = {"type": "Task", "interaction": search, "searchParam": [{"name": "_lastUpdated"}]}
    unlisted = {"type": "Task", "interaction": search, "searchParam": [{"name": "status"}]}
    assert read_capability(statement(listed)).task_last_updated
    assert not read_capability(statement(unlisted)).task_last_updated
    assert read_capability(statement(unlisted, common=["_lastUpdated"])).task_last_updated
    no_search = {
        "type": "Task",
        "interaction": [{"code": "read"}],
        "searchParam": [{"name": "_lastUpdated"}],
    }
    assert not read_capability(statement(no_search)).task_last_updated


def test_subscription_create_and_client_mode_rests_are_ignored() -> None:
    sub = {"type": "Subscription", "interaction": [{"code": "create"}]}
    assert read_capability(statement(sub)).subscription_create
    client_only = {"rest": [{"mode": "client", "resource": [sub]}]}
    caps = read_capability(client_only)
    assert not caps.subscription_create and not caps.conditional_create
    assert read_capability({}) == read_capability({"rest": []})
