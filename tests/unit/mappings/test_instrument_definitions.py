"""Each instrument file read afresh keeps every code, title and display it declares, and the
consistency check refuses every kind of broken band or safety item.

The registry is built once per process (``functools.cache``), so these tests read the YAML
files through ``_instrument_from_data`` themselves instead of trusting the cached copy.
Expected values are typed in from the LOINC panels (docs/codes.md), not read back.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml

from mappings.instruments import (
    AnswerOption,
    Band,
    BandRange,
    Instrument,
    Item,
    SafetyItem,
    _instrument_from_data,
    get_instrument,
)


def read(code: str) -> Instrument:
    text = (resources.files("mappings") / "instruments" / f"{code}.yaml").read_text("utf-8")
    return _instrument_from_data(yaml.safe_load(text))


FREQUENCY = (
    AnswerOption(0, "LA6568-5", "Not at all"),
    AnswerOption(1, "LA6569-3", "Several days"),
    AnswerOption(2, "LA6570-1", "More than half the days"),
    AnswerOption(3, "LA6571-9", "Nearly every day"),
)

HEADERS = {
    "phq-9": (
        "PHQ-9",
        "Patient Health Questionnaire 9 item",
        "http://loinc.org/q/44249-1",
        "44249-1",
        "PHQ-9 quick depression assessment panel [Reported.PHQ]",
        "44261-6",
        "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
        "ordinal-0-3",
    ),
    "phq-2": (
        "PHQ-2",
        "Patient Health Questionnaire 2 item",
        "http://loinc.org/q/55757-9",
        "55757-9",
        "Patient Health Questionnaire 2 item (PHQ-2) [Reported]",
        "55758-7",
        "Patient Health Questionnaire 2 item (PHQ-2) total score [Reported]",
        "ordinal-0-3",
    ),
    "gad-7": (
        "GAD-7",
        "Generalized Anxiety Disorder 7 item",
        "http://loinc.org/q/69737-5",
        "69737-5",
        "Generalized anxiety disorder 7 item (GAD-7)",
        "70274-6",
        "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]",
        "ordinal-0-3",
    ),
    "c-ssrs-screener": (
        "C-SSRS screener",
        "Columbia Suicide Severity Rating Scale screener (recent)",
        "http://loinc.org/q/93373-9",
        "93373-9",
        "Columbia - suicide severity rating scale screener - recent [C-SSRS]",
        None,
        None,
        "yes-no-unasked",
    ),
}


@pytest.mark.parametrize("code", sorted(HEADERS))
def test_an_instrument_file_keeps_its_codes_and_titles(code: str) -> None:
    instrument = read(code)
    assert instrument.code == code
    assert (
        instrument.title,
        instrument.long_title,
        instrument.questionnaire_url,
        instrument.panel_loinc,
        instrument.panel_display,
        instrument.total_loinc,
        instrument.total_display,
        instrument.answer_kind,
    ) == HEADERS[code]
    assert instrument == get_instrument(code)


@pytest.mark.parametrize("code", ["phq-9", "phq-2", "gad-7"])
def test_frequency_answers_keep_value_code_and_display(code: str) -> None:
    assert read(code).answer_options == FREQUENCY


def test_yes_no_answers_keep_value_code_and_display() -> None:
    assert read("c-ssrs-screener").answer_options == (
        AnswerOption(True, "LA33-6", "Yes"),
        AnswerOption(False, "LA32-8", "No"),
    )


def test_items_keep_code_and_question_text() -> None:
    phq9 = read("phq-9")
    assert phq9.items[0] == Item("44250-9", "Little interest or pleasure in doing things")
    assert phq9.items[8].code == "44260-8"
    assert "better off dead" in phq9.items[8].text
    assert read("phq-2").items == phq9.items[:2]
    cssrs = read("c-ssrs-screener")
    assert cssrs.items[0].code == "93246-7" and "wished you were dead" in cssrs.items[0].text
    assert len({item.text for item in read("gad-7").items}) == 7


def test_bands_keep_range_code_and_words() -> None:
    assert read("phq-9").bands == (
        BandRange(0, 4, Band("minimal", "Minimal depression")),
        BandRange(5, 9, Band("mild", "Mild depression")),
        BandRange(10, 14, Band("moderate", "Moderate depression")),
        BandRange(15, 19, Band("moderately-severe", "Moderately severe depression")),
        BandRange(20, 27, Band("severe", "Severe depression")),
    )
    assert read("gad-7").bands[-1] == BandRange(15, 21, Band("severe", "Severe anxiety"))
    assert read("phq-2").bands == (
        BandRange(0, 2, Band("negative-screen", "Negative depression screen")),
        BandRange(3, 6, Band("positive-screen", "Positive depression screen")),
    )
    assert read("c-ssrs-screener").bands == ()


def test_safety_items_keep_question_signal_kind_and_meaning() -> None:
    [item9] = read("phq-9").safety_items
    assert (item9.item, item9.signal, item9.kind) == (9, "phq9-item9-positive", "ideation")
    assert "self-harm" in item9.meaning
    cssrs = read("c-ssrs-screener").safety_items
    assert [s.item for s in cssrs] == [1, 2, 3, 4, 5, 6]
    assert [s.kind for s in cssrs] == ["ideation"] * 5 + ["behaviour"]
    assert cssrs[0] == SafetyItem(1, "cssrs-wish-to-be-dead", "ideation", "a wish to be dead")
    assert read("gad-7").safety_items == () and read("phq-2").safety_items == ()


# -- the consistency check -----------------------------------------------------------------


def data(**changes: Any) -> dict[str, Any]:
    """A three-item instrument (totals 0..9) to break one way at a time."""
    made: dict[str, Any] = {
        "code": "tri-3",
        "title": "TRI-3",
        "long_title": "Three item test instrument",
        "questionnaire_url": "http://example.org/q/tri-3",
        "panel": {"code": "0000-0", "display": "TRI-3 panel"},
        "total": {"code": "0000-1", "display": "TRI-3 total"},
        "answer_kind": "ordinal-0-3",
        "answer_options": [{"value": v, "code": f"LA-{v}", "display": str(v)} for v in range(4)],
        "items": [{"code": f"Q{n}", "text": f"question {n}"} for n in (1, 2, 3)],
        "bands": [
            {"min": 0, "max": 4, "code": "low", "display": "Low"},
            {"min": 5, "max": 9, "code": "high", "display": "High"},
        ],
        "safety_items": [{"item": 3, "signal": "tri-3-q3", "kind": "ideation", "meaning": "m"}],
    }
    made.update(changes)
    return made


def bands(*ranges: tuple[int, int]) -> list[dict[str, Any]]:
    return [{"min": lo, "max": hi, "code": f"b{lo}", "display": f"B{lo}"} for lo, hi in ranges]


def test_a_consistent_instrument_is_accepted() -> None:
    instrument = _instrument_from_data(data())
    assert instrument.max_total == 9
    assert instrument.severity(4) == Band("low", "Low")
    assert instrument.severity(5) == Band("high", "High")
    assert instrument.severity(9) == Band("high", "High")
    assert instrument.severity(10) is None and instrument.severity(-1) is None


@pytest.mark.parametrize(
    "ranges",
    [
        [(0, 9)],
        [(0, 0), (1, 9)],
        [(0, 8), (9, 9)],
        [(0, 0), (1, 1), (2, 9)],
    ],
)
def test_contiguous_bands_from_zero_to_the_maximum_are_accepted(
    ranges: list[tuple[int, int]]
) -> None:
    instrument = _instrument_from_data(data(bands=bands(*ranges)))
    assert [(b.low, b.high) for b in instrument.bands] == ranges


@pytest.mark.parametrize(
    ("ranges", "says"),
    [
        ([(1, 9)], "contiguous from 0"),
        ([(0, 4), (6, 9)], "contiguous"),
        ([(0, 4), (4, 9)], "contiguous"),
        ([(0, 4), (5, 3), (4, 9)], "contiguous"),
        ([(0, -1), (0, 9)], "contiguous"),
        ([(0, 4), (5, 8)], "maximum total 9"),
        ([(0, 4), (5, 10)], "maximum total 9"),
        ([], "maximum total 9"),
    ],
)
def test_broken_bands_are_refused(ranges: list[tuple[int, int]], says: str) -> None:
    with pytest.raises(ValueError, match=says) as refused:
        _instrument_from_data(data(bands=bands(*ranges)))
    assert "tri-3" in str(refused.value)


@pytest.mark.parametrize("item", [0, -1, 4, 10])
def test_a_safety_item_that_is_not_a_question_is_refused(item: int) -> None:
    broken = [{"item": item, "signal": "s", "kind": "ideation", "meaning": "m"}]
    with pytest.raises(ValueError, match="not a question") as refused:
        _instrument_from_data(data(safety_items=broken))
    assert "tri-3" in str(refused.value) and str(item) in str(refused.value)


@pytest.mark.parametrize("item", [1, 3])
def test_a_safety_item_on_the_first_or_last_question_is_accepted(item: int) -> None:
    fine = [{"item": item, "signal": "s", "kind": "behaviour", "meaning": "m"}]
    [safety] = _instrument_from_data(data(safety_items=fine)).safety_items
    assert safety.item == item


def test_a_later_broken_safety_item_is_still_refused() -> None:
    items = [
        {"item": 1, "signal": "a", "kind": "ideation", "meaning": "m"},
        {"item": 4, "signal": "b", "kind": "ideation", "meaning": "m"},
    ]
    with pytest.raises(ValueError, match="not a question"):
        _instrument_from_data(data(safety_items=items))


def test_an_unknown_answer_kind_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="answer_kind") as refused:
        _instrument_from_data(data(answer_kind="likert-1-5"))
    assert "likert-1-5" in str(refused.value) and "tri-3" in str(refused.value)


def test_an_instrument_without_total_needs_no_bands() -> None:
    instrument = _instrument_from_data(
        data(total=None, bands=[], answer_kind="yes-no-unasked", answer_options=[
            {"value": True, "code": "Y", "display": "Yes"},
            {"value": False, "code": "N", "display": "No"},
        ])
    )
    assert instrument.total_loinc is None and instrument.total_display is None
    assert instrument.max_total is None
    assert instrument.total([True, None, False]) is None


# -- answers and scores ----------------------------------------------------------------------


def test_answer_problems_name_the_instrument_and_the_allowed_range() -> None:
    phq2 = get_instrument("phq-2")
    [(_, wrong_type)] = phq2.check_answers(["1", 0])
    assert "PHQ-2" in wrong_type and "from 0 to 3" in wrong_type
    [(_, out_of_range)] = phq2.check_answers([0, 7])
    assert "PHQ-2" in out_of_range and "from 0 to 3" in out_of_range and "7" in out_of_range
    [(_, not_yes_no)] = get_instrument("c-ssrs-screener").check_answers([1] + [None] * 5)
    assert "C-SSRS" in not_yes_no
    [(index, not_list)] = phq2.check_answers(None)  # type: ignore[arg-type]
    assert index is None and "PHQ-2" in not_list and "list" in not_list


def test_the_total_refuses_answers_naming_every_problem() -> None:
    answers: list[object] = [0, 9, "x"]
    problems = get_instrument("phq-2").check_answers(answers)
    with pytest.raises(ValueError) as refused:
        get_instrument("phq-2").total(answers)
    assert str(refused.value).split("; ") == [message for _, message in problems]


def test_too_few_answers_are_each_still_checked() -> None:
    problems = get_instrument("phq-9").check_answers([0, 9])
    assert problems[0][0] is None and "got 2" in problems[0][1]
    assert [index for index, _ in problems[1:]] == [1]


def test_the_total_is_the_sum_of_every_answer() -> None:
    phq9 = get_instrument("phq-9")
    assert phq9.total([3] * 9) == 27
    assert phq9.total([0] * 8 + [3]) == 3
    assert phq9.total([3] + [0] * 8) == 3


def test_an_answer_option_is_found_by_value_and_type() -> None:
    phq9 = get_instrument("phq-9")
    assert phq9.answer_option(3) == FREQUENCY[3]
    assert phq9.answer_option(True) is None
    assert phq9.answer_option(None) is None
    cssrs = get_instrument("c-ssrs-screener")
    assert cssrs.answer_option(False) == AnswerOption(False, "LA32-8", "No")
    assert cssrs.answer_option(0) is None and cssrs.answer_option(1) is None


def test_positive_safety_items_are_any_frequency_or_yes() -> None:
    phq9 = get_instrument("phq-9")
    for answer in (1, 2, 3):
        [(item, given)] = phq9.positive_safety_items([0] * 8 + [answer])
        assert item.item == 9 and given == answer
    assert phq9.positive_safety_items([3] * 8 + [0]) == []
    cssrs = get_instrument("c-ssrs-screener")
    assert cssrs.positive_safety_items([False, None, None, None, None, False]) == []
    found = cssrs.positive_safety_items([False, True, None, None, None, None])
    assert [(item.item, answer) for item, answer in found] == [(2, True)]
