"""A per-destination circuit breaker, so one dead destination does not slow the others.

    closed --N consecutive transient failures--> open
    open   --cool-down elapsed, one delivery let through--> half-open (a single trial)
    half-open --trial lands (or the destination answers at all)--> closed
    half-open --trial fails transiently--> open (the cool-down starts again)

While a destination's circuit is open, or its half-open trial is in flight, the
worker does not claim its deliveries: they stay queued, nothing is lost, and the
worker spends its time on destinations that answer. State lives in the worker's
memory (each worker process judges for itself). The clock is injected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum


class CircuitState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass
class _Circuit:
    failures: int = 0
    opened_at: float | None = None
    trial_in_flight: bool = False


@dataclass
class CircuitBreaker:
    """``clock`` returns seconds (monotonic); ``failure_threshold`` consecutive transient
    failures open a destination's circuit for ``cool_down_seconds``."""

    clock: Callable[[], float]
    failure_threshold: int = 5
    cool_down_seconds: float = 30.0
    _circuits: dict[str, _Circuit] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.cool_down_seconds < 0:
            raise ValueError("failure_threshold must be >= 1 and cool_down_seconds >= 0")

    def state(self, destination: str) -> CircuitState:
        circuit = self._circuits.get(destination)
        if circuit is None or circuit.opened_at is None:
            return CircuitState.CLOSED
        if circuit.trial_in_flight or self._cooled(circuit):
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def blocked(self) -> frozenset[str]:
        """Destinations whose deliveries must not be claimed now."""
        return frozenset(
            name
            for name, circuit in self._circuits.items()
            if circuit.opened_at is not None
            and (circuit.trial_in_flight or not self._cooled(circuit))
        )

    def started(self, destination: str) -> None:
        """A delivery to ``destination`` was claimed. Past an open circuit's cool-down it is
        the half-open trial, and nothing else goes there until it ends."""
        circuit = self._circuits.get(destination)
        if circuit is not None and circuit.opened_at is not None:
            circuit.trial_in_flight = True

    def succeeded(self, destination: str) -> None:
        """The destination answered (a receipt, or a refusal that proves it is alive)."""
        self._circuits.pop(destination, None)

    def failed(self, destination: str) -> None:
        """A transient failure: timeout, refused, 408/429/5xx."""
        circuit = self._circuits.setdefault(destination, _Circuit())
        circuit.failures += 1
        if circuit.opened_at is not None or circuit.failures >= self.failure_threshold:
            circuit.opened_at = self.clock()
        circuit.trial_in_flight = False

    def ended(self, destination: str) -> None:
        """The claimed delivery ended without reaching the destination (e.g. consent
        withheld it): a half-open trial is free to be taken by the next delivery."""
        circuit = self._circuits.get(destination)
        if circuit is not None:
            circuit.trial_in_flight = False

    def _cooled(self, circuit: _Circuit) -> bool:
        assert circuit.opened_at is not None
        return self.clock() - circuit.opened_at >= self.cool_down_seconds
