"""``risk.signals[i]``: one code of the closed vocabulary (``mappings/signals.yaml``).

An unknown code is a 422 naming ``risk.signals[i]``: a typo must never silently drop a
safety signal (CONTRACT.md v1.1, "Intake, made precise").
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from mappings.signals import vocabulary


def known_signal(code: str) -> str:
    if code not in vocabulary():
        raise PydanticCustomError(
            "unknown_signal",
            "'{code}' is not a known signal (see docs/safety-signals.md for the vocabulary)",
            {"code": code[:64]},
        )
    return code


Signal = Annotated[str, AfterValidator(known_signal)]
