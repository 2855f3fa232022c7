"""``gateway serve`` runs its worker as a child process (docs/performance.md): the API
wakes it through a pipe at once on accept, Ctrl-C stops both cleanly, the child never
outlives its parent, and ``--no-worker`` stays API-only."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from live_gateway import GATEWAY, ROOT, serving_gateway, write_gateway_files
from sekmet import free_port, routed_to_ehr, unique_triage

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

INBOX = {"name": "desk-inbox", "type": "inbox"}


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def _nice(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])  # field 19 of proc(5), counted from the state (field 3)


def _delivered(view: dict[str, Any]) -> bool:
    return any(d["status"] == "delivered" for d in view["deliveries"])


def test_the_worker_child_is_woken_at_once_and_stops_with_ctrl_c(tmp_path: Path) -> None:
    files = write_gateway_files(
        tmp_path, routed_to_ehr(INBOX), f"sqlite+aiosqlite:///{tmp_path}/gateway.db"
    )
    # A poll far longer than the wait below: only the wake through the pipe can deliver.
    with serving_gateway(files, worker_poll_seconds="60") as gateway:
        ready = gateway.get("/readyz").json()
        assert ready["worker"] is True
        (child,) = _children(gateway.process.pid)
        deadline = time.monotonic() + 10  # the child lowers its priority once started
        while _nice(child) <= _nice(gateway.process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _nice(child) > _nice(gateway.process.pid)  # the API gets the CPU first
        accepted = gateway.submit(unique_triage("minimal-patient"))
        assert accepted.status_code == 202, accepted.text
        started = time.monotonic()
        gateway.wait_for(accepted.headers["location"], _delivered, timeout=10)
        assert time.monotonic() - started < 10
        os.killpg(gateway.process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        assert gateway.process.wait(20) == 0
        assert _wait_gone(child, 20)


def test_the_worker_child_ends_when_its_parent_is_killed(tmp_path: Path) -> None:
    files = write_gateway_files(
        tmp_path, routed_to_ehr(INBOX), f"sqlite+aiosqlite:///{tmp_path}/gateway.db"
    )
    with serving_gateway(files) as gateway:
        (child,) = _children(gateway.process.pid)
        gateway.process.kill()
        gateway.process.wait(10)
        assert _wait_gone(child, 20)


def test_a_worker_child_that_dies_is_started_again(tmp_path: Path) -> None:
    files = write_gateway_files(
        tmp_path, routed_to_ehr(INBOX), f"sqlite+aiosqlite:///{tmp_path}/gateway.db"
    )
    with serving_gateway(files) as gateway:
        (child,) = _children(gateway.process.pid)
        os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _children(gateway.process.pid) in ([], [child]):
            time.sleep(0.1)
        (again,) = _children(gateway.process.pid)
        assert again != child
        accepted = gateway.submit(unique_triage("minimal-patient"))
        assert accepted.status_code == 202, accepted.text
        gateway.wait_for(accepted.headers["location"], _delivered, timeout=20)


def test_no_worker_serves_the_api_alone(tmp_path: Path) -> None:
    files = write_gateway_files(
        tmp_path, routed_to_ehr(INBOX), f"sqlite+aiosqlite:///{tmp_path}/gateway.db"
    )
    port = free_port()
    env = files.env(host="127.0.0.1", port=str(port), public_url=f"http://127.0.0.1:{port}")
    process = subprocess.Popen(
        [str(GATEWAY), "serve", "--no-worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        import httpx

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert ready.status_code == 200
        assert ready.json()["worker"] is False
        assert _children(process.pid) == []
    finally:
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(20) == 0
