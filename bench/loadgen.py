"""A small HTTP/1.1 keep-alive load generator (loopback only, bounded in count and time).

Each of ``concurrency`` connections sends requests back to back; latencies are
measured per request. Used by the bench scripts so both sides of a ratio are
measured with the same client on the same machine in the same run.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Result:
    sent: int
    accepted: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    def line(self, label: str) -> str:
        return (
            f"{label}: {self.accepted}/{self.sent} accepted in {self.seconds:.2f} s = "
            f"{self.per_second:,.0f}/s; p50 {self.percentile(50):.1f} ms, "
            f"p99 {self.percentile(99):.1f} ms, mean {statistics.fmean(self.latencies_ms):.1f} ms"
        )


async def _read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def run_load(
    host: str,
    port: int,
    path: str,
    body_for: Callable[[int], bytes],
    *,
    headers: dict[str, str],
    total: int,
    concurrency: int,
    ok_status: int,
    max_seconds: float = 120.0,
) -> Result:
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError("the load generator only targets loopback")
    counter = iter(range(total))
    latencies: list[float] = []
    accepted = 0
    deadline = time.perf_counter() + max_seconds
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())

    async def connection() -> None:
        nonlocal accepted
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for n in counter:
                if time.perf_counter() > deadline:
                    break
                body = body_for(n)
                request = (
                    f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode() + body
                started = time.perf_counter()
                writer.write(request)
                await writer.drain()
                status = await _read_response(reader)
                latencies.append((time.perf_counter() - started) * 1000)
                if status == ok_status:
                    accepted += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return Result(len(latencies), accepted, time.perf_counter() - started, latencies)


@dataclass
class Timed:
    """Every answer of a timed run: status, latency, whether it carried Retry-After."""

    seconds: float
    answers: list[tuple[int, float, bool, bool]]  # status, ms, retry-after, urgent

    def of(self, status: int, urgent: bool | None = None) -> list[float]:
        return [ms for s, ms, _, u in self.answers if s == status and urgent in (None, u)]

    @staticmethod
    def p99(latencies: list[float]) -> float:
        if not latencies:
            return float("nan")
        ordered = sorted(latencies)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    status = int((await reader.readline()).split()[1])
    length, retry_after = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
        elif name.lower() == "retry-after":
            retry_after = True
    if length:
        await reader.readexactly(length)
    return status, retry_after


async def run_for(
    host: str,
    port: int,
    path: str,
    body_for: Callable[[int, int], tuple[bytes, bool]],
    *,
    headers: dict[str, str],
    seconds: float,
    concurrency: int,
    honour_retry_after: bool = False,
) -> Timed:
    """``concurrency`` keep-alive connections posting back to back for ``seconds``.

    ``body_for(n, connection)`` gives the n-th body sent on that connection and whether
    it is urgent (for the report). ``honour_retry_after``: a client that waits the 1 s
    the gateway's ``Retry-After`` asks for before it sends again, as a well-behaved one
    does; without it every client retries at once (a flood of retries)."""
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError("the load generator only targets loopback")
    counter = iter(range(10_000_000))
    answers: list[tuple[int, float, bool, bool]] = []
    deadline = time.perf_counter() + seconds
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())

    async def connection(number: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                body, urgent = body_for(next(counter), number)
                request = (
                    f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode() + body
                started = time.perf_counter()
                writer.write(request)
                await writer.drain()
                status, retry_after = await _read_answer(reader)
                answers.append(
                    (status, (time.perf_counter() - started) * 1000, retry_after, urgent)
                )
                if honour_retry_after and retry_after and status in (429, 503):
                    await asyncio.sleep(1.0)  # the gateway's Retry-After is 1 s
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection(number) for number in range(concurrency)))
    return Timed(time.perf_counter() - started, answers)
