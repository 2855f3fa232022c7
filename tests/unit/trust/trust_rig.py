"""A gateway with a declared model card, a recipient client for the inbox and the crisis
desk, and tokens for each (the trust tests share it)."""

from __future__ import annotations

from typing import Any

from harness import APP_SCOPES, OPERATOR_SCOPES, base_config, new_key, public_jwks
from joserfc.jwk import ECKey

MIX = {"none": 0.25, "low": 0.5, "moderate": 0.2, "high": 0.04, "imminent": 0.01}
CARD = {
    "name": "example-triage",
    "versions": ["2.3.1", "2.4.0"],
    "developer": "Example Health AI, ai@example.org",
    "intended_use": "Suggest a risk level from PHQ-9 and GAD-7 answers for a clinician to review.",
    "intended_population": "Adults 18+ seeking mental-health support online.",
    "out_of_scope": "Children; diagnosis; decisions without a clinician.",
    "limitations": "Trained on English-language answers only.",
    "validation": "Retrospective validation on 12,000 triaged referrals.",
    "fairness": "Agreement within 3 points across sex and age bands.",
    "maintenance": "Re-validated every 6 months.",
    "expected_risk_levels": MIX,
}
RECIPIENT = "clinic-ehr"
CRISIS = "crisis-service"
REVIEW_SCOPE = "system/RiskAssessment.c"


def trust_config(**drift: Any):  # type: ignore[no-untyped-def]
    def build(keys: dict[str, ECKey]) -> dict[str, Any]:
        for name in (RECIPIENT, CRISIS):
            keys.setdefault(name, new_key(f"{name}-1"))
        config = base_config(keys)
        for client in config["clients"]:
            if client["client_id"] in ("app-a", "app-b"):
                client["scopes"] = [*APP_SCOPES, REVIEW_SCOPE]
            if client["client_id"] == "operator":
                client["scopes"] = [*OPERATOR_SCOPES, REVIEW_SCOPE]
        config["clients"] += [
            {
                "client_id": name,
                "jwks": public_jwks(keys[name]),
                "scopes": [REVIEW_SCOPE, "system/Task.rs", "system/Task.u"],
            }
            for name in (RECIPIENT, CRISIS)
        ]
        for destination in config["destinations"]:
            if destination["name"] == "inbox":
                destination["clients"] = [RECIPIENT]
            if destination["type"] == "crisis":
                destination["client_id"] = CRISIS
        config["models"] = [CARD]
        config["drift"] = {"min_referrals": 5, **drift}
        return config

    return build
