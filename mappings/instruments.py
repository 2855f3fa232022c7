"""Screening instruments as data: items, answer codes, scoring and severity bands.

Each instrument is one YAML file under ``mappings/instruments/`` (LOINC panel, total and
item codes, answer list, bands, which answers are safety signals). Adding an instrument
is a new file there plus a golden test; no code changes. The codes and their sources are
listed in ``docs/codes.md``.

Scoring: an ordinal instrument's total is the sum of its answers. The C-SSRS screener has
no summed score (its answers are yes / no / not asked, and LOINC defines no total), so
its ``total`` is ``None``; what matters there is which questions were answered yes,
reported by :meth:`Instrument.positive_safety_items`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

AnswerKind = Literal["ordinal-0-3", "yes-no-unasked"]
ANSWER_KINDS: tuple[AnswerKind, ...] = ("ordinal-0-3", "yes-no-unasked")


@dataclass(frozen=True)
class Band:
    """A severity band in words, e.g. ``Band("moderate", "Moderate depression")``."""

    code: str
    display: str


@dataclass(frozen=True)
class BandRange:
    low: int
    high: int
    band: Band


@dataclass(frozen=True)
class AnswerOption:
    """One answer the app may send (``value``) and its LOINC answer code."""

    value: int | bool
    code: str
    display: str


@dataclass(frozen=True)
class Item:
    """One question: its LOINC code (also the QuestionnaireResponse linkId) and text."""

    code: str
    text: str


@dataclass(frozen=True)
class SafetyItem:
    """A question whose positive answer is a safety signal (``item`` counts from 1)."""

    item: int
    signal: str
    kind: Literal["ideation", "behaviour"]
    meaning: str


@dataclass(frozen=True)
class Instrument:
    code: str
    title: str
    long_title: str
    questionnaire_url: str
    panel_loinc: str
    panel_display: str
    total_loinc: str | None
    total_display: str | None
    answer_kind: AnswerKind
    answer_options: tuple[AnswerOption, ...]
    items: tuple[Item, ...]
    bands: tuple[BandRange, ...]
    safety_items: tuple[SafetyItem, ...]

    @property
    def max_total(self) -> int | None:
        """The highest possible total, or ``None`` for an instrument without a total."""
        if self.total_loinc is None:
            return None
        return max(int(option.value) for option in self.answer_options) * len(self.items)

    def check_answers(self, answers: list[object]) -> list[tuple[int | None, str]]:
        """Problems with ``answers``: (index, or None for the list itself, plain message)."""
        if not isinstance(answers, list):
            return [(None, f"{self.title} answers must be a list")]
        problems: list[tuple[int | None, str]] = []
        if len(answers) != len(self.items):
            problems.append(
                (None, f"{self.title} needs exactly {len(self.items)} answers, got {len(answers)}")
            )
        for index, answer in enumerate(answers[: len(self.items)]):
            message = self._answer_problem(answer)
            if message is not None:
                problems.append((index, message))
        return problems

    def _answer_problem(self, answer: object) -> str | None:
        if self.answer_kind == "yes-no-unasked":
            if answer is None or isinstance(answer, bool):
                return None
            return f"{self.title} answers must be true, false or null (not asked)"
        values = sorted(int(option.value) for option in self.answer_options)
        if isinstance(answer, bool) or not isinstance(answer, int):
            return f"{self.title} answers must be whole numbers from {values[0]} to {values[-1]}"
        if answer not in values:
            return f"{self.title} answers must be from {values[0]} to {values[-1]}, got {answer}"
        return None

    def total(self, answers: list[object]) -> int | None:
        """The total score, or ``None`` when the instrument has none (C-SSRS screener).

        Raises ``ValueError`` when the answers do not pass :meth:`check_answers`.
        """
        problems = self.check_answers(answers)
        if problems:
            raise ValueError("; ".join(message for _, message in problems))
        if self.total_loinc is None:
            return None
        return sum(int(answer) for answer in answers if isinstance(answer, int))

    def severity(self, total: int) -> Band | None:
        """The band ``total`` falls in, or ``None`` (no bands, or out of range)."""
        for band_range in self.bands:
            if band_range.low <= total <= band_range.high:
                return band_range.band
        return None

    def answer_option(self, answer: object) -> AnswerOption | None:
        """The coded option for one answer; ``None`` for a question not asked."""
        for option in self.answer_options:
            if type(option.value) is type(answer) and option.value == answer:
                return option
        return None

    def positive_safety_items(self, answers: list[object]) -> list[tuple[SafetyItem, object]]:
        """Safety items answered positively (any frequency above "not at all", or yes)."""
        positive: list[tuple[SafetyItem, object]] = []
        for safety_item in self.safety_items:
            answer = answers[safety_item.item - 1]
            if answer is True or (type(answer) is int and answer > 0):
                positive.append((safety_item, answer))
        return positive


def _instrument_from_data(data: dict[str, Any]) -> Instrument:
    total = data["total"]
    instrument = Instrument(
        code=data["code"],
        title=data["title"],
        long_title=data["long_title"],
        questionnaire_url=data["questionnaire_url"],
        panel_loinc=data["panel"]["code"],
        panel_display=data["panel"]["display"],
        total_loinc=total["code"] if total else None,
        total_display=total["display"] if total else None,
        answer_kind=data["answer_kind"],
        answer_options=tuple(AnswerOption(**option) for option in data["answer_options"]),
        items=tuple(Item(**item) for item in data["items"]),
        bands=tuple(
            BandRange(band["min"], band["max"], Band(band["code"], band["display"]))
            for band in data["bands"]
        ),
        safety_items=tuple(SafetyItem(**item) for item in data["safety_items"]),
    )
    _check_consistent(instrument)
    return instrument


def _check_consistent(instrument: Instrument) -> None:
    """Refuse a data file whose bands, answer kind or safety items do not fit together."""
    name = instrument.code
    if instrument.answer_kind not in ANSWER_KINDS:
        raise ValueError(f"{name}: unknown answer_kind {instrument.answer_kind!r}")
    max_total = instrument.max_total
    if max_total is not None:
        expected_low = 0
        for band_range in instrument.bands:
            if band_range.low != expected_low or band_range.high < band_range.low:
                raise ValueError(f"{name}: bands must be contiguous from 0")
            expected_low = band_range.high + 1
        if expected_low != max_total + 1:
            raise ValueError(f"{name}: bands must end at the maximum total {max_total}")
    for safety_item in instrument.safety_items:
        if not 1 <= safety_item.item <= len(instrument.items):
            raise ValueError(f"{name}: safety item {safety_item.item} is not a question")


@cache
def _registry() -> dict[str, Instrument]:
    folder = resources.files("mappings") / "instruments"
    registry: dict[str, Instrument] = {}
    for entry in sorted(folder.iterdir(), key=lambda path: path.name):
        if entry.name.endswith(".yaml"):
            instrument = _instrument_from_data(yaml.safe_load(entry.read_text("utf-8")))
            registry[instrument.code] = instrument
    return registry


def get_instrument(code: str) -> Instrument:
    """The instrument named ``code`` (e.g. ``"phq-9"``); ``KeyError`` if unknown."""
    return _registry()[code]


def instrument_codes() -> list[str]:
    """Every known instrument code, sorted."""
    return sorted(_registry())
