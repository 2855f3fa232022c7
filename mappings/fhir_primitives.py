"""FHIR R4 primitive-type rules, as data: the one source intake and the checks share.

The regular expressions are those of the official R4 JSON schema
(http://hl7.org/fhir/R4/fhir.schema.json, ``definitions.<type>.pattern``; see
http://hl7.org/fhir/R4/datatypes.html#primitive). Python's ``\\s`` and ``\\S`` are
Unicode-aware, as JavaScript's are, so a no-break space or a line separator in a
``string`` is refused here exactly as a schema validator refuses it.

Intake applies the rule of the FHIR type each field becomes (``gateway.intake.schema``),
so nothing is accepted that the worker's R4B check or an EHR's R4 validator refuses.
"""

from __future__ import annotations

import re
from datetime import date

_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_ZONE = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"

PATTERNS: dict[str, re.Pattern[str]] = {
    "string": re.compile(r"^[ \r\n\t\S]+$"),
    "markdown": re.compile(r"^[ \r\n\t\S]+$"),
    "code": re.compile(r"^[^\s]+(\s[^\s]+)*$"),
    "uri": re.compile(r"^\S*$"),
    "id": re.compile(r"^[A-Za-z0-9\-\.]{1,64}$"),
    "date": re.compile(rf"^{_YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$"),
    "dateTime": re.compile(
        rf"^{_YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T{_TIME}{_ZONE})?)?)?$"
    ),
    "instant": re.compile(rf"^{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T{_TIME}{_ZONE}$"),
}


def conforms(fhir_type: str, value: str) -> bool:
    """Whether ``value`` is a valid FHIR R4 ``fhir_type`` (the schema's pattern, and for
    ``date`` a real calendar date: the pattern alone lets 1998-02-31 through)."""
    if PATTERNS[fhir_type].fullmatch(value) is None:
        return False
    if fhir_type in {"date", "dateTime", "instant"} and len(value) >= 10:
        try:
            date.fromisoformat(value[:10])
        except ValueError:
            return False
    return True
