"""Consent decision engine: may this data go to this recipient for this purpose, now?

Modelled on LEAP-CDS (sdhealthconnect/leap-cds) over FHIR R4 Consent
(http://hl7.org/fhir/R4/consent.html, "Provisions" and "Evaluating Consents"):

1. Only consents in force count: ``status = active`` and ``now`` inside the root
   ``provision.period``. None in force: deny.
2. The most recent consent in force (``Consent.dateTime``) decides alone.
3. Its provision tree is evaluated once per data class (resource type). A provision
   applies when its ``period``, ``actor``, ``purpose``, ``action`` and ``class`` match;
   a deny provision naming ``securityLabel`` applies only to data carrying one of them.
   A nested provision that applies overrides its parent; among siblings that apply an
   explicit deny beats a permit. The root not applying means the consent does not cover
   the request: deny.
4. Classes that end in deny are withheld (an obligation) while the rest are permitted;
   if no class is permitted, the whole request is denied.
5. Substance-use data (``ETH``, ``42CFRPart2``, ``SUD``) is withheld unless the deciding
   permit provision or one of its ancestors names the label in ``securityLabel``; then it
   travels with the 42 CFR 2.32 redisclosure notice.
6. Emergency (42 CFR 2.51): imminent risk and a crisis recipient is permitted under
   ``ETREAT`` whatever the consents say, and marked ``emergency``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consent.obligations import (
    AddLabels,
    AttachRedisclosureNotice,
    Obligation,
    RedactLabelled,
    WithholdResources,
)
from consent.periods import period_start, within
from consent.vocab import (
    ACT_CODE,
    CONFIDENTIALITY,
    DESTINATION_SYSTEM,
    NO_REDISCLOSURE,
    PROTECTED_LABELS,
    PSYCHIATRY,
    PURPOSE_WORDS,
    RECIPIENT_CATEGORY_SYSTEM,
    RECIPIENT_WORDS,
    RESTRICTED,
    Label,
)

EMERGENCY_PURPOSE = "ETREAT"
DISCLOSE_ACTION = "disclose"


@dataclass(frozen=True)
class Recipient:
    """Who would receive the data: its category (``ehr``/``crisis``/``community``) and name."""

    category: str
    name: str


@dataclass(frozen=True)
class DecisionRequest:
    recipient: Recipient
    purpose: str
    """v3-ActReason code, e.g. ``TREAT``."""
    data_labels: frozenset[str] = frozenset()
    """Security label codes found on the data (``PSY``, ``R``, ``ETH``, ``42CFRPart2`` ...)."""
    data_classes: frozenset[str] = frozenset()
    """Resource types in the data; empty means "not known", and class limits are not applied."""
    risk_level: str | None = None
    """``imminent`` with a crisis recipient takes the emergency path."""


@dataclass(frozen=True)
class Decision:
    permit: bool
    reason: str
    """Plain-language explanation a person can read."""
    purpose: str
    provision: str | None = None
    """Where in the consent the decision came from, e.g. ``provision.provision[1]``."""
    consent_id: str | None = None
    obligations: tuple[Obligation, ...] = ()
    emergency: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": "permit" if self.permit else "deny",
            "reason": self.reason,
            "purpose": self.purpose,
            "provision": self.provision,
            "consent_id": self.consent_id,
            "obligations": [obligation.to_dict() for obligation in self.obligations],
            "emergency": self.emergency,
        }


@dataclass(frozen=True)
class _Verdict:
    permit: bool
    path: str
    explicit: bool = True
    """False when the verdict is the consent's base rule or the consent did not apply."""


def decide(consents: list[dict[str, Any]], request: DecisionRequest, now: datetime) -> Decision:
    """Decide ``request`` under ``consents`` (any status, any period) at ``now``."""
    if is_emergency(request):
        return decide_emergency(request)
    in_force = [consent for consent in consents if is_in_force(consent, now)]
    if not in_force:
        return Decision(
            permit=False,
            reason="No consent is in force for this person, so nothing is shared.",
            purpose=request.purpose,
        )
    return _decide_under(most_recent(in_force), request, now)


def is_emergency(request: DecisionRequest) -> bool:
    return request.risk_level == "imminent" and request.recipient.category == "crisis"


def decide_emergency(request: DecisionRequest) -> Decision:
    """Permit under ``ETREAT`` for a bona fide medical emergency (42 CFR 2.51)."""
    protected = tuple(sorted(request.data_labels & PROTECTED_LABELS))
    obligations: list[Obligation] = [AddLabels((RESTRICTED, PSYCHIATRY))]
    if protected:
        obligations.append(AttachRedisclosureNotice(protected))
    return Decision(
        permit=True,
        reason=(
            "Emergency: the risk of harm is imminent, so the crisis service receives what "
            "it needs to keep the person safe, with or without consent. This disclosure is "
            "recorded and will be reviewed."
        ),
        purpose=EMERGENCY_PURPOSE,
        obligations=tuple(obligations),
        emergency=True,
    )


def is_in_force(consent: dict[str, Any], now: datetime) -> bool:
    provision = consent.get("provision") or {}
    return consent.get("status") == "active" and within(provision.get("period"), now)


def most_recent(consents: list[dict[str, Any]]) -> dict[str, Any]:
    """The consent with the latest ``dateTime`` (the first of equals; undated ones last)."""
    dated = [c for c in consents if c.get("dateTime")]
    if not dated:
        return consents[0]
    return max(dated, key=lambda consent: period_start(consent["dateTime"]))


def _decide_under(consent: dict[str, Any], request: DecisionRequest, now: datetime) -> Decision:
    consent_id = consent.get("id")
    root = consent.get("provision") or {}
    classes: list[str | None] = list(sorted(request.data_classes)) or [None]
    if _names_classes(root):
        verdicts = {cls: _evaluate_root(root, request, cls, now) for cls in classes}
    else:  # no provision limits classes: one evaluation speaks for them all
        once = _evaluate_root(root, request, None, now)
        verdicts = dict.fromkeys(classes, once)
    permitted = [cls for cls in classes if verdicts[cls].permit]
    if not permitted:
        verdict = verdicts[classes[0]]
        return Decision(
            permit=False,
            reason=_deny_reason(consent_id, request, verdict),
            purpose=request.purpose,
            provision=verdict.path,
            consent_id=consent_id,
        )
    deciding = verdicts[permitted[0]]
    withheld = tuple(str(cls) for cls in classes if cls not in permitted)
    obligations: list[Obligation] = []
    if withheld:
        obligations.append(WithholdResources(withheld))
    obligations.extend(_label_obligations(root, deciding.path, request.data_labels))
    return Decision(
        permit=True,
        reason=_permit_reason(consent_id, request, withheld),
        purpose=request.purpose,
        provision=deciding.path,
        consent_id=consent_id,
        obligations=tuple(obligations),
    )


def _names_classes(provision: dict[str, Any]) -> bool:
    return bool(provision.get("class")) or any(
        _names_classes(child) for child in provision.get("provision") or []
    )


def _evaluate_root(
    root: dict[str, Any], request: DecisionRequest, cls: str | None, now: datetime
) -> _Verdict:
    not_covered = _Verdict(permit=False, path="provision", explicit=False)
    if not _applies(root, request, cls, now):
        return not_covered
    base = _Verdict(permit=root.get("type") == "permit", path="provision", explicit=False)
    return _evaluate_children(root, "provision", base, request, cls, now)


def _evaluate_children(
    provision: dict[str, Any],
    path: str,
    own: _Verdict,
    request: DecisionRequest,
    cls: str | None,
    now: datetime,
) -> _Verdict:
    applying: list[_Verdict] = []
    for index, child in enumerate(provision.get("provision") or []):
        if not _applies(child, request, cls, now):
            continue
        child_path = f"{path}.provision[{index}]"
        child_own = own
        if child.get("type") in ("permit", "deny"):
            child_own = _Verdict(permit=child["type"] == "permit", path=child_path)
        applying.append(_evaluate_children(child, child_path, child_own, request, cls, now))
    denies = [verdict for verdict in applying if not verdict.permit]
    if denies:
        return denies[0]
    return applying[0] if applying else own


def _applies(
    provision: dict[str, Any], request: DecisionRequest, cls: str | None, now: datetime
) -> bool:
    return (
        within(provision.get("period"), now)
        and _actor_matches(provision.get("actor"), request.recipient)
        and _codes_match(provision.get("purpose"), request.purpose)
        and _action_matches(provision.get("action"))
        and _class_matches(provision.get("class"), cls)
        and _deny_labels_match(provision, request.data_labels)
    )


def _actor_matches(actors: list[dict[str, Any]] | None, recipient: Recipient) -> bool:
    if not actors:
        return True
    wanted = {(RECIPIENT_CATEGORY_SYSTEM, recipient.category), (DESTINATION_SYSTEM, recipient.name)}
    for actor in actors:
        identifier = (actor.get("reference") or {}).get("identifier") or {}
        if (identifier.get("system"), identifier.get("value")) in wanted:
            return True
    return False


def _codes_match(codings: list[dict[str, Any]] | None, code: str) -> bool:
    return not codings or any(coding.get("code") == code for coding in codings)


def _action_matches(actions: list[dict[str, Any]] | None) -> bool:
    if not actions:
        return True
    codes = {coding.get("code") for action in actions for coding in action.get("coding", [])}
    return DISCLOSE_ACTION in codes


def _class_matches(classes: list[dict[str, Any]] | None, cls: str | None) -> bool:
    return cls is None or _codes_match(classes, cls)


def _deny_labels_match(provision: dict[str, Any], data_labels: frozenset[str]) -> bool:
    labels = provision.get("securityLabel")
    if provision.get("type") != "deny" or not labels:
        return True
    return any(label.get("code") in data_labels for label in labels)


_STEP = re.compile(r"\.provision\[(\d+)\]")


def _path_labels(root: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """The ``securityLabel`` codings on every provision from the root down to ``path``."""
    node = root
    labels = list(node.get("securityLabel") or [])
    for index in _STEP.findall(path):
        node = node["provision"][int(index)]
        labels.extend(node.get("securityLabel") or [])
    return labels


def _label_obligations(
    root: dict[str, Any], path: str, data_labels: frozenset[str]
) -> list[Obligation]:
    covered = _path_labels(root, path)
    covered_codes = {label.get("code") for label in covered}
    protected = data_labels & PROTECTED_LABELS
    named = tuple(sorted(protected & covered_codes))
    unnamed = tuple(sorted(protected - covered_codes))
    to_add = [
        Label(label["system"], label["code"], label.get("display", ""))
        for label in covered
        if label.get("code") not in PROTECTED_LABELS
        and label.get("system") in (ACT_CODE, CONFIDENTIALITY)
    ]
    obligations: list[Obligation] = []
    if unnamed:
        obligations.append(RedactLabelled(unnamed))
    if named:
        to_add.append(NO_REDISCLOSURE)
        obligations.append(AttachRedisclosureNotice(named))
    if to_add:
        obligations.append(AddLabels(tuple(dict.fromkeys(to_add))))
    return obligations


def _words(request: DecisionRequest) -> tuple[str, str]:
    who = RECIPIENT_WORDS.get(request.recipient.category, request.recipient.name)
    why = PURPOSE_WORDS.get(request.purpose, request.purpose)
    return who, why


def _permit_reason(
    consent_id: str | None, request: DecisionRequest, withheld: tuple[str, ...]
) -> str:
    who, why = _words(request)
    reason = f"Consent {consent_id} allows sharing with {who} for {why}."
    if withheld:
        reason += f" It does not cover {', '.join(withheld)}, so that is held back."
    return reason


def _deny_reason(consent_id: str | None, request: DecisionRequest, verdict: _Verdict) -> str:
    who, why = _words(request)
    if verdict.explicit:
        return f"Consent {consent_id} says no to sharing with {who} for {why}."
    return f"Consent {consent_id} does not cover sharing with {who} for {why}."
