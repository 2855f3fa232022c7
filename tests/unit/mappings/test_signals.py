"""The closed signal vocabulary decides which reported signals are safety signals."""

from __future__ import annotations

from mappings.signals import safety_signals, vocabulary


def test_only_known_safety_signals_are_kept_in_the_order_given() -> None:
    reported = [
        "hopelessness-language",  # known, recorded, routes nothing
        "cssrs-behavior",
        "not-a-signal",  # unknown: intake refuses it before this is asked
        "phq9-item9-positive",
        "substance-use-language",
    ]
    assert safety_signals(reported) == ["cssrs-behavior", "phq9-item9-positive"]
    assert safety_signals([]) == []


def test_the_vocabulary_holds_both_kinds_each_with_a_meaning() -> None:
    known = vocabulary()
    assert not known["hopelessness-language"].safety
    assert known["cssrs-ideation"].safety
    assert all(definition.code == code and definition.meaning for code, definition in known.items())
