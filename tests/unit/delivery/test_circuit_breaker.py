"""The per-destination circuit breaker: closed, open, half-open, with an injected clock."""

from __future__ import annotations

import pytest

from gateway.delivery.circuit import CircuitBreaker, CircuitState


class Seconds:
    def __init__(self) -> None:
        self.value = 100.0

    def __call__(self) -> float:
        return self.value


def breaker(clock: Seconds, threshold: int = 3) -> CircuitBreaker:
    return CircuitBreaker(clock=clock, failure_threshold=threshold, cool_down_seconds=30)


def test_opens_after_the_threshold_of_consecutive_failures() -> None:
    clock = Seconds()
    cb = breaker(clock)
    cb.failed("ehr")
    cb.failed("ehr")
    assert cb.state("ehr") is CircuitState.CLOSED and cb.blocked() == frozenset()
    cb.failed("ehr")
    assert cb.state("ehr") is CircuitState.OPEN
    assert cb.blocked() == {"ehr"}
    assert cb.state("other") is CircuitState.CLOSED


def test_a_success_resets_the_count() -> None:
    cb = breaker(Seconds())
    cb.failed("ehr")
    cb.failed("ehr")
    cb.succeeded("ehr")
    cb.failed("ehr")
    cb.failed("ehr")
    assert cb.state("ehr") is CircuitState.CLOSED


def test_half_open_lets_one_trial_through_after_the_cool_down() -> None:
    clock = Seconds()
    cb = breaker(clock, threshold=1)
    cb.failed("ehr")
    clock.value += 29.9
    assert cb.blocked() == {"ehr"}
    clock.value += 0.1
    assert cb.state("ehr") is CircuitState.HALF_OPEN
    assert cb.blocked() == frozenset()  # the next claim may take one
    cb.started("ehr")
    assert cb.blocked() == {"ehr"}  # ... and only one
    cb.succeeded("ehr")
    assert cb.state("ehr") is CircuitState.CLOSED and cb.blocked() == frozenset()


def test_a_failed_trial_opens_it_again_for_a_full_cool_down() -> None:
    clock = Seconds()
    cb = breaker(clock, threshold=2)
    cb.failed("ehr")
    cb.failed("ehr")
    clock.value += 30
    cb.started("ehr")
    cb.failed("ehr")
    assert cb.state("ehr") is CircuitState.OPEN
    clock.value += 29
    assert cb.blocked() == {"ehr"}


def test_a_trial_that_never_reached_the_destination_frees_the_slot() -> None:
    clock = Seconds()
    cb = breaker(clock, threshold=1)
    cb.failed("ehr")
    clock.value += 30
    cb.started("ehr")
    cb.ended("ehr")
    assert cb.blocked() == frozenset()
    assert cb.state("ehr") is CircuitState.HALF_OPEN


def test_a_closed_destination_is_not_affected_by_started_or_ended() -> None:
    cb = breaker(Seconds())
    cb.started("ehr")
    cb.ended("ehr")
    assert cb.state("ehr") is CircuitState.CLOSED and cb.blocked() == frozenset()


def test_refuses_nonsense_settings() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(clock=Seconds(), failure_threshold=0)
