"""Obligations a consent decision attaches to a permit.

Each names the HL7 v3 ActCode security obligation it realises
(http://terminology.hl7.org/CodeSystem/v3-ActCode, SecurityObligationPolicy):
``REDACT`` (remove the information), ``LABEL`` (bind security labels),
``PRIVMARK`` (carry a human-readable privacy mark, here the 42 CFR 2.32 notice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consent.vocab import REDISCLOSURE_NOTICE, Label


@dataclass(frozen=True)
class RedactLabelled:
    """Remove every entry whose ``meta.security`` carries one of ``labels``."""

    labels: tuple[str, ...]
    code: str = "REDACT"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "redact-labelled", "code": self.code, "labels": list(self.labels)}


@dataclass(frozen=True)
class WithholdResources:
    """Remove every entry of the given resource types (the consent does not cover them)."""

    resource_types: tuple[str, ...]
    code: str = "REDACT"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "withhold-resources",
            "code": self.code,
            "resource_types": list(self.resource_types),
        }


@dataclass(frozen=True)
class AddLabels:
    """Add ``labels`` to the ``meta.security`` of every resource sent."""

    labels: tuple[Label, ...]
    code: str = "LABEL"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "add-labels",
            "code": self.code,
            "labels": [label.to_coding() for label in self.labels],
        }


@dataclass(frozen=True)
class AttachRedisclosureNotice:
    """Resources carrying ``labels`` travel with the 42 CFR 2.32 notice."""

    labels: tuple[str, ...]
    text: str = REDISCLOSURE_NOTICE
    regulation: str = "42 CFR 2.32"
    code: str = "PRIVMARK"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "attach-redisclosure-notice",
            "code": self.code,
            "labels": list(self.labels),
            "regulation": self.regulation,
            "text": self.text,
        }


Obligation = RedactLabelled | WithholdResources | AddLabels | AttachRedisclosureNotice
