"""orjson responses; FHIR ones carry ``application/fhir+json``."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse

FHIR_JSON = "application/fhir+json"


class ORJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class FhirJSONResponse(ORJSONResponse):
    media_type = FHIR_JSON
