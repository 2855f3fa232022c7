"""Instrument data: codes as LOINC publishes them, scoring, bands and answer checks."""

from __future__ import annotations

import pytest

from mappings.instruments import Band, _instrument_from_data, get_instrument, instrument_codes

# Expected codes, typed in from the LOINC panels (see docs/codes.md), not read from the YAML.
LOINC = {
    "phq-9": (
        "44249-1",
        "44261-6",
        [
            "44250-9",
            "44255-8",
            "44259-0",
            "44254-1",
            "44251-7",
            "44258-2",
            "44252-5",
            "44253-3",
            "44260-8",
        ],
    ),
    "phq-2": ("55757-9", "55758-7", ["44250-9", "44255-8"]),
    "gad-7": (
        "69737-5",
        "70274-6",
        ["69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"],
    ),
    "c-ssrs-screener": (
        "93373-9",
        None,
        ["93246-7", "93247-5", "93248-3", "93249-1", "93250-9", "93267-3"],
    ),
}
FREQUENCY_ANSWERS = [(0, "LA6568-5"), (1, "LA6569-3"), (2, "LA6570-1"), (3, "LA6571-9")]


def test_every_instrument_is_known() -> None:
    assert instrument_codes() == sorted(LOINC)


@pytest.mark.parametrize("code", sorted(LOINC))
def test_loinc_codes_and_item_order(code: str) -> None:
    instrument = get_instrument(code)
    panel, total, items = LOINC[code]
    assert (instrument.panel_loinc, instrument.total_loinc) == (panel, total)
    assert [item.code for item in instrument.items] == items
    assert instrument.questionnaire_url == f"http://loinc.org/q/{panel}"


@pytest.mark.parametrize("code", ["phq-9", "phq-2", "gad-7"])
def test_frequency_answer_codes(code: str) -> None:
    options = get_instrument(code).answer_options
    assert [(option.value, option.code) for option in options] == FREQUENCY_ANSWERS


def test_cssrs_answer_codes() -> None:
    options = get_instrument("c-ssrs-screener").answer_options
    assert [(option.value, option.code) for option in options] == [
        (True, "LA33-6"),
        (False, "LA32-8"),
    ]


def test_unknown_instrument_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        get_instrument("beck-depression-inventory")


@pytest.mark.parametrize(
    ("code", "total", "band"),
    [
        ("phq-9", 0, "minimal"),
        ("phq-9", 4, "minimal"),
        ("phq-9", 5, "mild"),
        ("phq-9", 9, "mild"),
        ("phq-9", 10, "moderate"),
        ("phq-9", 14, "moderate"),
        ("phq-9", 15, "moderately-severe"),
        ("phq-9", 19, "moderately-severe"),
        ("phq-9", 20, "severe"),
        ("phq-9", 27, "severe"),
        ("gad-7", 4, "minimal"),
        ("gad-7", 5, "mild"),
        ("gad-7", 10, "moderate"),
        ("gad-7", 14, "moderate"),
        ("gad-7", 15, "severe"),
        ("gad-7", 21, "severe"),
        ("phq-2", 2, "negative-screen"),
        ("phq-2", 3, "positive-screen"),
    ],
)
def test_severity_bands(code: str, total: int, band: str) -> None:
    found = get_instrument(code).severity(total)
    assert isinstance(found, Band)
    assert found.code == band


def test_out_of_range_total_has_no_band() -> None:
    assert get_instrument("phq-9").severity(28) is None
    assert get_instrument("c-ssrs-screener").severity(1) is None


def test_totals() -> None:
    assert get_instrument("phq-9").total([1, 2, 1, 2, 1, 0, 1, 1, 2]) == 11
    assert get_instrument("gad-7").total([1, 1, 2, 1, 0, 1, 1]) == 7
    assert get_instrument("phq-2").total([3, 3]) == 6
    assert get_instrument("phq-9").max_total == 27
    assert get_instrument("gad-7").max_total == 21


def test_cssrs_has_no_total() -> None:
    instrument = get_instrument("c-ssrs-screener")
    assert instrument.total([True, True, None, None, None, False]) is None
    assert instrument.max_total is None


def test_total_refuses_invalid_answers() -> None:
    with pytest.raises(ValueError, match="exactly 9"):
        get_instrument("phq-9").total([1, 2])


class TestCheckAnswers:
    def test_valid_answers_have_no_problems(self) -> None:
        assert get_instrument("phq-9").check_answers([0, 1, 2, 3, 0, 1, 2, 3, 0]) == []
        assert get_instrument("c-ssrs-screener").check_answers([True, False, None] * 2) == []

    def test_bools_are_not_ordinal_answers(self) -> None:
        problems = get_instrument("gad-7").check_answers([True, 0, 0, 0, 0, False, 0])
        assert [index for index, _ in problems] == [0, 5]

    def test_wrong_count_names_the_list(self) -> None:
        problems = get_instrument("phq-9").check_answers([0] * 8)
        assert problems == [(None, "PHQ-9 needs exactly 9 answers, got 8")]

    def test_too_many_answers_checks_the_expected_ones(self) -> None:
        problems = get_instrument("phq-2").check_answers([0, 4, "x"])
        assert [index for index, _ in problems] == [None, 1]

    @pytest.mark.parametrize("bad", [-1, 4, 1.0, "1", None, [1]])
    def test_out_of_range_or_wrong_type(self, bad: object) -> None:
        problems = get_instrument("phq-2").check_answers([bad, 0])
        assert [index for index, _ in problems] == [0]

    @pytest.mark.parametrize("bad", [0, 1, "yes", "true"])
    def test_cssrs_takes_only_true_false_null(self, bad: object) -> None:
        problems = get_instrument("c-ssrs-screener").check_answers(
            [bad, False, None, None, None, False]
        )
        assert [index for index, _ in problems] == [0]

    def test_not_a_list(self) -> None:
        problems = get_instrument("phq-2").check_answers("01")  # type: ignore[arg-type]
        assert [index for index, _ in problems] == [None]


def test_safety_items() -> None:
    phq9 = get_instrument("phq-9")
    assert phq9.positive_safety_items([0] * 9) == []
    [(item, answer)] = phq9.positive_safety_items([0] * 8 + [1])
    assert (item.signal, item.item, answer) == ("phq9-item9-positive", 9, 1)
    cssrs = get_instrument("c-ssrs-screener")
    signals = [
        item.signal
        for item, _ in cssrs.positive_safety_items([True, False, None, None, None, True])
    ]
    assert signals == ["cssrs-wish-to-be-dead", "cssrs-behavior"]


def _phq2_data(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "code": "phq-2-copy",
        "title": "PHQ-2",
        "long_title": "Patient Health Questionnaire 2 item",
        "questionnaire_url": "http://loinc.org/q/55757-9",
        "panel": {"code": "55757-9", "display": "PHQ-2"},
        "total": {"code": "55758-7", "display": "PHQ-2 total"},
        "answer_kind": "ordinal-0-3",
        "answer_options": [
            {"value": value, "code": code, "display": str(value)}
            for value, code in FREQUENCY_ANSWERS
        ],
        "items": [{"code": "44250-9", "text": "a"}, {"code": "44255-8", "text": "b"}],
        "bands": [
            {"min": 0, "max": 2, "code": "negative", "display": "Negative"},
            {"min": 3, "max": 6, "code": "positive", "display": "Positive"},
        ],
        "safety_items": [],
    }
    data.update(changes)
    return data


def test_a_new_instrument_is_only_data() -> None:
    instrument = _instrument_from_data(_phq2_data())
    assert instrument.total([2, 2]) == 4
    assert instrument.severity(4) == Band("positive", "Positive")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"bands": [{"min": 0, "max": 2, "code": "n", "display": "N"}]}, "maximum total"),
        (
            {
                "bands": [
                    {"min": 0, "max": 2, "code": "n", "display": "N"},
                    {"min": 4, "max": 6, "code": "p", "display": "P"},
                ]
            },
            "contiguous",
        ),
        ({"answer_kind": "likert-1-5"}, "answer_kind"),
        (
            {"safety_items": [{"item": 3, "signal": "s", "kind": "ideation", "meaning": "m"}]},
            "not a question",
        ),
    ],
)
def test_inconsistent_instrument_data_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _instrument_from_data(_phq2_data(**changes))
