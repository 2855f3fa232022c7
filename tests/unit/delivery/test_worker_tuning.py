"""Worker settings from GATEWAY_* variables: lease, circuit breaker, the test-only crash hook."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from gateway.delivery.worker import WorkerTuning
from gateway.settings import Settings


def test_tuning_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_WORKER_LEASE_SECONDS", "1.5")
    monkeypatch.setenv("GATEWAY_CIRCUIT_FAILURE_THRESHOLD", "2")
    monkeypatch.setenv("GATEWAY_CIRCUIT_COOL_DOWN_SECONDS", "7")
    monkeypatch.setenv("GATEWAY_TEST_CRASH_AT", "after-deliver")
    tuning = WorkerTuning.from_settings(Settings())
    assert tuning == WorkerTuning(
        lease=timedelta(seconds=1.5),
        circuit_failure_threshold=2,
        circuit_cool_down_seconds=7.0,
        crash_at="after-deliver",
    )


def test_defaults_have_no_crash_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GATEWAY_TEST_CRASH_AT", "GATEWAY_WORKER_LEASE_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    tuning = WorkerTuning.from_settings(Settings())
    assert tuning.crash_at is None
    assert tuning.lease == timedelta(seconds=60)


@pytest.mark.parametrize("bad", ["after-everything", ""])
def test_an_unknown_crash_point_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        Settings(test_crash_at=bad)


def test_the_crash_hook_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="tests only"):
        Settings(env="production", test_crash_at="after-claim")
