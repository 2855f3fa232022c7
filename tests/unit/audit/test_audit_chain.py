"""The audit hash chain detects edit, delete, reorder, insert and truncation."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest

from gateway.audit.chain import (
    GENESIS,
    Head,
    StoredEntry,
    append,
    canonical,
    chain_hash,
    leaf_hash,
    verify,
)


def build(count: int) -> list[StoredEntry]:
    chain: list[StoredEntry] = []
    head: Head | None = None
    for index in range(1, count + 1):
        entry: dict[str, Any] = {"event": "disclosure", "n": index, "to": f"dest-{index}"}
        link = append(head, entry)
        chain.append(StoredEntry(link.seq, entry, link.leaf_hash, link.chain_hash))
        head = Head(link.seq, link.chain_hash)
    return chain


def head_of(chain: list[StoredEntry]) -> Head:
    return Head(chain[-1].seq, chain[-1].chain_hash)


def test_hashes_follow_rfc_6962_domain_separation() -> None:
    entry = {"b": 1, "a": [2, {"d": 3, "c": 4}]}
    assert canonical(entry) == b'{"a":[2,{"c":4,"d":3}],"b":1}'
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    prev, leaf = b"p" * 32, b"l" * 32
    assert chain_hash(prev, leaf) == hashlib.sha256(b"\x01" + prev + leaf).digest()
    first = append(None, entry)
    assert first.seq == 1
    assert first.chain_hash == hashlib.sha256(b"\x01" + GENESIS + first.leaf_hash).digest()


def test_key_order_does_not_change_the_hash() -> None:
    assert append(None, {"a": 1, "b": 2}) == append(None, {"b": 2, "a": 1})


def test_an_intact_chain_verifies_and_reports_its_head() -> None:
    chain = build(5)
    result = verify(chain, head_of(chain))
    assert result.ok
    assert result.head == head_of(chain)
    assert verify([]).ok


def test_edit_is_detected_at_the_edited_entry() -> None:
    chain = build(5)
    chain[2] = dataclasses.replace(chain[2], entry={**chain[2].entry, "to": "elsewhere"})
    result = verify(chain)
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "edited" in result.problem


def test_edit_with_recomputed_leaf_breaks_the_chain() -> None:
    chain = build(5)
    forged = {**chain[2].entry, "to": "elsewhere"}
    chain[2] = dataclasses.replace(chain[2], entry=forged, leaf_hash=leaf_hash(canonical(forged)))
    result = verify(chain)
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "chain differs" in result.problem


def test_delete_is_detected_as_a_gap() -> None:
    chain = build(5)
    del chain[1]
    result = verify(chain)
    assert (result.ok, result.first_bad_seq) == (False, 2)
    assert "missing" in result.problem


def test_delete_with_renumbering_breaks_the_chain() -> None:
    chain = build(5)
    del chain[1]
    chain = [dataclasses.replace(s, seq=i) for i, s in enumerate(chain, start=1)]
    result = verify(chain)
    assert (result.ok, result.first_bad_seq) == (False, 2)


def test_reorder_is_detected() -> None:
    chain = build(5)
    chain[1], chain[2] = chain[2], chain[1]
    result = verify(chain)
    assert (result.ok, result.first_bad_seq) == (False, 2)


def test_swapped_contents_under_the_same_seq_are_detected() -> None:
    chain = build(5)
    second, third = chain[1], chain[2]
    chain[1] = dataclasses.replace(third, seq=2)
    chain[2] = dataclasses.replace(second, seq=3)
    result = verify(chain)
    assert (result.ok, result.first_bad_seq) == (False, 2)


def test_insert_is_detected() -> None:
    chain = build(5)
    intruder = {"event": "disclosure", "n": 99}
    link = append(Head(chain[1].seq, chain[1].chain_hash), intruder)
    forged = StoredEntry(link.seq, intruder, link.leaf_hash, link.chain_hash)
    renumbered = [dataclasses.replace(s, seq=s.seq + 1) for s in chain[2:]]
    result = verify([*chain[:2], forged, *renumbered])
    assert (result.ok, result.first_bad_seq) == (False, 4)


def test_insert_with_a_duplicate_seq_is_detected() -> None:
    chain = build(5)
    result = verify([*chain[:3], chain[2], *chain[3:]])
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "out of place" in result.problem


def test_truncation_is_detected_against_the_exported_head() -> None:
    chain = build(5)
    exported = head_of(chain)
    assert verify(chain[:3]).ok
    result = verify(chain[:3], exported)
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "truncated" in result.problem


def test_a_fully_rewritten_chain_is_detected_against_the_exported_head() -> None:
    exported = head_of(build(5))
    rewritten: list[StoredEntry] = []
    head: Head | None = None
    for stored in build(5):
        entry = {**stored.entry, "to": "rewritten"}
        link = append(head, entry)
        rewritten.append(StoredEntry(link.seq, entry, link.leaf_hash, link.chain_hash))
        head = Head(link.seq, link.chain_hash)
    result = verify(rewritten, exported)
    assert (result.ok, result.first_bad_seq) == (False, 5)


def test_a_chain_that_grew_after_the_export_still_verifies() -> None:
    chain = build(6)
    assert verify(chain, head_of(chain[:4])).ok


def test_head_round_trips_as_json() -> None:
    head = head_of(build(3))
    assert Head.from_json(head.to_json()) == head
    assert '"seq":3' in head.to_json()


@pytest.mark.parametrize(
    "text",
    ['{"seq": "3", "chain_hash": "00"}', '{"seq": 3, "chain_hash": "abcd"}', '{"seq": -1}'],
)
def test_a_malformed_head_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Head.from_json(text)
