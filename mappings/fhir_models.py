"""The one place the project imports FHIR models: fhir.resources 8, FHIR R4B.

R4B is wire-compatible with R4 (4.0.1) for every resource the gateway emits. Import FHIR
model classes from here, never from ``fhir.resources`` directly.
"""

from __future__ import annotations

from fhir.resources.R4B import get_fhir_model_class
from fhir_core.fhirabstractmodel import FHIRAbstractModel

__all__ = ["FHIRAbstractModel", "model_class"]


def model_class(resource_type: str) -> type[FHIRAbstractModel]:
    """The model class for ``resource_type``; ``KeyError`` when FHIR has no such type."""
    try:
        cls: type[FHIRAbstractModel] = get_fhir_model_class(resource_type)
    except (KeyError, ValueError) as exc:
        raise KeyError(resource_type) from exc
    return cls
