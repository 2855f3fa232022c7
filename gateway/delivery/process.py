"""The embedded worker as a child process of ``gateway serve``, woken through a pipe.

Delivering (claims, the consent re-check, the Bundle's R4B check, sending, recording)
costs CPU and database time on the event loop; in the API's own process it starved
intake (docs/performance.md). So ``gateway serve`` runs the background work in a child
``gateway worker`` and keeps the API process to the request path. Intake wakes the
child at once: the API writes a byte to a pipe for every accepted referral (or Task
change), the child reads it and ends its idle wait, so the crisis lane's latency
holds. The child stops when the parent tells it to (SIGTERM on shutdown; Ctrl-C
reaches only the parent, the child runs in its own session) and when the pipe closes
because its parent is gone; a child that dies is started again. The child runs at a lower CPU
priority (``NICENESS``), so on a busy machine the request path gets the cores first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable

from gateway.logging import get_logger

log = get_logger("gateway.delivery.process")
STOP_SECONDS = 15.0
RESTART_SECONDS = 1.0
NICENESS = 5
"""The child's CPU weight is about a third of the API's when both want the cores: intake
keeps its latency, the worker still runs at once (and takes every idle cycle)."""


class WorkerProcess:
    """One child ``gateway worker --wake-fd N``, started after the API's own start-up
    (so only one process migrates the schema at a time)."""

    def __init__(self, argv: list[str] | None = None) -> None:
        self.argv = argv or [
            sys.executable,
            "-c",
            "from gateway.cli import app; app()",
            "worker",
        ]
        self._process: subprocess.Popen[bytes] | None = None
        self._wake_fd: int | None = None
        self._watch_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the child, and a watch that starts it again should it die."""
        self._spawn()
        self._watch_task = asyncio.get_running_loop().create_task(self._watch())

    def _spawn(self) -> None:
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        try:
            argv = [*self.argv, "--wake-fd", str(read_fd)]
            # Its own session: Ctrl-C reaches the parent only, which stops the child with
            # SIGTERM once the API has answered what it had (a SIGINT landing while the
            # child still imports would print a traceback into the JSON log).
            self._process = subprocess.Popen(  # noqa: S603
                argv, pass_fds=(read_fd,), start_new_session=True
            )
        finally:
            os.close(read_fd)
        self._wake_fd = write_fd
        log.info("worker.process_started", worker_id=str(self._process.pid))

    async def _watch(self) -> None:
        """A child that died (a bug, the OOM killer) is started again: what it held
        comes back when its leases run out, and nothing accepted waits for a restart
        of the API."""
        while True:
            await asyncio.sleep(RESTART_SECONDS)
            if self._process is not None and self._process.poll() is not None:
                log.error("worker.process_died", outcome=str(self._process.returncode))
                self._close_pipe()
                self._spawn()

    def _close_pipe(self) -> None:
        if self._wake_fd is not None:
            os.close(self._wake_fd)
            self._wake_fd = None

    def wake(self) -> None:
        """Tell the child there is work; never blocks (a full pipe is already a wake)."""
        if self._wake_fd is None:
            return
        with contextlib.suppress(BlockingIOError, BrokenPipeError):
            os.write(self._wake_fd, b"!")

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    async def stop(self) -> None:
        """SIGTERM, then wait (a delivery in flight finishes or its lease runs out)."""
        if self._watch_task is not None:
            self._watch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch_task
        process, self._process = self._process, None
        self._close_pipe()
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)


def listen_for_wakes(fd: int, wake: Callable[[], None], stop: asyncio.Event) -> None:
    """In the child: call ``wake`` whenever the parent writes; set ``stop`` when the
    parent's end closes (the parent is gone). Gives the API the CPU first."""
    os.nice(NICENESS)
    os.set_blocking(fd, False)
    loop = asyncio.get_running_loop()

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        if data:
            wake()
            return
        loop.remove_reader(fd)
        os.close(fd)
        log.warning("worker.parent_gone")
        stop.set()

    loop.add_reader(fd, readable)
