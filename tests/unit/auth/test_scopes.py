"""SMART v2 scope grammar, v1 mapping, granting and permission checks."""

from __future__ import annotations

import pytest

from gateway.auth.errors import InvalidScope
from gateway.auth.scopes import Scope, ScopeSet, grant, parse_scope


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("system/ServiceRequest.c", "system/ServiceRequest.c"),
        ("system/Task.cruds", "system/Task.cruds"),
        ("system/Task.rs", "system/Task.rs"),
        ("patient/Observation.rs", "patient/Observation.rs"),
        ("user/*.r", "user/*.r"),
        ("system/*.rs", "system/*.rs"),
        ("system/Patient.read", "system/Patient.rs"),
        ("system/Patient.write", "system/Patient.cud"),
        ("system/Patient.*", "system/Patient.cruds"),
        ("system/*.read", "system/*.rs"),
        (
            "patient/Observation.rs?category=laboratory",
            "patient/Observation.rs?category=laboratory",
        ),
        ("system/Observation.rs?code=a&category=b", "system/Observation.rs?category=b&code=a"),
    ],
)
def test_valid_scopes_parse_to_v2_form(text: str, canonical: str) -> None:
    assert str(parse_scope(text)) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "system/Patient.rc",  # out of order
        "system/Patient.sr",
        "system/Patient.cc",  # repeated
        "system/Patient.x",  # unknown letter
        "system/Patient.crudsx",
        "system/Patient.",  # no permission
        "system/Patient.?a=b",
        "system/NotAType.r",  # unknown resource type
        "system/patient.r",
        "admin/Patient.r",  # unknown context
        "system/Patient",
        "Patient.r",
        "system/Patient.read?category=x",  # v1 has no parameters
        "system/Observation.rs?category",  # parameter without value
        "launch/patient",
        "openid",
        "",
    ],
)
def test_invalid_scopes_are_invalid_scope(text: str) -> None:
    with pytest.raises(InvalidScope) as caught:
        parse_scope(text)
    assert caught.value.error == "invalid_scope"
    assert caught.value.status_code == 400


def test_scope_set_parses_space_separated_and_drops_duplicates() -> None:
    scopes = ScopeSet.parse("system/Task.rs  system/Task.read system/ServiceRequest.c")
    assert str(scopes) == "system/Task.rs system/ServiceRequest.c"


def test_one_bad_scope_spoils_the_set() -> None:
    with pytest.raises(InvalidScope):
        ScopeSet.parse("system/Task.rs system/Task.sr")


@pytest.mark.parametrize(
    ("held", "wanted", "covered"),
    [
        ("system/Task.cruds", "system/Task.rs", True),
        ("system/Task.rs", "system/Task.r", True),
        ("system/Task.r", "system/Task.rs", False),
        ("system/*.rs", "system/Patient.r", True),
        ("system/Patient.rs", "system/*.rs", False),
        ("system/Patient.rs", "system/Task.r", False),
        ("patient/Patient.rs", "system/Patient.r", False),
        ("system/Observation.rs", "system/Observation.rs?category=lab", True),
        ("system/Observation.rs?category=lab", "system/Observation.rs", False),
        ("system/Observation.rs?category=lab", "system/Observation.r?category=lab", True),
    ],
)
def test_covers(held: str, wanted: str, covered: bool) -> None:
    assert parse_scope(held).covers(parse_scope(wanted)) is covered


def test_grant_keeps_requested_scopes_an_allowed_scope_covers() -> None:
    allowed = ScopeSet.parse("system/ServiceRequest.cr system/*.rs")
    requested = ScopeSet.parse("system/ServiceRequest.c system/Patient.r system/Task.u")
    assert str(grant(requested, allowed)) == "system/ServiceRequest.c system/Patient.r"


def test_grant_of_nothing_allowed_is_empty() -> None:
    assert len(grant(ScopeSet.parse("system/Task.r"), ScopeSet())) == 0


def test_permits_checks_one_letter_on_one_type() -> None:
    scopes = ScopeSet.parse("system/ServiceRequest.c system/Task.rs")
    assert scopes.permits("ServiceRequest", "c")
    assert not scopes.permits("ServiceRequest", "r")
    assert scopes.permits("Task", "s")
    assert not scopes.permits("Patient", "r")
    assert not scopes.permits("Task", "r", context="patient")


def test_permits_refuses_what_is_not_a_permission_letter() -> None:
    with pytest.raises(ValueError, match="permission letter"):
        ScopeSet.parse("system/Task.rs").permits("Task", "rs")


@pytest.mark.parametrize(
    ("scopes", "operator"),
    [
        ("system/*.rs", True),
        ("system/*.cruds", True),
        ("system/*.read", True),
        ("system/*.*", True),
        ("system/*.r", False),
        ("system/Patient.rs", False),
        ("patient/*.rs", False),
        ("system/*.rs?category=x", False),
    ],
)
def test_is_operator(scopes: str, operator: bool) -> None:
    assert ScopeSet.parse(scopes).is_operator is operator


def test_scope_is_a_value() -> None:
    assert parse_scope("system/Task.read") == Scope("system", "Task", "rs")
