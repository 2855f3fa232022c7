"""Code tables (``mappings/codes.yaml``): systems, pathways, risk, priority, labels.

Security labels follow HL7 FHIR R4 §6.1.0.10 (Security Labels) with the DS4P codes:
confidentiality from v3-Confidentiality, sensitivity from v3-ActCode, AI transparency
from v3-ObservationValue.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def code_tables() -> dict[str, Any]:
    """The parsed ``codes.yaml`` (read once)."""
    text = (resources.files("mappings") / "codes.yaml").read_text("utf-8")
    tables: dict[str, Any] = yaml.safe_load(text)
    return tables


def system(name: str) -> str:
    """A code system or identifier system URI by its short name in ``codes.yaml``."""
    uri: str = code_tables()["systems"][name]
    return uri


def coding(system_name: str, entry: dict[str, str]) -> dict[str, str]:
    """A FHIR Coding from a table entry with ``code`` and ``display``."""
    return {"system": system(system_name), "code": entry["code"], "display": entry["display"]}


def security_labels(resource_type: str) -> list[dict[str, str]]:
    """The ``meta.security`` codings a resource of this type carries."""
    tables = code_tables()
    labels = tables["security_labels"]
    return [dict(labels[name]) for name in tables["labels_by_resource"][resource_type]]


def risk_coding(level: str) -> dict[str, str]:
    """RiskAssessment.prediction.qualitativeRisk coding for a contract ``risk.level``."""
    return coding("risk_probability", code_tables()["risk_levels"][level])


def priority(urgency: str, risk_level: str) -> str:
    """The request priority: the app's urgency, unless the risk level forces one."""
    tables = code_tables()
    forced: str | None = tables["risk_priority_override"].get(risk_level)
    chosen: str = forced if forced is not None else tables["urgency_priority"][urgency]
    return chosen


def pathway(name: str) -> dict[str, str]:
    """The SNOMED CT referral code entry (code, display, text) for a contract pathway."""
    entry: dict[str, str] = code_tables()["pathways"][name]
    return entry
