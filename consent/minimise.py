"""Data minimisation: each recipient category receives only what it needs.

The profiles are data (``consent/profiles.yaml``): per category, the resource types
sent and, for each, the element paths kept. ``minimise`` then removes references to
entries that were not sent and applies the consent decision's obligations
(FHIR R4 §8.1 Bundle transaction; HL7 v3 security obligations, see
``consent.obligations``). The redisclosure notice (42 CFR 2.32) is attached to each
resource carrying a protected label as the ``NORDSCLCD`` security label plus an
extension whose ``valueString`` is the notice text.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any, TypeAlias

import yaml

from consent.obligations import (
    AddLabels,
    AttachRedisclosureNotice,
    Obligation,
    RedactLabelled,
    WithholdResources,
)
from consent.vocab import NO_REDISCLOSURE, Label

REDISCLOSURE_NOTICE_EXTENSION = "urn:referral-gateway:extension:redisclosure-notice"

Selection: TypeAlias = "bool | dict[str, Selection]"
"""``True`` keeps the whole element; a dict keeps only the named children."""
Profile = dict[str, Selection]


@cache
def profiles() -> dict[str, Profile]:
    """The shipped profiles, by recipient category."""
    text = resources.files("consent").joinpath("profiles.yaml").read_text(encoding="utf-8")
    return parse_profiles(yaml.safe_load(text))


def parse_profiles(raw: dict[str, dict[str, Any]]) -> dict[str, Profile]:
    return {
        category: {rtype: _selection(paths) for rtype, paths in types.items()}
        for category, types in raw.items()
    }


def _selection(paths: str | list[str]) -> Selection:
    if paths == "*":
        return True
    if isinstance(paths, str):
        raise ValueError(f"element list expected, got {paths!r}")
    tree: dict[str, Selection] = {}
    for path in paths:
        node = tree
        *parents, leaf = path.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if child is True:
                break
            assert isinstance(child, dict)
            node = child
        else:
            node[leaf] = True
    return tree


def minimise(
    bundle: dict[str, Any],
    category: str,
    obligations: Sequence[Obligation],
    *,
    profile: Profile | None = None,
) -> dict[str, Any]:
    """A new transaction Bundle with what ``category`` may receive; ``bundle`` is not changed."""
    chosen = profile if profile is not None else _profile_for(category)
    entries = bundle.get("entry") or []
    kept = [entry for entry in entries if _sendable(entry, chosen, obligations)]
    dropped = _references_to(entries) - _references_to(kept)
    out = {key: copy.deepcopy(value) for key, value in bundle.items() if key != "entry"}
    out["entry"] = [_minimised_entry(entry, chosen, dropped, obligations) for entry in kept]
    return out


def _profile_for(category: str) -> Profile:
    try:
        return profiles()[category]
    except KeyError:
        raise ValueError(f"no minimisation profile for {category!r}") from None


def _sendable(
    entry: dict[str, Any], profile: Profile, obligations: Sequence[Obligation]
) -> bool:
    resource = entry.get("resource") or {}
    rtype = resource.get("resourceType")
    if rtype not in profile:
        return False
    labels = _label_codes(resource)
    for obligation in obligations:
        if isinstance(obligation, WithholdResources) and rtype in obligation.resource_types:
            return False
        if isinstance(obligation, RedactLabelled) and labels & set(obligation.labels):
            return False
    return True


def _label_codes(resource: dict[str, Any]) -> set[str]:
    return {label.get("code", "") for label in (resource.get("meta") or {}).get("security", [])}


def _references_to(entries: list[dict[str, Any]]) -> set[str]:
    """Every way an entry can be referenced: its ``fullUrl`` and ``Type/id``."""
    found: set[str] = set()
    for entry in entries:
        if entry.get("fullUrl"):
            found.add(entry["fullUrl"])
        resource = entry.get("resource") or {}
        if resource.get("id"):
            found.add(f"{resource['resourceType']}/{resource['id']}")
    return found


def _minimised_entry(
    entry: dict[str, Any],
    profile: Profile,
    dropped: set[str],
    obligations: Sequence[Obligation],
) -> dict[str, Any]:
    resource = entry["resource"]
    projected = _project(resource, profile[resource["resourceType"]]) or {}
    cleaned = _without_references(projected, dropped) or {}
    cleaned["resourceType"] = resource["resourceType"]
    _apply_labels(cleaned, _label_codes(resource), obligations)
    out = {key: copy.deepcopy(value) for key, value in entry.items() if key != "resource"}
    out["resource"] = _resource_first(cleaned)
    return out


def _resource_first(resource: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": resource.pop("resourceType"), **resource}


def _project(value: Any, selection: Selection) -> Any:
    if selection is True:
        return copy.deepcopy(value)
    if isinstance(selection, bool):
        return None
    if isinstance(value, list):
        items = [_project(item, selection) for item in value]
        return [item for item in items if _present(item)] or None
    if not isinstance(value, dict):
        return None
    out: dict[str, Any] = {}
    for key, child in value.items():
        chosen = selection.get(key.removeprefix("_"))
        if chosen is None or (key.startswith("_") and chosen is not True):
            continue
        projected = _project(child, chosen)
        if _present(projected):
            out[key] = projected
    return out or None


def _without_references(value: Any, dropped: set[str]) -> Any:
    """``value`` with every Reference to a dropped entry removed, and emptied elements too."""
    if isinstance(value, list):
        items = [_without_references(item, dropped) for item in value]
        return [item for item in items if _present(item)] or None
    if not isinstance(value, dict):
        return value
    if value.get("reference") in dropped:
        return None
    out = {key: _without_references(child, dropped) for key, child in value.items()}
    return {key: child for key, child in out.items() if _present(child)} or None


def _present(value: Any) -> bool:
    return value is not None and value != [] and value != {}


def _apply_labels(
    resource: dict[str, Any],
    original_labels: set[str],
    obligations: Sequence[Obligation],
) -> None:
    for obligation in obligations:
        if isinstance(obligation, AddLabels):
            _add_labels(resource, obligation.labels)
        elif isinstance(obligation, AttachRedisclosureNotice) and original_labels & set(
            obligation.labels
        ):
            _add_labels(resource, (NO_REDISCLOSURE,))
            notice = {"url": REDISCLOSURE_NOTICE_EXTENSION, "valueString": obligation.text}
            resource.setdefault("extension", []).append(notice)


def _add_labels(resource: dict[str, Any], labels: tuple[Label, ...]) -> None:
    security = resource.setdefault("meta", {}).setdefault("security", [])
    present = {(coding.get("system"), coding.get("code")) for coding in security}
    for label in labels:
        if (label.system, label.code) not in present:
            security.append(label.to_coding())
            present.add((label.system, label.code))
