"""Text rules for intake (CONTRACT.md v1.1, "Intake, made precise"), as pydantic validators.

Every string is NFC-normalised (Unicode UAX #15) before it is checked and stored, and is
refused (422 naming the field) when it holds:

- a control character U+0000-U+001F or U+007F (free text, ``Notes``, may hold tab and
  newline);
- a bidirectional override or isolate U+202A-U+202E, U+2066-U+2069 (Unicode UAX #9;
  "Trojan Source", CVE-2021-42574) in anything but free text;
- nothing but invisible characters (zero-width space, joiners, BOM, fillers);
- anything the FHIR R4 primitive it becomes refuses (``mappings.fhir_primitives``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from pydantic_core import PydanticCustomError

from mappings.fhir_primitives import conforms

CONTROL = frozenset(chr(c) for c in [*range(0x00, 0x20), 0x7F])
NOTE_ALLOWED = frozenset("\t\n")
BIDI_CONTROLS = frozenset(chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
INVISIBLE = frozenset(
    chr(c)
    for c in [
        0x00AD, 0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x200B, 0x200C, 0x200D,
        0x200E, 0x200F, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0x3164, 0xFEFF, 0xFFA0,
    ]
)  # fmt: skip


def _error(kind: str, message: str, **context: object) -> PydanticCustomError:
    return PydanticCustomError(f"text_{kind}", message, dict(context))


def check_text(value: str, *, fhir_type: str = "string", free_text: bool = False) -> str:
    """``value`` NFC-normalised, or a ``PydanticCustomError`` saying what is wrong with it."""
    text = unicodedata.normalize("NFC", value)
    allowed = NOTE_ALLOWED if free_text else frozenset()
    for char in text:
        if char in CONTROL and char not in allowed:
            raise _error("control", "contains the control character U+{code}", code=_hex(char))
        if char in BIDI_CONTROLS and not free_text:
            raise _error("bidi", "contains the bidirectional control U+{code}", code=_hex(char))
        if unicodedata.category(char) == "Cs":
            raise _error("surrogate", "contains a lone surrogate")
    if all(char in INVISIBLE or char.isspace() for char in text):
        raise _error("invisible", "is empty once invisible characters are removed")
    if not conforms(fhir_type, text):
        raise _error(
            "fhir",
            "is not a valid FHIR {fhir_type} (it holds a character FHIR forbids there)",
            fhir_type=fhir_type,
        )
    return text


def text_rule(fhir_type: str = "string", *, free_text: bool = False) -> Callable[[str], str]:
    """An ``AfterValidator`` applying ``check_text`` for a field of FHIR type ``fhir_type``."""

    def rule(value: str) -> str:
        return check_text(value, fhir_type=fhir_type, free_text=free_text)

    return rule


def fhir_format(fhir_type: str, what: str) -> Callable[[object], object]:
    """A ``BeforeValidator``: the raw JSON value must be a string of FHIR type ``fhir_type``
    (so a date-time without a zone, a number, or 1998-02-31 never reaches the parser)."""

    def rule(value: object) -> object:
        if not isinstance(value, str) or not conforms(fhir_type, value):
            raise _error("format", "must be {what}", what=what)
        return value

    return rule


def _hex(char: str) -> str:
    return f"{ord(char):04X}"


def calendar_date(value: object) -> object:
    """A ``BeforeValidator`` for a full date: ``YYYY-MM-DD`` that exists on the calendar."""
    if not isinstance(value, str) or len(value) != 10 or not conforms("date", value):
        raise _error("format", "must be a real calendar date, YYYY-MM-DD")
    return value
