"""Share of py-spy samples per stage of intake and delivery (docs/performance.md).

Reads raw collapsed stacks (``py-spy record -f raw``, as ``bench/intake_throughput.py
--py-spy DIR`` writes them) and puts each sample in the first stage whose marker
occurs in its stack, most specific first; what is left is the HTTP stack, the event
loop. A thread that only waits for work is not counted. Prints per stage its share of all samples.

    .venv/bin/python bench/profile_stages.py /tmp/prof/intake-api-only.txt [...]
"""

from __future__ import annotations

import sys
from collections import Counter

IDLE = "idle"
# (stage, markers): the first stage with a marker in a sample's stack takes it.
STAGES: list[tuple[str, tuple[str, ...]]] = [
    (
        "delivery: claim",
        ("gateway/delivery/lease.py", "gateway/delivery/claim.py", "DeliveryWorker.claim "),
    ),
    ("delivery: consent re-check", ("gateway/delivery/consent_recheck.py",)),
    ("delivery: minimise", ("Disclosure.outbound", "consent/minimise.py", "with_destination_task")),
    ("delivery: validate (R4B)", ("mappings/validation.py",)),
    ("delivery: materialise", ("gateway/delivery/materialise.py",)),
    ("delivery: send", ("(connectors/", "httpx/", "httpcore/")),
    ("delivery: record", ("gateway/delivery/outcomes.py", "gateway/delivery/publish.py")),
    ("delivery: other", ("gateway/delivery/", "gateway/referral_loop/", "gateway/crisis/")),
    ("sqlite thread: commit", ("Connection.commit", "_commit (aiosqlite", "do_commit")),
    ("sqlite thread: execute + commit", ("aiosqlite/core.py",)),
    ("auth", ("gateway/auth/",)),
    ("parse", ("parse_submission",)),
    ("validate", ("check_semantics", "_canonical", "body_hash")),
    ("score", ("mappings/scoring.py",)),
    (
        "map to the Bundle",
        (
            "mappings/triage_to_fhir.py",
            "mappings/",
        ),
    ),
    ("route", ("gateway/routing.py", "gateway/intake/facts.py")),
    ("consent", ("gateway/disclosure.py", "consent/", "consent_in_force")),
    ("audit", ("gateway/audit/",)),
    ("link + index rows", ("gateway/intake/linking.py", "gateway/store/fhir_store.py")),
    ("write (SQLAlchemy on the loop)", ("sqlalchemy/",)),
    ("intake other", ("gateway/intake/",)),
    ("admission + routing", ("gateway/api/", "starlette/routing.py", "fastapi/routing.py")),
    ("HTTP stack", ("uvicorn/", "starlette/", "fastapi/", "httptools")),
]


# A thread waiting for work (py-spy cannot always tell it is idle): not counted.
IDLE_LEAVES = (
    "Condition.wait (threading.py",
    "_connection_worker_thread (aiosqlite/core.py:59)",
    "EpollSelector.select (selectors.py:468)",
)
START_UP = ("<frozen importlib", "migrate (gateway/store/db.py", "Gateway.start (")


def stage_of(stack: str) -> str:
    leaf = stack.rsplit(";", 1)[-1]
    if leaf.startswith(IDLE_LEAVES) or ";" not in stack:
        return IDLE
    if any(marker in stack for marker in START_UP):
        return "start-up"
    for stage, markers in STAGES:
        if any(marker in stack for marker in markers):
            return stage
    return "event loop, other"


def main(paths: list[str]) -> None:
    for path in paths:
        counts: Counter[str] = Counter()
        with open(path) as lines:
            for line in lines:
                stack, _, n = line.rstrip().rpartition(" ")
                if n.isdigit():
                    counts[stage_of(stack)] += int(n)
        idle = counts.pop(IDLE, 0)
        total = sum(counts.values()) or 1
        print(f"{path}: {total} busy samples ({idle} idle, not counted)")
        for stage, n in counts.most_common():
            print(f"  {stage:<32} {n / total:6.1%}")


if __name__ == "__main__":
    main(sys.argv[1:])
