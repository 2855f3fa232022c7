"""The closed vocabulary of ``risk.signals``, as data (``signals.yaml``; docs/safety-signals.md).

A *safety* signal, reported by the app or shown by an answer, adds the crisis route
exactly as a positive PHQ-9 item 9 does (CONTRACT.md v1.1, "Intake, made precise").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class SignalDefinition:
    code: str
    safety: bool
    meaning: str


@cache
def vocabulary() -> dict[str, SignalDefinition]:
    """Every known signal by code, in the file's order."""
    raw = yaml.safe_load(resources.files("mappings").joinpath("signals.yaml").read_text("utf-8"))
    return {
        item["code"]: SignalDefinition(item["code"], bool(item["safety"]), item["meaning"])
        for item in raw["signals"]
    }


def safety_signals(codes: list[str]) -> list[str]:
    """The safety signals among ``codes`` (unknown codes are not safety signals here:
    intake refuses them before this is asked)."""
    known = vocabulary()
    return [code for code in codes if code in known and known[code].safety]
