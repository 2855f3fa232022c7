"""Flesch-Kincaid grade level (Kincaid et al., 1975, Navy research branch report 8-75).

    grade = 0.39 * (words / sentences) + 11.8 * (syllables / words) - 15.59

Syllables are estimated, not looked up: each run of vowels (a e i o u y) counts one, a
silent final ``e`` (but not ``-le``) does not, and every word has at least one. A token
with no letters (a number) counts as one word of one syllable.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[.!?]+")
_WORD = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")
_VOWEL_RUN = re.compile(r"[aeiouy]+")


def syllables(word: str) -> int:
    letters = re.sub(r"[^a-z]", "", word.lower())
    if not letters:
        return 1
    count = len(_VOWEL_RUN.findall(letters))
    if letters.endswith("e") and not letters.endswith("le") and count > 1:
        count -= 1
    return max(count, 1)


def flesch_kincaid_grade(text: str) -> float:
    words = _WORD.findall(text)
    if not words:
        return 0.0
    sentences = max(len([s for s in _SENTENCE_END.split(text) if _WORD.search(s)]), 1)
    total_syllables = sum(syllables(word) for word in words)
    return 0.39 * len(words) / sentences + 11.8 * total_syllables / len(words) - 15.59
