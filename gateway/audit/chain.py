"""Tamper-evident audit chain, after RFC 6962 (Certificate Transparency) §2.1 hashing.

Each entry is hashed as a leaf with a one-byte domain separator, and the chain hash
folds that leaf into the previous chain hash with a different separator, so a leaf
hash can never be passed off as a chain hash:

    leaf_hash(entry)        = SHA-256(0x00 || canonical(entry))
    chain_hash(prev, leaf)  = SHA-256(0x01 || prev || leaf)
    prev of the first entry = 32 zero bytes;  seq starts at 1

``canonical(entry)`` is the entry serialised by orjson with sorted keys. The columns
stored beside an entry to find it (``event_type``, ``referral_id``, ``patient_id``,
``recorded_at``: what the accounting of disclosures reads) are hashed with it, so an
edit to any of them is an edit the chain shows:

    leaf_hash(entry, index) = SHA-256(0x00 || canonical({"entry": entry, "index": index}))

(with no index, the leaf is ``canonical(entry)`` alone, as before). The head
(last ``seq`` and chain hash) can be exported and kept outside the database; a chain
that is shorter than an exported head, or whose hash at the head's ``seq`` differs,
was truncated or rewritten.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
GENESIS = bytes(32)


@dataclass(frozen=True)
class ChainLink:
    """What to store beside an entry."""

    seq: int
    leaf_hash: bytes
    chain_hash: bytes


@dataclass(frozen=True)
class StoredEntry:
    seq: int
    entry: dict[str, Any]
    leaf_hash: bytes
    chain_hash: bytes
    index: dict[str, Any] = field(default_factory=dict)
    """The index columns stored beside the entry, as hashed (see the module docstring)."""


@dataclass(frozen=True)
class Head:
    """The chain's newest link, for anchoring outside the database."""

    seq: int
    chain_hash: bytes

    def to_json(self) -> str:
        return orjson.dumps({"seq": self.seq, "chain_hash": self.chain_hash.hex()}).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> Head:
        raw = orjson.loads(text)
        seq, digest = raw.get("seq"), raw.get("chain_hash")
        if not isinstance(seq, int) or seq < 0 or not isinstance(digest, str):
            raise ValueError("a head is {'seq': int >= 0, 'chain_hash': hex}")
        chain_hash = bytes.fromhex(digest)
        if len(chain_hash) != len(GENESIS):
            raise ValueError("chain_hash must be 32 bytes of hex")
        return cls(seq=seq, chain_hash=chain_hash)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    first_bad_seq: int | None = None
    problem: str = ""
    head: Head | None = None
    """The head recomputed from the entries (``None`` for an empty chain)."""


def canonical(entry: dict[str, Any]) -> bytes:
    return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)


def leaf_bytes(entry: dict[str, Any], index: dict[str, Any] | None = None) -> bytes:
    """What the leaf hash covers: the entry, and the index columns stored beside it."""
    return canonical({"entry": entry, "index": index}) if index else canonical(entry)


def leaf_hash(entry_bytes: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + entry_bytes).digest()


def chain_hash(prev: bytes, leaf: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + prev + leaf).digest()


def append(
    prev_head: Head | None, entry: dict[str, Any], index: dict[str, Any] | None = None
) -> ChainLink:
    """The link for ``entry`` (with its ``index`` columns) following ``prev_head``."""
    seq = prev_head.seq + 1 if prev_head else 1
    prev = prev_head.chain_hash if prev_head else GENESIS
    leaf = leaf_hash(leaf_bytes(entry, index))
    return ChainLink(seq=seq, leaf_hash=leaf, chain_hash=chain_hash(prev, leaf))


def verify(entries: Iterable[StoredEntry], expected_head: Head | None = None) -> VerifyResult:
    """Recompute the chain over ``entries`` (in ``seq`` order) and name the first bad entry.

    Edited content shows as a leaf mismatch; a deleted entry as a gap in ``seq``;
    reordered or inserted entries as a ``seq`` out of place or a chain mismatch; a
    truncated tail (or a rewrite of the whole chain) only against ``expected_head``.
    """
    prev = GENESIS
    expected_seq = 1
    head: Head | None = None
    at_expected_head: bytes | None = None
    for stored in entries:
        if stored.seq != expected_seq:
            return _bad(expected_seq, _seq_problem(stored.seq, expected_seq), head)
        leaf = leaf_hash(leaf_bytes(stored.entry, stored.index))
        if leaf != stored.leaf_hash:
            problem = (
                f"entry {stored.seq} was edited: its content or an index column "
                f"({', '.join(sorted(stored.index)) or 'none'}) differs from what was hashed"
            )
            return _bad(stored.seq, problem, head)
        link = chain_hash(prev, leaf)
        if link != stored.chain_hash:
            problem = f"entry {stored.seq} does not follow entry {stored.seq - 1} (chain differs)"
            return _bad(stored.seq, problem, head)
        prev, expected_seq = link, expected_seq + 1
        head = Head(seq=stored.seq, chain_hash=link)
        if expected_head and stored.seq == expected_head.seq:
            at_expected_head = link
    if expected_head and expected_head.seq > 0:
        if at_expected_head is None:
            problem = f"entries from {expected_seq} to {expected_head.seq} are missing (truncated)"
            return _bad(expected_seq, problem, head)
        if at_expected_head != expected_head.chain_hash:
            problem = f"the chain up to entry {expected_head.seq} differs from the exported head"
            return _bad(expected_head.seq, problem, head)
    return VerifyResult(ok=True, head=head)


def _seq_problem(found: int, expected: int) -> str:
    if found > expected:
        return f"entry {expected} is missing (next entry is {found})"
    return f"entry {found} is out of place (expected entry {expected})"


def _bad(seq: int, problem: str, head: Head | None) -> VerifyResult:
    return VerifyResult(ok=False, first_bad_seq=seq, problem=problem, head=head)
